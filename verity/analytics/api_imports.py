"""The bulk import endpoint: `POST /api/v1/analytics/import/{kind}`, so a CRM or HR sync can
push the same records the CSV imports take (docs/analytics-import.md).

Site admins only. The body is `{"records": [{...}], "stage_map": {...}, "product_aliases":
{...}, "skip_invalid": false, "dry_run": false}`; each record has the CSV columns as fields.
The answer counts what was created and updated and lists the problems by the record's index
in `records` and its field. When a record is invalid and `skip_invalid` is false, nothing is
written and the answer is 400 with the problems.
"""

from __future__ import annotations

from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.responses import Status

from verity.accounts import access
from verity.accounts.schemas import AuthedRequest, Error
from verity.analytics import imports
from verity.analytics.imports import ImportOptions, ImportRejected, ImportReport

router = Router(tags=["analytics"])

KindName = Literal["people", "opportunities", "stage-history", "quotas"]
Scalar = str | int | float | bool | None


class ImportIn(Schema):
    records: list[dict[str, Scalar]] = Field(
        ...,
        description=(
            "Rows as objects with the CSV columns as fields, e.g. for opportunities "
            '{"id", "owner", "account", "product", "amount", "stage", "created_date", '
            f'"close_date"}}. At most {imports.MAX_API_RECORDS:,} per request.'
        ),
    )
    stage_map: dict[str, str] = Field(
        default_factory=dict, description='CRM stage → "open", "won" or "lost" (remembered)'
    )
    product_aliases: dict[str, str] = Field(
        default_factory=dict, description="Another spelling → the product's name (remembered)"
    )
    skip_invalid: bool = Field(False, description="Write the valid records, report the others")
    dry_run: bool = Field(False, description="Check and count, write nothing")


class ImportProblem(Schema):
    index: int = Field(..., description="Position of the record in `records` (from 0)")
    field: str | None
    message: str


class ImportOut(Schema):
    kind: str
    run: int | None = Field(None, description="The import's record (ImportRun id)")
    dry_run: bool
    written: bool
    records: int
    created: int
    updated: int
    skipped: int
    error_count: int
    errors: list[ImportProblem]


class ImportErrorOut(Schema):
    detail: str
    error_count: int = 0
    errors: list[ImportProblem] = []


def _body(report: ImportReport) -> dict[str, Any]:
    return {
        "kind": report.kind,
        "run": report.run_id,
        "dry_run": report.dry_run,
        "written": report.written,
        "records": report.rows,
        "created": report.created,
        "updated": report.updated,
        "skipped": report.skipped,
        "error_count": report.error_count,
        "errors": [
            {"index": e.row, "field": e.field or None, "message": e.message} for e in report.errors
        ],
    }


@router.post(
    "/import/{kind}",
    response={200: ImportOut, 400: ImportErrorOut, 401: Error, 403: Error, 422: Error},
    summary="Import CRM or HR records (site admins)",
)
def import_records(request: AuthedRequest, kind: KindName, payload: ImportIn) -> Any:
    if not access.can_manage_analytics(request.auth):
        raise PermissionDenied(_("Only site admins import analytics data."))
    options = ImportOptions(
        stage_map=imports.clean_stage_map(payload.stage_map),
        product_aliases={k: v for k, v in payload.product_aliases.items() if k.strip()},
        skip_invalid=payload.skip_invalid,
        dry_run=payload.dry_run,
    )
    try:
        report = imports.import_records(
            kind=kind,
            records=[dict(r) for r in payload.records],
            options=options,
            user=request.auth,
        )
    except ImportRejected as rejected:
        body = _body(rejected.report)
        detail = _("%(count)s problem(s) found; nothing was imported.") % {
            "count": rejected.report.error_count
        }
        return Status(400, {"detail": detail, **body})
    return Status(200, _body(report))
