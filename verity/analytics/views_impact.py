"""Program impact, retention curves and the ROI calculator: company-wide pages for site
admins, the enablement team and leadership (access.can_see_analytics; 403 otherwise).

Decision: these pages show only aggregates over a program's population, never a person,
so an analytics viewer may pick any program that has enrolments — including programs the
learning rules would not let them open (leadership does not build programs). Nothing from a
program beyond its name reaches the page.

Every comparison carries impact.CAVEAT; every estimate comes from the engine (metrics,
impact, curves, roi) with the definition in force beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseBase
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods

from verity.accounts import access
from verity.accounts.models import JobFunction
from verity.analytics import charts, definitions, exports, frames, impact, metrics
from verity.analytics.forms import ImpactForm, ParamsForm, ProgramForm, RetentionForm
from verity.analytics.results import ResultRow
from verity.analytics.templatetags.analytics_tags import format_value
from verity.analytics.views_common import (
    AuthedRequest,
    analytics_viewer_required,
    has_data,
    page_or_csv,
)
from verity.learning.models import Program


def impact_programs() -> list[tuple[int, str]]:
    """Programs with at least one enrolment, the newest first (the engine's default
    onboarding program first of all)."""
    programs = list(
        Program.objects.filter(enrollments__isnull=False)
        .distinct()
        .order_by("-created_at", "-pk")
        .values_list("pk", "name")
    )
    default = metrics.default_program_id()
    programs.sort(key=lambda p: p[0] != default)
    return programs


def _formatter(unit: str) -> charts.Formatter:
    return lambda value: format_value(value, unit)


def short_quarter(key: str) -> str:
    """'2026-Q1' → '2026 Q1'."""
    return metrics.quarter_label(key)


# --------------------------------------------------------------------------- impact


def before_after_chart(result: impact.BeforeAfter, unit: str) -> charts.Chart:
    quarters = result.quarters
    xs = list(range(len(quarters)))

    def series(label: str, rows: list[ResultRow]) -> charts.SeriesInput:
        ok = [r if not r.insufficient else None for r in rows]
        return charts.SeriesInput(
            label,
            xs,
            [r.estimate if r else None for r in ok],
            [r.ci_low if r else None for r in ok],
            [r.ci_high if r else None for r in ok],
        )

    launch_index = next((i for i, q in enumerate(quarters) if q.offset == 0), None)
    return charts.indexed_line_chart(
        [
            series(_("This quarter"), [q.current for q in quarters]),
            series(_("Same quarter a year earlier"), [q.year_earlier for q in quarters]),
        ],
        [charts.period_label(q.quarter) for q in quarters],
        y_format=_formatter(unit),
        zero=unit != "days",
        marker_index=launch_index,
        marker_label=_("Dashed vertical line: the quarter the program launched."),
    )


@analytics_viewer_required
@require_http_methods(["GET"])
@frames.read_once()
def impact_page(request: AuthedRequest) -> HttpResponseBase:
    programs = impact_programs()
    form = ImpactForm(request.GET, programs=programs)
    program_id, metric = form.value("program"), form.value("metric")
    spec = definitions.METRICS[metric]
    context: dict[str, Any] = {
        "form": form,
        "section": "impact",
        "metric_label": spec.label,
        "unit": spec.unit,
        "caveat": impact.CAVEAT,
        "programs": programs,
    }
    tables: list[exports.Table] = []
    if not has_data():
        context["no_data"] = True
    elif program_id is not None:
        before = impact.before_after(program_id, metric)
        versus = impact.completed_vs_not(program_id, metric)
        did = impact.diff_in_diff(program_id, metric)
        context.update(
            {
                "program_name": before.program_name,
                "definition": before.definition,
                "before": before,
                "before_chart": before_after_chart(before, spec.unit),
                "versus": versus,
                "versus_groups": [
                    {"row": row, "comp": comp, "functions": function_mix(comp.job_functions)}
                    for row, comp in (
                        (versus.completed, versus.completed_composition),
                        (versus.not_completed, versus.not_completed_composition),
                    )
                ],
                "did": did,
                "did_groups": [
                    (_("Completed"), did.completed),
                    (_("Not completed"), did.not_completed),
                ]
                if did.completed and did.not_completed
                else [],
                "min_n": before.definition.params.get("min_n"),
            }
        )
        tables = impact_tables(before, versus, did)
    return page_or_csv(request, "analytics/impact.html", context, tables, "impact")


def function_mix(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Job-function keys ("sales") as their names ("Sales"), for people to read."""
    names = dict(JobFunction.choices)
    return [(str(names.get(key, key)), count) for key, count in counts.items()]


