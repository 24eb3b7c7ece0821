"""Chart geometry: round ticks, gaps for insufficient data (never drawn as zero), Kaplan-Meier
steps that hold their value until the next event, and labels that stay inside the chart."""

from __future__ import annotations

from verity.analytics import charts


def points(path: str) -> list[tuple[float, float]]:
    return [tuple(float(v) for v in p.split(",")) for p in path.split()]  # type: ignore[misc]


def test_nice_ticks_cover_the_range_with_round_steps() -> None:
    assert charts.nice_ticks(0, 0.34) == [0.0, 0.1, 0.2, 0.3, 0.4]
    assert charts.nice_ticks(12, 97) == [0.0, 25.0, 50.0, 75.0, 100.0]
    ticks = charts.nice_ticks(5, 5)  # a flat series still gets an axis
    assert ticks[0] <= 5 <= ticks[-1] and len(ticks) >= 2


def test_bar_chart_marks_insufficient_periods_instead_of_a_zero_bar() -> None:
    chart = charts.bar_chart(
        [
            charts.BarInput("Q1", 0.2, 0.1, 0.3),
            charts.BarInput("Q2", None),
            charts.BarInput("Q3", 0.4, 0.35, 0.45),
        ]
    )
    first, missing, third = chart.bars
    assert missing.missing and missing.height == 0 and missing.whisker is None
    assert third.height > first.height > 0
    top, bottom = third.whisker  # type: ignore[misc]
    assert top < third.y < bottom  # the interval straddles the bar's top
    assert [t.label for t in chart.x_ticks] == ["Q1", "Q2", "Q3"]


def test_nothing_to_draw_without_estimates() -> None:
    assert not charts.bar_chart([charts.BarInput("Q1", None)]).has_data
    assert not charts.line_chart([charts.SeriesInput("a", [0, 1], [None, None])]).has_data


def test_step_chart_holds_each_value_until_the_next_event() -> None:
    chart = charts.step_chart([charts.SeriesInput("all", [0, 10, 20], [1.0, 0.5, 0.25])])
    (path,) = chart.series[0].paths
    xy = points(path)
    # (0,1) → (10,1) → (10,0.5) → (20,0.5) → (20,0.25): horizontal, then down.
    assert len(xy) == 5
    assert xy[1][1] == xy[0][1] and xy[1][0] == xy[2][0] and xy[2][1] > xy[1][1]


def test_gaps_split_a_line_and_bands_can_be_left_out() -> None:
    series = charts.SeriesInput(
        "a", [0, 1, 2, 3], [1, None, 2, 3], [0.5, None, 1, 2], [1.5, None, 3, 4]
    )
    chart = charts.line_chart([series])
    assert len(chart.series[0].paths) == 2  # before and after the gap
    assert len(chart.series[0].bands) == 1  # a band needs two points
    plain = charts.step_chart([series, series, series], bands=False)
    assert all(not s.bands for s in plain.series)


def test_axis_labels_at_the_ends_are_aligned_inwards() -> None:
    chart = charts.indexed_line_chart(
        [charts.SeriesInput("a", [0, 1, 2, 3, 4, 5, 6, 7], [1, 2, 3, 4, 5, 6, 7, 8])],
        [charts.period_label(f"2026-Q{q % 4 + 1}") for q in range(8)],
        marker_index=4,
    )
    assert chart.x_ticks[-1].edge == "end" and chart.x_ticks[-1].at == 100
    assert len(chart.x_ticks) <= 5  # thinned for a phone-wide axis
    assert chart.marker is not None and 0 < chart.marker < charts.W
    assert charts.period_label("2026-Q1") == "Q1\n2026"
