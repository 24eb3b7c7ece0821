"""View benchmark for impact analytics (docs/benchmarks.md, "Impact analytics").

Target: every analytics view over 1,000,000 opportunities and 5,000 reps renders in <= 2 s.

What it does, in a scratch directory (never in var/):
1. migrates a fresh SQLite database there (VERITY_VAR_DIR=SCRATCH) and creates an admin (who
   sees company-wide analytics) and a launched onboarding program;
2. writes --opportunities deals for --reps reps over two years with
   `verity.analytics.synthetic.generate` (hires, leavers, quotas, stage history, onboarding
   completions with the planted effect), timing that too;
3. requests every analytics page through Django's test Client as the admin — the overview
   for each metric and breakdown, the people list, a rep's scorecard, program impact for
   each metric, retention by each breakdown, ROI, the definitions — once "first" (a new
   process state: the per-process frame cache is emptied before each page, so the database
   read is inside the time) and then --warm more times (median), checking each answers 200;
4. times each `GET /api/v1/analytics/metrics/{metric}?by={dimension}` the same way (first and
   warm), for the metrics and dimensions the issue names.

Prints Markdown tables and writes the raw numbers to SCRATCH/results.json.

Usage:  .venv/bin/python benchmarks/analytics_views.py [--opportunities 1000000]
        [--reps 5000] [--warm 3] [--scratch DIR [--reuse]]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from machine import machine_facts  # benchmarks/machine.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
VERITY = str(Path(sys.executable).with_name("verity"))
API_METRICS = (
    "win_rate",
    "sales_cycle_days",
    "deal_size",
    "time_to_first_deal_days",
    "ramp_time_days",
    "retention_2y",
    "nps",
)
API_DIMENSIONS = ("all", "rep", "team", "product", "quarter", "hire_cohort", "program")
TARGET = 2.0


def setup(scratch: Path, reuse: bool) -> None:
    os.environ["VERITY_VAR_DIR"] = str(scratch)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    if not reuse:
        for leftover in scratch.glob("verity.sqlite3*"):
            leftover.unlink()
        subprocess.run([VERITY, "migrate", "-v0"], check=True, cwd=ROOT)
        subprocess.run([VERITY, "createcachetable"], check=True, cwd=ROOT)
    import django

    django.setup()


def generate(options: argparse.Namespace) -> dict[str, Any]:
    from django.utils import timezone

    from verity.accounts.models import User
    from verity.analytics import synthetic
    from verity.learning.models import Program

    admin = User.objects.create_user(
        "admin@bench.example", "bench-password", name="Bench Admin", site_role="admin"
    )
    program = Program.objects.create(
        name="New-hire onboarding",
        owner=admin,
        status="active",
        due_days=30,
        audience_functions=["sales", "success", "support"],
        launched_at=timezone.now() - timedelta(days=400),
    )
    started = time.perf_counter()
    truth = synthetic.generate(
        seed=7,
        reps=options.reps,
        opportunities=options.opportunities,
        program=program,
        id_prefix="BENCH",
    )
    seconds = time.perf_counter() - started
    print(
        f"Generated {truth.opportunities:,} opportunities, {len(truth.rep_ids):,} reps, "
        f"{truth.stage_entries:,} stage entries, {truth.quotas:,} quotas in {seconds:.1f} s",
        file=sys.stderr,
    )
    return {
        "seconds": round(seconds, 1),
        "opportunities": truth.opportunities,
        "reps": len(truth.rep_ids),
        "stage_entries": truth.stage_entries,
        "quotas": truth.quotas,
    }


def pages() -> list[tuple[str, str]]:
    """(label, URL) for every analytics page and its main variations."""
    from verity.accounts.models import User
    from verity.analytics import forms
    from verity.learning.models import Program

    program = Program.objects.get(name="New-hire onboarding").pk
    rep = (
        User.objects.filter(team="Sales East", termination_date__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    found = [("Overview (defaults)", "/analytics/")]
    for metric in forms.OVERVIEW_METRICS:
        for by, _label in forms.BREAKDOWNS:
            found.append((f"Overview: {metric} by {by}", f"/analytics/?metric={metric}&by={by}"))
    found.append(("People", "/analytics/people/"))
    found.append(("People: search", "/analytics/people/?q=an&team=Sales+East"))
    found.append(("Rep scorecard", f"/analytics/people/{rep}/"))
    for metric in forms.IMPACT_METRICS:
        found.append(
            (f"Program impact: {metric}", f"/analytics/impact/?program={program}&metric={metric}")
        )
    for by, _label in forms.RETENTION_BREAKDOWNS:
        found.append((f"Retention by {by}", f"/analytics/retention/?by={by}&program={program}"))
    found.append(("ROI calculator", f"/analytics/roi/?program={program}"))
    found.append(("Definitions", "/analytics/definitions/"))
    found.append(("Definition: win_rate", "/analytics/definitions/win_rate/"))
    return found


def api_urls(dimensions: tuple[str, ...]) -> list[tuple[str, str]]:
    return [
        (f"{metric} by {by}", f"/api/v1/analytics/metrics/{metric}?by={by}")
        for metric in API_METRICS
        for by in dimensions
    ]


def time_requests(client: Any, urls: list[tuple[str, str]], warm: int) -> list[dict[str, Any]]:
    from verity.analytics import frames

    rows = []
    for label, url in urls:
        frames._cache.clear()  # first request: the frames are read from the database
        started = time.perf_counter()
        response = client.get(url)
        first = time.perf_counter() - started
        times = []
        for _ in range(warm):
            started = time.perf_counter()
            again = client.get(url)
            times.append(time.perf_counter() - started)
            assert again.status_code == response.status_code
        row = {
            "label": label,
            "url": url,
            "status": response.status_code,
            "first": round(first, 3),
            "warm": round(statistics.median(times), 3) if times else None,
            "bytes": len(response.content),
        }
        print(f"{row['status']} {row['first']:.2f} s / {row['warm']} s  {label}", file=sys.stderr)
        rows.append(row)
    return rows


def table(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}\n")
    print("| View | Status | First | Warm (median) |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        flag = "" if row["status"] != 200 or max(row["first"], row["warm"] or 0) <= TARGET else " ⚠"
        print(
            f"| {row['label']} | {row['status']} | {row['first']:.2f} s | "
            f"{row['warm']:.2f} s{flag} |"
        )
    ok = [r for r in rows if r["status"] == 200]
    if ok:
        print(
            f"\n{len(ok)} of {len(rows)} answered 200; slowest first request "
            f"{max(r['first'] for r in ok):.2f} s, slowest warm "
            f"{max(r['warm'] for r in ok):.2f} s (target {TARGET:.0f} s)."
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--opportunities", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=5000)
    parser.add_argument("--warm", type=int, default=3)
    parser.add_argument("--scratch", default="", help="work here (default: a new temp dir)")
    parser.add_argument("--reuse", action="store_true", help="keep the data already in SCRATCH")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument(
        "--api-dims", default=",".join(API_DIMENSIONS), help="comma-separated dimensions"
    )
    parser.add_argument(
        "--only",
        default="",
        help="only the pages whose label contains one of these (comma-separated)",
    )
    options = parser.parse_args()
    scratch = Path(options.scratch or tempfile.mkdtemp(prefix="verity-analytics-views-"))
    scratch.mkdir(parents=True, exist_ok=True)
    print(f"Scratch: {scratch}", file=sys.stderr)
    setup(scratch, options.reuse)

    from django.conf import settings
    from django.test import Client

    from verity.accounts.models import User

    # The test Client's host, and static URLs without a collectstatic manifest. (Not
    # setup_test_environment(): its instrumented rendering copies every template context,
    # which would be timed too.)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    generated: dict[str, Any] = {}
    if not options.reuse:
        generated = generate(options)
    # What a server process has loaded before its first analytics request: the views and
    # the statistics libraries (importing scipy and statsmodels takes a second or two once
    # per process; that is start-up, not rendering).
    import verity.analytics.impact
    import verity.analytics.metrics
    import verity.analytics.views
    import verity.analytics.views_impact  # noqa: F401

    # A page that fails is reported with its status, not raised (the others still run).
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(email="admin@bench.example"))
    wanted = [w for w in options.only.split(",") if w] or [""]
    chosen = [(label, url) for label, url in pages() if any(w in label for w in wanted)]
    page_rows = time_requests(client, chosen, options.warm)
    dims = tuple(d for d in options.api_dims.split(",") if d)
    api_rows = [] if options.skip_api else time_requests(client, api_urls(dims), options.warm)

    facts = machine_facts()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\nMachine: {facts['nproc']} cores, {facts['cpu']}, {facts['ram']} RAM, "
        f"Python {facts['python']}, SQLite {sqlite3.sqlite_version}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; peak RSS of the process {peak:,.0f} MiB"
    )
    print(
        f"Command: .venv/bin/python benchmarks/analytics_views.py "
        f"--opportunities {options.opportunities} --reps {options.reps} --warm {options.warm}"
        + (" --reuse" if options.reuse else "")
    )
    from verity.analytics.models import Opportunity, Quota, StageEntry

    reps = Opportunity.objects.values("owner").distinct().count()
    print(
        f"Data: {Opportunity.objects.count():,} opportunities of {reps:,} reps, "
        f"{StageEntry.objects.count():,} stage entries, {Quota.objects.count():,} monthly quotas"
        + (f", generated and written in {generated['seconds']} s." if generated else ".")
    )
    table("Pages (Django test Client, signed in as an admin)", page_rows)
    if api_rows:
        table("API: GET /api/v1/analytics/metrics/{metric}?by={dimension}", api_rows)
    (scratch / "results.json").write_text(
        json.dumps(
            {
                "machine": facts,
                "options": vars(options),
                "generated": generated,
                "pages": page_rows,
                "api": api_rows,
                "peak_rss_mib": peak,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
