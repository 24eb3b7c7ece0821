"""Program impact: three designs, weakest to strongest, over the metric engine's units.

- `before_after` — the metric per quarter around the program's launch, each quarter beside
  the same quarter a year earlier (a seasonality check, not a control group).
- `completed_vs_not` — people who completed the program against people of its population
  who did not, with the composition of both groups and the difference with a confidence
  interval from a bootstrap over people.
- `diff_in_diff` — for deal metrics: each rep's deals in a window before and after their
  completion (or, for those who did not complete, their enrolment), the change of the
  completers minus the change of the others, with a cluster bootstrap over reps.

Every estimate comes from `metrics.point` / `metrics.estimate`, so the designs show the
same numbers as the rest of Verity. The bootstraps resample *reps* (a rep's deals are not
independent of each other) and, to stay fast over a million deals, run on per-rep
aggregates: a resample is a vector of counts per rep, and each group's statistic is a
matrix product of those counts with the reps' sums or histograms (`resampling.py`). Tests check
that this gives the same number as `metrics.point` on the resampled deals.

None of this proves cause; every result carries `CAVEAT`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.utils.translation import gettext_lazy as _

from verity.analytics import frames
from verity.analytics.definitions import Definition, clean_params, in_force
from verity.analytics.resampling import (
    Cell,
    Plan,
    cluster_bootstrap,
    member_mask,
    plan_for,
    rep_codes,
)
from verity.analytics.results import ResultRow

CAVEAT = _(
    "These figures show an association, not proof that the program caused the difference: "
    "people who complete training may differ in other ways (experience, manager, territory, "
    "motivation, timing)."
)

DEAL_METRICS = ("win_rate", "deal_size", "sales_cycle_days", "days_in_stage")
ONE_EVENT_METRICS = ("time_to_first_deal_days", "ramp_time_days", "retention_2y")
COMPARISONS = ("enrolled", "peers")
# Who "not completed" is, in words for the pages and exports.
COMPARISON_LABELS = {
    "enrolled": _("Enrolled in the program, not completed"),
    "peers": _("Same job functions, hired in the same period, not completed"),
}
POPULATION_LABELS = {
    "enrolled": _("People enrolled in the program"),
    "audience_functions": _("People in the program's audience job functions"),
}

DAYS_PER_QUARTER = 365.25 / 4
FEW_REPS = 20  # below this many reps in a group, a cluster bootstrap is too optimistic
GENERIC_RESAMPLES = 200  # metrics without a per-rep aggregate call `point` per resample


def _metrics() -> Any:
    # Imported late: the engine imports this package's frames and definitions, and the
    # impact designs must not make importing the engine circular.
    from verity.analytics import metrics

    return metrics


# ---------------------------------------------------------------- the program


@dataclass(frozen=True)
class ProgramFacts:
    """What the designs need to know about a program: when it launched, who was enrolled
    (first enrolment) and who completed it (first completion)."""

    id: int
    name: str
    launch: np.datetime64 | None  # launched_at, else the first enrolment
    audience_functions: tuple[str, ...]
    enrolled: dict[int, np.datetime64]
    completed: dict[int, np.datetime64]


def program_facts(program_id: int) -> ProgramFacts:
    """Raises Program.DoesNotExist; views reach programs through access.get_program_for
    first."""
    from verity.learning.models import Program

    # Enrolment dates are not imported data and are not cached on the data version; both
    # come back as naive UTC columns, turned into days without a Python call per person.
    program = Program.objects.get(pk=program_id)
    enrolled = _days_by_user(frames.first_enrolments(program_id), "enrolled_at")
    completed = _days_by_user(frames.completions(program_id), "completed_at")
    launch = _day(program.launched_at) if program.launched_at else None
    if launch is None and enrolled:
        launch = min(enrolled.values())
    return ProgramFacts(
        id=program.pk,
        name=program.name,
        launch=launch,
        audience_functions=tuple(program.audience_functions or ()),
        enrolled=enrolled,
        completed=completed,
    )


def _days_by_user(frame: pd.DataFrame, column: str) -> dict[int, np.datetime64]:
    """{user id: the day (UTC) of `column`}, leaving out missing moments."""
    moments = frame[column].to_numpy(dtype="datetime64[s]")
    keep = ~np.isnat(moments)
    days = moments[keep].astype("datetime64[D]")
    users = frame["user_id"].to_numpy(dtype=np.int64)[keep]
    return dict(zip(users.tolist(), days, strict=True))


def _day(moment: Any) -> np.datetime64:
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return np.datetime64(stamp.date(), "D")


def program_population(facts: ProgramFacts, people: pd.DataFrame | None = None) -> set[int]:
    """The people a program is meant for: everyone enrolled, else (a program nobody was
    enrolled in yet) everyone in its audience job functions."""
    if facts.enrolled:
        return set(facts.enrolled) | set(facts.completed)
    people = frames.people() if people is None else people
    if facts.audience_functions:
        chosen = people[people["job_function"].isin(facts.audience_functions)]
        return {int(i) for i in chosen["id"]}
    return set(facts.completed)


def comparison_group(
    facts: ProgramFacts, comparison: str, people: pd.DataFrame
) -> tuple[set[int], set[int]]:
    """(completers, the others). `enrolled`: enrolled people who have not completed.
    `peers`: people who did not complete, in the completers' job functions, hired between
    the first and the last completer's hire date."""
    completers = set(facts.completed)
    if comparison == "enrolled":
        return completers, set(facts.enrolled) - completers
    hired = people.set_index("id")
    known = hired.loc[hired.index.intersection(list(completers))]
    functions = set(known["job_function"].dropna()) or set(facts.audience_functions)
    dates = known["hire_date"].dropna()
    chosen = hired[hired["job_function"].isin(functions)]
    if len(dates):
        chosen = chosen[chosen["hire_date"].between(dates.min(), dates.max())]
    return completers, {int(i) for i in chosen.index} - completers


