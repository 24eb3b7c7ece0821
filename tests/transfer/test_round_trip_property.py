"""Property: whatever cards a JSONL file holds, importing it, exporting and importing again
keeps every card's title, body, tags and interval — and the second import changes nothing."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verity.knowledge import services
from verity.knowledge.models import Card, CardVersion
from verity.knowledge.transfer import import_path
from verity.knowledge.transfer.export import Exporter

text = st.characters(blacklist_categories=("Cs", "Cc"))
card_rows = st.fixed_dictionaries(
    {
        "title": st.text(text, min_size=1, max_size=80).filter(lambda t: t.strip()),
        "content": st.text(st.one_of(text, st.just("\n")), max_size=300),
        "tags": st.lists(
            st.text(
                "abcdefghijklmnopqrstuvwxyz-\u0430\u0431\u0432\u0433\u0434", min_size=1, max_size=12
            ),
            max_size=services.MAX_TAGS,  # more is refused (test_import.py)
        ),
        "verification_interval_days": st.sampled_from([None, 7, 30, 90, 180, 365]),
        "external_id": st.uuids().map(str),
    }
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=st.lists(card_rows, min_size=1, max_size=4, unique_by=lambda r: r["external_id"]))
def test_jsonl_import_then_export_keeps_every_card(cast, rows):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cards.jsonl"
        lines = [json.dumps({**row, "collection": "Sales Playbook"}) for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        report = import_path(path, user=cast.curator)
        assert report.created == len(rows)

        exported = {c["ref"]: c for c in Exporter().card_rows()}
        for row in rows:
            card = exported[row["external_id"]]
            assert card["title"] == services.clean_title(row["title"])
            assert card["content"] == row["content"]
            assert card["tags"] == sorted(services.clean_tags(row["tags"]))
            assert card["verification_interval_days"] == row["verification_interval_days"]
            assert card["collection"] == "sales-playbook"

        # The exported lines are themselves an import file: nothing changes.
        versions = CardVersion.objects.count()
        again = Path(folder) / "again.jsonl"
        again.write_text(
            "".join(json.dumps(exported[r["external_id"]]) + "\n" for r in rows), encoding="utf-8"
        )
        report = import_path(again, user=cast.curator)
        assert (report.created, report.updated, report.unchanged) == (0, 0, len(rows))
        assert CardVersion.objects.count() == versions
    Card.objects.filter(external_id__in=[r["external_id"] for r in rows]).delete()
