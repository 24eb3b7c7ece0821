"""Search quality: Verity's ranking against bm25s (stemmed BM25) on the same BEIR
collections, in one run. Verity goes through `verity search eval` (a scratch database,
the normal saving and indexing path) and reports both its modes: lexical only, and hybrid
(lexical fused with the embedding model); bm25s indexes the same title + text.

    .venv/bin/pip install bm25s==0.3.16
    .venv/bin/python benchmarks/search_quality.py [--lexical-only] [DIR ...]

Defaults to SciFact (test split), XQuAD Russian sentences from ../shared/data/search and
the FAQ set built from the demo content (benchmarks/faq). Vectors are cached in
var/eval-cache/ between runs (computing them is the slow part). Prints a Markdown table
for docs/benchmarks.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import bm25s
import Stemmer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from verity.search.evaluation import mrr_at, ndcg_at, read_beir, recall_at  # noqa: E402

DEFAULT_SETS = [
    ROOT.parent / "shared" / "data" / "search" / "scifact",
    ROOT.parent / "shared" / "data" / "search" / "xquad-ru-sentences",
    ROOT / "benchmarks" / "faq",
]
CACHE = ROOT / "var" / "eval-cache"


def verity_scores(directory: Path, lexical_only: bool) -> dict[str, dict[str, float]]:
    """{"lexical": metrics, "hybrid": metrics} from one `verity search eval` run."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "verity",
            "search",
            "eval",
            str(directory),
            "--vectors-cache",
            str(CACHE / f"{directory.name}.npz"),
            *(["--lexical-only"] if lexical_only else []),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    reports = re.split(r"^\S+ \(\w+\), \w+, (lexical|hybrid)$", out, flags=re.MULTILINE)
    return {mode: parse(text) for mode, text in zip(reports[1::2], reports[2::2], strict=True)}


def parse(out: str) -> dict[str, float]:
    values = {}
    for key, pattern in {
        "ndcg": r"nDCG@10\s+([\d.]+)",
        "recall": r"Recall@100\s+([\d.]+)",
        "mrr": r"MRR@10\s+([\d.]+)",
        "qps": r"queries/s\s+([\d.]+)",
        "p50": r"latency p50\s+([\d.]+)",
        "p95": r"latency p95\s+([\d.]+)",
    }.items():
        match = re.search(pattern, out)
        values[key] = float(match.group(1)) if match else float("nan")
    return values


def bm25s_scores(directory: Path) -> dict[str, float]:
    data = read_beir(directory)
    russian = "xquad" in directory.name or "-ru" in directory.name
    stemmer = Stemmer.Stemmer("russian" if russian else "english")
    stopwords = None if russian else "en"
    doc_ids = [d["_id"] for d in data.corpus]
    corpus = [f"{d.get('title', '')} {d.get('text', '')}" for d in data.corpus]
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize(corpus, stopwords=stopwords, stemmer=stemmer, show_progress=False)
    )
    ndcg, recall, mrr, latencies = [], [], [], []
    for query_id, text in data.queries.items():
        started = time.perf_counter()
        tokens = bm25s.tokenize([text], stopwords=stopwords, stemmer=stemmer, show_progress=False)
        k = min(100, len(doc_ids))
        results, _scores = retriever.retrieve(tokens, k=k, show_progress=False)
        latencies.append(time.perf_counter() - started)
        ranked = [doc_ids[i] for i in results[0]]
        relevant = data.qrels[query_id]
        ndcg.append(ndcg_at(ranked, relevant))
        recall.append(recall_at(ranked, relevant))
        mrr.append(mrr_at(ranked, relevant))
    latencies.sort()
    n = len(latencies)
    return {
        "ndcg": sum(ndcg) / n,
        "recall": sum(recall) / n,
        "mrr": sum(mrr) / n,
        "qps": n / sum(latencies),
        "p50": 1000 * latencies[n // 2],
        "p95": 1000 * latencies[min(n - 1, int(n * 0.95))],
    }


def main() -> None:
    lexical_only = "--lexical-only" in sys.argv  # skips computing vectors (the slow part)
    sets = [Path(arg) for arg in sys.argv[1:] if not arg.startswith("--")] or DEFAULT_SETS
    print("| Collection | Engine | nDCG@10 | Recall@100 | MRR@10 | queries/s | p50 ms | p95 ms |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for directory in sets:
        ours, theirs = verity_scores(directory, lexical_only), bm25s_scores(directory)
        rows = [(f"Verity ({mode})", metrics) for mode, metrics in ours.items()]
        for name, s in [*rows, ("bm25s (stemmed)", theirs)]:
            print(
                f"| {directory.name} | {name} | {s['ndcg']:.4f} | {s['recall']:.4f} | "
                f"{s['mrr']:.4f} | {s['qps']:.1f} | {s['p50']:.1f} | {s['p95']:.1f} |"
            )
        for mode, metrics in ours.items():
            print(
                f"| {directory.name} | ratio Verity {mode} / bm25s (nDCG@10) | "
                f"{metrics['ndcg'] / theirs['ndcg']:.3f} | | | | | |"
            )


if __name__ == "__main__":
    main()
