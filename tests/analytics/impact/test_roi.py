"""Lifetime value and onboarding ROI against a hand computation; the resampling
Kaplan-Meier agrees with statsmodels; too few reps is insufficient."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

from verity.analytics import roi

from .conftest import AS_OF, World

HIRE = date(2024, 1, 1)
ASSUME = {
    "margin": 0.5,
    "monthly_cost_per_rep": 100.0,
    "onboarding_cost_per_rep": 1000.0,
    "annual_discount_rate": 0.12,
    "horizon_months": 3,
}


def test_roi_matches_hand_computation(world: World) -> None:
    program = world.program(date(2024, 1, 1))
    done = world.reps(5, hire=HIRE)
    # One of the others leaves after 45 days: KM S = 4/5 from day 45 on.
    others = world.reps(5, hire=HIRE, termination=[date(2024, 2, 15)] + [None] * 4)
    world.enrol(program, done + others, HIRE, [date(2024, 1, 20)] * 5 + [None] * 5)
    # Completers book 2,000 in tenure months 0 and 1; the others 1,500 in month 0. The
    # leaver's month-1 deal falls in a month they did not finish: not counted.
    world.deals(done * 2, [date(2024, 1, 15)] * 5 + [date(2024, 2, 15)] * 5, amount=[2000] * 10)
    world.deals(others, [date(2024, 1, 10)] * 5, amount=[1500] * 5)
    world.deals([others[0]], [date(2024, 2, 10)], amount=[99999])

    result = roi.onboarding_roi(program.pk, ASSUME, resamples=200)

    m, c, r = 0.5, 100.0, 0.12
    d1, d2 = 1.12 ** (1 / 12), 1.12 ** (2 / 12)
    ltv_done = (m * 2000 - c) + (m * 2000 - c) / d1 + (0 - c) / d2
    ltv_others = (m * 1500 - c) + (0 - c) / d1 + 0.8 * (0 - c) / d2
    assert r == ASSUME["annual_discount_rate"]
    assert result.completed.value == pytest.approx(ltv_done)
    assert result.not_completed.value == pytest.approx(ltv_others)
    benefit = (ltv_done - ltv_others) * 5
    cost = 1000.0 * 5
    assert result.benefit.estimate == pytest.approx(benefit)
    assert result.cost == pytest.approx(cost)
    assert result.roi.estimate == pytest.approx((benefit - cost) / cost)
    assert result.completers == 5
    months = result.not_completed.months
    assert [row.survival for row in months] == pytest.approx([1.0, 1.0, 0.8])
    assert [row.reps_observed for row in months] == [5, 4, 4]
    assert result.assumptions == ASSUME
    data = result.as_dict()
    assert data["assumptions"]["margin"] == 0.5 and "association" in data["caveat"]
    assert data["definition"]["metric"] == "rep_ltv"
    # Every completer booked the same: the benefit's interval sits on the estimate's side.
    assert result.benefit.ci_low is not None and result.benefit.ci_low > 0
    assert {row["item"] for row in result.csv_rows()} >= {"margin", "benefit", "roi"}


def test_only_reps_count_in_lifetime_value(world: World) -> None:
    """A manager enrolled in onboarding books nothing; counting them among "not completed"
    would drag that group's value down and inflate the ROI."""
    program = world.program(date(2024, 1, 1))
    done = world.reps(5, hire=HIRE)
    others = world.reps(5, hire=HIRE, job_function="success")
    managers = world.reps(3, hire=HIRE, job_function="leadership")
    everyone = done + others + managers
    world.enrol(program, everyone, HIRE, [date(2024, 1, 20)] * 5 + [None] * 8)
    world.deals(done + others, [date(2024, 1, 15)] * 10, amount=[2000] * 10)

    result = roi.onboarding_roi(program.pk, ASSUME, resamples=50)

    assert result.not_completed.reps == 5
    assert result.not_completed.value == pytest.approx(result.completed.value)


def test_months_nobody_reached_carry_the_last_value(world: World) -> None:
    hire = date(2026, 3, 15)  # as of 2026-07-01: 108 days, three full months
    reps = world.reps(5, hire=hire)
    world.deals(reps, [date(2026, 5, 20)] * 5, amount=[100] * 5)  # day 66: tenure month 2
    result = roi.lifetime_value(set(reps), {**ASSUME, "horizon_months": 6})
    assert result.extrapolated_months == 3
    bookings = [row.bookings for row in result.months]
    assert bookings == pytest.approx([0, 0, 100, 100, 100, 100])
    assert [row.extrapolated for row in result.months] == [False] * 3 + [True] * 3


def test_resampling_survival_equals_statsmodels(db: None) -> None:
    rng = np.random.default_rng(2)
    n = 300
    hire = np.datetime64("2023-01-01") + rng.integers(0, 900, n).astype("timedelta64[D]")
    leave = hire + rng.integers(10, 1200, n).astype("timedelta64[D]")
    leave = np.where(rng.random(n) < 0.5, leave, np.datetime64("NaT"))
    staff = pd.DataFrame(
        {
            "id": np.arange(n),
            "hire_date": hire.astype("datetime64[s]"),
            "termination_date": leave.astype("datetime64[s]"),
        }
    )
    won = pd.DataFrame({"owner_id": [], "close_date": [], "amount": []})
    won["close_date"] = won["close_date"].astype("datetime64[s]")
    reps = roi._Reps(staff, won, np.datetime64(AS_OF, "s"), 36)
    fit = SurvfuncRight(reps.tenure, reps.left.astype(float))
    k = np.searchsorted(fit.surv_times, reps.month_days, side="right") - 1
    expected = np.where(k >= 0, fit.surv_prob[np.maximum(k, 0)], 1.0)
    assert reps.survival(np.ones((1, n)))[0] == pytest.approx(expected)


def test_too_few_reps_is_insufficient(world: World) -> None:
    program = world.program(HIRE)
    done = world.reps(3, hire=HIRE)
    others = world.reps(6, hire=HIRE)
    world.enrol(program, done + others, HIRE, [date(2024, 2, 1)] * 3 + [None] * 6)
    world.deals(done + others, [date(2024, 1, 15)] * 9)
    result = roi.onboarding_roi(program.pk, ASSUME, resamples=50)
    assert result.insufficient and result.completed.insufficient
    assert result.benefit.estimate is None and result.roi.estimate is None
    assert result.assumptions["horizon_months"] == 3


def test_assumptions_default_from_the_definition(db: None) -> None:
    result = roi.lifetime_value(set())
    assert result.assumptions == {
        "margin": 0.7,
        "monthly_cost_per_rep": 9000.0,
        "onboarding_cost_per_rep": 3000.0,
        "annual_discount_rate": 0.1,
        "horizon_months": 36,
    }
    assert result.value is None and result.insufficient
