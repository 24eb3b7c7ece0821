"""Chart geometry for the analytics pages: lines with interval bands (ramp curves), step
lines (Kaplan-Meier curves) and bars with interval whiskers (quarterly trends).

The pattern is the program report's (verity/learning/views_report.py): the SVG is drawn in a
100 x 40 box that stretches to the page width (`preserveAspectRatio="none"`, strokes with
`vector-effect: non-scaling-stroke`), and the axis labels are HTML placed by percentage, so
they stay readable on a phone. The geometry is worked out here so the templates only place
shapes; every chart also keeps its numbers for the table under it (people who cannot see the
chart, or want the exact values, read the table).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

W = 100.0
H = 40.0

# Up to six series are told apart by colour *and* dash pattern (never by colour alone).
MAX_SERIES = 6

Formatter = Callable[[float], str]


def _plain(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Tick:
    label: str
    at: float  # percent along the axis: x from the left, y from the top

    @property
    def edge(self) -> str:
        """Labels at the very ends are aligned inwards, so they stay inside the chart."""
        return "start" if self.at <= 0.5 else "end" if self.at >= 99.5 else ""

    @property
    def x(self) -> float:  # in the SVG box
        return W * self.at / 100

    @property
    def y(self) -> float:
        return H * self.at / 100


@dataclass(frozen=True)
class SeriesInput:
    """One group's curve: x values with the estimate and (optionally) its interval. A None
    estimate leaves a gap (insufficient data at that point)."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float | None]
    lows: Sequence[float | None] = ()
    highs: Sequence[float | None] = ()


@dataclass(frozen=True)
class Series:
    label: str
    index: int  # style: .series-0 … .series-5
    paths: list[str]  # polyline point lists (several when the curve has gaps)
    bands: list[str]  # polygon point lists of the interval band


@dataclass(frozen=True)
class Bar:
    label: str
    x: float  # left edge in the 0..100 box
    width: float
    y: float  # top of the bar
    height: float
    whisker: tuple[float, float] | None  # y of ci_high and ci_low
    value: str  # formatted estimate, or "" when insufficient
    missing: bool  # insufficient data: no bar drawn, a mark instead

    @property
    def cx(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Chart:
    kind: str  # "line", "step" or "bar"
    series: list[Series] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    reference: float | None = None  # y of a dashed reference line (e.g. 100% of quota)
    marker: float | None = None  # x of a dashed vertical line (e.g. a program's launch)
    marker_label: str = ""

    @property
    def has_data(self) -> bool:
        return bool(self.bars) or any(s.paths for s in self.series)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0, 1.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value < high + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


class _Scale:
    def __init__(self, low: float, high: float, size: float, flip: bool) -> None:
        self.low, self.high, self.size, self.flip = low, high, size, flip

    def __call__(self, value: float) -> float:
        span = self.high - self.low or 1.0
        share = (value - self.low) / span
        return self.size * (1 - share) if self.flip else self.size * share

    def percent(self, value: float) -> float:
        return 100 * self(value) / self.size


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def _y_domain(
    inputs: Sequence[SeriesInput], zero: bool, ceiling: float | None
) -> tuple[float, float]:
    values: list[float] = []
    for s in inputs:
        values += _finite(s.ys) + _finite(s.lows) + _finite(s.highs)
    if not values:
        return 0.0, 1.0
    low = min(values)
    high = max(values)
    if zero:
        low = min(low, 0.0)
    if ceiling is not None:
        high = min(high, ceiling)
    return low, high


def _y_axis(low: float, high: float, fmt: Formatter) -> tuple[_Scale, list[Tick]]:
    ticks = nice_ticks(low, high)
    scale = _Scale(ticks[0], ticks[-1], H, flip=True)
    return scale, [Tick(fmt(t), scale.percent(t)) for t in ticks]


def _x_axis(low: float, high: float, fmt: Formatter) -> tuple[_Scale, list[Tick]]:
    ticks = [t for t in nice_ticks(low, high, 4) if low - 1e-9 <= t <= high + 1e-9]
    scale = _Scale(low, high if high > low else low + 1, W, flip=False)
    return scale, [Tick(fmt(t), scale.percent(t)) for t in ticks]


def _pt(x: float, y: float) -> str:
    return f"{x:.2f},{y:.2f}"


def _runs(n: int, present: Callable[[int], bool]) -> list[list[int]]:
    """Indexes split into runs of consecutive present points (gaps break the line)."""
    runs: list[list[int]] = [[]]
    for i in range(n):
        if present(i):
            runs[-1].append(i)
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if r]


