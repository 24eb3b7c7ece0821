"""Metric results and definitions over the JSON API.

- `GET /analytics/metrics` — every metric with its definition in force.
- `GET /analytics/metrics/{metric}?by=&from=&to=&program=&<parameter>=` — the metric by a
  dimension; overridable parameters of the definition (`statistic`, `population`, `value`,
  `mode`, `measure`) may be given as query parameters. Bad input is a 400 naming the
  parameter.
- `GET /analytics/definitions/{metric}` — the definition in force and its history;
  `PUT` stores a new version (site admins).

Company-wide analytics are for `access.can_see_analytics`; everyone else gets 403.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from ninja import Router
from ninja.responses import Status

from verity.accounts import access
from verity.accounts.schemas import AuthedRequest, Error
from verity.analytics import definitions, metrics
from verity.analytics.definitions import METRICS, Param
from verity.analytics.schemas import (
    DefinitionIn,
    DefinitionOut,
    MetricList,
    MetricResultOut,
)
from verity.core.api import validation_errors

router = Router(tags=["analytics"])

ERRORS: dict[int | str, Any] = {400: Error, 401: Error, 403: Error, 404: Error}
QUERY_NAMES = {"by", "from", "to", "program"}


def _require_viewer(request: AuthedRequest) -> None:
    if not access.can_see_analytics(request.auth):
        raise PermissionDenied(_("Analytics are for admins, enablement and leadership."))


def _bad_request(exc: ValidationError, default_field: str | None = None) -> Status:
    """400 with every message and the parameter it is about."""
    errors = validation_errors(exc, default_field)
    return Status(400, {"detail": "; ".join(e["message"] for e in errors), "errors": errors})


def _param_out(param: Param) -> dict[str, Any]:
    return {
        "default": param.default,
        "label": str(param.label),
        "choices": list(param.choices),
        "minimum": param.minimum,
        "maximum": param.maximum,
        "overridable": param.overridable,
    }


def _parameters(metric: str) -> dict[str, Any]:
    return {name: _param_out(p) for name, p in definitions.all_params(metric).items()}


@router.get(
    "/metrics",
    response={200: MetricList, **ERRORS},
    summary="List metrics with the definitions in force",
)
def metric_list(request: AuthedRequest) -> Any:
    _require_viewer(request)
    items = []
    for key, spec in METRICS.items():
        if key not in metrics.ENGINE_METRICS:
            continue  # rep_ltv belongs to the ROI calculator
        items.append(
            {
                "metric": key,
                "label": str(spec.label),
                "unit": spec.unit,
                "description": str(spec.description),
                "dimensions": list(metrics.dimensions_for(key)),
                "parameters": _parameters(key),
                "definition": definitions.in_force(key).as_dict(),
            }
        )
    return {"items": items}


@router.get(
    "/metrics/{metric}",
    response={200: MetricResultOut, **ERRORS},
    by_alias=True,
    summary="A metric by dimension, with n, interval and method per row",
)
def metric_result(request: AuthedRequest, metric: str) -> Any:
    _require_viewer(request)
    query = request.GET
    overrides: dict[str, Any] = {}
    for name in query:
        if name in QUERY_NAMES:
            continue
        overrides[name] = query.get(name)
    program_id: int | None = None
    raw_program = query.get("program") or None
    try:
        if raw_program is not None:
            try:
                program_id = int(raw_program)
            except ValueError:
                raise ValidationError(
                    {"program": _("program must be a program id (a whole number).")}
                ) from None
        result = metrics.compute(
            metric,
            by=query.get("by") or "all",
            date_from=query.get("from") or None,
            date_to=query.get("to") or None,
            overrides=overrides,
            program_id=program_id,
        )
    except ValidationError as exc:
        return _bad_request(exc, default_field=_guess_field(exc, metric, overrides))
    return result.as_dict()


def _guess_field(exc: ValidationError, metric: str, overrides: dict[str, Any]) -> str | None:
    """Messages without a field (from `clean_params` and `spec`) start with the name."""
    text = " ".join(exc.messages)
    for name in overrides:
        if text.startswith(name):
            return name
    if metric not in METRICS:
        return "metric"
    return None


def _history(metric: str) -> dict[str, Any]:
    return {
        "metric": metric,
        "in_force": definitions.in_force(metric).as_dict(),
        "parameters": _parameters(metric),
        "history": [
            {
                "version": d.version,
                "params": d.params,
                "note": d.note,
                "created_by": d.created_by.display_name if d.created_by else None,
                "created_at": d.created_at,
            }
            for d in definitions.history(metric)
        ],
    }


@router.get(
    "/definitions/{metric}",
    response={200: DefinitionOut, **ERRORS},
    summary="A metric's definition in force and its versions",
)
def definition_get(request: AuthedRequest, metric: str) -> Any:
    _require_viewer(request)
    try:
        return _history(metric)
    except ValidationError as exc:
        return _bad_request(exc, "metric")


@router.put(
    "/definitions/{metric}",
    response={200: DefinitionOut, **ERRORS},
    summary="Store a new version of a metric's definition (site admins)",
)
def definition_put(request: AuthedRequest, metric: str, payload: DefinitionIn) -> Any:
    if not access.can_manage_analytics(request.auth):
        raise PermissionDenied(_("Only site admins change metric definitions."))
    try:
        definitions.save_version(request.auth, metric, payload.params, payload.note)
    except ValidationError as exc:
        text = " ".join(exc.messages)
        field = next((name for name in payload.params if text.startswith(name)), None)
        return _bad_request(exc, field or ("metric" if metric not in METRICS else None))
    return _history(metric)
