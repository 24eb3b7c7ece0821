"""Numbers on the analytics pages: every estimate with its unit, its 95% interval and n, or
"insufficient data" — formatted for the viewer's language (decimal comma and thin-space
thousands in Russian)."""

from __future__ import annotations

from typing import Any

from django import template
from django.http import HttpRequest
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from verity.analytics import exports
from verity.analytics.results import ResultRow

register = template.Library()


def format_value(value: float | None, unit: str) -> str:
    """One number in its unit: ratios as percentages, days whole, money grouped."""
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{number_format(100 * value, 1, force_grouping=True)}%"
    if unit == "days":
        return _("%(n)s d") % {"n": number_format(value, 0, force_grouping=True)}
    if unit == "months":
        return _("%(n)s mo") % {"n": number_format(value, 1)}
    if unit == "amount":
        return number_format(value, 0, force_grouping=True)
    if unit in ("score", "count"):
        return number_format(value, 0, force_grouping=True)
    return number_format(value, 2)


@register.filter
def in_unit(value: float | None, unit: str) -> str:
    return format_value(value, unit)


@register.filter
def difference(value: float | None, unit: str) -> str:
    """A signed difference: percentage points for ratios, days, amounts."""
    if value is None:
        return "—"
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    size = abs(value)
    if unit == "ratio":
        return _("%(sign)s%(n)s pp") % {"sign": sign, "n": number_format(100 * size, 1)}
    return f"{sign}{format_value(size, unit)}"


@register.filter
def quarter(key: str) -> str:
    """'2026-Q1' → '2026 Q1'."""
    from verity.analytics.metrics import quarter_label

    return quarter_label(str(key))


@register.filter
def percent(value: float | None, places: int = 0) -> str:
    if value is None:
        return "—"
    return f"{number_format(100 * value, places, force_grouping=True)}%"


@register.inclusion_tag("analytics/_estimate.html")
def estimate(row: ResultRow | None, unit: str, compact: bool = False) -> dict[str, Any]:
    """The estimate, its interval and n; "insufficient data" when the row has too few."""
    return {
        "row": row,
        "value": format_value(row.estimate, unit) if row else "",
        "low": format_value(row.ci_low, unit) if row and row.ci_low is not None else "",
        "high": format_value(row.ci_high, unit) if row and row.ci_high is not None else "",
        "compact": compact,
    }


@register.simple_tag(takes_context=True)
def csv_url(context: template.Context, table: str) -> str:
    request: HttpRequest = context["request"]
    return exports.csv_url(request, table)


@register.simple_tag(takes_context=True)
def query_with(context: template.Context, **changes: Any) -> str:
    """This page's query string with some parameters changed (shareable filter links)."""
    query = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    query.pop("format", None)
    query.pop("table", None)
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"
