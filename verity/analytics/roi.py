"""Rep lifetime value and onboarding ROI, with every assumption next to the numbers.

Lifetime value of a rep over a horizon of h months (month t = 0 is the hire month):

    LTV = sum over t < h of  S(t) x (margin x bookings(t) - monthly cost) / (1 + r)^(t/12)

- S(t): Kaplan-Meier probability that tenure exceeds t months (t x 30.4375 days), people
  still employed censored at today (statsmodels SurvfuncRight);
- bookings(t): won amount closed in tenure month t, summed over the reps whose month t is
  fully observed (employed the whole month, month ended by today), divided by the number
  of those reps. Months nobody has reached yet carry the last observed value forward (the
  number of such months is returned: the longer the extrapolation, the softer the figure);
- r: the annual discount rate, applied monthly.

Onboarding ROI (Phillips): (benefit - cost) / cost, with benefit = (LTV of completers - LTV
of the comparison group) x the number of completers and cost = onboarding cost per rep x the
number of completers. The comparison group isolates the program's share of the value only as
far as the two groups are alike; the result carries the same caveat as every comparison.

The bootstrap interval resamples reps within each group. It recomputes S(t) with the same
product-limit formula on weighted event counts (tests check it equals statsmodels at unit
weights) and bookings(t) as weighted sums, so a thousand resamples are a few matrix products.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from statsmodels.duration.survfunc import SurvfuncRight

from verity.analytics import frames
from verity.analytics.definitions import Definition, clean_params, in_force
from verity.analytics.impact import (
    CAVEAT,
    COMPARISON_LABELS,
    Interval,
    comparison_group,
    few_reps_notes,
)
from verity.analytics.impact import program_facts as _program_facts
from verity.analytics.resampling import cluster_bootstrap

DAYS_PER_MONTH = 365.25 / 12
ASSUMPTIONS = (
    "margin",
    "monthly_cost_per_rep",
    "onboarding_cost_per_rep",
    "annual_discount_rate",
    "horizon_months",
)


def assumptions_in_force(values: dict[str, Any] | None = None) -> Definition:
    """The rep_ltv definition in force with the caller's edits on top (validated: every
    assumption is editable in the ROI calculator, within its bounds)."""
    return in_force("rep_ltv", clean_params("rep_ltv", values or {}))


@dataclass(frozen=True)
class MonthRow:
    month: int  # tenure month, 0 = hire month
    survival: float
    bookings: float | None  # mean won amount per rep in this tenure month
    reps_observed: int  # reps whose month was fully observed
    extrapolated: bool
    value: float  # discounted contribution to the lifetime value

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "survival": self.survival,
            "bookings": self.bookings,
            "reps_observed": self.reps_observed,
            "extrapolated": self.extrapolated,
            "value": self.value,
        }


@dataclass(frozen=True)
class LifetimeValue:
    group: str
    reps: int
    value: float | None
    months: list[MonthRow]
    extrapolated_months: int
    insufficient: bool
    assumptions: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "reps": self.reps,
            "value": self.value,
            "extrapolated_months": self.extrapolated_months,
            "insufficient": self.insufficient,
            "assumptions": self.assumptions,
            "months": [m.as_dict() for m in self.months],
        }


@dataclass(frozen=True)
class OnboardingRoi:
    program_id: int
    program_name: str
    definition: Definition
    assumptions: dict[str, Any]
    comparison: str
    completers: int
    completed: LifetimeValue
    not_completed: LifetimeValue
    benefit: Interval
    cost: float
    roi: Interval
    insufficient: bool
    notes: list[str] = field(default_factory=list)
    method: str = "phillips_roi_cluster_bootstrap_reps"
    caveat: str = field(default_factory=lambda: str(CAVEAT))

    def csv_rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = [
            {"item": name, "value": value} for name, value in self.assumptions.items()
        ]
        rows += [
            {"item": "ltv_completed", "value": self.completed.value, "n": self.completed.reps},
            {
                "item": "ltv_not_completed",
                "value": self.not_completed.value,
                "n": self.not_completed.reps,
            },
            {"item": "completers", "value": self.completers},
            {
                "item": "benefit",
                "value": self.benefit.estimate,
                "ci_low": self.benefit.ci_low,
                "ci_high": self.benefit.ci_high,
            },
            {"item": "cost", "value": self.cost},
            {
                "item": "roi",
                "value": self.roi.estimate,
                "ci_low": self.roi.ci_low,
                "ci_high": self.roi.ci_high,
            },
        ]
        return rows

    def as_dict(self) -> dict[str, Any]:
        return {
            "design": "onboarding_roi",
            "program": {"id": self.program_id, "name": self.program_name},
            "definition": self.definition.as_dict(),
            "assumptions": self.assumptions,
            "comparison": self.comparison,
            "comparison_label": str(COMPARISON_LABELS[self.comparison]),
            "completers": self.completers,
            "groups": {
                "completed": self.completed.as_dict(),
                "not_completed": self.not_completed.as_dict(),
            },
            "benefit": self.benefit.as_dict(),
            "cost": self.cost,
            "roi": self.roi.as_dict(),
            "method": self.method,
            "insufficient": self.insufficient,
            "notes": list(self.notes),
            "caveat": str(self.caveat),
        }


def _assumption_values(definition: Definition) -> dict[str, Any]:
    return {name: definition.params[name] for name in ASSUMPTIONS}


# ---------------------------------------------------------------- per-rep matrices


class _Reps:
    """One group's reps as arrays: tenure (days, observed = left) and, per tenure month,
    the won amount and whether the month was fully observed."""

    def __init__(
        self,
        staff: pd.DataFrame,
        won: pd.DataFrame,
        as_of: np.datetime64,
        horizon: int,
    ) -> None:
        today = as_of.astype("datetime64[s]")
        hire = staff["hire_date"].to_numpy(dtype="datetime64[s]")
        term = staff["termination_date"].to_numpy(dtype="datetime64[s]")
        left = ~np.isnat(term) & (term <= today)
        end = np.where(left, term, today)
        day = np.timedelta64(1, "D")
        self.count = len(staff)
        self.tenure = np.clip((end - hire) / day, 0, None).astype(float)
        self.left = left
        months = np.arange(horizon)
        # Month t is fully observed when hire + (t + 1) months <= the end of follow-up.
        self.full = (((months + 1) * DAYS_PER_MONTH)[None, :] <= self.tenure[:, None]).astype(
            np.float64
        )
        ids = staff["id"].to_numpy(dtype=np.int64)
        order = np.argsort(ids)
        deals = won[won["owner_id"].isin(ids)]
        pos = order[np.searchsorted(ids[order], deals["owner_id"].to_numpy(dtype=np.int64))]
        since = (deals["close_date"].to_numpy(dtype="datetime64[s]") - hire[pos]) / day
        month = np.floor(since / DAYS_PER_MONTH)
        keep = (since >= 0) & (since <= self.tenure[pos]) & (month < horizon)
        self.bookings = np.zeros((self.count, horizon))
        np.add.at(
            self.bookings,
            (pos[keep], month[keep].astype(np.int64)),
            deals["amount"].to_numpy(dtype=float)[keep],
        )
        self.bookings *= self.full
        # Kaplan-Meier on weighted counts: each rep is one event or censoring at its tenure.
        # Past the horizon only "still here" matters, so later times collapse into one.
        limit = horizon * DAYS_PER_MONTH
        times = np.where(self.tenure > limit, limit + 1, self.tenure)
        self.times, where = np.unique(times, return_inverse=True)
        event = self.left & (self.tenure <= limit)
        self.onehot_event = sparse.csr_matrix(
            (event.astype(float), (where, np.arange(self.count))),
            shape=(len(self.times), self.count),
        )
        self.onehot_any = sparse.csr_matrix(
            (np.ones(self.count), (where, np.arange(self.count))),
            shape=(len(self.times), self.count),
        )
        self.month_days = months * DAYS_PER_MONTH

    def survival(self, weights: np.ndarray) -> np.ndarray:
        """S(t) at the start of each tenure month for each row of weights (rows x reps)."""
        events = np.asarray((self.onehot_event @ weights.T).T)
        leaving = np.asarray((self.onehot_any @ weights.T).T)
        at_risk = leaving.sum(axis=1, keepdims=True) - (np.cumsum(leaving, axis=1) - leaving)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(at_risk > 0, 1 - events / at_risk, 1.0)
        surv = np.cumprod(factor, axis=1)
        k = np.searchsorted(self.times, self.month_days, side="right") - 1
        padded = np.concatenate([np.ones((len(surv), 1)), surv], axis=1)
        return np.asarray(padded[:, k + 1])

    def mean_bookings(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """bookings(t) per row of weights, with months nobody reached carried forward, and
        the number of reps observed in each month."""
        total = weights @ self.bookings
        observed = weights @ self.full
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(observed > 0, total / observed, np.nan)
        filled = pd.DataFrame(mean.T).ffill().to_numpy().T
        return filled, observed


def library_survival(tenure: np.ndarray, left: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Kaplan-Meier S at the given days from statsmodels (the weighted product-limit in
    _Reps is only for resamples; a test holds the two equal)."""
    if not left.any():
        return np.ones(len(at))  # nobody left: no step in the curve
    fit = SurvfuncRight(tenure, left.astype(float))
    k = np.searchsorted(fit.surv_times, at, side="right") - 1
    return np.where(k >= 0, fit.surv_prob[np.maximum(k, 0)], 1.0)


