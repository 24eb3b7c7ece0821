"""Tune how lexical and semantic scores are mixed, on data rather than by guessing.

Input: candidate dumps written by `verity search eval DIR --split S --dump FILE` (every
card either side proposed for each query, with raw BM25 score, cosine similarity and
whether it is verified). The fusion of verity.search.ranking is replayed here for a grid
of weights and similarity floors, so a sweep costs seconds instead of one evaluation run
per setting.

    python benchmarks/tune_fusion.py --tune scifact-train.jsonl faq-dev.jsonl \\
        --report scifact-test.jsonl xquad.jsonl faq-test.jsonl

The objective is the mean nDCG@10 over the tuning dumps (each set counts the same, however
many queries it has), so no single collection decides alone. Reciprocal rank fusion is
reported beside it for comparison.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from verity.search.backends import SearchHit  # noqa: E402
from verity.search.ranking import Fusion, fuse  # noqa: E402

WEIGHTS = [round(0.05 * i, 2) for i in range(0, 21)]
FLOORS = [round(0.70 + 0.01 * i, 2) for i in range(0, 21)]
JOINS = [round(0.80 + 0.01 * i, 2) for i in range(0, 11)]


def load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def ndcg10(ranked: list[str], qrels: dict[str, int]) -> float:
    dcg = sum(qrels.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:10]))
    ideal = sorted(qrels.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def ranked_ids(row: dict[str, Any], fusion: Fusion) -> list[str]:
    """The order verity.search.ranking.rank gives these candidates with `fusion`."""
    candidates = row["candidates"]
    lexical = [SearchHit(i, c["lexical"]) for i, c in enumerate(candidates) if c["lexical"] > 0]
    meaning = {i: c["semantic"] for i, c in enumerate(candidates) if c["semantic"] is not None}
    if fusion.semantic_weight == 0:
        meaning = {}
    scored = fuse(lexical, meaning, fusion)
    bonus = {i: fusion.trust_bonus if c["verified"] else 0.0 for i, c in enumerate(candidates)}
    order = sorted(scored, key=lambda i: (-(scored[i][0] + bonus[i]), i))
    return [candidates[i]["id"] for i in order]


def rrf_ids(row: dict[str, Any], weight: float, k: int = 60) -> list[str]:
    candidates = row["candidates"]
    by_lexical = sorted(
        (i for i, c in enumerate(candidates) if c["lexical"] > 0),
        key=lambda i: -candidates[i]["lexical"],
    )
    by_meaning = sorted(
        (i for i, c in enumerate(candidates) if c["semantic"] is not None),
        key=lambda i: -candidates[i]["semantic"],
    )
    score: dict[int, float] = {}
    for rank, i in enumerate(by_lexical[:100]):
        score[i] = score.get(i, 0.0) + (1 - weight) / (k + rank + 1)
    for rank, i in enumerate(by_meaning[:100]):
        score[i] = score.get(i, 0.0) + weight / (k + rank + 1)
    return [candidates[i]["id"] for i in sorted(score, key=lambda i: (-score[i], i))]


def verified_share(rows: list[dict[str, Any]], fusion: Fusion) -> float:
    """Share of verified cards among the top 3 results: what the tie-breaker moves."""
    shares = []
    for row in rows:
        verified = {c["id"] for c in row["candidates"] if c["verified"]}
        top = ranked_ids(row, fusion)[:3]
        if top:
            shares.append(sum(doc in verified for doc in top) / len(top))
    return statistics.fmean(shares) if shares else 0.0


def mean_ndcg(rows: list[dict[str, Any]], order: Any) -> float:
    return statistics.fmean(ndcg10(order(row), row["qrels"]) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tune", nargs="+", type=Path, required=True)
    parser.add_argument("--report", nargs="*", type=Path, default=[])
    parser.add_argument("--trust-bonus", type=float, default=Fusion().trust_bonus)
    parser.add_argument(
        "--join",
        type=float,
        default=Fusion().join,
        help="similarity a card needs to be found by meaning alone (set from the gap queries, "
        "benchmarks/trust_effect.py); the weight and floor are tuned under it",
    )
    args = parser.parse_args()
    tune = {path.stem: load(path) for path in args.tune}
    report = {path.stem: load(path) for path in args.report}

    def objective(fusion: Fusion) -> float:
        return statistics.fmean(
            mean_ndcg(rows, lambda r: ranked_ids(r, fusion)) for rows in tune.values()
        )

    best = max(
        (
            Fusion(semantic_weight=w, floor=f, join=max(f, args.join), trust_bonus=args.trust_bonus)
            for w in WEIGHTS
            for f in FLOORS
        ),
        key=objective,
    )
    print(f"best at join {args.join}: weight {best.semantic_weight}, floor {best.floor}")
    print()
    print("What the bar for cards found by meaning alone costs (weight and floor as above):")
    print()
    print("| join | " + " | ".join(tune) + " | " + " | ".join(report) + " |")
    print("| ---: |" + " ---: |" * (len(tune) + len(report)))
    for join in JOINS:
        trial = replace(best, join=max(join, best.floor))
        cells = [
            mean_ndcg(rows, lambda r, trial=trial: ranked_ids(r, trial))
            for rows in (*tune.values(), *report.values())
        ]
        print(f"| {trial.join:.2f} | " + " | ".join(f"{c:.4f}" for c in cells) + " |")
    print()
    best_rrf = max(
        WEIGHTS,
        key=lambda w: statistics.fmean(
            mean_ndcg(rows, lambda r: rrf_ids(r, w)) for rows in tune.values()
        ),
    )
    current = Fusion()
    lexical = Fusion(semantic_weight=0.0, trust_bonus=args.trust_bonus)
    print(
        f"best: weight {best.semantic_weight}, floor {best.floor} (objective {objective(best):.4f})"
    )
    print(
        f"in use: weight {current.semantic_weight}, floor {current.floor}, join {current.join} "
        f"(objective {objective(current):.4f})"
    )
    print(f"best weighted RRF: weight {best_rrf}")
    print()
    print(
        "| Set | Queries | Lexical | Semantic only | RRF 50/50 | RRF tuned | Fusion tuned "
        "| Fusion in use | In use, no trust bonus | Verified in top 3 (with / without) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    untrusting = replace(current, trust_bonus=0.0)
    semantic_only = Fusion(semantic_weight=1.0, floor=-1.0, join=-1.0, trust_bonus=args.trust_bonus)
    for name, rows in {**tune, **report}.items():
        cells = [
            mean_ndcg(rows, lambda r: ranked_ids(r, lexical)),
            mean_ndcg(rows, lambda r: ranked_ids(r, semantic_only)),
            mean_ndcg(rows, lambda r: rrf_ids(r, 0.5)),
            mean_ndcg(rows, lambda r: rrf_ids(r, best_rrf)),
            mean_ndcg(rows, lambda r: ranked_ids(r, best)),
            mean_ndcg(rows, lambda r: ranked_ids(r, current)),
            mean_ndcg(rows, lambda r: ranked_ids(r, untrusting)),
        ]
        trusted = f"{verified_share(rows, current):.2f} / {verified_share(rows, untrusting):.2f}"
        tag = " (tuning)" if name in tune else ""
        print(
            f"| {name}{tag} | {len(rows)} | "
            + " | ".join(f"{c:.4f}" for c in cells)
            + f" | {trusted} |"
        )


if __name__ == "__main__":
    main()
