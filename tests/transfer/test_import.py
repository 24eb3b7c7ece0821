"""`verity import`: JSONL, Markdown folders and Guru zips; validation; idempotency."""

from __future__ import annotations

import json
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from verity.accounts.models import User
from verity.knowledge.models import Card, CardVersion, Folder
from verity.knowledge.transfer import ImportFailed, import_path
from verity.search.services import search_cards


def write_jsonl(path: Path, rows: list[dict | str]) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_import(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def good_row(n: int, **extra: object) -> dict:
    return {
        "title": f"Competitor pricing {n}",
        "content": f"## Pricing\n\nWe win on **total cost** ({n}).",
        "collection": "Sales Playbook",
        "tags": ["pricing", "Competitors"],
        "external_id": f"ext-{n}",
        "verifier": "author@example.com",
        "verification_interval_days": 30,
        "folders": ["Pricing/Discounts"],
        **extra,
    }


def test_jsonl_import_creates_cards_folders_and_index(cast, tmp_path):
    path = write_jsonl(
        tmp_path / "cards.jsonl",
        [good_row(1), good_row(2, verifier="Sales SMEs", folders=["Pricing"], tags="a, b")],
    )
    out, _ = run_import(str(path), "--as", "curator@example.com")
    assert "2 created" in out
    first = Card.objects.get(external_id="ext-1")
    assert first.collection == cast.sales_collection
    assert first.verifier_user == cast.author
    assert first.verification_interval_days == 30
    assert sorted(first.tags.values_list("name", flat=True)) == ["competitors", "pricing"]
    assert "<strong>total cost</strong>" in first.content_html
    discounts = Folder.objects.get(name="Discounts")
    assert discounts.parent.name == "Pricing"
    assert discounts.collection == cast.sales_collection
    assert list(first.folders.all()) == [discounts]
    second = Card.objects.get(external_id="ext-2")
    assert second.verifier_group.name == "Sales SMEs"
    assert list(second.folders.values_list("name", flat=True)) == ["Pricing"]
    assert Folder.objects.filter(name="Pricing").count() == 1  # reused, not duplicated
    assert search_cards(user=cast.sales_reader, query="total cost").total == 2
    assert search_cards(user=cast.outsider, query="total cost").total == 0


def test_bad_line_is_reported_with_its_number_and_nothing_is_imported(cast, tmp_path):
    before = Card.objects.count()
    path = write_jsonl(
        tmp_path / "cards.jsonl",
        [
            good_row(1),
            good_row(2, title="  "),
            '{"title": "broken',
            good_row(4, verifier="nobody@example.com"),
            good_row(5, verification_interval_days=45),
            good_row(6, external_id="ext-1"),
            good_row(7, collection="No Such Collection"),
            good_row(8, tags=[f"tag {n}" for n in range(31)]),
        ],
    )
    with pytest.raises(CommandError, match="nothing was imported"):
        run_import(str(path), "--as", "curator@example.com")
    with pytest.raises(ImportFailed) as failed:
        import_path(path, user=cast.curator)
    problems = {p.where: p.reason for p in failed.value.problems}
    assert problems["line 2"] == "missing title"
    assert problems["line 3"].startswith("bad JSON")
    assert "unknown verifier “nobody@example.com”" in problems["line 4"]
    assert "bad verification interval “45”" in problems["line 5"]
    assert "duplicate external_id “ext-1” (also at line 1)" in problems["line 6"]
    assert "unknown collection “No Such Collection”" in problems["line 7"]
    assert "at most 30 tags" in problems["line 8"]
    assert "line 1" not in problems
    assert Card.objects.count() == before
    assert not Folder.objects.exists()


def test_command_prints_problems_by_line(cast, tmp_path):
    path = write_jsonl(tmp_path / "cards.jsonl", [good_row(1), good_row(2, title="")])
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import", str(path), "--as", "curator@example.com", stderr=err)
    assert "line 2: missing title" in err.getvalue()


def test_skip_invalid_imports_the_good_records(cast, tmp_path):
    path = write_jsonl(
        tmp_path / "cards.jsonl",
        [good_row(1), good_row(2, verifier="ghost@example.com"), "not json", good_row(4)],
    )
    out, err = run_import(str(path), "--as", "curator@example.com", "--skip-invalid")
    assert "2 created" in out and "2 skipped" in out
    assert "line 2: unknown verifier" in err and "line 3: bad JSON" in err
    assert set(
        Card.objects.filter(external_id__startswith="ext-").values_list("external_id", flat=True)
    ) == {
        "ext-1",
        "ext-4",
    }


def test_reimport_is_idempotent_and_updates_in_place(cast, tmp_path):
    path = write_jsonl(tmp_path / "cards.jsonl", [good_row(1), good_row(2)])
    run_import(str(path), "--as", "curator@example.com")
    card = Card.objects.get(external_id="ext-1")
    versions = CardVersion.objects.count()
    out, _ = run_import(str(path), "--as", "curator@example.com")
    assert "2 unchanged" in out
    assert CardVersion.objects.count() == versions
    card.refresh_from_db()
    assert card.version == 1

    write_jsonl(path, [good_row(1, content="New **body**"), good_row(2)])
    out, _ = run_import(str(path), "--as", "curator@example.com")
    assert "1 updated" in out and "1 unchanged" in out
    card.refresh_from_db()
    assert card.version == 2 and card.content == "New **body**"
    assert Card.objects.filter(external_id="ext-1").count() == 1


def test_collection_option_overrides_the_records(cast, tmp_path):
    path = write_jsonl(
        tmp_path / "cards.jsonl", [{"title": "Refund window", "content": "30 days."}]
    )
    with pytest.raises(CommandError):
        run_import(str(path))  # no collection anywhere
    run_import(str(path), "--collection", "support-runbooks")
    card = Card.objects.get(title="Refund window")
    assert card.collection == cast.support_collection
    assert card.owner == cast.admin  # the first site admin by default


def test_unknown_collection_option_is_refused(cast, tmp_path):
    path = write_jsonl(tmp_path / "cards.jsonl", [good_row(1)])
    with pytest.raises(CommandError, match="Unknown collection"):
        run_import(str(path), "--collection", "Nope")


def test_readers_and_outsiders_cannot_import(cast, tmp_path):
    path = write_jsonl(tmp_path / "cards.jsonl", [good_row(1)])
    for email in ("sales@example.com", "outsider@example.com"):
        with pytest.raises(ImportFailed) as failed:
            import_path(
                path,
                user=User.objects.get(email=email),
            )
        assert "may not author cards" in failed.value.problems[0].reason
    assert not Card.objects.filter(external_id="ext-1").exists()


def test_author_without_curate_cannot_create_folders(cast, tmp_path):
    path = write_jsonl(tmp_path / "cards.jsonl", [good_row(1)])
    with pytest.raises(ImportFailed) as failed:
        import_path(path, user=cast.author)
    assert "only curators may create folders" in failed.value.problems[0].reason
    write_jsonl(path, [good_row(1, folders=[])])
    report = import_path(path, user=cast.author)
    assert report.created == 1


def test_markdown_folder(cast, tmp_path):
    root = tmp_path / "kb"
    (root / "Objections").mkdir(parents=True)
    (root / "pricing.md").write_text(
        "---\ntitle: Multi-year discounts\ncollection: Sales Playbook\ntags: [pricing]\n"
        "external_id: md-1\nverification_interval_days: 180\n---\n\nTwo years: **5%**.\n",
        encoding="utf-8",
    )
    (root / "Objections" / "too-expensive.md").write_text(
        "---\ncollection: sales-playbook\n---\n# “It is too expensive”\n\nAsk what they compare.\n",
        encoding="utf-8",
    )
    (root / "Objections" / "no_budget_this_year.md").write_text(
        "---\ncollection: Sales Playbook\nverifier: Sales SMEs\n---\nOffer a pilot.\n",
        encoding="utf-8",
    )
    out, _ = run_import(str(root), "--as", "curator@example.com")
    assert "3 created" in out
    first = Card.objects.get(external_id="md-1")
    assert first.title == "Multi-year discounts"
    assert first.verification_interval_days == 180
    assert first.content.strip() == "Two years: **5%**."
    heading = Card.objects.get(title="“It is too expensive”")
    assert heading.content.strip() == "Ask what they compare."  # heading became the title
    assert list(heading.folders.values_list("name", flat=True)) == ["Objections"]
    named = Card.objects.get(title="no budget this year")
    assert named.verifier_group.name == "Sales SMEs"


def test_markdown_bad_front_matter_is_reported_by_file(cast, tmp_path):
    root = tmp_path / "kb"
    root.mkdir()
    (root / "ok.md").write_text("---\ncollection: Sales Playbook\n---\nFine.\n")
    (root / "bad.md").write_text("---\ntitle: [unclosed\n---\nBody\n")
    with pytest.raises(ImportFailed) as failed:
        import_path(root, user=cast.curator)
    assert [p.where for p in failed.value.problems] == ["bad.md"]
    assert "bad YAML" in failed.value.problems[0].reason
    assert not Card.objects.filter(title="ok").exists()


def make_guru_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "collection.yaml",
            "Version: 2\nItems:\n  - ID: f1\n    Type: folder\n  - ID: c3\n    Type: card\n"
            "Tags:\n  - Product:Routing\n",
        )
        archive.writestr(
            "folders/f1.yaml",
            "Title: Troubleshooting\nItems:\n  - ID: f2\n    Type: folder\n"
            "  - ID: c1\n    Type: card\n",
        )
        archive.writestr("folders/f2.yaml", "Title: Email\nItems:\n  - ID: c2\n    Type: card\n")
        archive.writestr("cards/c1.yaml", "Title: Sync stuck at 0%\nTags:\n  - Product:Sync\n")
        archive.writestr(
            "cards/c1.html",
            "<h2>Symptoms</h2>\n\n  <p>The bar stays at <b>0%</b>.</p>\n"
            '<script>alert(1)</script><p onclick="x()">Restart the agent.</p>',
        )
        archive.writestr(
            "cards/c2.yaml",
            "Title: Bounced invites\nExternalId: ext-bounce\nVerifierEmail: curator@example.com\n",
        )
        archive.writestr("cards/c2.md", "Check the **SPF** record.\n")
        archive.writestr("cards/c3.yaml", "Title: Status page\n")
        archive.writestr("cards/c3.md", "status.example.com\n")
    return path


