"""HTTP load benchmark: `verity serve` under 50 concurrent connections (see docs/benchmarks.md).

What it does, all in a scratch directory (never in var/):
1. migrates a fresh SQLite database (or the empty PostgreSQL database in --database-url),
   loads the demo content and adds --cards generated cards of realistic length;
2. creates a reader who can see part of the collections (so permission checks do real
   work), logs them in (session cookie) and gives them an API token;
3. starts `verity serve` on 127.0.0.1 and, with wrk, drives --connections connections for
   --duration seconds against a card page (rotating over readable cards) and then against
   `GET /api/v1/search?q=...` (rotating queries);
4. prints requests/s, p50/p95/p99 latency and errors as a Markdown table, and writes the
   raw numbers to SCRATCH/results.json.

Usage:  .venv/bin/python benchmarks/http_load.py [--duration 60] [--connections 50]
Needs:  wrk (apt-get install -y wrk). Only ever talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from machine import machine_facts  # benchmarks/machine.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
VERITY = str(Path(sys.executable).with_name("verity"))

# Words of a B2B SaaS knowledge base; earlier words are drawn more often (Zipf-like), so
# some queries match thousands of cards and others a handful, as in real use.
VOCABULARY = """
customer pricing discount renewal account plan team support contract security data
integration onboarding trial expansion churn risk quote approval invoice billing
competitor objection discovery demo champion stakeholder budget timeline procurement
legal review escalation ticket outage incident severity workaround release roadmap
feature analytics dashboard export import permission admin sso saml audit compliance
gdpr retention backup latency uptime sla credit refund upgrade downgrade seat license
annual monthly enterprise midmarket startup partner reseller territory quota forecast
pipeline stage qualification meddic bant persona executive sponsor value proof pilot
migration api webhook token sandbox training certification playbook battlecard northwind
quasar helix orbital meridian zenith contoso fabrikam tailspin
""".split()  # noqa: SIM905 (easier to read and edit)
TOPIC_WEIGHTS = [1 / (rank + 5) for rank in range(len(VOCABULARY))]
QUERIES = [
    "pricing",
    "discount approval",
    "renewal",
    "churn risk",
    "security questionnaire",
    "sso saml",
    "competitor northwind",
    "onboarding",
    "escalation severity",
    "refund",
    "api token",
    "quota forecast",
    "migration",
    "enterprise discount",
    "outage workaround",
    "battlecard quasar",
    "procurement legal review",
    "expansion",
    "audit compliance",
    "trial",
]


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


# Everyday words carry most of the text, as in real writing; each card is about a few
# domain topics, so a domain word matches a realistic share of the cards (a few percent up
# to about a fifth), not all of them.
FILLER = """
the a an to of and or for with on in at by from is are be can will should must when if
then so that this it we you they our your their ask use check send share keep make sure
before after during only also always never first next last one two three new current
""".split()  # noqa: SIM905 (easier to read and edit)


def paragraph(rng: random.Random, sentences: int, topics: list[str]) -> str:
    out = []
    for _ in range(sentences):
        words = rng.choices(FILLER, k=rng.randint(7, 16))
        for _ in range(rng.randint(1, 2)):
            words.insert(rng.randrange(len(words)), rng.choice(topics))
        if rng.random() < 0.08:  # an occasional mention of something else
            words.insert(rng.randrange(len(words)), rng.choice(VOCABULARY))
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def card_body(rng: random.Random, topics: list[str]) -> str:
    """Roughly 250-700 words of Markdown: headings, paragraphs, a list, sometimes a table."""
    parts = [paragraph(rng, rng.randint(2, 4), topics)]
    for section in rng.sample(
        ["When to use it", "What to say", "Steps", "Pitfalls", "Details", "Who to ask"],
        k=rng.randint(2, 4),
    ):
        parts.append(f"## {section}")
        parts.append(paragraph(rng, rng.randint(2, 5), topics))
        if rng.random() < 0.6:
            parts.append(
                "\n".join(f"- {paragraph(rng, 1, topics)}" for _ in range(rng.randint(3, 6)))
            )
        if rng.random() < 0.2:
            parts.append(
                "| Plan | Seats | Max discount |\n| --- | --- | --- |\n"
                "| Team | 5-50 | 10% |\n| Business | 50-500 | 15% |\n| Enterprise | 500+ | 25% |"
            )
    return "\n\n".join(parts)


def prepare_data(cards: int, seed: int) -> dict[str, Any]:
    """Runs in this process against the scratch database; returns what the load needs."""
    import django

    django.setup()
    from django.conf import settings
    from django.db import transaction
    from django.test import Client
    from django.utils import timezone

    from verity.accounts import services as account_services
    from verity.accounts.access import cards_for
    from verity.accounts.models import Group, SiteRole, User
    from verity.knowledge import services
    from verity.knowledge.models import Card

    rng = random.Random(seed)
    admin = User.objects.filter(site_role=SiteRole.ADMIN).first()
    if admin is None:
        admin = User.objects.create_user(
            "bench-admin@example.com", "bench-password-1", site_role=SiteRole.ADMIN
        )
    sales = Group.objects.create(name="Bench Sales")
    support = Group.objects.create(name="Bench Support")
    collections = []
    for index, (name, group) in enumerate(
        [
            ("Bench Sales Playbook", sales),
            ("Bench Competitors", sales),
            ("Bench Support Runbooks", support),
            ("Bench Customer Success", support),
        ]
    ):
        collection = services.collection_create(user=admin, name=name)
        services.collection_grant(user=admin, collection=collection, group=group, role="read")
        collections.append(collection)
        log(f"collection {index + 1}/4: {name}")

    started = time.monotonic()
    for start in range(0, cards, 500):
        with transaction.atomic():
            for n in range(start, min(start + 500, cards)):
                # Earlier vocabulary words are more common topics (Zipf-like).
                topics = list(dict.fromkeys(rng.choices(VOCABULARY, weights=TOPIC_WEIGHTS, k=3)))
                services.card_create(
                    user=admin,
                    collection=collections[n % len(collections)],
                    title=" ".join([*topics, *rng.sample(FILLER, 2)]).capitalize() + f" ({n})",
                    content=card_body(rng, topics),
                    tags=topics[:2],
                    verifier_user=admin,
                )
        done = min(start + 500, cards)
        log(f"generated {done}/{cards} cards ({time.monotonic() - started:.0f} s)")

    # A realistic mix of states: most verified, some due, a few never verified.
    now = timezone.now()
    ids = list(Card.objects.filter(collection__in=collections).values_list("pk", flat=True))
    rng.shuffle(ids)
    verified = ids[: int(len(ids) * 0.75)]
    due = ids[int(len(ids) * 0.75) : int(len(ids) * 0.9)]
    Card.objects.filter(pk__in=verified).update(
        verification_state="verified",
        verification_reason="",
        last_verified_at=now,
        last_verified_by=admin,
    )
    Card.objects.filter(pk__in=due).update(
        verification_state="needs_verification", verification_reason="expired"
    )

    reader = User.objects.create_user("bench-reader@example.com", "bench-password-1", name="Reader")
    sales.members.add(reader)
    # The reader also gets whatever the demo's sales team reads, if the demo is loaded.
    demo_sales = Group.objects.filter(name__iexact="Sales").first()
    if demo_sales is not None:
        demo_sales.members.add(reader)
    client = Client()
    client.force_login(reader)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    _, token = account_services.token_create(user=reader, name="benchmark")
    readable = list(cards_for(reader).values_list("pk", flat=True))
    return {
        "session": session,
        "token": token,
        "card_ids": readable,
        "cards_total": Card.objects.count(),
        "cards_readable": len(readable),
    }


LUA = """
local paths = %(paths)s
local counter = 0
local threads = {}
non200 = 0

