"""The metric definitions: what each number on the analytics pages means, the version in
force and its history. Every signed-in member reads them (a scorecard links its numbers
here); only site admins save a new version (definitions.save_version checks it again)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBase
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from verity.accounts import access
from verity.analytics import definitions, exports
from verity.analytics.forms import DefinitionForm
from verity.analytics.models import MetricDefinition
from verity.analytics.views_common import AuthedRequest, page_or_csv


@dataclass(frozen=True)
class ParamValue:
    name: str
    label: str
    value: Any
    changed: bool  # differs from the built-in default


def param_values(metric: str, params: dict[str, Any]) -> list[ParamValue]:
    known = definitions.all_params(metric)
    return [
        ParamValue(name, str(p.label), params.get(name, p.default), params.get(name) != p.default)
        for name, p in known.items()
    ]


@dataclass(frozen=True)
class DefinitionView:
    definition: definitions.Definition
    unit: str
    params: list[ParamValue]

    @property
    def metric(self) -> str:
        return self.definition.metric


@login_required
def definition_list(request: AuthedRequest) -> HttpResponseBase:
    rows = []
    table = exports.Table("definitions", [_("Metric"), _("Version"), _("Parameter"), _("Value")])
    for key, spec in definitions.METRICS.items():
        definition = definitions.in_force(key)
        params = param_values(key, definition.params)
        rows.append(DefinitionView(definition, spec.unit, params))
        for p in params:
            table.add(str(spec.label), definition.version, p.label, p.value)
    return page_or_csv(
        request,
        "analytics/definitions.html",
        {"rows": rows, "section": "definitions"},
        [table],
        "definitions",
    )


@dataclass(frozen=True)
class VersionView:
    stored: MetricDefinition
    params: list[ParamValue]


@login_required
@require_http_methods(["GET", "POST"])
def definition_detail(request: AuthedRequest, metric: str) -> HttpResponseBase:
    if metric not in definitions.METRICS:
        raise Http404("No such metric")
    spec = definitions.METRICS[metric]
    current = definitions.in_force(metric)
    can_edit = access.can_manage_analytics(request.user)
    form = None
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        form = DefinitionForm(request.POST, metric=metric, initial=current.params)
        if form.is_valid():
            values = {name: form.cleaned_data[name] for name in form.params}
            try:
                saved = definitions.save_version(
                    request.user, metric, values, form.cleaned_data["note"]
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    _("Saved as version %(version)s: it is in force from now on.")
                    % {"version": saved.version},
                )
                return redirect("analytics_definition", metric=metric)
    elif can_edit:
        form = DefinitionForm(metric=metric, initial=current.params)

    versions = [
        VersionView(stored, param_values(metric, {**definitions.defaults(metric), **stored.params}))
        for stored in definitions.history(metric)
    ]
    table = exports.Table(
        "history",
        [_("Version"), _("Saved"), _("By"), _("Note"), _("Parameter"), _("Value")],
    )
    for v in versions:
        who = v.stored.created_by.display_name if v.stored.created_by else ""
        for p in v.params:
            table.add(
                v.stored.version,
                v.stored.created_at.date().isoformat(),
                who,
                v.stored.note,
                p.label,
                p.value,
            )
    context = {
        "spec": spec,
        "current": DefinitionView(current, spec.unit, param_values(metric, current.params)),
        "versions": versions,
        "form": form,
        "can_edit": can_edit,
        "section": "definitions",
    }
    return page_or_csv(
        request, "analytics/definition_detail.html", context, [table], f"definition-{metric}"
    )
