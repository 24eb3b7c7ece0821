"""`verity serve`: the production web server (gunicorn, static files through whitenoise).

One process manager per machine: gunicorn's master forks `--workers` processes, each with
`--threads` threads (the gthread worker), so slow clients and database waits do not block
a whole process. Run `verity worker` next to it for background jobs.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from gunicorn.app.base import BaseApplication


def default_workers() -> int:
    # Two processes per machine keep both cores busy on the reference 2-core box; threads
    # inside each process cover the time requests spend waiting on the database.
    return int(os.environ.get("VERITY_WEB_WORKERS") or max(2, os.cpu_count() or 1))


def default_threads() -> int:
    return int(os.environ.get("VERITY_WEB_THREADS") or 4)


def load_search_index(worker: Any) -> None:
    """Start filling the worker's in-memory search index at once, not at its first search
    (at 100k cards that takes half a minute, in a thread; the database answers meanwhile)."""
    from verity.search.services import load_memory_index

    try:
        load_memory_index()
    finally:
        connections.close_all()  # this thread serves no request


def gunicorn_options(
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    access_log: bool = False,
    timeout: int = 30,
) -> dict[str, Any]:
    """The gunicorn settings `verity serve` runs with (kept apart so they can be tested)."""
    return {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        # Access logs cost throughput and usually duplicate the reverse proxy's log.
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "timeout": timeout,
        "graceful_timeout": 30,
        "keepalive": 5,
        # Recycle workers now and then so a slow leak can never grow without bound.
        "max_requests": 5000,
        "max_requests_jitter": 500,
        "proc_name": "verity",
        # No control socket in $HOME: several servers (and the benchmark) may share a machine.
        "control_socket_disable": True,
        "post_worker_init": load_search_index,
    }


class VerityApplication(BaseApplication):
    """Gunicorn embedded in the management command, serving config.wsgi."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        assert self.cfg is not None
        for key, value in self.options.items():
            if key not in self.cfg.settings:
                raise CommandError(f"unknown gunicorn setting {key!r}")
            if value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        from config.wsgi import application

        return application


class Command(BaseCommand):
    help = "Run the production web server (gunicorn + whitenoise) on HOST:PORT."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("VERITY_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers", type=int, default=None, help="Processes (default: cores, at least 2)."
        )
        parser.add_argument(
            "--threads", type=int, default=None, help="Threads per process (default 4)."
        )
        parser.add_argument("--timeout", type=int, default=30, help="Seconds per request.")
        parser.add_argument(
            "--access-log", action="store_true", help="Log every request to stdout."
        )
        parser.add_argument(
            "--no-collectstatic",
            action="store_true",
            help="Skip collecting static files (when STATIC_ROOT is prepared at deploy time).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workers = default_workers() if options["workers"] is None else options["workers"]
        threads = default_threads() if options["threads"] is None else options["threads"]
        if workers < 1 or threads < 1:
            raise CommandError("--workers and --threads must be at least 1")
        if not options["no_collectstatic"]:
            call_command("collectstatic", interactive=False, verbosity=0)
        # The forked workers must not share this process's database connections.
        connections.close_all()
        config = gunicorn_options(
            host=options["host"],
            port=options["port"],
            workers=workers,
            threads=threads,
            access_log=options["access_log"],
            timeout=options["timeout"],
        )
        self.stdout.write(
            f"Verity serving on http://{options['host']}:{options['port']}/ "
            f"({workers} workers x {threads} threads)"
        )
        self.stdout.flush()
        VerityApplication(config).run()
