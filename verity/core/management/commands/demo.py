"""`verity demo load [--once]` and `verity demo logins`."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from verity.core.demo import analytics as demo_analytics
from verity.core.demo import loader
from verity.knowledge.models import Card


class Command(BaseCommand):
    help = "Load the Northwind Cloud demo content, or print the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="load the demo company, people and ~150 cards")
        load.add_argument(
            "--once",
            action="store_true",
            help="do nothing if the demo (or any other content) is already there",
        )
        sub.add_parser("logins", help="print the demo logins")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "logins":
            self.print_logins()
            return
        if loader.is_loaded():
            if options["once"]:
                self.stdout.write("The demo content is already loaded.")
                # A demo loaded before the analytics existed gets its synthetic CRM data.
                if not demo_analytics.is_loaded():
                    count = demo_analytics.load_analytics().opportunities
                    self.stdout.write(f"Added {count} synthetic opportunities for analytics.")
                return
            raise CommandError("The demo content is already loaded.")
        if options["once"] and Card.objects.exists():
            self.stdout.write("This database already has content; the demo is not loaded.")
            return
        started = time.monotonic()
        summary = loader.load_demo()
        states = ", ".join(f"{n} {state}" for state, n in sorted(summary.states.items()))
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded the Northwind Cloud demo in {time.monotonic() - started:.1f} s: "
                f"{summary.users} people, {summary.groups} groups, "
                f"{summary.collections} collections, {summary.cards} cards ({states}), "
                f"{summary.searches} searches of the last month, "
                f"{summary.programs} training programs, "
                f"{summary.opportunities} synthetic opportunities for analytics."
            )
        )

    def print_logins(self) -> None:
        if not loader.is_loaded():
            self.stdout.write("The demo content is not loaded (run `verity demo load`).")
            return
        rows = loader.logins()
        widths = [max(len(r[i]) for r in [("Email", "Password", "Role"), *rows]) for i in range(3)]

        def line(row: tuple[str, str, str]) -> str:
            return "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True))

        self.stdout.write("Demo logins (demo use only; every demo account shares this password):")
        self.stdout.write(line(("Email", "Password", "Role")))
        self.stdout.write(line(("-" * widths[0], "-" * widths[1], "-" * widths[2])))
        for row in rows:
            self.stdout.write(line(row))