def _curves(
    kind: str,
    inputs: Sequence[SeriesInput],
    *,
    x_format: Formatter,
    y_format: Formatter,
    zero: bool,
    y_ceiling: float | None,
    reference: float | None,
    bands: bool = True,
) -> Chart:
    inputs = list(inputs)[:MAX_SERIES]
    xs_all = [float(x) for s in inputs for x in s.xs]
    if not xs_all or not any(_finite(s.ys) for s in inputs):
        return Chart(kind)
    y_low, y_high = _y_domain(inputs, zero, y_ceiling)
    if reference is not None:
        y_high = max(y_high, reference)
    y, y_ticks = _y_axis(y_low, y_high, y_format)
    x, x_ticks = _x_axis(min(xs_all), max(xs_all), x_format)
    series = []
    for index, s in enumerate(inputs):
        ys = list(s.ys)
        lows = list(s.lows) or [None] * len(ys)
        highs = list(s.highs) or [None] * len(ys)
        xs = [float(v) for v in s.xs]
        paths, polygons = [], []
        for run in _runs(len(xs), lambda i, ys=ys: ys[i] is not None):  # type: ignore[misc]
            line: list[str] = []
            for j, i in enumerate(run):
                value = float(ys[i])  # type: ignore[arg-type]
                if kind == "step" and j:
                    line.append(_pt(x(xs[i]), y(float(ys[run[j - 1]]))))  # type: ignore[arg-type]
                line.append(_pt(x(xs[i]), y(value)))
            if len(run) == 1:  # a lone point: a short flat dash so it is visible
                line.append(_pt(min(x(xs[run[0]]) + 1.0, W), y(float(ys[run[0]]))))  # type: ignore[arg-type]
            paths.append(" ".join(line))
        has_band = [
            bands and lo is not None and hi is not None for lo, hi in zip(lows, highs, strict=True)
        ]
        for run in _runs(len(xs), has_band.__getitem__):
            top, bottom = [], []
            for j, i in enumerate(run):
                hi, lo = float(highs[i]), float(lows[i])  # type: ignore[arg-type]
                if kind == "step" and j:
                    prev = run[j - 1]
                    top.append(_pt(x(xs[i]), y(float(highs[prev]))))  # type: ignore[arg-type]
                    bottom.append(_pt(x(xs[i]), y(float(lows[prev]))))  # type: ignore[arg-type]
                top.append(_pt(x(xs[i]), y(hi)))
                bottom.append(_pt(x(xs[i]), y(lo)))
            if len(run) > 1:
                polygons.append(" ".join(top + bottom[::-1]))
        series.append(Series(s.label, index, paths, polygons))
    return Chart(
        kind,
        series=series,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        reference=None if reference is None else y(reference),
    )


def line_chart(
    inputs: Sequence[SeriesInput],
    *,
    x_format: Formatter = _plain,
    y_format: Formatter = _plain,
    zero: bool = True,
    y_ceiling: float | None = None,
    reference: float | None = None,
) -> Chart:
    """Straight lines between points, each with its interval as a shaded band."""
    return _curves(
        "line",
        inputs,
        x_format=x_format,
        y_format=y_format,
        zero=zero,
        y_ceiling=y_ceiling,
        reference=reference,
    )


def step_chart(
    inputs: Sequence[SeriesInput],
    *,
    x_format: Formatter = _plain,
    y_format: Formatter = _plain,
    reference: float | None = None,
    bands: bool = True,
) -> Chart:
    """Kaplan-Meier style: the value holds until the next event, then drops."""
    return _curves(
        "step",
        inputs,
        x_format=x_format,
        y_format=y_format,
        zero=True,
        y_ceiling=None,
        reference=reference,
        bands=bands,
    )


@dataclass(frozen=True)
class BarInput:
    label: str
    value: float | None
    low: float | None = None
    high: float | None = None


def bar_chart(
    inputs: Sequence[BarInput], *, y_format: Formatter = _plain, zero: bool = True
) -> Chart:
    """One bar per period with its interval as a whisker; a period with insufficient data
    gets no bar (the template marks it), so a gap is never read as zero."""
    inputs = list(inputs)
    if not any(b.value is not None for b in inputs):
        return Chart("bar")
    as_series = [
        SeriesInput(
            "",
            list(range(len(inputs))),
            [b.value for b in inputs],
            [b.low for b in inputs],
            [b.high for b in inputs],
        )
    ]
    low, high = _y_domain(as_series, zero, None)
    y, y_ticks = _y_axis(low, high, y_format)
    slot = W / len(inputs)
    width = slot * 0.6
    base = y(max(0.0, y.low))
    bars = []
    for i, b in enumerate(inputs):
        left = slot * i + (slot - width) / 2
        if b.value is None:
            bars.append(Bar(b.label, left, width, base, 0.0, None, "", True))
            continue
        top = y(b.value)
        whisker = None
        if b.low is not None and b.high is not None:
            whisker = (y(b.high), y(b.low))
        bars.append(
            Bar(
                b.label,
                left,
                width,
                min(top, base),
                abs(base - top),
                whisker,
                y_format(b.value),
                False,
            )
        )
    every = thin_every(len(inputs), 6)
    x_ticks = [
        Tick(b.label, 100 * (slot * i + slot / 2) / W)
        for i, b in enumerate(inputs)
        if (len(inputs) - 1 - i) % every == 0
    ]
    return Chart("bar", bars=bars, x_ticks=x_ticks, y_ticks=y_ticks)


def period_label(key: str) -> str:
    """'2026-Q1' → 'Q1' over '2026': two short lines fit a phone-wide axis."""
    year, _sep, quarter = key.partition("-")
    return f"{quarter}\n{year}" if quarter else key


def thin_every(count: int, most: int) -> int:
    """Label every k-th point so that at most `most` labels share the axis."""
    return max(1, math.ceil(count / most))


def indexed_line_chart(
    inputs: Sequence[SeriesInput],
    labels: Sequence[str],
    *,
    y_format: Formatter = _plain,
    zero: bool = True,
    marker_index: int | None = None,
    marker_label: str = "",
) -> Chart:
    """Lines over evenly spaced periods (quarters) named by `labels`; the series' xs are
    the periods' indexes. The last period is always labelled; others are thinned."""
    chart = line_chart(inputs, y_format=y_format, zero=zero)
    if not chart.has_data:
        return chart
    last = max(len(labels) - 1, 1)
    every = thin_every(len(labels), 5)
    ticks = [
        Tick(label, 100 * i / last)
        for i, label in enumerate(labels)
        if (len(labels) - 1 - i) % every == 0
    ]
    marker = None if marker_index is None else W * marker_index / last
    return Chart(
        "line",
        series=chart.series,
        x_ticks=ticks,
        y_ticks=chart.y_ticks,
        marker=marker,
        marker_label=marker_label,
    )