wrk.headers["%(header)s"] = "%(value)s"

setup = function(thread)
  table.insert(threads, thread)
end

init = function(args)
  counter = math.random(#paths)
end

request = function()
  counter = counter %% #paths + 1
  return wrk.format("GET", paths[counter])
end

response = function(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end

done = function(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("non200") end
  io.write(string.format(
    'RESULT {"requests": %%d, "duration_us": %%d, "bytes": %%d, "non200": %%d, ' ..
    '"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d, ' ..
    '"p50": %%d, "p90": %%d, "p95": %%d, "p99": %%d, "max": %%d, "mean": %%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, bad,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
"""


def lua_script(paths: list[str], header: str, value: str) -> str:
    listed = "{" + ",".join(json.dumps(p) for p in paths) + "}"
    return LUA % {"paths": listed, "header": header, "value": value}


def run_wrk(
    base: str, script: Path, connections: int, threads: int, duration: int
) -> dict[str, Any]:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        base,
    ]
    out = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=True
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(
        result[k] for k in ("connect", "read", "write", "status", "timeout", "non200")
    )
    result["command"] = " ".join(command)
    return result


def check(url: str, header: tuple[str, str], must_contain: str) -> None:
    request = urllib.request.Request(url, headers={header[0]: header[1]})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read().decode()
        if response.status != 200 or must_contain not in body:
            raise SystemExit(f"sanity check failed for {url}: {response.status}")


def machine() -> dict[str, str]:
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    return {**machine_facts(), "wrk": wrk or "wrk"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--cards", type=int, default=10_000, help="generated cards")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--workers", type=int, default=None, help="`verity serve --workers`")
    parser.add_argument("--threads", type=int, default=None, help="`verity serve --threads`")
    parser.add_argument("--scratch", default=None, help="scratch directory (default: temp)")
    parser.add_argument("--reuse", action="store_true", help="reuse a prepared --scratch")
    parser.add_argument("--database-url", default=None, help="an EMPTY database to fill")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=["card", "search"], default=None)
    parser.add_argument("--prepare-only", action="store_true", help="fill --scratch and stop")
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="verity-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "VERITY_VAR_DIR": str(scratch),
            "SECRET_KEY": "benchmark-only-secret-key-not-for-production-use",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "127.0.0.1",
        }
    )
    os.environ.pop("VERITY_TESTING", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))

    state_file = scratch / "state.json"
    if args.reuse and state_file.exists():
        state = json.loads(state_file.read_text())
        log(f"reusing {scratch}")
    else:
        log(f"preparing {scratch}")
        subprocess.run([VERITY, "migrate", "--noinput", "--verbosity", "0"], check=True)
        subprocess.run([VERITY, "createcachetable"], check=True)
        demo = subprocess.run([VERITY, "demo", "load", "--once"], capture_output=True, text=True)
        log("demo loaded" if demo.returncode == 0 else "demo not loaded: " + demo.stderr[-300:])
        state = prepare_data(args.cards, args.seed)
        state_file.write_text(json.dumps(state))
    log(f"{state['cards_total']} cards, {state['cards_readable']} readable by the bench reader")
    if args.prepare_only:
        return

    serve = [VERITY, "serve", "--host", "127.0.0.1", "--port", str(args.port)]
    if args.workers:
        serve += ["--workers", str(args.workers)]
    if args.threads:
        serve += ["--threads", str(args.threads)]
    server_log = open(scratch / "server.log", "w")  # noqa: SIM115 (lives as long as the server)
    server = subprocess.Popen(
        serve, stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{args.port}"
    results: dict[str, Any] = {}
    try:
        for _ in range(60):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise SystemExit("server did not start; see " + str(scratch / "server.log"))

        load_before = os.getloadavg()
        rng = random.Random(args.seed)
        card_ids = rng.sample(state["card_ids"], k=min(2000, len(state["card_ids"])))
        cookie = ("Cookie", f"sessionid={state['session']}")
        bearer = ("Authorization", f"Bearer {state['token']}")
        check(f"{base}/cards/{card_ids[0]}/", cookie, "</html>")
        check(f"{base}/api/v1/search?q=pricing", bearer, '"items"')

        scenarios = {
            "card": ([f"/cards/{pk}/" for pk in card_ids], cookie),
            "search": (
                [f"/api/v1/search?q={urllib.parse.quote(q)}" for q in QUERIES],
                bearer,
            ),
        }
        for name, (paths, header) in scenarios.items():
            if args.only and name != args.only:
                continue
            script = scratch / f"{name}.lua"
            script.write_text(lua_script(paths, *header))
            log(f"warming up: {name}")
            run_wrk(base, script, args.connections, args.wrk_threads, 5)
            log(f"measuring: {name}, {args.connections} connections, {args.duration} s")
            results[name] = run_wrk(base, script, args.connections, args.wrk_threads, args.duration)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        server_log.close()

    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "database": "postgresql" if args.database_url else "sqlite",
        "cards_total": state["cards_total"],
        "cards_readable": state["cards_readable"],
        # Other work on the machine skews the numbers; the 1-minute load shows whether it was idle.
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "results": results,
    }
    (scratch / "results.json").write_text(json.dumps(report, indent=2))
    print()
    print("| Scenario | Requests/s | p50 | p95 | p99 | Errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        print(
            f"| {name} | {r['rps']:.0f} | {r['p50'] / 1000:.1f} ms | {r['p95'] / 1000:.1f} ms "
            f"| {r['p99'] / 1000:.1f} ms | {r['errors']} |"
        )
    print(
        f"\nLoad average before/after: {report['load_average_before'][0]:.2f} / "
        f"{report['load_average_after'][0]:.2f}"
    )
    print(f"Raw numbers: {scratch / 'results.json'}")


if __name__ == "__main__":
    main()