def test_guru_zip(cast, tmp_path):
    archive = make_guru_zip(tmp_path / "guru.zip")
    out, _ = run_import(
        str(archive), "--collection", "Support Runbooks", "--as", "curator@example.com"
    )
    assert "3 created" in out
    sync = Card.objects.get(external_id="guru:c1")
    assert sync.collection == cast.support_collection
    assert "<h2>Symptoms</h2>" in sync.content_html and "<b>0%</b>" in sync.content_html
    assert "script" not in sync.content_html and "onclick" not in sync.content_html
    assert list(sync.tags.values_list("name", flat=True)) == ["sync"]
    assert list(sync.folders.values_list("name", flat=True)) == ["Troubleshooting"]
    bounce = Card.objects.get(external_id="ext-bounce")
    assert bounce.verifier_user == cast.curator
    email = bounce.folders.get()
    assert email.name == "Email" and email.parent.name == "Troubleshooting"
    assert not Card.objects.get(title="Status page").folders.exists()
    # Importing the same zip again changes nothing.
    out, _ = run_import(
        str(archive), "--collection", "Support Runbooks", "--as", "curator@example.com"
    )
    assert "3 unchanged" in out
    assert Folder.objects.filter(collection=cast.support_collection).count() == 2


def test_guru_zip_without_collection_is_an_error(cast, tmp_path):
    archive = make_guru_zip(tmp_path / "guru.zip")
    with pytest.raises(ImportFailed) as failed:
        import_path(archive, user=cast.curator)
    assert all("no collection" in p.reason for p in failed.value.problems)
    assert not Card.objects.filter(title="Status page").exists()
