"""`verity import PATH [--collection C] [--skip-invalid] [--as EMAIL]`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from verity.accounts.models import SiteRole, User
from verity.knowledge.models import Collection
from verity.knowledge.transfer import ImportFailed, import_path
from verity.knowledge.transfer.readers import detect_format


class Command(BaseCommand):
    help = (
        "Import cards from JSONL, a folder of Markdown files, a Guru collection zip, "
        "or a full Verity export (see docs/import-export.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="a .jsonl file, a folder, a Guru .zip or a Verity export")
        parser.add_argument("--collection", help="put every card in this collection (name or slug)")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="import the good records and report the bad ones (default: import nothing)",
        )
        parser.add_argument(
            "--as", dest="as_email", help="import as this user (default: the first site admin)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.exists():
            raise CommandError(f"{path} does not exist.")
        kind = detect_format(path)
        user = self._user(options["as_email"], required=kind != "verity")
        collection = None
        if options["collection"] and kind == "verity":
            raise CommandError(
                "--collection does not apply to a full Verity export: it names its collections."
            )
        if options["collection"]:
            name = options["collection"].strip()
            collection = Collection.objects.filter(
                Q(slug__iexact=name) | Q(name__iexact=name)
            ).first()
            if collection is None:
                raise CommandError(
                    f"Unknown collection “{name}”. A curator or admin creates collections first."
                )
        console = Console(stderr=True)
        with Progress(
            TextColumn("[bold]Importing[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        ) as bar:
            task = bar.add_task("cards", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            try:
                report = import_path(
                    path,
                    user=user,
                    collection=collection,
                    skip_invalid=options["skip_invalid"],
                    progress=progress,
                )
            except ImportFailed as exc:
                for problem in exc.problems:
                    self.stderr.write(f"  {problem}")
                raise CommandError(
                    f"{len(exc.problems)} problem(s) found; nothing was imported. "
                    "Fix them, or run again with --skip-invalid to import the rest."
                ) from None
        for problem in report.problems:
            self.stderr.write(f"  skipped {problem}")
        for note in report.notes:
            self.stderr.write(f"  note: {note}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {report.imported} card(s) from {kind}: {report.created} created, "
                f"{report.updated} updated, {report.unchanged} unchanged, "
                f"{report.skipped} skipped; {report.folders_created} folder(s) created."
            )
        )

    def _user(self, email: str | None, required: bool) -> User | None:
        if email:
            user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {email}.")
            return user
        admin = User.objects.filter(site_role=SiteRole.ADMIN, is_active=True).order_by("pk").first()
        if admin is None and required:
            raise CommandError("No site admin to import as; create one or give --as EMAIL.")
        return admin
