"""JSON shapes of the metrics API (/api/v1/analytics/metrics and /definitions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema


class ResultRowOut(Schema):
    key: str
    label: str
    n: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    method: str
    insufficient: bool = False
    extra: dict[str, Any] | None = None


class MetricResultOut(Schema):
    metric: str
    by: str
    unit: str
    date_from: str | None = Field(None, alias="from")
    date_to: str | None = Field(None, alias="to")
    definition: dict[str, Any] = Field(
        ..., description="The definition in force: its parameters, version and overrides."
    )
    rows: list[ResultRowOut]


class ParamOut(Schema):
    default: Any
    label: str
    choices: list[str] = []
    minimum: float | None = None
    maximum: float | None = None
    overridable: bool = Field(..., description="May be given as a query parameter.")


class MetricOut(Schema):
    metric: str
    label: str
    unit: str
    description: str
    dimensions: list[str]
    parameters: dict[str, ParamOut]
    definition: dict[str, Any]


class MetricList(Schema):
    items: list[MetricOut]


class DefinitionVersionOut(Schema):
    version: int
    params: dict[str, Any]
    note: str
    created_by: str | None
    created_at: datetime


class DefinitionOut(Schema):
    metric: str
    in_force: dict[str, Any]
    parameters: dict[str, ParamOut]
    history: list[DefinitionVersionOut]


class DefinitionIn(Schema):
    params: dict[str, Any] = Field(..., description="Parameters to change; others are kept.")
    note: str = Field("", max_length=300)
