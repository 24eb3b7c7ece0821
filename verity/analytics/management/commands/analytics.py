"""`verity analytics import KIND FILE`: CRM and HR data from CSV files (docs/analytics-import.md).

    verity analytics import people people.csv
    verity analytics import opportunities deals.csv --map id="Opportunity ID" \\
        --stage-map "Signed=won,Dead=lost" --product-alias "Fcst=Northwind Forecasting"
    verity analytics import stage-history history.csv --skip-invalid
    verity analytics import quotas quotas.csv --dry-run

Nothing is written when a row is invalid (the problems are listed by row and column) unless
--skip-invalid is given; --dry-run checks and counts without writing.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, cast

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from verity.analytics import imports
from verity.analytics.imports import ImportOptions, ImportRejected, ImportReport

ERRORS_SHOWN = 50


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(m for errors in exc.message_dict.values() for m in errors)
    return "; ".join(exc.messages)


class Command(BaseCommand):
    help = (
        "Import CRM and HR data for impact analytics "
        "(people, opportunities, stage history, quotas)."
    )

    # A data import needs no URL or template checks; skipping them saves seconds per run.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{import}")
        run = sub.add_parser(
            "import",
            help="Import a CSV file of people, opportunities, stage history or quotas.",
            description="Columns: people — email, name, job_function, team, manager_email, "
            "hire_date, termination_date, termination_type; opportunities — id, owner, account, "
            "product, amount, stage, created_date, close_date; stage-history — opportunity_id, "
            "stage, entered_at; quotas — owner, period_start, amount.",
        )
        run.add_argument("kind", choices=imports.KINDS)
        run.add_argument("file", help="a CSV file with a header row (UTF-8; , ; or tab separated)")
        run.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=COLUMN",
            help="read FIELD from the column named COLUMN (repeatable); "
            "FIELD= (empty) ignores a column that would be guessed",
        )
        run.add_argument("--preset", default="", help="start from a saved column mapping")
        run.add_argument(
            "--save-preset", default="", metavar="NAME", help="save the mapping used under NAME"
        )
        run.add_argument(
            "--stage-map",
            action="append",
            default=[],
            metavar="STAGE=OUTCOME,...",
            help='CRM stages to open/won/lost, e.g. "Signed=won,Dead=lost" (remembered)',
        )
        run.add_argument(
            "--product-alias",
            action="append",
            default=[],
            metavar="ALIAS=PRODUCT",
            help='another spelling of a product, e.g. "Fcst=Northwind Forecasting" (remembered)',
        )
        run.add_argument(
            "--skip-invalid",
            action="store_true",
            help="import the valid rows and report the others (default: import nothing)",
        )
        run.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        run.add_argument("--no-progress", action="store_true", help="do not draw a progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        kind: str = options["kind"]
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path} does not exist.")
        try:
            mapping = imports.preset_mapping(kind, options["preset"]) if options["preset"] else {}
            mapping.update(imports.parse_mapping(kind, options["map"]))
            run_options = ImportOptions(
                mapping=mapping,
                stage_map=imports.parse_stage_map(options["stage_map"]),
                product_aliases=imports.parse_product_aliases(options["product_alias"]),
                skip_invalid=options["skip_invalid"],
                dry_run=options["dry_run"],
            )
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from None
        console = Console(file=cast(IO[str], self.stderr))
        show = not options["no_progress"] and console.is_terminal
        with Progress(
            TextColumn(f"[bold]Importing {kind}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not show,
        ) as bar:
            task = bar.add_task("rows", total=None)

            def progress(done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total)

            try:
                report = imports.import_file(
                    kind=kind, path=path, options=run_options, progress=progress
                )
            except ImportRejected as rejected:
                self._problems(rejected.report)
                raise CommandError(
                    f"{rejected.report.error_count} problem(s) found; nothing was imported. "
                    "Fix them, or run again with --skip-invalid to import the valid rows."
                ) from None
        if options["save_preset"]:
            imports.preset_save(
                user=None, kind=kind, name=options["save_preset"], mapping=run_options.mapping
            )
            self.stdout.write(f"Saved the mapping as “{options['save_preset']}”.")
        self._problems(report, skipped=True)
        for note in report.notes:
            self.stdout.write(f"  note: {note}")
        verb = "Checked (dry run, nothing written)" if report.dry_run else "Imported"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {report.rows} row(s) of {kind}: {report.created} created, "
                f"{report.updated} updated, {report.skipped} skipped."
            )
        )

    def _problems(self, report: ImportReport, skipped: bool = False) -> None:
        prefix = "  skipped " if skipped else "  "
        for error in report.errors[:ERRORS_SHOWN]:
            self.stderr.write(f"{prefix}{error}")
        if report.error_count > ERRORS_SHOWN:
            self.stderr.write(f"  … and {report.error_count - ERRORS_SHOWN} more")
