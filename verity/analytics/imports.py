"""Importing CRM and HR data: people, opportunities, stage history and quotas, from CSV files
(the upload pages and `verity analytics import`) or JSON records (the bulk API).

One import is one transaction. Every row is checked; problems are reported by row number
(as a spreadsheet shows it: the header is row 1) and column. When any row is invalid nothing
is written, unless `skip_invalid` is asked, which writes the valid rows and reports the rest.
A dry run checks and counts everything, then rolls back. Re-importing the same ids updates
the rows in place. Every run is recorded in `ImportRun`, and a run that wrote anything bumps
the analytics data version inside its transaction (cached frames are recomputed).

Speed: the CSV is streamed with the csv module, each row is checked against lookups loaded
once (imports_kinds), and valid rows are upserted in batches of a few thousand with
`executemany`, so memory stays flat whatever the file size (about 1M opportunities a minute
on SQLite; see docs/analytics-import.md).
"""

from __future__ import annotations

import csv
import gc
import io
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from verity.accounts import access
from verity.accounts.models import User
from verity.analytics import frames
from verity.analytics.imports_kinds import (
    BULK_MODE_ROWS,
    FIELDS,
    HANDLERS,
    KINDS,
    RowInvalid,
    Target,
)
from verity.analytics.imports_parse import (
    CellError,
    header_key,
    parse_outcome,
    parse_pairs,
    stage_key,
)
from verity.analytics.models import (
    ImportRun,
    ImportStatus,
    MappingPreset,
    Outcome,
    ProductAlias,
    StageMapping,
)

BATCH_SIZE = 5000
ERRORS_KEPT = 500  # the first problems are listed; the total is always counted
MAX_API_RECORDS = 50_000
PROGRESS_EVERY = 10_000

__all__ = ["FIELDS", "KINDS", "ImportOptions", "ImportReport", "RowError", "Target"]


# ---------------------------------------------------------------- options and results


@dataclass
class ImportOptions:
    mapping: dict[str, str] = field(default_factory=dict)  # target field → source column
    stage_map: dict[str, str] = field(default_factory=dict)  # CRM stage → open/won/lost
    product_aliases: dict[str, str] = field(default_factory=dict)  # alias → product name
    skip_invalid: bool = False
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "mapping": self.mapping,
            "stage_map": self.stage_map,
            "product_aliases": self.product_aliases,
            "skip_invalid": self.skip_invalid,
            "dry_run": self.dry_run,
        }