def _ltv(
    survival: np.ndarray, bookings: np.ndarray, assumptions: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Lifetime values (one per row) and the discounted monthly contributions."""
    months = np.arange(survival.shape[1])
    discount = (1 + float(assumptions["annual_discount_rate"])) ** (months / 12)
    margin = float(assumptions["margin"])
    cost = float(assumptions["monthly_cost_per_rep"])
    contribution = survival * (margin * bookings - cost) / discount
    return contribution.sum(axis=1), contribution


# A rep's lifetime value is about bookings: only the customer-facing functions (the
# glossary's reps) carry it. Managers, enablement and others enrolled in a program would pull
# the comparison group's value towards zero and inflate the ROI.
REP_FUNCTIONS = ("sales", "success", "support")


def _staff(ids: set[int] | None, people: pd.DataFrame, as_of: np.datetime64) -> pd.DataFrame:
    staff = people if ids is None else people[people["id"].isin(list(ids))]
    today = as_of.astype("datetime64[s]")
    return staff[
        staff["hire_date"].notna()
        & (staff["hire_date"] <= today)
        & staff["job_function"].isin(REP_FUNCTIONS)
    ]


def _won() -> pd.DataFrame:
    opp = frames.opportunities()
    return opp[(opp["outcome"] == "won") & opp["close_date"].notna()]


def _lifetime_value(
    group: str,
    reps: _Reps,
    assumptions: dict[str, Any],
    min_n: int,
) -> LifetimeValue:
    horizon = int(assumptions["horizon_months"])
    if reps.count == 0:
        return LifetimeValue(group, 0, None, [], horizon, True, assumptions)
    survival = library_survival(reps.tenure, reps.left, reps.month_days)[None, :]
    ones = np.ones((1, reps.count))
    bookings, observed = reps.mean_bookings(ones)
    extrapolated = observed[0] == 0
    if np.isnan(bookings).any():  # no rep has finished even their first month
        return LifetimeValue(group, reps.count, None, [], horizon, True, assumptions)
    value, contribution = _ltv(survival, bookings, assumptions)
    rows = [
        MonthRow(
            month=t,
            survival=float(survival[0, t]),
            bookings=float(bookings[0, t]),
            reps_observed=int(observed[0, t]),
            extrapolated=bool(extrapolated[t]),
            value=float(contribution[0, t]),
        )
        for t in range(horizon)
    ]
    return LifetimeValue(
        group,
        reps.count,
        float(value[0]),
        rows,
        int(extrapolated.sum()),
        reps.count < min_n,
        assumptions,
    )


def lifetime_value(
    people: set[int] | None = None,
    assumptions: dict[str, Any] | None = None,
    *,
    group: str = "all",
) -> LifetimeValue:
    """Lifetime value of the reps among `people` (everyone with a hire date when None)."""
    definition = assumptions_in_force(assumptions)
    values = _assumption_values(definition)
    as_of = frames.as_of()
    staff = _staff(people, frames.people(), as_of)
    reps = _Reps(staff, _won(), as_of, int(values["horizon_months"]))
    return _lifetime_value(group, reps, values, int(definition.params["min_n"]))


def onboarding_roi(
    program_id: int,
    assumptions: dict[str, Any] | None = None,
    *,
    comparison: str = "enrolled",
    resamples: int = 1000,
    seed: int | None = 0,
) -> OnboardingRoi:
    """Phillips ROI of a program from the lifetime values of its completers and of the
    comparison group (see impact.comparison_group), with a bootstrap interval over reps for
    the benefit and the ROI."""
    definition = assumptions_in_force(assumptions)
    values = _assumption_values(definition)
    min_n = int(definition.params["min_n"])
    confidence = float(definition.params["confidence"])
    facts = _program_facts(program_id)
    people = frames.people()
    as_of = frames.as_of()
    done, others = comparison_group(facts, comparison, people)
    horizon = int(values["horizon_months"])
    won = _won()
    reps_done = _Reps(_staff(done, people, as_of), won, as_of, horizon)
    reps_others = _Reps(_staff(others, people, as_of), won, as_of, horizon)
    ltv_done = _lifetime_value("completed", reps_done, values, min_n)
    ltv_others = _lifetime_value("not_completed", reps_others, values, min_n)
    completers = reps_done.count
    cost = float(values["onboarding_cost_per_rep"]) * completers
    insufficient = ltv_done.insufficient or ltv_others.insufficient
    method = "cluster_bootstrap_reps"
    benefit = Interval(None, None, None, method, confidence)
    roi = Interval(None, None, None, method, confidence)
    if not insufficient and ltv_done.value is not None and ltv_others.value is not None:
        gain = (ltv_done.value - ltv_others.value) * completers
        ratio = (gain - cost) / cost if cost else None

        def benefit_of(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            va, _c = _ltv(reps_done.survival(a), reps_done.mean_bookings(a)[0], values)
            vb, _c = _ltv(reps_others.survival(b), reps_others.mean_bookings(b)[0], values)
            return np.asarray((va - vb) * completers)

        low, high = cluster_bootstrap(
            benefit_of,
            [reps_done.count, reps_others.count],
            resamples=resamples,
            confidence=confidence,
            seed=seed,
        )
        benefit = Interval(gain, low, high, method, confidence, resamples)
        if ratio is not None:
            # ROI is a monotone function of the benefit: its interval follows.
            roi = Interval(
                ratio,
                None if low is None else (low - cost) / cost,
                None if high is None else (high - cost) / cost,
                method,
                confidence,
                resamples,
            )
    return OnboardingRoi(
        program_id=facts.id,
        program_name=facts.name,
        definition=definition,
        assumptions=values,
        comparison=comparison,
        completers=completers,
        completed=ltv_done,
        not_completed=ltv_others,
        benefit=benefit,
        cost=cost,
        roi=roi,
        insufficient=insufficient,
        notes=[] if insufficient else few_reps_notes(reps_done.count, reps_others.count),
    )


__all__ = ["ASSUMPTIONS", "LifetimeValue", "OnboardingRoi", "lifetime_value", "onboarding_roi"]