def impact_tables(
    before: impact.BeforeAfter, versus: impact.CompletedVsNot, did: impact.DiffInDiff
) -> list[exports.Table]:
    by_quarter = exports.Table(
        "before-after",
        [
            _("Quarter"),
            _("Quarters from launch"),
            *exports.result_columns("")[1:],
            _("Same quarter a year earlier"),
            _("n, a year earlier"),
            _("Estimate, a year earlier"),
            _("Interval low, a year earlier"),
            _("Interval high, a year earlier"),
            pgettext("metric difference", "Change"),
        ],
    )
    for q in before.quarters:
        y = q.year_earlier
        by_quarter.add(
            short_quarter(q.quarter),
            q.offset,
            *exports.result_cells(q.current),
            short_quarter(y.key),
            y.n,
            None if y.insufficient else y.estimate,
            y.ci_low,
            y.ci_high,
            q.change,
        )
    groups = exports.Table(
        "completed-vs-not",
        [
            _("Group"),
            *exports.result_columns("")[1:],
            _("People"),
            _("Mean tenure at launch (months)"),
            _("Teams"),
            _("Job functions"),
        ],
    )
    for row, comp in (
        (versus.completed, versus.completed_composition),
        (versus.not_completed, versus.not_completed_composition),
    ):
        groups.add(
            row.label,
            *exports.result_cells(row),
            comp.people,
            comp.mean_tenure_months,
            "; ".join(f"{k}: {v}" for k, v in comp.teams.items()),
            "; ".join(f"{k}: {v}" for k, v in function_mix(comp.job_functions)),
        )
    d = versus.difference
    groups.add(
        _("Difference (completed − not completed)"),
        None,
        d.estimate,
        d.ci_low,
        d.ci_high,
        d.method,
        _("insufficient data") if versus.insufficient else "",
        None,
        None,
        "",
        "",
    )
    did_table = exports.Table(
        "diff-in-diff", [_("Group"), _("Period"), _("Reps"), *exports.result_columns("")[1:]]
    )
    if did.applicable and did.completed and did.not_completed:
        for pp in (did.completed, did.not_completed):
            did_table.add(pp.pre.label, _("before"), pp.reps, *exports.result_cells(pp.pre))
            did_table.add(pp.post.label, _("after"), pp.reps, *exports.result_cells(pp.post))
        if did.did is not None:
            did_table.add(
                _("Difference in differences"),
                "",
                did.completed.reps + did.not_completed.reps,
                None,
                did.did.estimate,
                did.did.ci_low,
                did.did.ci_high,
                did.did.method,
                _("insufficient data") if did.insufficient else "",
            )
    return [by_quarter, groups, did_table]


# --------------------------------------------------------------------------- retention


@dataclass(frozen=True)
class CurveTable:
    label: str
    rows: list[dict[str, Any]]


def survival_chart(
    groups: list[tuple[str, str, list[dict[str, Any]]]],
    follow_up: dict[str, float],
    *,
    x_scale: float,
    x_unit: str,
) -> charts.Chart:
    """Step curves per group. A Kaplan-Meier curve's last step is its last event; the line
    goes on, flat, to the group's longest follow-up, so a group with few events is not
    drawn as if it stopped early."""
    inputs = []
    for key, label, points in groups:
        if not points:
            continue
        points = list(points)
        end = follow_up.get(key)
        if end is not None and end > points[-1]["t"]:
            points.append({**points[-1], "t": end})
        inputs.append(
            charts.SeriesInput(
                label,
                [p["t"] / x_scale for p in points],
                [p["s"] for p in points],
                [p["low"] for p in points],
                [p["high"] for p in points],
            )
        )
    # Bands for up to two groups; more would hide each other (the numbers have them).
    return charts.step_chart(
        inputs,
        x_format=lambda v: f"{v:g} {x_unit}",
        y_format=lambda v: f"{100 * v:.0f}%",
        bands=len(inputs) <= 2,
    )


