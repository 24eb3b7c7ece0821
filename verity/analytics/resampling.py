"""Resampling reps fast: per-rep aggregates and the cluster bootstrap behind the impact
designs and the ROI interval.

A bootstrap over reps draws reps, each with all of their units. Over a million deals,
calling `metrics.point` on every resample would take minutes, so each group's units are
reduced once to per-rep aggregates (`Cell`): sums for ratios and means, histograms over
the distinct values for medians, event and censoring histograms for Kaplan-Meier. A
resample is then a vector of counts per rep, and its statistic a matrix product. Tests
check that this equals `metrics.point` on the resampled units.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd
from scipy import sparse, stats

from verity.analytics.definitions import Definition

EXACT_BINS = 512  # up to this many distinct values a median is computed exactly
APPROX_BINS = 256  # otherwise values are grouped into this many quantile bins


@dataclass(frozen=True)
class Plan:
    """How a metric's units reduce to per-rep aggregates. `kind`:
    ratio — Σnum / Σden (win rate, means, NPS);
    median — the median of `value`;
    km_median — the Kaplan-Meier median of `value` with `observed` (censoring);
    km_survival — the Kaplan-Meier survival at `horizon`;
    generic — no aggregate: `metrics.point` on the resampled units (slow, fewer resamples)."""

    kind: str
    num: np.ndarray | None = None
    den: np.ndarray | None = None
    value: np.ndarray | None = None
    observed: np.ndarray | None = None
    horizon: float | None = None


def plan_for(metric: str, units: pd.DataFrame, definition: Definition) -> Plan:
    """The aggregate matching `metrics.point` for the metric under its definition."""
    p = definition.params
    ones = np.ones(len(units))
    if metric == "win_rate":
        won = units["won"].to_numpy(dtype=bool)
        weight = units["amount"].to_numpy(dtype="float64") if p.get("value") == "amount" else ones
        return Plan("ratio", num=np.where(won, weight, 0.0), den=weight)
    if metric == "sales_cycle_days" and p.get("population") == "all":
        # Open deals are censored: the engine's Kaplan-Meier median.
        return Plan(
            "km_median",
            value=units["duration"].to_numpy(dtype="float64"),
            observed=units["observed"].to_numpy(dtype=bool),
        )
    if metric in ("deal_size", "sales_cycle_days", "days_in_stage"):
        column = "amount" if metric == "deal_size" else "duration"
        values = units[column].to_numpy(dtype="float64")
        if p.get("statistic") == "mean":
            return Plan("ratio", num=values, den=ones)
        return Plan("median", value=values)
    if metric == "nps":
        scores = units["score"].to_numpy(dtype="float64")
        return Plan("ratio", num=100.0 * ((scores >= 9).astype(float) - (scores <= 6)), den=ones)
    if metric in ("time_to_first_deal_days", "ramp_time_days"):
        return Plan(
            "km_median",
            value=units["duration"].to_numpy(dtype="float64"),
            observed=units["observed"].to_numpy(dtype=bool),
        )
    if metric == "retention_2y":
        return Plan(
            "km_survival",
            value=units["duration"].to_numpy(dtype="float64"),
            observed=units["observed"].to_numpy(dtype=bool),
            horizon=float(p.get("horizon_years", 2.0)) * 365.25,
        )
    return Plan("generic")


class Cell:
    """One group's units in one period, reduced to per-rep aggregates so that its statistic
    under any resample of reps (a count per rep) is a matrix product."""

    def __init__(
        self,
        plan: Plan,
        mask: np.ndarray,
        rep_code: np.ndarray,
        reps: int,
        generic: Callable[[np.ndarray], float | None] | None = None,
    ) -> None:
        self.kind = plan.kind
        self.reps = reps
        codes = rep_code[mask]
        if self.kind == "ratio":
            assert plan.num is not None and plan.den is not None
            self.sums = np.stack(
                [
                    np.bincount(codes, weights=plan.num[mask], minlength=reps),
                    np.bincount(codes, weights=plan.den[mask], minlength=reps),
                ],
                axis=1,
            )
        elif self.kind in ("median", "km_median", "km_survival"):
            assert plan.value is not None
            values = plan.value[mask]
            observed = (
                plan.observed[mask] if plan.observed is not None else np.ones(len(values), bool)
            )
            if self.kind == "km_survival":
                assert plan.horizon is not None
                # Only S(horizon) is wanted: everything past it is one "later" time.
                later = values > plan.horizon
                values = np.where(later, plan.horizon + 1.0, values)
                observed = observed & ~later
                self.horizon = plan.horizon
            elif self.kind == "km_median":
                # Only times up to the median matter. Past the point where the whole
                # sample's curve is below 0.1 (a resample's median lies there with
                # negligible probability), everything is one censored "later" time: long
                # censored tails (open deals) stop costing bins.
                cut = _km_cut(values, observed, 0.1)
                if cut is not None:
                    later = values > cut
                    values = np.where(later, cut + 1.0, values)
                    observed = observed & ~later
            self._histograms(values, observed, codes)
        else:
            self.generic = generic
            self.codes = codes
            self.positions = np.flatnonzero(mask)

    def _histograms(self, values: np.ndarray, observed: np.ndarray, codes: np.ndarray) -> None:
        distinct = np.unique(values)
        event_times = np.unique(values[observed])
        if self.kind == "km_median" and len(event_times) <= EXACT_BINS:
            # Kaplan-Meier only steps at event times; a censoring between two of them
            # just leaves the risk set before the next one. So censorings go into the
            # bin of the last event time at or before them (a leading bin for those
            # before the first event) and the curve is exact with bins for event times
            # only: open deals' many distinct ages cost nothing.
            self.exact = True
            self.times = np.concatenate([[-np.inf], event_times])
            bins = np.where(
                observed,
                np.searchsorted(event_times, values) + 1,
                np.searchsorted(event_times, values, side="right"),
            )
        elif len(distinct) <= EXACT_BINS:
            self.exact = True
            self.times = distinct
            bins = np.searchsorted(distinct, values)
        else:
            self.exact = False
            # Quantile bins: the median lands within 1/APPROX_BINS of the distribution and
            # is interpolated inside its bin; documented as an approximation.
            edges = np.unique(np.quantile(values, np.linspace(0, 1, APPROX_BINS + 1)))
            bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
            frame = pd.DataFrame({"b": bins, "v": values}).groupby("b")["v"]
            count = len(edges) - 1
            self.lo = frame.min().reindex(range(count)).to_numpy()
            self.hi = frame.max().reindex(range(count)).to_numpy()
            self.times = self.hi  # Kaplan-Meier: a bin's events happen at its last value
        size = len(self.times)
        flat = codes.astype(np.int64) * size + bins
        self.events = _count_matrix(flat[observed], self.reps, size)
        self.censored = None
        if not observed.all():
            self.censored = _count_matrix(flat[~observed], self.reps, size)

    def statistic(self, counts: np.ndarray) -> np.ndarray:
        """The cell's statistic for each row of `counts` (resamples x reps)."""
        if self.kind == "ratio":
            totals = counts.astype(np.float64) @ self.sums
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.asarray(totals[:, 0] / totals[:, 1])
        if self.kind == "median":
            return self._median(_weighted(counts, self.events))
        if self.kind in ("km_median", "km_survival"):
            events = _weighted(counts, self.events)
            censored = (
                _weighted(counts, self.censored)
                if self.censored is not None
                else np.zeros_like(events)
            )
            return self._kaplan_meier(events, censored)
        assert self.generic is not None
        out = np.empty(len(counts))
        order = np.argsort(self.codes, kind="stable")
        starts = np.searchsorted(self.codes[order], np.arange(self.reps + 1))
        for b, row in enumerate(counts):
            picked = [
                np.tile(order[starts[r] : starts[r + 1]], int(k)) for r, k in enumerate(row) if k
            ]
            rows = self.positions[np.concatenate(picked)] if picked else np.array([], int)
            value = self.generic(rows)
            out[b] = np.nan if value is None else value
        return out

    def _median(self, hist: np.ndarray) -> np.ndarray:
        cum = np.cumsum(hist, axis=1, dtype=np.float64)
        total = cum[:, -1]
        if self.exact:
            # numpy's median: the middle value, or the mean of the two middle ones.
            low = np.floor((total + 1) / 2)
            high = np.floor(total / 2) + 1
            i_low = np.minimum((cum < low[:, None]).sum(axis=1), len(self.times) - 1)
            i_high = np.minimum((cum < high[:, None]).sum(axis=1), len(self.times) - 1)
            result = (self.times[i_low] + self.times[i_high]) / 2
        else:
            target = total / 2
            i = np.minimum((cum < target[:, None]).sum(axis=1), len(self.lo) - 1)
            before = np.where(i > 0, cum[np.arange(len(i)), np.maximum(i - 1, 0)], 0.0)
            inside = hist[np.arange(len(i)), i]
            share = np.clip((target - before) / np.where(inside > 0, inside, 1), 0, 1)
            result = self.lo[i] + share * (self.hi[i] - self.lo[i])
        return np.where(total > 0, result, np.nan)

    def _kaplan_meier(self, events: np.ndarray, censored: np.ndarray) -> np.ndarray:
        leaving = events + censored
        total = leaving.sum(axis=1, keepdims=True)
        at_risk = total - (np.cumsum(leaving, axis=1) - leaving)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(at_risk > 0, 1 - events / at_risk, 1.0)
        survival = np.cumprod(factor, axis=1)
        if self.kind == "km_survival":
            k = np.searchsorted(self.times, self.horizon, side="right") - 1
            result = survival[:, k] if k >= 0 else np.ones(len(survival))
            # Like the engine: no estimate when nobody was followed up to the horizon.
            reach = leaving[:, self.times >= self.horizon].sum(axis=1) > 0
            return np.where((total[:, 0] > 0) & reach, result, np.nan)
        # statsmodels' SurvfuncRight.quantile(0.5): the first time S drops below 0.5.
        # Not reached: beyond the longest follow-up, +inf for the bootstrap's ordering.
        below = survival < 0.5
        first = below.argmax(axis=1)
        median = np.where(below.any(axis=1), self.times[first], np.inf)
        return np.where(total[:, 0] > 0, median, np.nan)


