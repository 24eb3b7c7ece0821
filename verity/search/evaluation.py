"""Search quality and speed on a BEIR-layout collection (`corpus.jsonl`, `queries.jsonl`,
`qrels/<split>.tsv`), loaded through the normal card-saving and indexing path.

The metrics follow the usual trec_eval definitions: nDCG@10 with graded gains and a log2
discount, Recall@100, and MRR@10 (reciprocal rank of the first relevant result)."""

from __future__ import annotations

import csv
import json
import math
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.db import transaction

from verity.accounts.models import SiteRole, User
from verity.knowledge import services
from verity.knowledge.models import Card, Collection
from verity.search import ranking, semantic
from verity.search.services import load_memory_index, search_cards


@dataclass
class BeirData:
    corpus: list[dict[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def read_beir(directory: Path, split: str = "test") -> BeirData:
    def jsonl(path: Path) -> Iterable[dict[str, str]]:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)

    qrels: dict[str, dict[str, int]] = {}
    with (directory / "qrels" / f"{split}.tsv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    queries = {q["_id"]: q["text"] for q in jsonl(directory / "queries.jsonl") if q["_id"] in qrels}
    return BeirData(corpus=list(jsonl(directory / "corpus.jsonl")), queries=queries, qrels=qrels)


def load_corpus(
    corpus: list[dict[str, str]], progress: Callable[[int], None] | None = None
) -> User:
    """Save every document as a card (title, text, external_id = its id) and return a
    reader who can see them all."""
    admin = User.objects.create_user("eval@example.com", None, site_role=SiteRole.ADMIN)
    collection = services.collection_create(user=admin, name="Evaluation corpus")
    with transaction.atomic():
        for n, doc in enumerate(corpus, 1):
            services.card_create(
                user=admin,
                collection=collection,
                title=(doc.get("title") or doc["_id"])[:300],
                content=doc.get("text", ""),
                external_id=f"doc:{doc['_id']}",
            )
            if progress:
                progress(n)
    return admin


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(gain / math.log2(i + 2) for i, gain in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    wanted = {doc for doc, gain in relevant.items() if gain > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def mrr_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    for i, doc in enumerate(ranked[:k]):
        if relevant.get(doc, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


@dataclass
class EvalReport:
    documents: int
    queries: int
    ndcg_at_10: float
    recall_at_100: float
    mrr_at_10: float
    queries_per_second: float
    p50_ms: float
    p95_ms: float
    indexing_seconds: float

    def lines(self) -> list[str]:
        return [
            f"documents      {self.documents}",
            f"queries        {self.queries}",
            f"nDCG@10        {self.ndcg_at_10:.4f}",
            f"Recall@100     {self.recall_at_100:.4f}",
            f"MRR@10         {self.mrr_at_10:.4f}",
            f"queries/s      {self.queries_per_second:.1f}",
            f"latency p50    {self.p50_ms:.1f} ms",
            f"latency p95    {self.p95_ms:.1f} ms",
            f"indexing       {self.indexing_seconds:.1f} s "
            f"({self.documents / max(self.indexing_seconds, 1e-9):.0f} documents/s)",
        ]


def embed_corpus(
    cache_path: Path | None, progress: Callable[[int], None] | None = None
) -> tuple[int, float]:
    """Compute every card's vector through the worker's code path; returns how many were
    computed by the model and the seconds it took. With `cache_path` (an .npz file keyed
    by text hash) vectors of texts seen in an earlier run are reused."""
    cache: dict[str, np.ndarray] = {}
    if cache_path is not None and cache_path.exists():
        with np.load(cache_path) as stored:
            cache = {key: stored[key] for key in stored.files}
    known = len(cache)
    started = time.perf_counter()
    semantic.embed_pending(batch_size=32, progress=progress, cache=cache)
    seconds = time.perf_counter() - started
    if cache_path is not None and len(cache) > known:
        np.savez(cache_path, **cache)  # type: ignore[arg-type]
    return len(cache) - known, seconds


def evaluate(
    data: BeirData, user: User, indexing_seconds: float, use_semantic: bool = True
) -> EvalReport:
    ids = dict(Card.objects.values_list("pk", "external_id"))
    load_memory_index(wait=True)  # as in a running server: timed searches rank in memory
    ndcg, recall, mrr, latencies = [], [], [], []
    for query_id, text in data.queries.items():
        started = time.perf_counter()
        results = search_cards(
            user=user, query=text, limit=100, snippets=False, use_semantic=use_semantic
        )
        latencies.append(time.perf_counter() - started)
        ranked = [str(ids[r.card.pk]).removeprefix("doc:") for r in results.results]
        relevant = data.qrels[query_id]
        ndcg.append(ndcg_at(ranked, relevant))
        recall.append(recall_at(ranked, relevant))
        mrr.append(mrr_at(ranked, relevant))
    latencies.sort()
    return EvalReport(
        documents=Collection.objects.get(name="Evaluation corpus").cards.count(),
        queries=len(latencies),
        ndcg_at_10=statistics.fmean(ndcg) if ndcg else 0.0,
        recall_at_100=statistics.fmean(recall) if recall else 0.0,
        mrr_at_10=statistics.fmean(mrr) if mrr else 0.0,
        queries_per_second=len(latencies) / sum(latencies) if latencies else 0.0,
        p50_ms=1000 * latencies[len(latencies) // 2] if latencies else 0.0,
        p95_ms=1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
        if latencies
        else 0.0,
        indexing_seconds=indexing_seconds,
    )


# Every card that either side proposes, with its raw scores: enough to replay the fusion
# offline for any weight and floor (benchmarks/tune_fusion.py).
DUMP_FUSION = ranking.Fusion(semantic_weight=0.5, floor=-1.0, join=-1.0, trust_bonus=0.0, pool=100)


def dump_candidates(data: BeirData, user: User, path: Path) -> None:
    ids = dict(Card.objects.values_list("pk", "external_id"))
    states = dict(Card.objects.values_list("pk", "verification_state"))
    with path.open("w", encoding="utf-8") as out:
        for query_id, text in data.queries.items():
            results = search_cards(
                user=user, query=text, limit=200, snippets=False, fusion=DUMP_FUSION
            )
            candidates = [
                {
                    "id": str(ids[r.card.pk]).removeprefix("doc:"),
                    "lexical": r.lexical,
                    "semantic": r.semantic,
                    "verified": states[r.card.pk] == "verified",
                }
                for r in results.results
            ]
            row = {"query": query_id, "qrels": data.qrels[query_id], "candidates": candidates}
            out.write(json.dumps(row) + "\n")