def follow_up(metric: str, by: str, program_id: int | None = None) -> dict[str, float]:
    """The longest time observed (event or censoring) per group, in days."""
    definition = definitions.in_force(metric)
    frame = metrics.units(metric, definition)
    if frame.empty:
        return {}
    keys, _labels = metrics.group_keys(metric, by, frame, program_id)
    longest = frame["duration"].groupby(keys.to_numpy()).max()
    return {"all": float(frame["duration"].max()), **{str(k): float(v) for k, v in longest.items()}}


def curve_groups(frame: pd.DataFrame) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """curves.survival_curves' long frame as (key, label, steps) per group, in its order."""
    groups = []
    everyone = _("Everyone")
    for _key, part in frame.groupby("group", sort=False):
        points = [
            {
                "t": float(r.time),
                "s": float(r.survival),
                "low": _maybe(r.ci_low),
                "high": _maybe(r.ci_high),
                "at_risk": int(r.at_risk),
            }
            for r in part.itertuples(index=False)
        ]
        label = everyone if _key == "all" else str(part["label"].iloc[0])
        groups.append((str(_key), str(label), points))
    return groups


def _maybe(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if number != number else number


@analytics_viewer_required
@require_http_methods(["GET"])
@frames.read_once()
def retention(request: AuthedRequest) -> HttpResponseBase:
    from verity.analytics import curves

    programs = impact_programs()
    form = RetentionForm(request.GET, programs=programs)
    by, program_id = form.value("by"), form.value("program")
    context: dict[str, Any] = {
        "form": form,
        "section": "retention",
        "caveat": impact.CAVEAT,
        "by_label": dict(form.fields["by"].choices)[by],  # type: ignore[attr-defined]
    }
    tables: list[exports.Table] = []
    if not has_data():
        context["no_data"] = True
        return page_or_csv(request, "analytics/retention.html", context, tables, "retention")
    everyone = metrics.compute("retention_2y")
    kept = metrics.compute("retention_2y", by=by)
    retention_groups = curve_groups(curves.survival_curves("retention_2y")) + curve_groups(
        curves.survival_curves("retention_2y", group_by=by)
    )
    drawn = retention_groups[: charts.MAX_SERIES]
    context["everyone"] = everyone.rows[0] if everyone.rows else None
    context["retention"] = kept
    context["retention_chart"] = survival_chart(
        drawn, follow_up("retention_2y", by), x_scale=365.25, x_unit=_("y")
    )
    context["retention_curves"] = retention_groups
    context["more_groups"] = len(retention_groups) > len(drawn)
    table = exports.result_table("retention", kept, str(context["by_label"]))
    if context["everyone"] is not None:
        table.rows.insert(
            0,
            [
                _("Everyone"),
                *exports.result_cells(context["everyone"]),
                table.rows[0][-1] if table.rows else "",
            ],
        )
    tables.append(table)
    tables.append(curve_table("retention-curves", retention_groups))
    if program_id is not None:
        first = metrics.compute("time_to_first_deal_days", by="program", program_id=program_id)
        first_groups = curve_groups(
            curves.survival_curves(
                "time_to_first_deal_days", group_by="program", program_id=program_id
            )
        )
        context["first_deal"] = first
        context["first_deal_chart"] = survival_chart(
            first_groups,
            follow_up("time_to_first_deal_days", "program", program_id),
            x_scale=30.4375,
            x_unit=_("mo"),
        )
        context["first_deal_curves"] = first_groups
        context["program_name"] = dict(programs).get(program_id, "")
        tables.append(exports.result_table("first-deal", first, _("Onboarding")))
        tables.append(curve_table("first-deal-curves", first_groups))
    return page_or_csv(request, "analytics/retention.html", context, tables, "retention")


def curve_table(name: str, groups: list[tuple[str, str, list[dict[str, Any]]]]) -> exports.Table:
    table = exports.Table(
        name,
        [
            _("Group"),
            _("Day"),
            _("Share remaining"),
            _("Interval low"),
            _("Interval high"),
            _("At risk"),
        ],
    )
    for _key, label, points in groups:
        for p in points:
            table.add(label, round(p["t"]), p["s"], p["low"], p["high"], p["at_risk"])
    return table


# --------------------------------------------------------------------------- ROI

ROI_PARAMS = (
    "margin",
    "monthly_cost_per_rep",
    "onboarding_cost_per_rep",
    "annual_discount_rate",
    "horizon_months",
)


@analytics_viewer_required
@require_http_methods(["GET", "POST"])
@frames.read_once()
def roi_page(request: AuthedRequest) -> HttpResponseBase:
    """GET recomputes with the assumptions in the query; POST (admins) stores them as a new
    version of the rep_ltv definition."""
    from verity.analytics import roi

    current = definitions.in_force("rep_ltv")
    programs = impact_programs()
    if request.method == "POST":
        if not access.can_manage_analytics(request.user):
            raise PermissionDenied
        form = ParamsForm(request.POST, metric="rep_ltv", initial=current.params, names=ROI_PARAMS)
        if form.is_valid():
            note = (request.POST.get("note") or "").strip()[:300] or _(
                "Saved from the ROI calculator"
            )
            try:
                saved = definitions.save_version(request.user, "rep_ltv", form.values(), note)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    _("Saved as version %(version)s of the rep lifetime value definition.")
                    % {"version": saved.version},
                )
                return redirect("analytics_roi")
    else:
        has_values = any(name in request.GET for name in ROI_PARAMS)
        form = ParamsForm(
            request.GET if has_values else None,
            metric="rep_ltv",
            initial=current.params,
            names=ROI_PARAMS,
        )
    program_form = ProgramForm(request.GET, programs=programs)
    program_id = program_form.value("program")
    assumptions = form.values()
    context: dict[str, Any] = {
        "form": form,
        "program_form": program_form,
        "section": "roi",
        "definition": current,
        "caveat": impact.CAVEAT,
        "changed": any(assumptions[k] != current.params.get(k) for k in ROI_PARAMS),
        "assumptions": assumptions,
        "programs": programs,
    }
    tables: list[exports.Table] = []
    if not has_data():
        context["no_data"] = True
    elif program_id is not None and not form.errors:
        result = roi.onboarding_roi(program_id, assumptions)
        context["result"] = result
        context["ltv_chart"] = ltv_chart(result)
        context["discount_percent"] = 100 * float(assumptions["annual_discount_rate"])
        tables = roi_tables(result)
    return page_or_csv(request, "analytics/roi.html", context, tables, "roi")


