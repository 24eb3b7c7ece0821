"""`verity worker`: runs background jobs and the schedule until stopped (SIGTERM/SIGINT)."""

from __future__ import annotations

import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from verity.core import jobs


class Command(BaseCommand):
    help = "Run background jobs (emails, expiry, digests) until stopped."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Run what is due, then exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        self.stopping = False

        def stop(signum: int, frame: Any) -> None:
            self.stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("Verity worker started.")
        while not self.stopping:
            close_old_connections()
            ran = jobs.run_pending(limit=50)
            ran += len(jobs.run_due_periodic())
            if options["once"]:
                break
            if not ran:
                time.sleep(settings.VERITY_WORKER_POLL_SECONDS)
        self.stdout.write("Verity worker stopped.")
