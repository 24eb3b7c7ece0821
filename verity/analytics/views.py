"""The team overview, the list of scorecards and a rep's scorecard.

Decisions:
- The overview is company-wide: site admins, the enablement team and leadership
  (access.can_see_analytics). Anyone else who opens /analytics/ is sent to their own
  scorecard; managers reach their reports' scorecards from the list.
- Scorecards go through access.get_scorecard_person_for (404 for anyone not oneself or
  below one in the org chart). A scorecard's comparison groups (hire cohort, team) are
  aggregates, computed over everyone in the group whoever looks, and shown only as
  estimates with n — never per person.
- The programs on a scorecard are the enrolments the viewer may see under the learning
  rules (access.enrollments_visible_to): a skip-level manager sees the numbers but not the
  quiz scores, as on My team.
- Every number comes from metrics.compute with the definition in force; the page never
  recomputes an estimate itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q
from django.http import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from verity.accounts import access
from verity.accounts.models import JobFunction, User
from verity.analytics import charts, definitions, exports, frames, metrics
from verity.analytics.forms import OVERVIEW_METRICS, OverviewForm, PeopleForm
from verity.analytics.models import Opportunity
from verity.analytics.results import MetricResult, ResultRow
from verity.analytics.templatetags.analytics_tags import format_value
from verity.analytics.views_common import (
    AuthedRequest,
    definition_links,
    has_data,
    page_or_csv,
)

# --------------------------------------------------------------------------- quarters


@dataclass(frozen=True)
class Quarter:
    key: str  # "2026-Q1", as metrics keys quarters
    label: str
    start: date
    end: date  # last day, inclusive
    partial: bool  # the current quarter, still running


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def last_quarters(count: int, today: date | None = None) -> list[Quarter]:
    """The `count` quarters up to and including the current one, oldest first."""
    today = today or timezone.localdate()
    year, q = quarter_of(today)
    found = []
    for _i in range(count):
        start = date(year, 3 * (q - 1) + 1, 1)
        next_start = date(year + (q == 4), 3 * (q % 4) + 1, 1)
        found.append(
            Quarter(
                f"{year}-Q{q}",
                f"{year} Q{q}",
                start,
                next_start - timedelta(days=1),
                start <= today < next_start,
            )
        )
        year, q = (year, q - 1) if q > 1 else (year - 1, 4)
    return found[::-1]


# --------------------------------------------------------------------------- overview


@dataclass(frozen=True)
class TrendCell:
    quarter: Quarter
    row: ResultRow | None


@dataclass(frozen=True)
class Trend:
    metric: str
    unit: str
    definition: definitions.Definition
    cells: list[TrendCell]
    chart: charts.Chart


@dataclass(frozen=True)
class BreakdownRow:
    key: str
    label: str
    cells: list[ResultRow | None]


def _formatter(unit: str) -> charts.Formatter:
    return lambda value: format_value(value, unit)


def company_trend(metric: str, quarters: list[Quarter]) -> Trend:
    result = metrics.compute(
        metric, by="quarter", date_from=quarters[0].start, date_to=quarters[-1].end
    )
    by_key = {row.key: row for row in result.rows}
    cells = [TrendCell(q, by_key.get(q.key)) for q in quarters]
    chart = charts.bar_chart(
        [
            charts.BarInput(
                charts.period_label(c.quarter.key),
                None if c.row is None or c.row.insufficient else c.row.estimate,
                c.row.ci_low if c.row else None,
                c.row.ci_high if c.row else None,
            )
            for c in cells
        ],
        y_format=_formatter(result.unit),
    )
    return Trend(metric, result.unit, result.definition, cells, chart)


def breakdown(
    metric: str, by: str, quarters: list[Quarter]
) -> tuple[list[BreakdownRow], MetricResult | None]:
    """Rows = the groups of `by`, columns = quarters; each cell is compute()'s row for that
    group in that quarter."""
    results = [metrics.compute(metric, by=by, date_from=q.start, date_to=q.end) for q in quarters]
    labels: dict[str, str] = {}
    for result in results:
        for row in result.rows:
            labels.setdefault(row.key, row.label)
    order = sorted(labels, key=lambda k: (k == metrics.NONE_KEY, labels[k].casefold()))
    if by == "hire_cohort":
        order = sorted(labels, key=lambda k: (k == metrics.NONE_KEY, k))
    lookup = [{row.key: row for row in result.rows} for result in results]
    rows = [BreakdownRow(k, labels[k], [cells.get(k) for cells in lookup]) for k in order]
    return rows, results[-1] if results else None


def breakdown_chart(rows: list[BreakdownRow], quarters: list[Quarter], unit: str) -> charts.Chart:
    """The groups with the most data, one line each across the quarters (intervals are in
    the table: six overlapping bands would hide the lines)."""
    biggest = sorted(rows, key=lambda r: -sum(c.n for c in r.cells if c))[: charts.MAX_SERIES]
    inputs = [
        charts.SeriesInput(
            r.label,
            list(range(len(quarters))),
            [None if c is None or c.insufficient else c.estimate for c in r.cells],
        )
        for r in biggest
    ]
    return charts.indexed_line_chart(
        inputs,
        [charts.period_label(q.key) for q in quarters],
        y_format=_formatter(unit),
        zero=unit != "days",
    )


@login_required
@require_GET
@frames.read_once()
def overview(request: AuthedRequest) -> HttpResponseBase:
    user = request.user
    if not access.can_see_analytics(user):
        return redirect("analytics_scorecard", pk=user.pk)
    form = OverviewForm(request.GET)
    by, metric, count = form.value("by"), form.value("metric"), form.value("quarters")
    quarters = last_quarters(count)
    context: dict[str, Any] = {"form": form, "section": "overview", "quarters": quarters}
    tables: list[exports.Table] = []
    if not has_data():
        context["no_data"] = True
        return page_or_csv(request, "analytics/overview.html", context, tables, "overview")

    trends = [company_trend(m, quarters) for m in OVERVIEW_METRICS]
    trend_table = exports.Table(
        "trend",
        [_("Quarter"), _("Metric"), *exports.result_columns(_("Group"))[1:], _("Definition")],
    )
    for trend in trends:
        for cell in trend.cells:
            trend_table.add(
                cell.quarter.label,
                trend.definition.label,
                *exports.result_cells(cell.row),
                f"v{trend.definition.version}",
            )
    rows, last = breakdown(metric, by, quarters)
    unit = definitions.METRICS[metric].unit
    by_label = dict(form.fields["by"].choices)[by]  # type: ignore[attr-defined]
    breakdown_table = exports.Table(
        "breakdown", [str(by_label), _("Quarter"), *exports.result_columns("")[1:]]
    )
    for group in rows:
        for q, result_row in zip(quarters, group.cells, strict=True):
            breakdown_table.add(group.label, q.label, *exports.result_cells(result_row))
    tables = [trend_table, breakdown_table]
    context.update(
        {
            "trends": trends,
            "rows": rows,
            "metric": metric,
            "metric_label": definitions.METRICS[metric].label,
            "unit": unit,
            "by_label": by_label,
            "breakdown_definition": last.definition if last else definitions.in_force(metric),
            "breakdown_chart": breakdown_chart(rows, quarters, unit),
        }
    )
    return page_or_csv(request, "analytics/overview.html", context, tables, "overview")


# --------------------------------------------------------------------------- people


def _visible_people(user: User) -> Any:
    allowed = access.scorecard_people_for(user)
    people = User.objects.all()
    if allowed is not None:
        people = people.filter(pk__in=allowed)
    return people


@login_required
@require_GET
def people(request: AuthedRequest) -> HttpResponseBase:
    visible = _visible_people(request.user)
    # Only people with HR data or deals have a scorecard worth opening, plus oneself. (An
    # EXISTS, not a join: a join over a million deals would need DISTINCT.)
    has_deals = Exists(Opportunity.objects.filter(owner=OuterRef("pk")))
    with_data = visible.filter(Q(hire_date__isnull=False) | has_deals | Q(pk=request.user.pk))
    # order_by(): User's default ordering (name, email) would otherwise join the DISTINCT
    # and give one team per person.
    teams = sorted(
        t
        for t in visible.exclude(team="").order_by().values_list("team", flat=True).distinct()
        if t
    )
    form = PeopleForm(request.GET, teams=teams)
    query, team = (form.value("q") or "").strip(), form.value("team")
    found = with_data
    if query:
        found = found.filter(Q(name__icontains=query) | Q(email__icontains=query))
    if team:
        found = found.filter(team=team)
    found = found.select_related("manager").order_by("name", "email")
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    functions = dict(JobFunction.choices)
    table = exports.Table(
        "people",
        [
            _("Name"),
            _("Email"),
            _("Team"),
            _("Job function"),
            _("Manager"),
            _("Hire date"),
            _("Left"),
        ],
    )
    if exports.wants_csv(request):
        for person in found.iterator(chunk_size=500):
            table.add(
                person.display_name,
                person.email,
                person.team,
                str(functions.get(person.job_function, "")),
                person.manager.display_name if person.manager else "",
                person.hire_date.isoformat() if person.hire_date else "",
                person.termination_date.isoformat() if person.termination_date else "",
            )
    context = {
        "form": form,
        "page": page,
        "functions": functions,
        "section": "people",
        "total": page.paginator.count,
    }
    return page_or_csv(request, "analytics/people.html", context, [table], "people")


# --------------------------------------------------------------------------- scorecard

SCORECARD_METRICS = (
    "win_rate",
    "deal_size",
    "sales_cycle_days",
    "time_to_first_deal_days",
    "ramp_time_days",
)
# One value per rep: the rep's own column shows their value (or "none yet, N days so
# far"), since an estimate over one rep is always below the minimum n.
PER_REP_METRICS = ("time_to_first_deal_days", "ramp_time_days")


@dataclass(frozen=True)
class OwnValue:
    days: float
    reached: bool  # False: censored, not reached yet (days so far)


@dataclass(frozen=True)
class ScoreRow:
    metric: str
    label: str
    unit: str
    definition: definitions.Definition
    own: ResultRow | None
    own_value: OwnValue | None
    cohort: ResultRow | None
    team: ResultRow | None


def _one(metric: str, people: set[int]) -> tuple[ResultRow | None, MetricResult | None]:
    if not people:
        return None, None
    result = metrics.compute(metric, people=people)
    return (result.rows[0] if result.rows else None), result


def _own_value(metric: str, definition: definitions.Definition, pk: int) -> OwnValue | None:
    frame = metrics.units(metric, definition, people={pk})
    if frame.empty:
        return None
    first = frame.iloc[0]
    return OwnValue(float(first["duration"]), bool(first["observed"]))


def hire_quarter(day: date | None) -> str | None:
    if day is None:
        return None
    year, q = quarter_of(day)
    return f"{year}-Q{q}"


def comparison_groups(person: User) -> tuple[set[int], set[int]]:
    """Ids of the person's hire cohort (hired the same quarter) and team."""
    cohort: set[int] = set()
    if person.hire_date:
        year, q = quarter_of(person.hire_date)
        start = date(year, 3 * (q - 1) + 1, 1)
        end = date(year + (q == 4), 3 * (q % 4) + 1, 1)
        cohort = set(
            User.objects.filter(hire_date__gte=start, hire_date__lt=end).values_list(
                "pk", flat=True
            )
        )
    team: set[int] = set()
    if person.team:
        team = set(User.objects.filter(team=person.team).values_list("pk", flat=True))
    return cohort, team