def ltv_chart(result: Any) -> charts.Chart:
    """Cumulative discounted value per rep by tenure month, for both groups."""
    inputs = []
    for label, ltv in (
        (_("Completed"), result.completed),
        (_("Not completed"), result.not_completed),
    ):
        if not ltv.months:
            continue
        total, ys = 0.0, []
        for m in ltv.months:
            total += m.value
            ys.append(total)
        inputs.append(charts.SeriesInput(str(label), [m.month for m in ltv.months], ys))
    return charts.line_chart(
        inputs, x_format=lambda v: f"{v:g}", y_format=_formatter("amount"), zero=True
    )


def roi_tables(result: Any) -> list[exports.Table]:
    summary = exports.Table(
        "roi", [_("Item"), _("Value"), _("Interval low"), _("Interval high"), _("n")]
    )
    labels = {
        "margin": _("Gross margin on bookings"),
        "monthly_cost_per_rep": _("Monthly cost per rep"),
        "onboarding_cost_per_rep": _("Onboarding cost per rep"),
        "annual_discount_rate": _("Annual discount rate"),
        "horizon_months": _("Horizon (months)"),
    }
    for name, value in result.assumptions.items():
        summary.add(labels.get(name, name), value, None, None, None)
    summary.add(
        _("Lifetime value, completed"), result.completed.value, None, None, result.completed.reps
    )
    summary.add(
        _("Lifetime value, not completed"),
        result.not_completed.value,
        None,
        None,
        result.not_completed.reps,
    )
    summary.add(_("Completers"), result.completers, None, None, None)
    summary.add(
        _("Benefit"), result.benefit.estimate, result.benefit.ci_low, result.benefit.ci_high, None
    )
    summary.add(_("Cost"), result.cost, None, None, None)
    summary.add(_("ROI"), result.roi.estimate, result.roi.ci_low, result.roi.ci_high, None)
    months = exports.Table(
        "ltv-months",
        [
            _("Group"),
            _("Tenure month"),
            _("Still employed"),
            _("Bookings per rep"),
            _("Reps observed"),
            _("Carried forward"),
            _("Discounted value"),
        ],
    )
    for label, ltv in (
        (_("Completed"), result.completed),
        (_("Not completed"), result.not_completed),
    ):
        for m in ltv.months:
            months.add(
                label,
                m.month,
                m.survival,
                m.bookings,
                m.reps_observed,
                _("yes") if m.extrapolated else "",
                m.value,
            )
    return [summary, months]