CountMatrix: TypeAlias = "np.ndarray | sparse.csc_matrix"


def _count_matrix(flat: np.ndarray, reps: int, size: int) -> CountMatrix:
    """How many units of each rep (row) fall in each bin (column), from `rep * size + bin`.
    Sparse when most cells are empty — per-rep metrics have one unit per rep, so a few
    thousand reps by hundreds of bins is almost all zeros and a dense product would multiply
    them all — else dense float32 (exact: counts stay far below 2**24)."""
    cells, counts = np.unique(flat, return_counts=True)
    if len(cells) < 0.05 * reps * size:
        return sparse.csc_matrix(
            (counts.astype(np.float64), (cells // size, cells % size)), shape=(reps, size)
        )
    dense = np.zeros(reps * size, dtype=np.float32)
    dense[cells] = counts
    return dense.reshape(reps, size)


def _weighted(counts: np.ndarray, matrix: CountMatrix) -> np.ndarray:
    """counts (resamples x reps) @ matrix (reps x bins) as float64. Both ways sum small
    integers exactly, so the two give the same numbers."""
    if sparse.issparse(matrix):
        return np.asarray((matrix.T @ counts.T.astype(np.float64)).T, dtype=np.float64)
    return np.asarray(counts.astype(np.float32) @ matrix, dtype=np.float64)


def _km_cut(values: np.ndarray, observed: np.ndarray, level: float) -> float | None:
    """The first time the Kaplan-Meier curve of all the values drops below `level`."""
    if len(values) == 0:
        return None
    times, where = np.unique(values, return_inverse=True)
    leaving = np.bincount(where, minlength=len(times)).astype(float)
    events = np.bincount(where[observed], minlength=len(times)).astype(float)
    at_risk = len(values) - (np.cumsum(leaving) - leaving)
    survival = np.cumprod(1 - events / at_risk)
    below = np.flatnonzero(survival < level)
    return float(times[below[0]]) if len(below) else None


def cluster_bootstrap(
    statistic: Callable[..., np.ndarray],
    sizes: Sequence[int],
    *,
    resamples: int,
    confidence: float,
    seed: int | None,
) -> tuple[float | None, float | None]:
    """Percentile interval of `statistic(counts_1, counts_2, ...)` where each `counts_g`
    (resamples x sizes[g]) says how often each rep of group g was drawn. Groups are
    resampled independently (scipy.stats.bootstrap, paired=False) and a rep is drawn with
    all of its units."""
    if min(sizes, default=0) < 2:  # one rep cannot be resampled into anything but itself
        return None, None
    # scipy draws the indices and then takes them from the data: with the data 0..n-1 the
    # take gives the indices back, and int32 halves the memory it copies (the draws, and
    # so the interval, are the same whatever the data's type).
    data = tuple(np.arange(n, dtype=np.int32) for n in sizes)

    def vectorised(*indices: np.ndarray, axis: int = -1) -> np.ndarray:
        single = indices[0].ndim == 1
        counts = []
        for idx, n in zip(indices, sizes, strict=True):
            idx = np.atleast_2d(idx)
            rows = idx.shape[0]
            flat = (idx + (np.arange(rows) * n)[:, None]).ravel()
            counts.append(np.bincount(flat, minlength=rows * n).reshape(rows, n))
        values = statistic(*counts)
        return values[0] if single else values

    with warnings.catch_warnings():
        # scipy warns when a resample has no value (a Kaplan-Meier median not reached);
        # the interval below handles those resamples itself.
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # its standard error with +/-inf
        result = stats.bootstrap(
            data,
            vectorised,
            n_resamples=resamples,
            vectorized=True,
            paired=False,
            confidence_level=confidence,
            method="percentile",
            batch=500,
            rng=np.random.default_rng(seed),
        )
    values = np.asarray(result.bootstrap_distribution, dtype=float)
    # A median "not reached" is beyond every follow-up time: +/-inf, which sorts to the
    # end. Undefined resamples (NaN) are dropped; when more than 1% are, no interval.
    values = values[~np.isnan(values)]
    if len(values) < 0.99 * resamples:
        return None, None
    tail = (1 - confidence) / 2
    low = float(np.quantile(values, tail, method="lower"))
    high = float(np.quantile(values, 1 - tail, method="higher"))
    return (low if np.isfinite(low) else None), (high if np.isfinite(high) else None)


def rep_codes(owners: np.ndarray, groups: Sequence[set[int]]) -> tuple[np.ndarray, list[int]]:
    """Each unit's rep as a position 0..n-1 within its group (-1 when in no group), by a
    lookup table indexed by user id (a million units in milliseconds)."""
    code = np.full(len(owners), -1, dtype=np.int64)
    if len(owners) == 0:
        return code, [len(g) for g in groups]
    top = int(owners.max()) + 1
    sizes = []
    for members in groups:
        ordered = np.array(sorted(m for m in members if 0 <= m < top), dtype=np.int64)
        table = np.full(top, -1, dtype=np.int64)
        table[ordered] = np.arange(len(ordered))
        found = table[np.clip(owners, 0, top - 1)]
        code = np.where(found >= 0, found, code)
        sizes.append(len(ordered))
    return code, sizes


def member_mask(owners: np.ndarray, members: set[int]) -> np.ndarray:
    """np.isin(owners, members), by a lookup table (faster over a million units)."""
    if len(owners) == 0 or not members:
        return np.zeros(len(owners), dtype=bool)
    top = max(int(owners.max()), max(members)) + 1
    table = np.zeros(top, dtype=bool)
    table[[m for m in members if m >= 0]] = True
    return table[np.clip(owners, 0, top - 1)]
