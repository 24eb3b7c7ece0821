"""The tables on the analytics pages, and their CSV downloads.

Every table a page shows is built once as a `Table` (raw values, the header in the viewer's
language). The page renders it; `?format=csv&table=<name>` on the same URL, with the same
filters, downloads it. So the CSV always holds exactly the rows the page shows, and the
permission checks are the page's. The CSV text itself comes from the program report's
writer (UTF-8 with a byte order mark, cells that Excel would run as formulas made text).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.utils import translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from verity.analytics.results import MetricResult, ResultRow
from verity.learning.reports import csv_stream


@dataclass
class Table:
    name: str  # the ?table= value, also the file name
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)

    def add(self, *cells: Any) -> None:
        self.rows.append(list(cells))


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def result_columns(first: str) -> list[str]:
    return [
        first,
        _("n"),
        _("Estimate"),
        _("Interval low"),
        _("Interval high"),
        _("Method"),
        _("Note"),
    ]


def result_cells(row: ResultRow | None) -> list[Any]:
    """The estimate columns of one result row (blank with a note when insufficient)."""
    if row is None:
        return [0, None, None, None, "", _("insufficient data")]
    note = _("insufficient data") if row.insufficient else ""
    return [row.n, row.estimate, row.ci_low, row.ci_high, row.method, note]


def definition_note(result: MetricResult) -> str:
    d = result.definition
    return _("%(metric)s, definition v%(version)s") % {"metric": d.label, "version": d.version}


def result_table(name: str, result: MetricResult, first: str) -> Table:
    table = Table(name, [*result_columns(first), _("Definition")])
    note = definition_note(result)
    for row in result.rows:
        table.add(row.label, *result_cells(row), note)
    return table


def csv_response(
    request: HttpRequest, tables: Sequence[Table], prefix: str
) -> StreamingHttpResponse:
    """The table named by ?table= as a CSV download; 404 for a name the page has not."""
    wanted = request.GET.get("table", "")
    table = next((t for t in tables if t.name == wanted), None)
    if table is None:
        raise Http404("No such table")
    language = translation.get_language()

    def lines() -> Iterator[str]:
        with translation.override(language):
            rows = [table.columns, *([_cell(c) for c in row] for row in table.rows)]
            yield from csv_stream(rows)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    disposition = content_disposition_header(
        as_attachment=True, filename=f"{prefix}-{table.name}.csv"
    )
    response["Content-Disposition"] = disposition or "attachment"
    # People's results: not for shared caches.
    response["Cache-Control"] = "private, no-store"
    return response


def wants_csv(request: HttpRequest) -> bool:
    return request.GET.get("format") == "csv"


def csv_url(request: HttpRequest, table: str) -> str:
    """This page's URL with its filters, asking for one table as CSV."""
    query = request.GET.copy()
    query["format"] = "csv"
    query["table"] = table
    return f"{request.path}?{query.urlencode()}"
