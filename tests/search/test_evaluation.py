"""The evaluation harness: BEIR reading, metric definitions, and a run through the normal
indexing path."""

from __future__ import annotations

import json
import math
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from verity.search.evaluation import mrr_at, ndcg_at, read_beir, recall_at


def write_beir(folder: Path) -> Path:
    docs = [
        ("d1", "Refund policy", "Refunds are issued within 14 days of purchase."),
        ("d2", "Discount approval", "Discounts above 20 percent need the VP's approval."),
        ("d3", "Скидки", "Скидка на многолетний контракт согласуется заранее."),
        ("d4", "Security review", "We answer security questionnaires within a week."),
    ]
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "\n".join(json.dumps({"_id": i, "title": t, "text": x}) for i, t, x in docs),
        encoding="utf-8",
    )
    queries = [("q1", "how fast are refunds issued"), ("q2", "скидки на контракт"), ("q9", "x")]
    (folder / "queries.jsonl").write_text(
        "\n".join(json.dumps({"_id": i, "text": t}) for i, t in queries), encoding="utf-8"
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t1\n", encoding="utf-8"
    )
    return folder


def test_metrics_follow_the_trec_definitions():
    relevant = {"a": 1, "b": 1}
    assert ndcg_at(["a", "b", "c"], relevant) == pytest.approx(1.0)
    assert ndcg_at(["c", "a"], relevant) == pytest.approx(
        (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    )
    assert ndcg_at(["c"], relevant) == 0.0
    assert recall_at(["a", "x"], relevant) == 0.5
    assert mrr_at(["x", "y", "b"], relevant) == pytest.approx(1 / 3)
    assert mrr_at(["x"] * 10 + ["a"], relevant) == 0.0  # beyond the cut-off


def test_read_beir_keeps_only_judged_queries(tmp_path):
    data = read_beir(write_beir(tmp_path / "mini"))
    assert len(data.corpus) == 4
    assert set(data.queries) == {"q1", "q2"}
    assert data.qrels["q2"] == {"d3": 1}


@pytest.mark.django_db
def test_eval_loads_through_the_indexing_path_and_reports(tmp_path):
    out = StringIO()
    call_command("search", "eval-in-scratch", str(write_beir(tmp_path / "mini")), stdout=out)
    report = out.getvalue()
    assert "documents      4" in report and "queries        2" in report
    # Both queries find their document first (stemming: "скидки"/"Скидка", "refunds"/"Refunds").
    assert "nDCG@10        1.0000" in report
    assert "MRR@10         1.0000" in report


@pytest.mark.django_db
def test_eval_refuses_a_database_with_cards(cast, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("search", "eval-in-scratch", str(write_beir(tmp_path / "mini")))


def test_eval_refuses_a_folder_that_is_not_beir(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not a BEIR folder"):
        call_command("search", "eval", str(tmp_path))
