"""`verity export PATH`: everything, as a directory or a .zip that `verity import` reads back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from verity.accounts.models import User
from verity.knowledge.transfer import write_export


class Command(BaseCommand):
    help = (
        "Export users, groups, collections with access, folders, cards with history, "
        "favourites and open flags (see docs/import-export.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="a directory, or a file name ending in .zip")
        parser.add_argument(
            "--as",
            dest="as_email",
            help="export only what this user can read (default: everything)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if (
            path.exists()
            and path.is_dir()
            and any(path.iterdir())
            and not (path / "manifest.json").exists()
        ):
            raise CommandError(f"{path} is a folder with other files in it; choose an empty one.")
        user = None
        if options["as_email"]:
            user = User.objects.filter(email__iexact=options["as_email"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active user {options['as_email']}.")
        counts = write_export(path, user=user)
        summary = ", ".join(f"{n} {name}" for name, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Exported to {path}: {summary}."))
