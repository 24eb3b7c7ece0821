"""Thin wrappers over scipy and statsmodels: each returns an `Estimate` — the point
estimate, its interval and the name of the method — so the metric engine never writes an
estimator of its own.

- `proportion`: k / n, Wilson score interval (statsmodels `proportion_confint`).
- `mean`: arithmetic mean, Student t interval (scipy `t.interval` with the sem).
- `median`: sample median, distribution-free order-statistic interval (scipy
  `quantile_test(...).confidence_interval`).
- `km_median`: Kaplan-Meier median, Brookmeyer-Crowley interval on the cloglog scale
  (statsmodels `SurvfuncRight.quantile` / `quantile_ci`).
- `km_survival_at`: Kaplan-Meier S(t), Greenwood SE (statsmodels) on the log-log scale.
- `ratio_of_sums`: sum(y) / sum(x), delta-method (linearisation) normal interval.
- `nps`: % of 9-10 minus % of 0-6, adjusted Wald (verity.learning.surveys.nps).

Intervals that cannot be computed (too few observations, a median the survival curve never
reaches) come back as None, never as a made-up number.

`*_grouped` variants compute the same thing for many groups at once (numpy over sorted
arrays), because a by-rep breakdown over 5,000 reps cannot afford 5,000 library calls; the
tests check that they agree with the scalar library calls exactly.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats as sps
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.proportion import proportion_confint

from verity.learning import surveys


class Estimate(NamedTuple):
    estimate: float | None
    low: float | None
    high: float | None
    method: str


def _num(value: float | np.floating | None) -> float | None:
    """A finite float or None (NaN and ±inf mean "not computable")."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# ---------------------------------------------------------------- proportions


def proportion(successes: int, n: int, confidence: float = 0.95) -> Estimate:
    """k / n with the Wilson score interval (good coverage at small n and near 0 or 1,
    where the plain Wald interval collapses)."""
    if n <= 0:
        return Estimate(None, None, None, "wilson")
    low, high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
    return Estimate(successes / n, _num(low), _num(high), "wilson")


