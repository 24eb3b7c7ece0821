"""Import and export of the knowledge base: JSONL, Markdown folders, Guru zips and
Verity's own full export. See docs/import-export.md for the formats."""

from __future__ import annotations

from pathlib import Path

from verity.accounts.models import User
from verity.knowledge.models import Collection
from verity.knowledge.transfer.export import write_export
from verity.knowledge.transfer.importer import Progress, import_cards
from verity.knowledge.transfer.readers import detect_format, read_path
from verity.knowledge.transfer.records import ImportFailed, ImportReport, Problem
from verity.knowledge.transfer.restore import restore

__all__ = [
    "ImportFailed",
    "ImportReport",
    "Problem",
    "import_path",
    "restore",
    "write_export",
]


def import_path(
    path: Path,
    *,
    user: User | None,
    collection: Collection | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import whatever `path` holds (format detected from its layout)."""
    kind = detect_format(path)
    if kind == "verity":
        return restore(path, user=user, skip_invalid=skip_invalid, progress=progress)
    if user is None:
        raise ImportFailed([Problem(str(path), "no user to import as (give --as EMAIL)")])
    _, result = read_path(path)
    if result.problems and not skip_invalid:
        # Parse errors and record errors are reported together.
        from verity.knowledge.transfer.importer import validate

        _, more = validate(
            result.records, user=user, collection=collection, default_collection=result.collection
        )
        raise ImportFailed(sorted(result.problems + more, key=lambda p: _order(p.where)))
    report = import_cards(
        result.records,
        user=user,
        collection=collection,
        default_collection=result.collection,
        skip_invalid=skip_invalid,
        progress=progress,
        extra_folders=result.folders,
    )
    report.problems[:0] = result.problems
    report.skipped += len(result.problems)
    return report


def _order(where: str) -> tuple[str, int]:
    head, _, tail = where.rpartition("line ")
    return (head, int(tail)) if tail.isdigit() else (where, 0)
