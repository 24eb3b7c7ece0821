"""Rep metrics (time to first deal, time to ramp, retention) and NPS: censoring kept,
planted effects recovered within their intervals, exact values on small hand-made data."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from statsmodels.duration.survfunc import SurvfuncRight

from tests.analytics.engine.conftest import AS_OF, Crm
from verity.analytics import curves, metrics
from verity.analytics.definitions import in_force


def _median_exp(median: float, size: int, rng: np.random.Generator) -> np.ndarray:
    return rng.exponential(median / np.log(2), size)


def _plant_first_deals(crm: Crm, rng: np.random.Generator, team: str, median: float, n: int):
    """n reps hired over the two years before AS_OF; the first won deal closes
    Exp(median) days after the hire date, unless that is after AS_OF (censored)."""
    hires = [AS_OF - timedelta(days=int(d)) for d in rng.integers(30, 730, n)]
    reps = crm.people([{"hire": h, "team": team} for h in hires])
    waits = _median_exp(median, n, rng)
    deals, truth_observed = [], []
    for rep, hire, wait in zip(reps, hires, waits, strict=True):
        close = hire + timedelta(days=int(wait))
        if close < AS_OF:
            deals.append({"owner": rep, "outcome": "won", "created": hire, "close": close})
            truth_observed.append(int(wait))
        else:  # an open deal only: still waiting for the first win
            deals.append({"owner": rep, "outcome": "open", "created": hire})
    crm.deals(deals)
    return truth_observed


def test_time_to_first_deal_recovers_planted_medians_and_keeps_censored_reps(crm: Crm) -> None:
    rng = np.random.default_rng(11)
    fast_observed = _plant_first_deals(crm, rng, "Fast", 60, 250)
    slow_observed = _plant_first_deals(crm, rng, "Slow", 150, 250)
    rows = {r.key: r for r in metrics.compute("time_to_first_deal_days", by="team").rows}
    fast, slow = rows["Fast"], rows["Slow"]
    assert fast.n == 250 and slow.n == 250
    assert fast.method == "kaplan_meier"
    assert fast.ci_low <= 60 <= fast.ci_high
    assert slow.ci_low <= 150 <= slow.ci_high
    assert fast.ci_high < slow.ci_low  # the planted difference is seen
    assert slow.extra["censored"] > 30
    # Dropping the censored reps changes the answer (biased towards fast wins), and the
    # naive median falls outside the engine's interval for the slow group.
    naive_slow = float(np.median(slow_observed))
    assert naive_slow < slow.ci_low
    assert float(np.median(fast_observed)) != fast.estimate


def test_time_to_first_deal_censored_at_termination_and_agrees_with_statsmodels(crm: Crm) -> None:
    hire = date(2025, 1, 1)
    reps = crm.people(
        [{"hire": hire}] * 6
        + [{"hire": hire, "termination": date(2025, 3, 1)}]  # left without a win: 59 days
        + [{"hire": hire}]  # no deal at all: censored at AS_OF
    )
    waits = [10, 30, 45, 80, 100, 200]
    crm.deals(
        [
            {"owner": rep, "outcome": "won", "created": hire, "close": hire + timedelta(days=w)}
            for rep, w in zip(reps, waits, strict=False)
        ]
        + [{"owner": reps[0], "outcome": "won", "created": hire, "close": hire + timedelta(300)}]
        + [{"owner": reps[1], "outcome": "won", "created": hire, "close": hire - timedelta(5)}]
    )
    definition = in_force("time_to_first_deal_days")
    units = metrics.units("time_to_first_deal_days", definition)
    by_owner = units.set_index("owner_id")
    assert by_owner.loc[reps[6].pk, "duration"] == 59
    assert not by_owner.loc[reps[6].pk, "observed"]
    assert by_owner.loc[reps[7].pk, "duration"] == (AS_OF - hire).days
    assert by_owner.loc[reps[0].pk, "duration"] == 10  # the first win, not the later one
    row = metrics.estimate("time_to_first_deal_days", units, definition)
    durations = [*waits, 59, (AS_OF - hire).days]
    sf = SurvfuncRight(np.array(durations, float), np.array([1] * 6 + [0, 0], float))
    assert row.estimate == sf.quantile(0.5)
    low, high = sf.quantile_ci(0.5, method="cloglog")
    assert row.ci_low == pytest.approx(low)
    assert row.ci_high == (None if not np.isfinite(high) else pytest.approx(high))


def test_retention_recovers_planted_two_year_share(crm: Crm) -> None:
    rng = np.random.default_rng(5)
    n = 600
    # Exponential tenure with P(T >= 2 years) = 0.7.
    rate = -np.log(0.7) / (2 * 365.25)
    tenure = rng.exponential(1 / rate, n)
    hires = [AS_OF - timedelta(days=int(d)) for d in rng.integers(30, 4 * 365, n)]
    rows = []
    naive_left = 0
    for hire, t in zip(hires, tenure, strict=True):
        leave = hire + timedelta(days=int(t))
        rows.append({"hire": hire, "termination": leave if leave < AS_OF else None})
        naive_left += leave < AS_OF
    crm.people(rows)
    row = metrics.compute("retention_2y").rows[0]
    assert row.method == "kaplan_meier_loglog"
    assert row.ci_low <= 0.7 <= row.ci_high
    assert row.n == n and row.extra["events"] == naive_left
    # Dropping current employees (only leavers) would say almost nobody stays two years.
    definition = in_force("retention_2y")
    units = metrics.units("retention_2y", definition)
    leavers = units[units["observed"]]
    assert (leavers["duration"] >= 730.5).mean() < row.ci_low
    # A one-year horizon by a new definition version reads higher.
    from verity.accounts.models import SiteRole, User
    from verity.analytics.definitions import save_version

    admin = User.objects.create_user("boss@example.com", None, site_role=SiteRole.ADMIN)
    save_version(admin, "retention_2y", {"horizon_years": 1}, "one year")
    one_year = metrics.compute("retention_2y")
    assert one_year.definition.version == 2
    assert one_year.rows[0].estimate > row.estimate


def test_ramp_time_from_monthly_attainment(crm: Crm) -> None:
    """Quota 10,000 a month from the hire month. Rep A books 9,000 in months 3 and 4 after
    hire (ramped in month 3 at 80% sustained 2); rep B hits once then misses (not ramped:
    censored); rep C has no quota (excluded, counted)."""
    hire = date(2025, 1, 15)
    a, b, c, d = crm.people([{"hire": hire}, {"hire": hire}, {"hire": hire}, {"hire": hire}])
    for rep in (a, b, d):
        crm.quotas(rep, date(2025, 1, 1), 18, 10_000)
    won = [
        {
            "owner": a,
            "outcome": "won",
            "amount": 9_000,
            "created": hire,
            "close": date(2025, 4, 10),
        },
        {
            "owner": a,
            "outcome": "won",
            "amount": 9_000,
            "created": hire,
            "close": date(2025, 5, 10),
        },
        {
            "owner": b,
            "outcome": "won",
            "amount": 9_000,
            "created": hire,
            "close": date(2025, 4, 10),
        },
        {
            "owner": c,
            "outcome": "won",
            "amount": 50_000,
            "created": hire,
            "close": date(2025, 4, 1),
        },
        # d ramps in the hire month itself: 0 days.
        {
            "owner": d,
            "outcome": "won",
            "amount": 8_000,
            "created": hire,
            "close": date(2025, 1, 20),
        },
        {
            "owner": d,
            "outcome": "won",
            "amount": 8_000,
            "created": hire,
            "close": date(2025, 2, 20),
        },
    ]
    crm.deals(won)
    definition = in_force("ramp_time_days")
    units = metrics.units("ramp_time_days", definition).set_index("owner_id")
    assert units.loc[a.pk, "duration"] == (date(2025, 4, 1) - hire).days
    assert units.loc[a.pk, "observed"]
    assert units.loc[d.pk, "duration"] == 0
    assert not units.loc[b.pk, "observed"]
    assert units.loc[b.pk, "duration"] == (AS_OF - hire).days
    assert c.pk not in units.index
    result = metrics.compute("ramp_time_days")
    assert result.rows[0].extra["excluded_without_quota"] == 1
    assert result.rows[0].insufficient  # three reps < min_n 5
    stricter = in_force("ramp_time_days", {})
    assert stricter.params["threshold"] == 0.8
    # At a 95% threshold nobody ramps.
    from verity.analytics.definitions import Definition

    strict = Definition("ramp_time_days", 1, {**definition.params, "threshold": 0.95}, {})
    assert not metrics.units("ramp_time_days", strict)["observed"].any()
    # The ramp curve: median attainment by tenure month with n.
    curve = curves.ramp_curve()
    month3 = curve[curve["month"] == 3].iloc[0]
    assert month3["n"] == 3 and month3["median"] == pytest.approx(0.9)
    assert set(curve.columns) >= {"month", "n", "median", "q1", "q3"}


def test_survival_curves_per_group(crm: Crm) -> None:
    rng = np.random.default_rng(2)
    _plant_first_deals(crm, rng, "Fast", 40, 40)
    _plant_first_deals(crm, rng, "Slow", 120, 40)
    frame = curves.survival_curves("time_to_first_deal_days", group_by="team")
    assert set(frame["group"]) == {"Fast", "Slow"}
    for _, part in frame.groupby("group"):
        assert part["survival"].iloc[0] == 1.0
        assert part["survival"].is_monotonic_decreasing
        assert part["at_risk"].iloc[0] == 40
    with pytest.raises(ValidationError):
        curves.survival_curves("win_rate")


def _survey(crm: Crm, scores: list[int], program=None):
    from verity.learning.models import Enrollment, Program, SurveyResponse

    owner = crm.person(hire=date(2020, 1, 1), job_function="enablement")
    program = program or Program.objects.create(name="Onboarding", owner=owner)
    people = crm.people([{"hire": date(2024, 1, 1)} for _ in scores])
    for person, score in zip(people, scores, strict=True):
        enrollment = Enrollment.objects.create(program=program, user=person)
        SurveyResponse.objects.create(enrollment=enrollment, recommend=score)
    return program, people


def test_nps_matches_hand_computed_adjusted_wald(crm: Crm) -> None:
    scores = [10, 9, 9, 8, 7, 6, 3, 10, 9, 5]  # 5 promoters, 3 detractors, n = 10
    _survey(crm, scores)
    row = metrics.compute("nps").rows[0]
    assert row.n == 10 and row.estimate == pytest.approx(20.0)
    # Hand computation: n' = 13, p' = 5.75/13, d' = 3.75/13.
    p, d = 5.75 / 13, 3.75 / 13
    centre = p - d
    half = 1.959963984540054 * np.sqrt((p + d - centre**2) / 13)
    assert row.ci_low == pytest.approx(100 * (centre - half))
    assert row.ci_high == pytest.approx(100 * (centre + half))
    assert row.method == "adjusted_wald"


@override_settings(VERITY_NPS_MIN_N=8)
def test_nps_hidden_below_min_n_from_settings(crm: Crm) -> None:
    _survey(crm, [10, 9, 1, 2, 9, 9, 10])
    row = metrics.compute("nps").rows[0]
    assert row.insufficient and row.n == 7 and row.estimate is None


def test_program_dimension_splits_completed_and_not(crm: Crm) -> None:
    from django.utils import timezone

    from verity.learning.models import Enrollment, Program

    rng = np.random.default_rng(9)
    _plant_first_deals(crm, rng, "A", 50, 12)
    owner = crm.person(hire=date(2020, 1, 1), job_function="enablement")
    program = Program.objects.create(name="Onboarding", owner=owner)
    definition = in_force("time_to_first_deal_days")
    reps = list(metrics.units("time_to_first_deal_days", definition)["owner_id"])
    for pk in reps[:7]:
        Enrollment.objects.create(program=program, user_id=pk, completed_at=timezone.now())
    result = metrics.compute("time_to_first_deal_days", by="program")  # the default program
    assert [(r.key, r.n) for r in result.rows] == [("completed", 7), ("not_completed", 5)]
    with pytest.raises(ValidationError) as err:
        metrics.compute("win_rate", by="program", program_id=999999)
    assert "program" in err.value.message_dict