# ---------------------------------------------------------------- results


def _row(row: ResultRow | None) -> dict[str, Any] | None:
    return row.as_dict() if row is not None else None


def _estimate_cells(row: ResultRow) -> dict[str, Any]:
    """A group's estimate as CSV columns."""
    return {
        "n": row.n,
        "estimate": row.estimate,
        "ci_low": row.ci_low,
        "ci_high": row.ci_high,
        "method": row.method,
        "insufficient": row.insufficient,
    }


def _difference_cells(difference: Interval, insufficient: bool) -> dict[str, Any]:
    """A difference as the same CSV columns (it has no n of its own)."""
    return {
        "n": None,
        "estimate": difference.estimate,
        "ci_low": difference.ci_low,
        "ci_high": difference.ci_high,
        "method": difference.method,
        "insufficient": insufficient,
    }


@dataclass(frozen=True)
class Interval:
    """A difference with its confidence interval (None when it cannot be computed)."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    method: str
    confidence: float
    resamples: int = 0
    p_value: float | None = None  # log-rank, for time-to-event metrics

    def as_dict(self) -> dict[str, Any]:
        return {
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "method": self.method,
            "confidence": self.confidence,
            "resamples": self.resamples,
            "p_value": self.p_value,
        }


@dataclass(frozen=True)
class QuarterRow:
    quarter: str  # "2026-Q1"
    offset: int  # quarters from the launch quarter (0 = launch quarter, -1 = the one before)
    current: ResultRow
    year_earlier: ResultRow

    @property
    def change(self) -> float | None:
        """This quarter minus the same quarter a year earlier (both must be sufficient)."""
        a, b = self.current, self.year_earlier
        if a.insufficient or b.insufficient or a.estimate is None or b.estimate is None:
            return None
        return a.estimate - b.estimate

    def as_dict(self) -> dict[str, Any]:
        return {
            "quarter": self.quarter,
            "offset": self.offset,
            "phase": "before" if self.offset < 0 else "after",
            "current": self.current.as_dict(),
            "year_earlier": self.year_earlier.as_dict(),
            "change_vs_year_earlier": self.change,
        }


@dataclass(frozen=True)
class BeforeAfter:
    program_id: int
    program_name: str
    metric: str
    definition: Definition
    launch: str | None  # ISO date
    population: str  # "enrolled" or "audience_functions"
    people_n: int
    quarters: list[QuarterRow]
    method: str = "quarterly_estimates"
    # Made when the result is, so it is in the language of the request.
    caveat: str = field(default_factory=lambda: str(CAVEAT))

    @property
    def insufficient(self) -> bool:
        return all(q.current.insufficient for q in self.quarters)

    def csv_rows(self) -> list[dict[str, Any]]:
        """One flat row per quarter, for the CSV export."""
        out = []
        for q in self.quarters:
            out.append(
                {
                    "quarter": q.quarter,
                    "offset": q.offset,
                    "n": q.current.n,
                    "estimate": q.current.estimate,
                    "ci_low": q.current.ci_low,
                    "ci_high": q.current.ci_high,
                    "insufficient": q.current.insufficient,
                    "year_earlier_quarter": q.year_earlier.key,
                    "year_earlier_n": q.year_earlier.n,
                    "year_earlier_estimate": q.year_earlier.estimate,
                    "year_earlier_ci_low": q.year_earlier.ci_low,
                    "year_earlier_ci_high": q.year_earlier.ci_high,
                    "change_vs_year_earlier": q.change,
                    "method": q.current.method,
                }
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "design": "before_after",
            "program": {"id": self.program_id, "name": self.program_name},
            "metric": self.metric,
            "definition": self.definition.as_dict(),
            "launch": self.launch,
            "population": self.population,
            "population_label": str(POPULATION_LABELS[self.population]),
            "people_n": self.people_n,
            "method": self.method,
            "insufficient": self.insufficient,
            "caveat": str(self.caveat),
            "quarters": [q.as_dict() for q in self.quarters],
        }


@dataclass(frozen=True)
class Composition:
    """Who is in a group: size, tenure at launch, team and job-function mix."""

    people: int
    mean_tenure_months: float | None  # at the program's launch; 0 for people hired later
    median_tenure_months: float | None
    hired_after_launch: int
    teams: dict[str, int]
    job_functions: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "mean_tenure_months": self.mean_tenure_months,
            "median_tenure_months": self.median_tenure_months,
            "hired_after_launch": self.hired_after_launch,
            "teams": self.teams,
            "job_functions": self.job_functions,
        }


@dataclass(frozen=True)
class CompletedVsNot:
    program_id: int
    program_name: str
    metric: str
    definition: Definition
    comparison: str  # "enrolled" or "peers"
    completed: ResultRow
    not_completed: ResultRow
    completed_composition: Composition
    not_completed_composition: Composition
    difference: Interval  # completed - not completed
    insufficient: bool
    notes: list[str] = field(default_factory=list)
    # Made when the result is, so it is in the language of the request.
    caveat: str = field(default_factory=lambda: str(CAVEAT))

    @property
    def method(self) -> str:
        return self.difference.method

    def csv_rows(self) -> list[dict[str, Any]]:
        out = []
        for group, row, comp in (
            ("completed", self.completed, self.completed_composition),
            ("not_completed", self.not_completed, self.not_completed_composition),
        ):
            out.append(
                {
                    "group": group,
                    "people": comp.people,
                    **_estimate_cells(row),
                    "mean_tenure_months": comp.mean_tenure_months,
                    "median_tenure_months": comp.median_tenure_months,
                    "teams": "; ".join(f"{k}: {v}" for k, v in comp.teams.items()),
                    "job_functions": "; ".join(f"{k}: {v}" for k, v in comp.job_functions.items()),
                }
            )
        out.append(
            {
                "group": "difference",
                "people": None,
                **_difference_cells(self.difference, self.insufficient),
            }
        )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "design": "completed_vs_not",
            "program": {"id": self.program_id, "name": self.program_name},
            "metric": self.metric,
            "definition": self.definition.as_dict(),
            "comparison": self.comparison,
            "comparison_label": str(COMPARISON_LABELS[self.comparison]),
            "groups": {
                "completed": {
                    **self.completed.as_dict(),
                    "composition": self.completed_composition.as_dict(),
                },
                "not_completed": {
                    **self.not_completed.as_dict(),
                    "composition": self.not_completed_composition.as_dict(),
                },
            },
            "difference": self.difference.as_dict(),
            "method": self.method,
            "insufficient": self.insufficient,
            "notes": list(self.notes),
            "caveat": str(self.caveat),
        }


@dataclass(frozen=True)
class PrePost:
    """One group of a difference-in-differences: its reps' units before and after."""

    reps: int
    pre: ResultRow
    post: ResultRow

    @property
    def change(self) -> float | None:
        if self.pre.estimate is None or self.post.estimate is None:
            return None
        return self.post.estimate - self.pre.estimate

    def as_dict(self) -> dict[str, Any]:
        return {
            "reps": self.reps,
            "pre": self.pre.as_dict(),
            "post": self.post.as_dict(),
            "change": self.change,
        }


