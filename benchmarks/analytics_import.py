"""Import benchmark for impact analytics (docs/benchmarks.md, "Impact analytics").

Target: 1,000,000 opportunities imported in <= 60 s on a 2-core machine (SQLite), peak
memory <= 2 GB.

What it does, in a scratch directory (never in var/):
1. migrates a fresh SQLite database there (VERITY_VAR_DIR=SCRATCH);
2. writes the four CSV files with `verity.analytics.synthetic.write_csv` (--reps people,
   --opportunities deals, their quotas and, with --stage-history, their stage history);
3. runs `verity analytics import KIND FILE --no-progress` for people, opportunities, quotas
   (and stage history) as child processes — the real command path, the one an operator
   runs — and takes each one's wall time and peak RSS from `os.wait4` (resource usage of
   that child alone);
4. checks the row counts in the database, then imports the opportunities file a second time
   (every row an update: re-import in place) and times that too.

Prints a Markdown table and writes the raw numbers to SCRATCH/results.json.

Usage:  .venv/bin/python benchmarks/analytics_import.py [--opportunities 1000000]
        [--reps 5000] [--stage-history] [--scratch DIR] [--no-reimport]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from machine import machine_facts  # benchmarks/machine.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
VERITY = str(Path(sys.executable).with_name("verity"))


def run_child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run a child process; return its wall time, peak RSS (MiB) and output."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({process.returncode}):\n{text}")
    # ru_maxrss is in KiB on Linux.
    return {
        "seconds": round(wall, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),
        "output": text,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=5000)
    parser.add_argument("--stage-history", action="store_true", help="also import stage history")
    parser.add_argument("--scratch", default="", help="work here (default: a new temp dir)")
    parser.add_argument("--no-reimport", action="store_true", help="skip the second import")
    options = parser.parse_args()

    scratch = Path(options.scratch or tempfile.mkdtemp(prefix="verity-analytics-import-"))
    scratch.mkdir(parents=True, exist_ok=True)
    database = scratch / "verity.sqlite3"
    for leftover in scratch.glob("verity.sqlite3*"):
        leftover.unlink()
    env = {
        **os.environ,
        "VERITY_VAR_DIR": str(scratch),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("DATABASE_URL", None)

    print(f"Scratch: {scratch}", file=sys.stderr)
    run_child([VERITY, "migrate", "-v0"], env)

    # The CSV files are written by a child process: a child's peak RSS on Linux starts from
    # its parent's at fork time, so this process must stay small for the numbers below to
    # be the imports' own.
    csv_dir = scratch / "csv"
    script = (
        "import django, json, sys; django.setup(); "
        "from verity.analytics import synthetic; "
        "paths = synthetic.write_csv(sys.argv[1], seed=42, reps=int(sys.argv[2]), "
        "opportunities=int(sys.argv[3]), stage_history=sys.argv[4] == '1'); "
        "print(json.dumps({k: str(v) for k, v in paths.items()}))"
    )
    written = run_child(
        [
            sys.executable,
            "-c",
            script,
            str(csv_dir),
            str(options.reps),
            str(options.opportunities),
            "1" if options.stage_history else "0",
        ],
        {**env, "PYTHONPATH": str(ROOT)},
    )
    generated = written["seconds"]
    paths = {k: Path(v) for k, v in json.loads(written["output"].strip().splitlines()[-1]).items()}
    sizes = {kind: path.stat().st_size for kind, path in paths.items()}
    print(f"CSV files written in {generated:.1f} s: {sizes}", file=sys.stderr)

    kinds = ["people", "opportunities", "quotas"] + (
        ["stage-history"] if options.stage_history else []
    )
    results: dict[str, Any] = {}
    for kind in kinds:
        result = run_child(
            [VERITY, "analytics", "import", kind, str(paths[kind]), "--no-progress"], env
        )
        print(f"{kind}: {result['seconds']} s, {result['peak_rss_mib']} MiB", file=sys.stderr)
        results[kind] = result
    if not options.no_reimport:
        result = run_child(
            [
                VERITY,
                "analytics",
                "import",
                "opportunities",
                str(paths["opportunities"]),
                "--no-progress",
            ],
            env,
        )
        print(f"re-import: {result['seconds']} s, {result['peak_rss_mib']} MiB", file=sys.stderr)
        results["opportunities (re-import)"] = result

    with sqlite3.connect(database) as db:
        counts = {
            table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("analytics_opportunity", "analytics_quota", "analytics_stageentry")
        }
    assert counts["analytics_opportunity"] == options.opportunities, counts

    rows = {
        "people": sum(1 for _ in paths["people"].open()) - 1,
        "opportunities": options.opportunities,
        "opportunities (re-import)": options.opportunities,
        "quotas": counts["analytics_quota"],
        "stage-history": counts["analytics_stageentry"],
    }
    facts = machine_facts()
    print()
    print(
        f"Machine: {facts['nproc']} cores, {facts['cpu']}, {facts['ram']} RAM, "
        f"Python {facts['python']}, SQLite {sqlite3.sqlite_version}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    print(
        f"Command: .venv/bin/python benchmarks/analytics_import.py "
        f"--opportunities {options.opportunities} --reps {options.reps}"
        + (" --stage-history" if options.stage_history else "")
    )
    print()
    print("| Import | Rows | Wall time | Rows/s | Peak RSS |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for kind, result in results.items():
        n = rows[kind]
        print(
            f"| {kind} | {n:,} | {result['seconds']:.1f} s | {n / result['seconds']:,.0f} | "
            f"{result['peak_rss_mib']:,} MiB |"
        )
    (scratch / "results.json").write_text(
        json.dumps(
            {
                "machine": facts,
                "options": vars(options),
                "csv_seconds": generated,
                "csv_bytes": sizes,
                "counts": counts,
                "results": {k: {**v, "output": v["output"][-2000:]} for k, v in results.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