def ramp_chart(person: User, cohort: set[int]) -> tuple[charts.Chart, list[Any]]:
    """The rep's attainment by tenure month against their cohort's median and quartiles."""
    from verity.analytics import curves

    series = []
    rows: list[Any] = []
    groups = [(_("Hire cohort: median, quartiles"), cohort), (person.display_name, {person.pk})]
    for label, ids in groups:
        if not ids:
            continue
        curve = curves.ramp_curve(people=ids)
        if curve.empty:
            continue
        points = [
            {
                "month": int(r.month),
                "median": float(r.median),
                "q1": float(r.q1),
                "q3": float(r.q3),
                "n": int(r.n),
            }
            for r in curve.itertuples(index=False)
        ]
        own = ids == {person.pk}
        series.append(
            charts.SeriesInput(
                str(label),
                [p["month"] for p in points],
                [p["median"] for p in points],
                [] if own else [p["q1"] for p in points],
                [] if own else [p["q3"] for p in points],
            )
        )
        rows.append((label, points))
    chart = charts.line_chart(
        series,
        x_format=lambda m: f"{m:g}",
        y_format=lambda v: f"{100 * v:.0f}%",
        reference=1.0,
    )
    return chart, rows


@login_required
@require_GET
@frames.read_once()
def scorecard(request: AuthedRequest, pk: int) -> HttpResponseBase:
    viewer = request.user
    person = access.get_scorecard_person_for(viewer, pk)
    context: dict[str, Any] = {
        "person": person,
        "section": "scorecard",
        "function_label": dict(JobFunction.choices).get(person.job_function, ""),
        "is_self": person.pk == viewer.pk,
    }
    enrollments = list(
        access.enrollments_visible_to(viewer)
        .filter(user=person, superseded=False)
        .select_related("program")
        .order_by("-enrolled_at")
    )
    context["enrollments"] = enrollments
    programs_table = exports.Table(
        "programs", [_("Program"), _("State"), _("Enrolled"), _("Completed"), _("Score")]
    )
    from verity.learning.models import EnrollmentState

    states = dict(EnrollmentState.choices)
    now = timezone.now()
    for e in enrollments:
        programs_table.add(
            e.program.name,
            str(states.get(e.display_state(now), "")),
            e.enrolled_at.date().isoformat(),
            e.completed_at.date().isoformat() if e.completed_at else "",
            e.score,
        )
    tables = [programs_table]
    if not has_data():
        context["no_data"] = True
        return page_or_csv(request, "analytics/scorecard.html", context, tables, "scorecard")

    cohort, team = comparison_groups(person)
    cohort_label = (
        _("Hire cohort %(q)s") % {"q": metrics.quarter_label(hire_quarter(person.hire_date) or "")}
        if person.hire_date
        else _("Hire cohort")
    )
    team_label = _("Team %(team)s") % {"team": person.team} if person.team else _("Team")
    rows = []
    metrics_table = exports.Table(
        "metrics",
        [_("Metric"), _("Group"), *exports.result_columns("")[1:], _("Definition")],
    )
    for metric in SCORECARD_METRICS:
        own, result = _one(metric, {person.pk})
        definition = result.definition if result else definitions.in_force(metric)
        own_value = None
        if metric in PER_REP_METRICS:
            own_value = _own_value(metric, definition, person.pk)
        cohort_row, _r = _one(metric, cohort)
        team_row, _r = _one(metric, team)
        spec = definitions.METRICS[metric]
        rows.append(
            ScoreRow(
                metric, str(spec.label), spec.unit, definition, own, own_value, cohort_row, team_row
            )
        )
        version = f"v{definition.version}"
        if own_value is not None:
            metrics_table.add(
                spec.label,
                person.display_name,
                1,
                own_value.days,
                None,
                None,
                "",
                "" if own_value.reached else _("not reached yet (days so far)"),
                version,
            )
        else:
            metrics_table.add(spec.label, person.display_name, *exports.result_cells(own), version)
        metrics_table.add(spec.label, cohort_label, *exports.result_cells(cohort_row), version)
        metrics_table.add(spec.label, team_label, *exports.result_cells(team_row), version)
    tables.append(metrics_table)
    chart, curve_rows = ramp_chart(person, cohort)
    ramp_table = exports.Table(
        "ramp",
        [
            _("Group"),
            _("Tenure month"),
            _("Median attainment"),
            _("Lower quartile"),
            _("Upper quartile"),
            _("n"),
        ],
    )
    for label, points in curve_rows:
        for p in points:
            ramp_table.add(str(label), int(p["month"]), p["median"], p["q1"], p["q3"], p["n"])
    tables.append(ramp_table)
    context.update(
        {
            "rows": rows,
            "cohort_label": cohort_label,
            "team_label": team_label,
            "cohort_size": len(cohort),
            "team_size": len(team),
            "ramp": chart,
            "ramp_rows": ramp_table.rows,
            "people_url": reverse("analytics_people"),
            "per_rep": PER_REP_METRICS,
        }
    )
    return page_or_csv(request, "analytics/scorecard.html", context, tables, "scorecard")


__all__ = ["definition_links", "overview", "people", "scorecard"]