@dataclass
class RowError:
    row: int  # spreadsheet row (header = 1) or, from the API, the index in `records`
    column: str  # the column as the file names it (or the JSON field)
    field: str  # the import's field
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "message": self.message,
        }

    def __str__(self) -> str:
        if self.row <= 1 and not self.column:
            return self.message
        return _("row %(row)s, %(column)s: %(message)s") % {
            "row": self.row,
            "column": self.column or "—",
            "message": self.message,
        }


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    dry_run: bool = False
    written: bool = False
    notes: list[str] = field(default_factory=list)
    run_id: int | None = None

    @property
    def imported(self) -> int:
        return self.created + self.updated

    def add_error(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append(error)


class ImportRejected(Exception):
    """Invalid rows (or an unusable file) and no `skip_invalid`: nothing was written."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"{report.error_count} problem(s)")
        self.report = report


# ---------------------------------------------------------------- sources


@dataclass
class Source:
    """Rows of one import as {field: text}, with the column each field came from."""

    columns: dict[str, str]  # field → the column name shown in errors
    rows: Iterable[tuple[int, dict[str, str]]]
    total: int | None = None  # rows expected (for the progress bar), when known
    problems: list[RowError] = field(default_factory=list)  # file-level: unusable mapping


def guess_mapping(kind: str, headers: list[str]) -> dict[str, str]:
    """Which header each field most likely comes from: the field's own name first, then the
    usual Salesforce and HubSpot export headers ("Opportunity Owner", "Close Date")."""
    by_key: dict[str, str] = {}
    for header in headers:
        by_key.setdefault(header_key(header), header)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    targets = FIELDS[kind]
    for pass_ in ("own", "guess"):
        for target in targets:
            if target.name in mapping:
                continue
            keys = [header_key(target.name)] if pass_ == "own" else list(target.guesses)
            for key in keys:
                found = by_key.get(header_key(key))
                if found is not None and found not in taken:
                    mapping[target.name] = found
                    taken.add(found)
                    break
    return mapping


def resolve_mapping(
    kind: str, headers: list[str], explicit: Mapping[str, str]
) -> tuple[dict[str, int], list[RowError]]:
    """Field → column index: the explicit mapping (as given by --map, a preset or the upload
    form) over the guesses. A missing required column or a mapped column the file does not
    have is a problem at row 1 (the header)."""
    problems: list[RowError] = []
    names = {t.name for t in FIELDS[kind]}
    index = {h: i for i, h in reversed(list(enumerate(headers)))}
    by_key = {header_key(h): i for i, h in reversed(list(enumerate(headers)))}
    guessed = guess_mapping(kind, headers)
    columns: dict[str, int] = {}
    for target, source in explicit.items():
        if target not in names:
            problems.append(
                RowError(
                    1,
                    source,
                    target,
                    _("“%(field)s” is not a field of this import") % {"field": target},
                )
            )
            continue
        if not source:  # explicitly "not in the file"
            guessed.pop(target, None)
            continue
        position = index.get(source, by_key.get(header_key(source)))
        if position is None:
            problems.append(
                RowError(
                    1,
                    source,
                    target,
                    _("the file has no column “%(column)s”") % {"column": source},
                )
            )
            continue
        columns[target] = position
        guessed.pop(target, None)
    for target, header in guessed.items():
        if target not in columns and target not in explicit:
            columns[target] = index[header]
    for spec in FIELDS[kind]:
        if spec.required and spec.name not in columns and spec.name not in explicit:
            problems.append(
                RowError(
                    1,
                    "",
                    spec.name,
                    _(
                        "no column for “%(field)s” (%(label)s): add one, or map it with "
                        "--map %(field)s=COLUMN"
                    )
                    % {"field": spec.name, "label": spec.label},
                )
            )
    return columns, problems


def sniff_dialect(sample: str) -> str:
    """The delimiter of a CSV file: Excel in many European locales writes ";", some
    exports use tabs."""
    first = sample.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _open_text(path: Path) -> io.TextIOWrapper:
    # utf-8-sig drops the byte-order mark Excel writes at the start of "CSV UTF-8".
    return open(path, encoding="utf-8-sig", newline="")


def read_header(path: Path, preview_rows: int = 0) -> tuple[list[str], list[list[str]]]:
    """The header and the first rows, for the preview. Raises CellError on an unreadable file."""
    try:
        with _open_text(path) as handle:
            sample = handle.read(64 * 1024)
            handle.seek(0)
            reader = csv.reader(handle, delimiter=sniff_dialect(sample))
            header = next(reader, [])
            rows: list[list[str]] = []
            for row in reader:
                if len(rows) >= preview_rows:
                    break
                if row:
                    rows.append(row)
    except UnicodeDecodeError:
        raise CellError(_("The file is not UTF-8 text: save it as “CSV UTF-8”.")) from None
    except csv.Error as exc:
        raise CellError(
            _("The file is not a readable CSV file: %(error)s") % {"error": exc}
        ) from None
    header = [h.strip() for h in header]
    if not any(header):
        raise CellError(_("The file is empty or has no header row."))
    return header, rows


def _count_lines(path: Path) -> int:
    lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return max(lines - 1, 0)


def csv_source(path: Path, kind: str, mapping: Mapping[str, str]) -> Source:
    header, _preview = read_header(path)
    columns, problems = resolve_mapping(kind, header, mapping)
    shown = {target: header[i] for target, i in columns.items()}
    source = Source(columns=shown, rows=(), problems=problems, total=_count_lines(path))
    if problems:
        return source

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        fields = list(columns.items())
        with _open_text(path) as handle:
            sample = handle.read(64 * 1024)
            handle.seek(0)
            reader = csv.reader(handle, delimiter=sniff_dialect(sample))
            next(reader, None)
            number = 1
            try:
                for cells in reader:
                    number += 1
                    if not cells or (len(cells) == 1 and not cells[0].strip()):
                        continue  # a blank line
                    width = len(cells)
                    yield number, {t: cells[i] if i < width else "" for t, i in fields}
            except UnicodeDecodeError:
                raise CellError(
                    _("Row %(row)s is not UTF-8 text: save the file as “CSV UTF-8”.")
                    % {"row": number + 1}
                ) from None
            except csv.Error as exc:
                raise CellError(
                    _("Row %(row)s cannot be read as CSV: %(error)s")
                    % {"row": number + 1, "error": exc}
                ) from None

    source.rows = rows()
    return source


def records_source(kind: str, records: list[dict[str, Any]]) -> Source:
    """JSON records (the bulk API): fields by name; numbers and booleans become text, so a
    record reads exactly like a CSV row. The "row" of an error is the index in the list."""
    names = [t.name for t in FIELDS[kind]]

    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for index, record in enumerate(records):
            yield index, {n: text(record[n]) for n in names if n in record}

    problems = []
    present = {name for record in records for name in record}
    unknown = sorted(present - set(names))
    if unknown:
        problems.append(
            RowError(
                0,
                unknown[0],
                unknown[0],
                _("unknown field(s) %(fields)s; this import takes %(known)s")
                % {"fields": ", ".join(unknown), "known": ", ".join(names)},
            )
        )
    return Source(columns={n: n for n in names}, rows=rows(), total=len(records), problems=problems)


# ---------------------------------------------------------------- options from text


def clean_stage_map(values: Mapping[str, str]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for stage, outcome in values.items():
        if not stage.strip():
            continue
        try:
            cleaned[stage.strip()] = parse_outcome(str(outcome))
        except CellError as exc:
            raise ValidationError({"stage_map": f"{stage}: {exc}"}) from None
    return cleaned


def parse_stage_map(texts: Iterable[str]) -> dict[str, str]:
    """--stage-map "Won=won,Lost=lost" (repeatable)."""
    values: dict[str, str] = {}
    for text in texts:
        try:
            values.update(parse_pairs(text))
        except CellError as exc:
            raise ValidationError({"stage_map": str(exc)}) from None
    return clean_stage_map(values)


def parse_mapping(kind: str, texts: Iterable[str]) -> dict[str, str]:
    """--map target=source_column (repeatable; the column may contain commas)."""
    names = {t.name for t in FIELDS[kind]}
    mapping: dict[str, str] = {}
    for text in texts:
        target, sep, column = text.partition("=")
        target = target.strip()
        if not sep or not target:
            raise ValidationError({"map": _("“%(value)s” is not FIELD=COLUMN") % {"value": text}})
        if target not in names:
            raise ValidationError(
                {
                    "map": _("“%(field)s” is not a field of this import (fields: %(names)s)")
                    % {"field": target, "names": ", ".join(t.name for t in FIELDS[kind])}
                }
            )
        mapping[target] = column.strip()
    return mapping


def parse_product_aliases(texts: Iterable[str]) -> dict[str, str]:
    """--product-alias "Fcst=Northwind Forecasting" (repeatable; also one per line)."""
    aliases: dict[str, str] = {}
    for text in texts:
        try:
            aliases.update(parse_pairs(text))
        except CellError as exc:
            raise ValidationError({"product_aliases": str(exc)}) from None
    return aliases


# ---------------------------------------------------------------- presets


def preset_mapping(kind: str, name: str) -> dict[str, str]:
    preset = MappingPreset.objects.filter(kind=kind, name=name.strip()).first()
    if preset is None:
        raise ValidationError(
            {"preset": _("No saved mapping “%(name)s” for this import.") % {"name": name}}
        )
    return {str(k): str(v) for k, v in preset.mapping.items()}


def preset_save(
    *, user: User | None, kind: str, name: str, mapping: dict[str, str]
) -> MappingPreset:
    name = name.strip()
    if not name:
        raise ValidationError({"save_preset": _("Give the mapping a name.")})
    if len(name) > 100:
        raise ValidationError({"save_preset": _("The name is too long (100 characters at most).")})
    preset, _created = MappingPreset.objects.update_or_create(
        kind=kind, name=name, defaults={"mapping": mapping, "created_by": user}
    )
    return preset


# ---------------------------------------------------------------- the run


def run_import(
    *,
    kind: str,
    source: Source,
    options: ImportOptions,
    user: User | None = None,
    origin: str = "cli",
    file_name: str = "",
    run: ImportRun | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> ImportReport:
    """Check every row of `source` and write the valid ones (see the module docstring).
    Raises ImportRejected when nothing was written because of invalid rows; the run is
    recorded either way. `user` None means the command line (the operator)."""
    if kind not in HANDLERS:
        raise ValidationError({"kind": _("Unknown import “%(kind)s”.") % {"kind": kind}})
    if user is not None and not access.can_manage_analytics(user):
        raise PermissionDenied(_("Only site admins import analytics data."))
    report = ImportReport(kind=kind, dry_run=options.dry_run)
    for problem in source.problems:
        report.add_error(problem)
    if not report.error_count:
        try:
            _run(kind, source, options, report, progress)
        except CellError as exc:  # the file broke off (bad encoding, broken quoting)
            report.add_error(RowError(0, "", "", str(exc)))
            report.written = False
            report.created = report.updated = 0
    _record(run, kind, origin, file_name, user, options, report)
    file_unusable = bool(source.problems) or any(e.row == 0 and not e.field for e in report.errors)
    if file_unusable or (report.error_count and not options.skip_invalid):
        raise ImportRejected(report)
    return report


def _run(
    kind: str,
    source: Source,
    options: ImportOptions,
    report: ImportReport,
    progress: Callable[[int, int | None], None] | None,
) -> None:
    columns = source.columns
    bulk = bool(source.total and source.total >= BULK_MODE_ROWS)
    # A million checked rows leave millions of live objects behind (ids seen, lookups); the
    # cyclic collector would walk them again and again for nothing: none of them are cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with _foreign_keys_deferred_to_end(bulk):
            _run_in_transaction(kind, source, options, report, progress, columns, bulk)
    finally:
        if gc_was_enabled:
            gc.enable()


@contextmanager
def _foreign_keys_deferred_to_end(bulk: bool) -> Iterator[None]:
    """On SQLite a large import turns the per-row foreign key lookups off and checks the
    written tables once before the commit instead (PRAGMA foreign_key_check), as Django's
    loaddata does. The pragma only works outside a transaction; inside one (tests) nothing
    changes."""
    if not bulk or connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    disabled = connection.disable_constraint_checking()
    try:
        yield
    finally:
        if disabled:
            connection.enable_constraint_checking()


def _run_in_transaction(
    kind: str,
    source: Source,
    options: ImportOptions,
    report: ImportReport,
    progress: Callable[[int, int | None], None] | None,
    columns: dict[str, str],
    bulk: bool,
) -> None:
    with transaction.atomic():
        handler = HANDLERS[kind](
            stage_map=options.stage_map, product_aliases=options.product_aliases
        )
        handler.prepare()
        try:
            if bulk:
                handler.start_bulk()
            batch: list[Any] = []
            writing = True

            def add_error(row: int, name: str, message: str) -> None:
                nonlocal writing
                report.add_error(RowError(row, columns.get(name, name), name, message))
                if not options.skip_invalid:
                    writing = False  # nothing will be kept: stop writing, keep checking

            skipped_rows: set[int] = set()
            for number, row in source.rows:
                report.rows += 1
                try:
                    record = handler.check(number, row)
                except RowInvalid as invalid:
                    for name, message in invalid.problems:
                        add_error(number, name, message)
                    skipped_rows.add(number)
                    continue
                finally:
                    if progress is not None and report.rows % PROGRESS_EVERY == 0:
                        progress(report.rows, source.total)
                if writing and not handler.holds_rows:
                    batch.append(record)
                    if len(batch) >= BATCH_SIZE:
                        created, updated = handler.write(batch)
                        report.created += created
                        report.updated += updated
                        batch = []
            if writing and batch:
                created, updated = handler.write(batch)
                report.created += created
                report.updated += updated

            def late_error(row: int, name: str, message: str) -> None:
                add_error(row, name, message)
                skipped_rows.add(row)

            created, updated = handler.finish(late_error, keep=writing)
            report.created += created
            report.updated += updated
            report.skipped = len(skipped_rows)
            if progress is not None:
                progress(report.rows, report.rows)
            keep = writing and not options.dry_run
            if not writing:
                report.created = report.updated = 0
            if keep:
                if bulk and connection.vendor == "sqlite":
                    connection.check_constraints(table_names=handler.tables)
                handler.after_write()
                if report.imported:
                    frames.bump_data_version()
                report.written = True
            else:
                transaction.set_rollback(True)
        except BaseException:
            handler.abort()
            raise
        report.notes.extend(handler.notes)


def _record(
    run: ImportRun | None,
    kind: str,
    origin: str,
    file_name: str,
    user: User | None,
    options: ImportOptions,
    report: ImportReport,
) -> None:
    if run is None:
        run = ImportRun(kind=kind, source=origin, file_name=file_name[:255], created_by=user)
    if not options.dry_run:
        run.status = ImportStatus.DONE if report.written else ImportStatus.FAILED
        run.finished_at = timezone.now()
    run.options = options.as_dict()
    run.rows_total = report.rows
    run.created_count = report.created
    run.updated_count = report.updated
    run.skipped_count = report.skipped
    run.errors = [e.as_dict() for e in report.errors[:200]]
    run.error_count = report.error_count
    run.save()
    report.run_id = run.pk


def import_file(
    *,
    kind: str,
    path: Path,
    options: ImportOptions,
    user: User | None = None,
    origin: str = "cli",
    run: ImportRun | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> ImportReport:
    try:
        source = csv_source(path, kind, options.mapping)
    except CellError as exc:
        source = Source(columns={}, rows=(), problems=[RowError(1, "", "", str(exc))])
    return run_import(
        kind=kind,
        source=source,
        options=options,
        user=user,
        origin=origin,
        file_name=run.file_name if run else path.name,
        run=run,
        progress=progress,
    )


def import_records(
    *, kind: str, records: list[dict[str, Any]], options: ImportOptions, user: User
) -> ImportReport:
    if len(records) > MAX_API_RECORDS:
        raise ValidationError(
            {
                "records": _("%(count)s records in one request; send at most %(max)s at a time.")
                % {"count": len(records), "max": MAX_API_RECORDS}
            }
        )
    return run_import(
        kind=kind,
        source=records_source(kind, records),
        options=options,
        user=user,
        origin="api",
    )


# ---------------------------------------------------------------- uploads


def upload_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_upload_bytes() -> int:
    return int(settings.VERITY_IMPORT_MAX_UPLOAD_MB) * 1024 * 1024


def upload_store(
    *, user: User, kind: str, name: str, chunks: Iterable[bytes], size: int
) -> ImportRun:
    """Keep an uploaded file in var/imports/ until it is imported (or abandoned)."""
    if not access.can_manage_analytics(user):
        raise PermissionDenied(_("Only site admins import analytics data."))
    if kind not in HANDLERS:
        raise ValidationError({"kind": _("Choose what the file contains.")})
    limit = max_upload_bytes()
    if size > limit:
        raise ValidationError(
            {
                "file": _("The file is %(size)s MB; the limit is %(limit)s MB.")
                % {"size": size // (1024 * 1024), "limit": limit // (1024 * 1024)}
            }
        )
    stored = upload_dir() / f"{uuid.uuid4().hex}.csv"
    with open(stored, "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
    try:
        read_header(stored)
    except CellError as exc:
        stored.unlink(missing_ok=True)
        raise ValidationError({"file": str(exc)}) from None
    return ImportRun.objects.create(
        kind=kind,
        source="upload",
        file_name=Path(name).name[:255],
        stored_path=stored.name,
        created_by=user,
    )


def upload_path(run: ImportRun) -> Path | None:
    """The waiting file of an uploaded run (only a bare name inside var/imports/ is trusted)."""
    if not run.stored_path or "/" in run.stored_path or "\\" in run.stored_path:
        return None
    path = upload_dir() / run.stored_path
    return path if path.is_file() else None


def upload_discard(run: ImportRun) -> None:
    path = upload_path(run)
    if path is not None:
        path.unlink(missing_ok=True)
    if run.stored_path:
        run.stored_path = ""
        run.save(update_fields=["stored_path"])


def upload_import(*, user: User, run: ImportRun, options: ImportOptions) -> ImportReport:
    """Check (dry run) or import an uploaded file. The file is deleted once imported."""
    path = upload_path(run)
    if path is None:
        raise ValidationError({"file": _("The uploaded file is gone; upload it again.")})
    try:
        report = import_file(
            kind=run.kind, path=path, options=options, user=user, origin="upload", run=run
        )
    except ImportRejected:
        if not options.dry_run:
            # A failed import keeps its file: fix the mapping and try again.
            run.status = ImportStatus.UPLOADED
            run.finished_at = None
            run.save(update_fields=["status", "finished_at"])
        raise
    if report.written:
        upload_discard(run)
    return report


@dataclass
class FileValues:
    """What the upload page offers to map: the stages without a known outcome and the
    product names Verity does not know, with how many rows carry each."""

    unknown_stages: list[tuple[str, int]]
    new_products: list[tuple[str, int]]


def scan_values(path: Path, kind: str, mapping: Mapping[str, str], limit: int = 100) -> FileValues:
    from verity.analytics.imports_kinds import ProductResolver, _stage_outcomes

    stages: dict[str, int] = {}
    products: dict[str, int] = {}
    if kind != "opportunities":
        return FileValues([], [])
    try:
        source = csv_source(path, kind, mapping)
    except CellError:
        return FileValues([], [])
    if source.problems:
        return FileValues([], [])
    outcomes = _stage_outcomes({})
    resolver = ProductResolver({})
    try:
        for _number, row in source.rows:
            stage = row.get("stage", "").strip()
            if (
                stage
                and stage_key(stage) not in outcomes
                and (stage in stages or len(stages) < limit)
            ):
                stages[stage] = stages.get(stage, 0) + 1
            product = row.get("product", "").strip()
            if (
                product
                and (product in products or len(products) < limit)
                and (product in products or resolver.find(product, create=False) is None)
            ):
                products[product] = products.get(product, 0) + 1
    except CellError:
        pass
    return FileValues(sorted(stages.items()), sorted(products.items()))


# ---------------------------------------------------------------- stage mappings and products


def stage_mapping_set(*, user: User, stage: str, outcome: str) -> StageMapping:
    if not access.can_manage_analytics(user):
        raise PermissionDenied(_("Only site admins change stage mappings."))
    key = stage_key(stage)
    if not key:
        raise ValidationError({"stage": _("Enter the stage as your CRM names it.")})
    if len(key) > 100:
        raise ValidationError({"stage": _("The stage is too long (100 characters at most).")})
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": _("Choose open, won or lost.")})
    # Applies to the next imports; stored deals keep their outcome until re-imported.
    mapping, _created = StageMapping.objects.update_or_create(
        stage=key, defaults={"outcome": outcome}
    )
    return mapping


def stage_mapping_delete(*, user: User, mapping: StageMapping) -> None:
    if not access.can_manage_analytics(user):
        raise PermissionDenied(_("Only site admins change stage mappings."))
    mapping.delete()


def product_alias_add(*, user: User, product_id: int, alias: str) -> ProductAlias:
    from verity.analytics.models import Product

    if not access.can_manage_analytics(user):
        raise PermissionDenied(_("Only site admins change products."))
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise ValidationError({"product": _("Choose a product.")})
    key = stage_key(alias)
    if not key:
        raise ValidationError({"alias": _("Enter the other spelling.")})
    if len(key) > 200:
        raise ValidationError({"alias": _("The alias is too long (200 characters at most).")})
    if key == product.name.casefold():
        raise ValidationError({"alias": _("That is the product's own name.")})
    alias_row, _created = ProductAlias.objects.update_or_create(
        alias=key, defaults={"product": product}
    )
    return alias_row


def product_alias_delete(*, user: User, alias: ProductAlias) -> None:
    if not access.can_manage_analytics(user):
        raise PermissionDenied(_("Only site admins change products."))
    alias.delete()


def product_set_launch(*, user: User, product: Any, launch_date: Any) -> None:
    if not access.can_manage_analytics(user):
        raise PermissionDenied(_("Only site admins change products."))
    with transaction.atomic():
        product.launch_date = launch_date
        product.save(update_fields=["launch_date"])
        frames.bump_data_version()
