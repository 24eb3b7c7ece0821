"""The statistics layer agrees with scipy/statsmodels reference calls on fixed inputs, and
with hand-computed Wilson, Greenwood and NPS values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.duration.survfunc import SurvfuncRight

from verity.analytics import stats

Z = 1.959963984540054


def test_wilson_against_hand_computation() -> None:
    k, n = 7, 20
    p = k / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    result = stats.proportion(k, n)
    assert result.estimate == 0.35 and result.method == "wilson"
    assert result.low == pytest.approx(centre - half, abs=1e-9)
    assert result.high == pytest.approx(centre + half, abs=1e-9)
    # The extremes stay inside [0, 1] and are not degenerate.
    zero = stats.proportion(0, 8)
    assert zero.low == pytest.approx(0, abs=1e-12) and 0.2 < zero.high < 0.5


def test_mean_is_scipy_t_interval() -> None:
    x = [3.1, 4.7, 2.2, 9.8, 5.5, 6.1, 4.4]
    ref = sps.ttest_1samp(x, 0).confidence_interval(0.9)
    result = stats.mean(x, 0.9)
    assert result.estimate == pytest.approx(np.mean(x))
    assert (result.low, result.high) == (pytest.approx(ref.low), pytest.approx(ref.high))
    assert stats.mean([4.0]).low is None


def test_median_is_scipy_quantile_test_interval() -> None:
    x = np.array([12, 3, 45, 7, 19, 22, 8, 31, 5, 16, 27, 11, 9, 40, 2.5])
    ci = sps.quantile_test(x, q=np.median(x), p=0.5).confidence_interval(0.95)
    result = stats.median(x)
    assert result.estimate == 12 and (result.low, result.high) == (ci.low, ci.high)
    # Too few points for a 95% order-statistic interval: None, not a guess.
    small = stats.median([1, 2, 3])
    assert small.estimate == 2 and small.low is None and small.high is None


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.floats(0, 1000, allow_nan=False)), min_size=1, max_size=60
    )
)
def test_grouped_median_and_mean_match_single_group_calls(pairs: list[tuple[int, float]]) -> None:
    groups = np.array([g for g, _ in pairs])
    values = np.array([v for _, v in pairs])
    keys = np.unique(groups)
    codes = np.searchsorted(keys, groups)
    size = len(keys)
    med, low, high = stats.median_grouped_codes(values, codes, size)
    n = np.bincount(codes, minlength=size)
    m_est, m_low, m_high = stats.mean_grouped(
        np.bincount(codes, weights=values), np.bincount(codes, weights=values**2), n
    )
    for i, g in enumerate(keys):
        part = values[groups == g]
        single = stats.median(part)
        assert med[i] == pytest.approx(single.estimate)
        assert (np.isnan(low[i]) and single.low is None) or low[i] == single.low
        assert (np.isnan(high[i]) and single.high is None) or high[i] == single.high
        ref = stats.mean(part)
        assert m_est[i] == pytest.approx(ref.estimate)
        if ref.low is None or ref.high == ref.low:
            continue
        assert m_low[i] == pytest.approx(ref.low, rel=1e-6, abs=1e-6)
        assert m_high[i] == pytest.approx(ref.high, rel=1e-6, abs=1e-6)


DURATIONS = np.array([5, 8, 8, 12, 15, 21, 21, 30, 34, 40, 41, 55, 60, 60, 72], dtype=float)
OBSERVED = np.array([1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0], dtype=bool)


def test_km_median_is_statsmodels() -> None:
    sf = SurvfuncRight(DURATIONS, OBSERVED.astype(float))
    result = stats.km_median(DURATIONS, OBSERVED)
    assert result.estimate == sf.quantile(0.5)
    low, high = sf.quantile_ci(0.5, alpha=0.05, method="cloglog")
    assert result.low == low
    assert result.high == (None if not np.isfinite(high) else high)
    assert result.method == "kaplan_meier"
    assert stats.km_median([1, 2], [False, False]).estimate is None


def test_km_survival_at_t_is_greenwood_loglog_by_hand() -> None:
    t = 30
    result = stats.km_survival_at(DURATIONS, OBSERVED, t)
    # Kaplan-Meier by hand: product over event times <= t of (1 - d/n); Greenwood sum.
    s, greenwood = 1.0, 0.0
    for time in np.unique(DURATIONS[OBSERVED]):
        if time > t:
            break
        at_risk = (time <= DURATIONS).sum()
        d = ((time == DURATIONS) & OBSERVED).sum()
        s *= 1 - d / at_risk
        greenwood += d / (at_risk * (at_risk - d))
    se = s * math.sqrt(greenwood)
    assert result.estimate == pytest.approx(s)
    spread = Z * se / (s * abs(math.log(s)))
    centre = math.log(-math.log(s))
    assert result.low == pytest.approx(math.exp(-math.exp(centre + spread)))
    assert result.high == pytest.approx(math.exp(-math.exp(centre - spread)))
    assert result.method == "kaplan_meier_loglog"
    # Beyond the follow-up there is no estimate.
    assert stats.km_survival_at(DURATIONS, OBSERVED, 1000).estimate is None


def test_km_curve_matches_statsmodels_steps() -> None:
    curve = stats.km_curve(DURATIONS, OBSERVED)
    sf = SurvfuncRight(DURATIONS, OBSERVED.astype(float))
    assert curve.iloc[0].tolist()[:2] == [0.0, 1.0]
    assert np.allclose(curve["survival"].iloc[1:], sf.surv_prob)
    assert list(curve["at_risk"].iloc[1:]) == list(sf.n_risk)
    point = stats.km_survival_at(DURATIONS, OBSERVED, 21)
    row = curve[curve["time"] == 21].iloc[0]
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(point.low), pytest.approx(point.high))


def test_ratio_of_sums_delta_method_agrees_with_scipy_bootstrap() -> None:
    rng = np.random.default_rng(42)
    amount = rng.lognormal(8, 1, 400)
    won = rng.random(400) < 0.3
    y = amount * won
    result = stats.ratio_of_sums(y, amount)
    assert result.estimate == pytest.approx(y.sum() / amount.sum())
    boot = sps.bootstrap(
        (y, amount),
        lambda a, b, axis=-1: a.sum(axis=axis) / b.sum(axis=axis),
        paired=True,
        vectorized=True,
        n_resamples=4000,
        method="percentile",
        random_state=np.random.default_rng(1),
    )
    width = result.high - result.low
    assert boot.confidence_interval.low == pytest.approx(result.low, abs=0.1 * width)
    assert boot.confidence_interval.high == pytest.approx(result.high, abs=0.1 * width)
    assert result.method == "ratio_delta"


def test_nps_against_hand_computation() -> None:
    scores = [10, 10, 9, 8, 7, 7, 6, 5, 0, 9, 10, 8]  # 5 promoters, 3 detractors, n = 12
    result = stats.nps(scores, min_n=5)
    assert result.estimate == pytest.approx(100 * (5 - 3) / 12)
    p, d = 5.75 / 15, 3.75 / 15
    centre = p - d
    half = Z * math.sqrt((p + d - centre**2) / 15)
    assert result.low == pytest.approx(100 * (centre - half))
    assert result.high == pytest.approx(100 * (centre + half))
    assert stats.nps(scores[:4], min_n=5).estimate is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 40), st.booleans()), min_size=1, max_size=80
    ),
    st.sampled_from([0.9, 0.95]),
)
def test_grouped_kaplan_meier_median_matches_statsmodels_per_group(
    rows: list[tuple[int, int, bool]], confidence: float
) -> None:
    groups = np.array([g for g, _, _ in rows])
    durations = np.array([float(t) for _, t, _ in rows])
    observed = np.array([o for _, _, o in rows])
    keys = np.unique(groups)
    codes = np.searchsorted(keys, groups)
    med, low, high = stats.km_median_grouped(durations, observed, codes, len(keys), confidence)
    for i, g in enumerate(keys):
        mask = groups == g
        single = stats.km_median(durations[mask], observed[mask], confidence)
        for grouped, ref in (
            (med[i], single.estimate),
            (low[i], single.low),
            (high[i], single.high),
        ):
            if ref is None:
                assert not np.isfinite(grouped), (g, grouped)
            else:
                assert grouped == pytest.approx(ref), (g, grouped, ref)


def test_grouped_kaplan_meier_on_many_random_groups_with_exact_halves() -> None:
    """Integer counts put S(t) exactly on 1/2 often; the grouped computation must land on
    the same side of 1/2 as statsmodels every time."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        k, n = int(rng.integers(1, 6)), int(rng.integers(1, 80))
        groups = rng.integers(0, k, n)
        durations = rng.integers(0, 200, n).astype(float)
        observed = rng.random(n) < 0.7
        keys = np.unique(groups)
        codes = np.searchsorted(keys, groups)
        med, low, high = stats.km_median_grouped(durations, observed, codes, len(keys))
        for i in range(len(keys)):
            mask = codes == i
            ref = stats.km_median(durations[mask], observed[mask])
            for grouped, value in ((med[i], ref.estimate), (low[i], ref.low), (high[i], ref.high)):
                assert (value is None and not np.isfinite(grouped)) or grouped == value
