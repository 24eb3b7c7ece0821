"""Curves for the charts: the ramp curve (quota attainment by tenure month) and
Kaplan-Meier survival curves (time to first deal, time to ramp, tenure).

Both come back as pandas frames with one row per point, so a view can draw them and list
the same numbers in a table (and CSV) beside the chart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from verity.analytics import metrics, stats
from verity.analytics import metrics_units as mu
from verity.analytics.definitions import in_force

CURVE_METRICS = ("time_to_first_deal_days", "ramp_time_days", "retention_2y")
RAMP_COLUMNS = ["group", "label", "month", "n", "median", "q1", "q3"]
SURVIVAL_COLUMNS = [
    "group",
    "label",
    "time",
    "survival",
    "ci_low",
    "ci_high",
    "at_risk",
    "events",
]


def _grouping(
    metric: str, frame: pd.DataFrame, group_by: str | None, program_id: int | None
) -> tuple[pd.Series, dict[str, str]]:
    if group_by is None:
        group_by = "all"
    if group_by in ("product", "quarter", "rep"):
        raise ValidationError(
            {"by": _("Curves can be grouped by team, job function, hire cohort or program.")}
        )
    return metrics.group_keys(metric, group_by, frame, program_id)


def ramp_curve(
    people: Iterable[int] | None = None,
    group_by: str | None = None,
    *,
    program_id: int | None = None,
    max_month: int = 24,
) -> pd.DataFrame:
    """Median monthly quota attainment (won amount / quota) by tenure month (0 = the hire
    month), with the quartiles and n (reps with a quota that month), per group. Only months
    that have ended count; a rep who has left stops counting."""
    months = mu.attainment(set(people) if people is not None else None)
    months = months[(months["tenure_month"] >= 0) & (months["tenure_month"] <= max_month)]
    if months.empty:
        return pd.DataFrame(columns=RAMP_COLUMNS)
    frame = months.assign(when=months["month"])
    keys, labels = _grouping("ramp_time_days", frame, group_by, program_id)
    frame = frame.assign(group=keys.to_numpy())
    grouped = frame.groupby(["group", "tenure_month"])["attainment"]
    curve = grouped.quantile([0.25, 0.5, 0.75]).unstack()
    curve.columns = ["q1", "median", "q3"]
    curve["n"] = grouped.size()
    curve = curve.reset_index()
    curve = curve.rename(columns={"tenure_month": "month"})
    curve["label"] = curve["group"].map(labels)
    return curve[RAMP_COLUMNS].sort_values(["group", "month"]).reset_index(drop=True)


def survival_curves(
    metric: str,
    group_by: str | None = None,
    people: Iterable[int] | None = None,
    *,
    program_id: int | None = None,
    overrides: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Kaplan-Meier steps per group: time (days), survival (the share still without the
    event: no won deal yet, not ramped yet, still employed), its pointwise 95% interval on
    the log-log scale, the number at risk and the events at that time. Each group starts at
    (0, 1)."""
    if metric not in CURVE_METRICS:
        raise ValidationError(
            {
                "metric": _("Survival curves exist for: %(choices)s")
                % {"choices": ", ".join(CURVE_METRICS)}
            }
        )
    definition = in_force(metric, overrides or {})
    frame = metrics.units(metric, definition, people)
    if frame.empty:
        return pd.DataFrame(columns=SURVIVAL_COLUMNS)
    keys, labels = _grouping(metric, frame, group_by, program_id)
    confidence = float(definition.params["confidence"])
    parts = []
    for key, part in frame.groupby(keys.to_numpy(), sort=True):
        steps = stats.km_curve(part["duration"].to_numpy(), part["observed"].to_numpy(), confidence)
        steps.insert(0, "label", labels.get(str(key), str(key)))
        steps.insert(0, "group", str(key))
        parts.append(steps)
    if not parts:
        return pd.DataFrame(columns=SURVIVAL_COLUMNS)
    return pd.concat(parts, ignore_index=True)[SURVIVAL_COLUMNS]
