"""Search on the demo company's real data: what the verified-first tie-breaker costs and
gives, and whether questions nothing covers still find nothing.

1. Runs the FAQ questions (benchmarks/faq, dev and test) through the normal search as a
   site admin on a database holding the demo, once with the trust bonus in use and once
   without, and reports nDCG@10 and the share of verified cards among the top three.
2. Runs the demo's knowledge-gap queries (topics no card covers, verity/core/demo/
   searches.yaml) and a few nonsense strings, and counts how many find something, for
   several thresholds a card needs to be found by meaning alone (`Fusion.join`).

    VERITY_VAR_DIR=/path/with/demo .venv/bin/python benchmarks/trust_effect.py

The database needs the demo (`verity demo load`) and, for the hybrid ranking, its vectors
(`verity search embed`).
"""

from __future__ import annotations

import os
import statistics
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402
import yaml  # noqa: E402

django.setup()

from verity.accounts.models import SiteRole, User  # noqa: E402
from verity.knowledge.models import Card, VerificationState  # noqa: E402
from verity.search import ranking  # noqa: E402
from verity.search.evaluation import ndcg_at, read_beir  # noqa: E402
from verity.search.services import search_cards  # noqa: E402


def main() -> None:
    admin = User.objects.filter(site_role=SiteRole.ADMIN, is_active=True).first()
    if admin is None or not Card.objects.filter(external_id__startswith="demo:").exists():
        sys.exit("Load the demo first: verity demo load")
    verified = set(
        Card.objects.filter(verification_state=VerificationState.VERIFIED).values_list(
            "external_id", flat=True
        )
    )
    settings = {
        "with bonus": ranking.FUSION,
        "without": replace(ranking.FUSION, trust_bonus=0.0),
    }
    print("| Split | Ranking | nDCG@10 | Verified in top 3 | Queries whose top 3 changed |")
    print("| --- | --- | ---: | ---: | ---: |")
    for split in ("dev", "test"):
        data = read_beir(ROOT / "benchmarks" / "faq", split)
        tops: dict[str, list[list[str]]] = {}
        for name, fusion in settings.items():
            ndcg, shares, tops[name] = [], [], []
            for query_id, text in data.queries.items():
                results = search_cards(user=admin, query=text, limit=10, fusion=fusion)
                ranked = [str(r.card.external_id) for r in results.results]
                relevant = {f"demo:{doc}": gain for doc, gain in data.qrels[query_id].items()}
                ndcg.append(ndcg_at(ranked, relevant))
                if ranked:
                    shares.append(sum(e in verified for e in ranked[:3]) / len(ranked[:3]))
                tops[name].append(ranked[:3])
            changed = (
                sum(a != b for a, b in zip(*tops.values(), strict=True)) if len(tops) == 2 else 0
            )
            print(
                f"| {split} | {name} | {statistics.fmean(ndcg):.4f} | "
                f"{statistics.fmean(shares):.2f} | {changed if name == 'without' else ''} |"
            )
    gaps(admin)


NONSENSE = ["asdfgh", "qwerty uiop", "weather in paris", "ываолд"]


def gap_queries() -> list[str]:
    with (ROOT / "verity" / "core" / "demo" / "searches.yaml").open(encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    entries = spec["queries"] if isinstance(spec, dict) else spec
    return [e["q"] for e in entries if e.get("kind") == "gap"]


def gaps(admin: User) -> None:
    queries = gap_queries() + NONSENSE
    print()
    print(f"Gap and nonsense queries ({len(queries)}) that find any card:")
    print()
    print("| join | found something | queries |")
    print("| ---: | ---: | --- |")
    for join in (0.82, 0.84, 0.85, 0.86, 0.88):
        fusion = replace(ranking.FUSION, join=join)
        hits = [q for q in queries if search_cards(user=admin, query=q, fusion=fusion).total]
        print(f"| {join:.2f} | {len(hits)} | {', '.join(hits)} |")


if __name__ == "__main__":
    main()