def proportion_grouped(
    successes: np.ndarray, n: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Wilson for arrays of counts (statsmodels accepts arrays)."""
    n = np.asarray(n, dtype=float)
    successes = np.asarray(successes, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        low, high = proportion_confint(successes, n, alpha=1 - confidence, method="wilson")
        return successes / n, np.asarray(low, dtype=float), np.asarray(high, dtype=float)


# ---------------------------------------------------------------- means and medians


def mean(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> Estimate:
    """Arithmetic mean with the Student t interval (mean ± t · s/√n)."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n == 0:
        return Estimate(None, None, None, "t")
    centre = float(x.mean())
    if n < 2:
        return Estimate(centre, None, None, "t")
    sem = sps.sem(x)
    if sem == 0:
        return Estimate(centre, centre, centre, "t")
    low, high = sps.t.interval(confidence, n - 1, loc=centre, scale=sem)
    return Estimate(centre, _num(low), _num(high), "t")


def mean_grouped(
    sums: np.ndarray, sums_sq: np.ndarray, n: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The t interval from per-group n, Σx and Σx² (what a pandas groupby gives cheaply)."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = sums / n
        variance = np.clip((sums_sq - n * centre**2) / (n - 1), 0, None)
        sem = np.sqrt(variance / n)
        half = sps.t.ppf(0.5 + confidence / 2, n - 1) * sem
    half = np.where(n >= 2, half, np.nan)
    return centre, centre - half, centre + half


def median(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> Estimate:
    """Sample median with the distribution-free interval from order statistics (the
    binomial inversion in scipy's `quantile_test`): no assumption about the shape of the
    distribution, which matters for skewed durations and deal sizes."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return Estimate(None, None, None, "quantile_binomial")
    centre = float(np.median(x))
    ci = sps.quantile_test(x, q=centre, p=0.5).confidence_interval(confidence)
    return Estimate(centre, _num(ci.low), _num(ci.high), "quantile_binomial")


def median_grouped_codes(
    values: np.ndarray, codes: np.ndarray, size: int, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`median_grouped` for integer group codes 0..size-1: one lexsort, then the order
    statistics by index arithmetic."""
    x = np.asarray(values, dtype=float)
    order = np.lexsort((x, codes))
    x = x[order]
    counts = np.bincount(codes, minlength=size)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int)
    last = max(len(x) - 1, 0)
    with np.errstate(invalid="ignore"):
        lower_mid = x[np.clip(starts + (counts - 1) // 2, 0, last)] if len(x) else np.array([])
        upper_mid = x[np.clip(starts + counts // 2, 0, last)] if len(x) else np.array([])
        centre = np.where(counts > 0, (lower_mid + upper_mid) / 2, np.nan)
        tail = (1 - confidence) / 2
        low_rank = sps.binom.ppf(tail, counts, 0.5) - 1
        high_rank = sps.binom.isf(tail, counts, 0.5)
    low_ok = np.isfinite(low_rank) & (low_rank >= 0)
    high_ok = np.isfinite(high_rank) & (high_rank < counts)
    low_idx = np.clip(starts + np.where(low_ok, low_rank, 0).astype(int), 0, last)
    high_idx = np.clip(starts + np.where(high_ok, high_rank, 0).astype(int), 0, last)
    low = np.where(low_ok, x[low_idx], np.nan) if len(x) else np.full(size, np.nan)
    high = np.where(high_ok, x[high_idx], np.nan) if len(x) else np.full(size, np.nan)
    return centre, low, high


# ---------------------------------------------------------------- survival (Kaplan-Meier)


def _survfunc(durations: np.ndarray, observed: np.ndarray) -> SurvfuncRight:
    return SurvfuncRight(np.asarray(durations, dtype=float), np.asarray(observed, dtype=float))


def km_median(
    durations: Sequence[float] | np.ndarray,
    observed: Sequence[bool] | np.ndarray,
    confidence: float = 0.95,
) -> Estimate:
    """Kaplan-Meier median (censored observations kept) with the Brookmeyer-Crowley
    interval on the complementary log-log scale. None when the curve never falls to ½
    (fewer than half the units have had the event): the honest answer is "not reached"."""
    durations = np.asarray(durations, dtype=float)
    if len(durations) == 0:
        return Estimate(None, None, None, "kaplan_meier")
    events = np.asarray(observed, dtype=bool)
    if not events.any():
        return Estimate(None, None, None, "kaplan_meier")
    sf = _survfunc(durations, events)
    centre = sf.quantile(0.5)
    with np.errstate(divide="ignore", invalid="ignore"):  # S = 0 or 1 on the tails
        low, high = sf.quantile_ci(0.5, alpha=1 - confidence, method="cloglog")
    return Estimate(_num(centre), _num(low), _num(high), "kaplan_meier")


def km_median_grouped(
    durations: np.ndarray,
    observed: np.ndarray,
    codes: np.ndarray,
    size: int,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`km_median` for many groups at once (codes 0..size-1): the same computation as
    statsmodels' `SurvfuncRight` (product-limit estimate, Greenwood SE, median as the first
    time S < 1/2, Brookmeyer-Crowley interval on the cloglog scale), done with one sort
    over all groups instead of one fit per group. The tests compare it with `km_median` on
    every group. NaN where `km_median` gives None."""
    t = np.asarray(durations, dtype=float)
    status = np.asarray(observed, dtype=float)
    codes = np.asarray(codes)
    nan = np.full(size, np.nan)
    if len(t) == 0:
        return nan, nan.copy(), nan.copy()
    order = _group_time_order(t, codes)
    t, status, codes = t[order], status[order], codes[order]
    # One row per (group, distinct time): units and events there.
    new_pair = np.ones(len(t), dtype=bool)
    new_pair[1:] = (codes[1:] != codes[:-1]) | (t[1:] != t[:-1])
    pair = np.cumsum(new_pair) - 1
    pair_code = codes[new_pair]
    pair_time = t[new_pair]
    units = np.bincount(pair, minlength=pair[-1] + 1).astype(float)
    events = np.bincount(pair, weights=status, minlength=pair[-1] + 1)
    # At risk just before each time: the group's units from this time on.
    group_total = np.bincount(pair_code, weights=units, minlength=size)
    before = _within_group_cumsum(units, pair_code, size) - units
    at_risk = group_total[pair_code] - before
    keep = events > 0
    d, n, code, when = events[keep], at_risk[keep], pair_code[keep], pair_time[keep]
    if len(d) == 0:
        return nan, nan.copy(), nan.copy()
    factor = 1 - d / n
    zero = factor < 1e-16
    log_s = np.log(np.where(zero, 1e-16, factor))
    surv = np.exp(_within_group_cumsum(log_s, code, size))
    surv[zero] = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        term = d / np.clip(n * (n - d), 1e-12, np.inf)
    undefined = (n == d) | (n == 0)
    nan_seen = _within_group_cumsum(undefined.astype(float), code, size) > 0
    greenwood = _within_group_cumsum(np.where(undefined, 0.0, term), code, size)
    se = np.where(nan_seen, np.nan, np.sqrt(greenwood) * surv)
    # Median: the first time S falls below 1/2.
    median = nan.copy()
    below = np.flatnonzero(surv < 0.5)
    groups, first = _first_per_group(code[below])
    median[groups] = when[below[first]]
    # Interval: the times whose test of S(t) = 1/2 is not rejected.
    z = sps.norm.ppf(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.log(-np.log(surv)) - np.log(-np.log(0.5))
        gprime = -1 / (surv * np.log(surv))
        r = g / (gprime * se)
    inside = np.flatnonzero(np.abs(r) <= z)
    low, high = nan.copy(), nan.copy()
    if len(inside):
        groups, first = _first_per_group(code[inside])
        low[groups] = when[inside[first]]
        # The last accepted position of each group, then the next event time of that group
        # (infinite, i.e. None, when it is the group's last event time).
        inside_codes = code[inside]
        is_last = np.r_[inside_codes[1:] != inside_codes[:-1], True]
        groups_r = inside_codes[is_last]
        last = inside[is_last]
        nxt = last + 1
        has_next = (nxt < len(code)) & (code[np.clip(nxt, 0, len(code) - 1)] == code[last])
        high[groups_r] = np.where(has_next, when[np.clip(nxt, 0, len(when) - 1)], np.inf)
    return median, low, high


def _group_time_order(t: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Indices sorting by group, then time. One argsort of a combined key when it is exact
    in float64 (durations in days: always), which is four times faster than lexsort."""
    span = float(t.max() - t.min()) + 1 if len(t) else 1.0
    if np.all(t == np.floor(t)) and span * (int(codes.max()) + 1) < 2**52:
        return np.argsort(codes * span + (t - t.min()))
    return np.lexsort((t, codes))


def _first_per_group(sorted_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The groups present in an array of sorted codes and the index of each one's first
    element (linear, unlike np.unique's sort)."""
    if len(sorted_codes) == 0:
        return sorted_codes, sorted_codes
    first = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    return sorted_codes[first], first


def _within_group_cumsum(values: np.ndarray, code: np.ndarray, size: int) -> np.ndarray:
    """Cumulative sums restarting at each group (rows sorted by group). One `np.cumsum`
    per group slice — a loop over groups, not units — so each group's sums are bit for bit
    what statsmodels computes for that group alone: S(t) lands exactly on 1/2 as often as
    it does there, and the medians agree."""
    del size
    out = np.empty(len(values), dtype=float)
    bounds = np.r_[np.flatnonzero(np.r_[True, code[1:] != code[:-1]]), len(values)]
    for start, end in itertools.pairwise(bounds.tolist()):
        out[start:end] = np.cumsum(values[start:end])
    return out


def km_survival_at(
    durations: Sequence[float] | np.ndarray,
    observed: Sequence[bool] | np.ndarray,
    t: float,
    confidence: float = 0.95,
) -> Estimate:
    """Kaplan-Meier S(t) = P(duration > t), interval from statsmodels' Greenwood standard
    error on the log-log scale (exp(-exp(log(-log S) ± z·se/(S·|log S|)))), which stays in
    (0, 1) — the linear interval can leave it at small n."""
    durations = np.asarray(durations, dtype=float)
    if len(durations) == 0:
        return Estimate(None, None, None, "kaplan_meier_loglog")
    events = np.asarray(observed, dtype=bool)
    if not events.any():
        # No event at all: S(t) = 1 for every t the data reach, no variance to speak of.
        reach = durations.max() >= t
        return Estimate(1.0 if reach else None, None, None, "kaplan_meier_loglog")
    sf = _survfunc(durations, events)
    if durations.max() < t:
        return Estimate(None, None, None, "kaplan_meier_loglog")  # nobody followed that long
    index = np.searchsorted(sf.surv_times, t, side="right") - 1
    if index < 0:
        return Estimate(1.0, None, None, "kaplan_meier_loglog")
    s = float(sf.surv_prob[index])
    se = float(sf.surv_prob_se[index])
    low, high = _loglog_interval(s, se, confidence)
    return Estimate(s, low, high, "kaplan_meier_loglog")


def _loglog_interval(s: float, se: float, confidence: float) -> tuple[float | None, float | None]:
    if s <= 0:
        return 0.0, None
    if s >= 1:
        return None, 1.0
    z = sps.norm.ppf(0.5 + confidence / 2)
    log_s = math.log(s)
    spread = z * se / (s * abs(log_s))
    centre = math.log(-log_s)
    # S = exp(-exp(c)) falls as c rises: the upper c gives the lower S.
    return math.exp(-math.exp(centre + spread)), math.exp(-math.exp(centre - spread))


def _loglog_intervals(
    s: np.ndarray, se: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """`_loglog_interval` for arrays (NaN where the interval is undefined: S = 0 or 1)."""
    s = np.asarray(s, dtype=float)
    se = np.asarray(se, dtype=float)
    z = sps.norm.ppf(0.5 + confidence / 2)
    inside = (s > 0) & (s < 1)
    safe = np.where(inside, s, 0.5)
    log_s = np.log(safe)
    spread = z * se / (safe * np.abs(log_s))
    centre = np.log(-log_s)
    low = np.where(inside, np.exp(-np.exp(centre + spread)), np.where(s <= 0, 0.0, np.nan))
    high = np.where(inside, np.exp(-np.exp(centre - spread)), np.where(s >= 1, 1.0, np.nan))
    return low, high


def km_curve(
    durations: Sequence[float] | np.ndarray,
    observed: Sequence[bool] | np.ndarray,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """The Kaplan-Meier steps: time, survival, log-log interval, number at risk, events.
    Starts with the point (0, 1)."""
    durations = np.asarray(durations, dtype=float)
    columns = ["time", "survival", "ci_low", "ci_high", "at_risk", "events"]
    if len(durations) == 0:
        return pd.DataFrame(columns=columns)
    events = np.asarray(observed, dtype=bool)
    start = pd.DataFrame([[0.0, 1.0, None, None, len(durations), 0]], columns=columns)
    if not events.any():
        return start
    sf = _survfunc(durations, events)
    low, high = _loglog_intervals(sf.surv_prob, sf.surv_prob_se, confidence)
    steps = pd.DataFrame(
        {
            "time": sf.surv_times.astype(float),
            "survival": sf.surv_prob.astype(float),
            "ci_low": low,
            "ci_high": high,
            "at_risk": sf.n_risk.astype(int),
            "events": sf.n_events.astype(int),
        }
    )
    return pd.concat([start, steps], ignore_index=True)


# ---------------------------------------------------------------- ratio of sums


def ratio_of_sums(
    numerator: Sequence[float] | np.ndarray,
    denominator: Sequence[float] | np.ndarray,
    confidence: float = 0.95,
) -> Estimate:
    """R = Σy / Σx (win rate by value: won amount / closed amount) with the delta-method
    interval: var(R) ≈ Σ(yᵢ - R·xᵢ)² / (n(n-1)·x̄²), the linearisation every survey
    sampling text gives for a ratio estimator. Chosen over a bootstrap because it is exact
    to compute for a million deals and for thousands of groups at once; the tests check it
    against scipy's bootstrap on fixed data."""
    y = np.asarray(numerator, dtype=float)
    x = np.asarray(denominator, dtype=float)
    est, low, high = ratio_of_sums_grouped(
        np.array([y.sum()]),
        np.array([x.sum()]),
        np.array([_residual_ss(y, x)]),
        np.array([len(x)]),
        confidence,
    )
    return Estimate(_num(est[0]), _num(low[0]), _num(high[0]), "ratio_delta")


def _residual_ss(y: np.ndarray, x: np.ndarray) -> float:
    if x.sum() == 0:
        return float("nan")
    r = y.sum() / x.sum()
    return float(((y - r * x) ** 2).sum())


def ratio_of_sums_grouped(
    sum_y: np.ndarray,
    sum_x: np.ndarray,
    residual_ss: np.ndarray,
    n: np.ndarray,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The delta-method interval from per-group Σy, Σx, Σ(y - R·x)² and n. Residual sums
    for many groups come from Σy², Σxy, Σx² (see `ratio_residual_ss`)."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = sum_y / sum_x
        mean_x = sum_x / n
        se = np.sqrt(residual_ss / (n * (n - 1))) / mean_x
        half = sps.norm.ppf(0.5 + confidence / 2) * se
    half = np.where(n >= 2, half, np.nan)
    # A share of money cannot leave [0, 1] when y is a part of x.
    return ratio, np.clip(ratio - half, 0, None), np.clip(ratio + half, None, 1)


def ratio_residual_ss(
    sum_yy: np.ndarray, sum_xy: np.ndarray, sum_xx: np.ndarray, ratio: np.ndarray
) -> np.ndarray:
    """Σ(y - R·x)² = Σy² - 2R·Σxy + R²·Σx², clipped at 0 against rounding."""
    return np.clip(sum_yy - 2 * ratio * sum_xy + ratio**2 * sum_xx, 0, None)


# ---------------------------------------------------------------- NPS


def nps(scores: Sequence[int], min_n: int, confidence: float = 0.95) -> Estimate:
    """Internal NPS (-100..100) with the adjusted-Wald interval, exactly as the programs'
    survey reports compute it (one implementation for both). The survey code fixes the
    interval at 95%; other confidence levels are not offered for NPS."""
    result = surveys.nps([int(s) for s in scores], min_n)
    return Estimate(result.value, result.ci_low, result.ci_high, "adjusted_wald")
