"""What the metric engine returns, shared by the pages, the API and the CSV exports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from verity.analytics.definitions import Definition


@dataclass(frozen=True)
class ResultRow:
    """One group's estimate. `estimate`, `ci_low` and `ci_high` are None when the group has
    fewer than the definition's `min_n` (then `insufficient` is True) or when the interval
    cannot be computed (e.g. a Kaplan–Meier median the curve never reaches)."""

    key: str  # machine key: "all", a rep id, "2026-Q1", "completed", ...
    label: str  # what people read: "Sales East", "Irina Petrova", "2026 Q1", ...
    n: int  # sample size in the unit the method counts (deals, reps, answers)
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    method: str  # "wilson", "kaplan_meier", "t", "quantile_binomial", "adjusted_wald", ...
    insufficient: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. {"censored": 12, "events": 40}

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "n": self.n,
            "estimate": self.estimate,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "method": self.method,
            "insufficient": self.insufficient,
            **({"extra": self.extra} if self.extra else {}),
        }


@dataclass(frozen=True)
class MetricResult:
    metric: str
    by: str
    definition: Definition
    unit: str  # "days", "ratio", "amount", "score", "count"
    rows: list[ResultRow]
    date_from: str | None = None  # ISO dates of the window the result covers
    date_to: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "by": self.by,
            "unit": self.unit,
            "from": self.date_from,
            "to": self.date_to,
            "definition": self.definition.as_dict(),
            "rows": [row.as_dict() for row in self.rows],
        }