@dataclass(frozen=True)
class DiffInDiff:
    program_id: int
    program_name: str
    metric: str
    definition: Definition
    applicable: bool
    reason: str  # why not, when not applicable
    comparison: str
    window_quarters: int
    completed: PrePost | None = None
    not_completed: PrePost | None = None
    did: Interval | None = None
    excluded_reps: int = 0  # in a group but without units both before and after
    insufficient: bool = True
    notes: list[str] = field(default_factory=list)
    # Made when the result is, so it is in the language of the request.
    caveat: str = field(default_factory=lambda: str(CAVEAT))

    @property
    def method(self) -> str:
        return self.did.method if self.did else "not_applicable"

    def csv_rows(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for group, pp in (("completed", self.completed), ("not_completed", self.not_completed)):
            if pp is None:
                continue
            for period, row in (("pre", pp.pre), ("post", pp.post)):
                out.append(
                    {
                        "group": group,
                        "period": period,
                        "reps": pp.reps,
                        **_estimate_cells(row),
                    }
                )
        if self.did is not None:
            out.append(
                {
                    "group": "difference_in_differences",
                    "period": "",
                    "reps": (self.completed.reps if self.completed else 0)
                    + (self.not_completed.reps if self.not_completed else 0),
                    **_difference_cells(self.did, self.insufficient),
                }
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "design": "diff_in_diff",
            "program": {"id": self.program_id, "name": self.program_name},
            "metric": self.metric,
            "definition": self.definition.as_dict(),
            "applicable": self.applicable,
            "reason": str(self.reason),
            "comparison": self.comparison,
            "comparison_label": str(COMPARISON_LABELS[self.comparison]),
            "window_quarters": self.window_quarters,
            "groups": {
                "completed": self.completed.as_dict() if self.completed else None,
                "not_completed": self.not_completed.as_dict() if self.not_completed else None,
            },
            "did": self.did.as_dict() if self.did else None,
            "excluded_reps": self.excluded_reps,
            "method": self.method,
            "insufficient": self.insufficient,
            "notes": list(self.notes),
            "caveat": str(self.caveat),
        }


# ---------------------------------------------------------------- helpers


def _definition(metric: str, overrides: dict[str, Any] | None) -> Definition:
    return in_force(metric, clean_params(metric, overrides or {}, only_overridable=True))


def _quarter_code(when: np.ndarray) -> np.ndarray:
    months = when.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    return np.where(np.isnat(when), -(10**9), months // 3)


def _quarter_label(code: int) -> str:
    return f"{1970 + code // 4}-Q{code % 4 + 1}"


def _quarter_start(code: int) -> np.datetime64:
    return np.datetime64(f"{1970 + code // 4}-{3 * (code % 4) + 1:02d}-01", "D")


def _owners(owners: np.ndarray) -> set[int]:
    """The distinct ids among `owners` (non-negative user ids; a count per id is linear,
    where np.unique sorts or hashes every unit)."""
    if len(owners) == 0:
        return set()
    return set(np.flatnonzero(np.bincount(owners)).tolist())


def _empty_row(key: str, label: str, method: str = "") -> ResultRow:
    return ResultRow(key, label, 0, None, None, None, method, insufficient=True)


def _composition(ids: set[int], people: pd.DataFrame, launch: np.datetime64 | None) -> Composition:
    group = people[people["id"].isin(list(ids))]
    tenure: pd.Series = pd.Series(dtype="float64")
    after = 0
    if launch is not None and len(group):
        days = (launch.astype("datetime64[s]") - group["hire_date"]).dt.days.dropna()
        after = int((days < 0).sum())
        tenure = days.clip(lower=0) / (365.25 / 12)

    def mix(column: str) -> dict[str, int]:
        counts = group[column].fillna("").replace("", "—").value_counts()
        return {str(k): int(v) for k, v in counts.items()}

    return Composition(
        people=len(ids),
        mean_tenure_months=round(float(tenure.mean()), 1) if len(tenure) else None,
        median_tenure_months=round(float(tenure.median()), 1) if len(tenure) else None,
        hired_after_launch=after,
        teams=mix("team"),
        job_functions=mix("job_function"),
    )


def few_reps_notes(*sizes: int) -> list[str]:
    """A bootstrap over a handful of reps cannot see how much reps really vary, so its
    interval comes out too narrow; say so rather than hide it."""
    if min(sizes, default=0) >= FEW_REPS:
        return []
    return [
        str(
            _(
                "A group has fewer than %(n)s reps: an interval from resampling so few reps "
                "tends to be too narrow. Read it with extra care."
            )
            % {"n": FEW_REPS}
        )
    ]


def _min_n(definition: Definition) -> int:
    return int(definition.params.get("min_n", 5))


def _confidence(definition: Definition) -> float:
    return float(definition.params.get("confidence", 0.95))


# ---------------------------------------------------------------- before / after


def before_after(
    program_id: int, metric: str, overrides: dict[str, Any] | None = None
) -> BeforeAfter:
    """The metric for the program's population per quarter, from four quarters before the
    launch quarter to the current one, each beside the same quarter a year earlier. Units
    fall in the quarter of their `when` (close date for deals, hire date for per-rep
    metrics, answer date for surveys)."""
    m = _metrics()
    definition = _definition(metric, overrides)
    facts = program_facts(program_id)
    people = frames.people()
    population = program_population(facts, people)
    kind = "enrolled" if facts.enrolled else "audience_functions"
    quarters: list[QuarterRow] = []
    if facts.launch is not None:
        units = m.units(metric, definition, people=population)
        codes = _quarter_code(units["when"].to_numpy(dtype="datetime64[s]"))
        launch_q = int(_quarter_code(np.array([facts.launch], dtype="datetime64[s]"))[0])
        now_q = int(_quarter_code(np.array([frames.as_of()], dtype="datetime64[s]"))[0])
        positions = pd.Series(np.arange(len(units))).groupby(codes).indices

        def cell(code: int) -> ResultRow:
            label = _quarter_label(code)
            rows = positions.get(code)
            subset = units.iloc[rows] if rows is not None else units.iloc[0:0]
            return m.estimate(metric, subset, definition, key=label, label=label)  # type: ignore[no-any-return]

        for code in range(launch_q - 4, max(now_q, launch_q) + 1):
            quarters.append(
                QuarterRow(_quarter_label(code), code - launch_q, cell(code), cell(code - 4))
            )
    return BeforeAfter(
        program_id=facts.id,
        program_name=facts.name,
        metric=metric,
        definition=definition,
        launch=str(facts.launch) if facts.launch is not None else None,
        population=kind,
        people_n=len(population),
        quarters=quarters,
    )


# ---------------------------------------------------------------- completed vs not


def completed_vs_not(
    program_id: int,
    metric: str,
    overrides: dict[str, Any] | None = None,
    *,
    comparison: str = "enrolled",
    resamples: int = 2000,
    seed: int | None = 0,
) -> CompletedVsNot:
    """The metric for people who completed the program against people who did not.
    `comparison`: "enrolled" (enrolled, not completed) or "peers" (same job functions,
    hired in the same period as the completers, not completed). Units are counted over all
    time; the difference's interval comes from a bootstrap over people (reps), plus a
    log-rank test for time-to-event metrics."""
    if comparison not in COMPARISONS:
        raise ValueError(comparison)
    m = _metrics()
    definition = _definition(metric, overrides)
    facts = program_facts(program_id)
    people = frames.people()
    done, others = comparison_group(facts, comparison, people)
    units = m.units(metric, definition, people=done | others)
    owners = units["owner_id"].to_numpy(dtype=np.int64)
    in_done = member_mask(owners, done)
    in_others = member_mask(owners, others)
    row_done = m.estimate(
        metric, units[in_done], definition, key="completed", label=str(_("Completed"))
    )
    row_others = m.estimate(
        metric, units[in_others], definition, key="not_completed", label=str(_("Not completed"))
    )
    min_n = _min_n(definition)
    reps_done = _owners(owners[in_done])
    reps_others = _owners(owners[in_others])
    insufficient = (
        row_done.insufficient
        or row_others.insufficient
        or len(reps_done) < min_n
        or len(reps_others) < min_n
    )
    confidence = _confidence(definition)
    difference = Interval(
        None,
        None,
        None,
        "cluster_bootstrap_reps" if row_done.method != "count" else "count",
        confidence,
    )
    # Counts (new-product pipeline and wins) grow with the size of a group: a difference
    # between two groups' counts says nothing about the program.
    comparable = row_done.method != "count"
    if not insufficient and comparable:
        plan = plan_for(metric, units, definition)
        code, sizes = rep_codes(owners, [reps_done, reps_others])

        def generic(rows: np.ndarray) -> float | None:
            return m.point(metric, units.iloc[rows], definition)  # type: ignore[no-any-return]

        cells = [
            Cell(plan, in_done & (code >= 0), np.maximum(code, 0), sizes[0], generic),
            Cell(plan, in_others & (code >= 0), np.maximum(code, 0), sizes[1], generic),
        ]
        # The rows' estimates are `point` of the same units (no second pass over them).
        estimate = (
            None
            if row_done.estimate is None or row_others.estimate is None
            else row_done.estimate - row_others.estimate
        )
        n_boot = resamples if plan.kind != "generic" else min(resamples, GENERIC_RESAMPLES)
        low, high = cluster_bootstrap(
            lambda a, b: cells[0].statistic(a) - cells[1].statistic(b),
            sizes,
            resamples=n_boot,
            confidence=confidence,
            seed=seed,
        )
        p_value = None
        if plan.kind in ("km_median", "km_survival") and plan.value is not None:
            p_value = _logrank(plan, in_done, in_others)
        difference = Interval(
            estimate, low, high, "cluster_bootstrap_reps", confidence, n_boot, p_value
        )
    return CompletedVsNot(
        program_id=facts.id,
        program_name=facts.name,
        metric=metric,
        definition=definition,
        comparison=comparison,
        completed=row_done,
        not_completed=row_others,
        completed_composition=_composition(done, people, facts.launch),
        not_completed_composition=_composition(others, people, facts.launch),
        difference=difference,
        insufficient=insufficient,
        notes=[] if insufficient else few_reps_notes(len(reps_done), len(reps_others)),
    )


def _logrank(plan: Plan, in_a: np.ndarray, in_b: np.ndarray) -> float | None:
    from statsmodels.duration.survfunc import survdiff

    assert plan.value is not None and plan.observed is not None
    keep = in_a | in_b
    try:
        _stat, p = survdiff(
            plan.value[keep], plan.observed[keep].astype(int), np.where(in_a[keep], 1, 0)
        )
    except (ValueError, ZeroDivisionError, np.linalg.LinAlgError):
        return None
    return float(p) if np.isfinite(p) else None


# ---------------------------------------------------------------- difference in differences


def diff_in_diff(
    program_id: int,
    metric: str,
    overrides: dict[str, Any] | None = None,
    *,
    resamples: int = 2000,
    seed: int | None = 0,
    window_quarters: int = 2,
    comparison: str = "enrolled",
) -> DiffInDiff:
    """(post - pre) of the completers minus (post - pre) of the others, for deal metrics.

    Each rep has an anchor date: the completers their completion, the others their
    enrolment (the program's launch for peers who were never enrolled). The pre window is
    the `window_quarters` quarters (x91.3 days) before the anchor, the post window as long
    from the anchor on (cut at today). Only reps with units in both windows count, so each
    group compares the same reps with themselves; the estimates pool those reps' units
    with `metrics.point`, and the 95% interval resamples reps within each group."""
    if comparison not in COMPARISONS:
        raise ValueError(comparison)
    definition = _definition(metric, overrides)
    facts = program_facts(program_id)
    base: dict[str, Any] = {
        "program_id": facts.id,
        "program_name": facts.name,
        "metric": metric,
        "definition": definition,
        "comparison": comparison,
        "window_quarters": window_quarters,
    }
    if metric not in DEAL_METRICS:
        return DiffInDiff(
            applicable=False,
            reason=str(
                _(
                    "Difference-in-differences needs a before and an after for each person; "
                    "%(metric)s happens once per person. Compare completed with not "
                    "completed instead."
                )
                % {"metric": definition.label}
            ),
            **base,
        )
    m = _metrics()
    people = frames.people()
    done, others = comparison_group(facts, comparison, people)
    anchors = {**{u: facts.launch for u in others}, **facts.enrolled, **facts.completed}
    anchors = {u: d for u, d in anchors.items() if u in done or u in others}
    anchors = {u: d for u, d in anchors.items() if d is not None}
    units = m.units(metric, definition, people=set(anchors))
    owners = units["owner_id"].to_numpy(dtype=np.int64)
    when = units["when"].to_numpy(dtype="datetime64[s]")
    # Each unit's rep's anchor date, looked up in a table indexed by user id.
    ids = np.array(sorted(anchors) or [-1], dtype=np.int64)
    anchor_of = np.array(
        [anchors.get(int(u), np.datetime64("NaT")) for u in ids], dtype="datetime64[s]"
    )
    top = max(int(ids.max()), int(owners.max()) if len(owners) else 0, 0) + 1
    table = np.full(top, np.datetime64("NaT"), dtype="datetime64[s]")
    table[ids[ids >= 0]] = anchor_of[ids >= 0]
    anchor = table[np.clip(owners, 0, top - 1)]
    known = (owners >= 0) & ~np.isnat(anchor)
    window = np.timedelta64(round(window_quarters * DAYS_PER_QUARTER), "D")
    today = frames.as_of().astype("datetime64[s]")
    pre = known & (when >= anchor - window) & (when < anchor)
    post = known & (when >= anchor) & (when < anchor + window) & (when <= today)

    both = _owners(owners[pre]) & _owners(owners[post])
    reps_done, reps_others = done & both, others & both
    excluded = len((done | others) & set(anchors)) - len(reps_done) - len(reps_others)
    code, sizes = rep_codes(owners, [reps_done, reps_others])
    in_done = member_mask(owners, reps_done)
    in_others = member_mask(owners, reps_others)

    def row(mask: np.ndarray, key: str, label: str) -> ResultRow:
        return m.estimate(metric, units[mask], definition, key=key, label=label)  # type: ignore[no-any-return]

    completed = PrePost(
        len(reps_done),
        row(in_done & pre, "completed_pre", str(_("Completed, before"))),
        row(in_done & post, "completed_post", str(_("Completed, after"))),
    )
    not_completed = PrePost(
        len(reps_others),
        row(in_others & pre, "not_completed_pre", str(_("Not completed, before"))),
        row(in_others & post, "not_completed_post", str(_("Not completed, after"))),
    )
    min_n = _min_n(definition)
    insufficient = (
        len(reps_done) < min_n
        or len(reps_others) < min_n
        or any(r.insufficient for g in (completed, not_completed) for r in (g.pre, g.post))
    )
    confidence = _confidence(definition)
    did = Interval(None, None, None, "cluster_bootstrap_reps", confidence)
    if not insufficient:
        plan = plan_for(metric, units, definition)

        def generic(rows: np.ndarray) -> float | None:
            return m.point(metric, units.iloc[rows], definition)  # type: ignore[no-any-return]

        rep = np.maximum(code, 0)
        cells = [
            Cell(plan, in_done & pre, rep, sizes[0], generic),
            Cell(plan, in_done & post, rep, sizes[0], generic),
            Cell(plan, in_others & pre, rep, sizes[1], generic),
            Cell(plan, in_others & post, rep, sizes[1], generic),
        ]
        # The rows' estimates are `point` of the same units (no second pass over them).
        points = [
            completed.pre.estimate,
            completed.post.estimate,
            not_completed.pre.estimate,
            not_completed.post.estimate,
        ]
        a0, a1, b0, b1 = points
        estimate = (
            None if a0 is None or a1 is None or b0 is None or b1 is None else (a1 - a0) - (b1 - b0)
        )

        def statistic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return np.asarray(
                (cells[1].statistic(a) - cells[0].statistic(a))
                - (cells[3].statistic(b) - cells[2].statistic(b))
            )

        n_boot = resamples if plan.kind != "generic" else min(resamples, GENERIC_RESAMPLES)
        low, high = cluster_bootstrap(
            statistic, sizes, resamples=n_boot, confidence=confidence, seed=seed
        )
        did = Interval(
            None if estimate is None else float(estimate),
            low,
            high,
            "cluster_bootstrap_reps",
            confidence,
            n_boot,
        )
    return DiffInDiff(
        applicable=True,
        reason="",
        completed=completed,
        not_completed=not_completed,
        did=did,
        excluded_reps=max(excluded, 0),
        insufficient=insufficient,
        notes=[] if insufficient else few_reps_notes(len(reps_done), len(reps_others)),
        **base,
    )


__all__ = [
    "CAVEAT",
    "BeforeAfter",
    "CompletedVsNot",
    "DiffInDiff",
    "before_after",
    "completed_vs_not",
    "diff_in_diff",
]
