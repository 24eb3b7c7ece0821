"""`verity export` and the round trip: export → import into an empty database → export
again gives the same files (only the manifest's export time differs)."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from verity.accounts.models import Group, User
from verity.knowledge import services
from verity.knowledge.models import (
    Card,
    CardVersion,
    Collection,
    Favorite,
    Flag,
    Folder,
    VerificationState,
)
from verity.knowledge.transfer import ImportFailed, import_path, write_export
from verity.search.backends import get_backend
from verity.search.services import search_cards


def rich_base(cast) -> None:
    """The cast plus everything an export must carry."""
    admin, curator, author = cast.admin, cast.curator, cast.author
    pricing = services.folder_create(user=admin, collection=cast.sales_collection, name="Pricing")
    discounts = services.folder_create(
        user=admin, collection=cast.sales_collection, name="Discounts", parent=pricing
    )
    services.folder_create(user=admin, collection=cast.sales_collection, name="Battlecards")
    services.folder_create(user=admin, collection=cast.sales_collection, name="Objections")
    services.folder_reorder(
        user=admin,
        collection=cast.sales_collection,
        folder_ids=list(
            Folder.objects.filter(parent=None, collection=cast.sales_collection)
            .order_by("-name")
            .values_list("pk", flat=True)
        ),
    )
    authors = Group.objects.get(name="Sales SMEs")
    a = services.card_create(
        user=author,
        collection=cast.sales_collection,
        title="Multi-year discounts",
        content="Two years: **5%**.",
        tags=["pricing"],
        folder_ids=[discounts.pk, pricing.pk],
        verifier_group=authors,
        verification_interval_days=180,
        external_id="kb-1",
    )
    a = services.card_update(user=author, card=a, expected_version=1, content="Two years: **6%**.")
    a = services.card_update(
        user=curator, card=a, expected_version=2, title="Multi-year discount rules", note="rename"
    )
    services.card_verify(user=author, card=a)
    b = services.card_create(
        user=author,
        collection=cast.sales_collection,
        title="Скидки на многолетние контракты",
        content="## Правило\n\nДо **10%** без согласования.",  # noqa: RUF001
        folder_ids=[discounts.pk],
        verification_interval_days=None,
    )
    services.folder_cards_reorder(user=admin, folder=discounts, card_ids=[b.pk, a.pk])
    services.card_verify(user=author, card=cast.sales_card)
    services.card_flag(user=cast.sales_reader, card=cast.sales_card, comment="The limit is 12% now")
    old = services.card_create(
        user=curator, collection=cast.support_collection, title="Old refund policy", content="x"
    )
    services.card_archive(user=curator, card=old)
    services.favorite_set(user=cast.sales_reader, card=a, on=True)
    services.favorite_set(user=cast.support_reader, card=cast.support_card, on=True)
    cast.author.hire_date = date(2025, 3, 1)
    cast.author.save()


def read_files(path: Path) -> dict[str, list]:
    files = {}
    for file in sorted(path.iterdir()):
        text = file.read_text(encoding="utf-8")
        if file.name == "manifest.json":
            manifest = json.loads(text)
            manifest.pop("exported_at")
            files[file.name] = manifest
        else:
            files[file.name] = [json.loads(line) for line in text.splitlines()]
    return files


def wipe() -> None:
    Flag.objects.all().delete()
    Favorite.objects.all().delete()
    CardVersion.objects.all().delete()
    Card.objects.all().delete()
    Folder.objects.all().delete()
    Collection.objects.all().delete()
    Group.objects.all().delete()
    User.objects.all().delete()
    get_backend().clear()


def test_round_trip_reproduces_the_base(cast, tmp_path):
    rich_base(cast)
    first = tmp_path / "first"
    call_command("export", str(first), stdout=StringIO())
    before = read_files(first)
    assert before["manifest.json"]["counts"]["cards"] == 5
    assert len(before["flags.jsonl"]) == 1 and len(before["favorites.jsonl"]) == 2
    kb1 = next(c for c in before["cards.jsonl"] if c["ref"] == "kb-1")
    assert [v["number"] for v in kb1["versions"]] == [1, 2, 3]
    assert "password" not in json.dumps(before["users.jsonl"])
    old_ids = set(Card.objects.values_list("pk", flat=True))

    wipe()
    out = StringIO()
    call_command("import", str(first), stdout=out)  # empty database: acts as the exported admin
    assert "5 created" in out.getvalue()

    second = tmp_path / "second"
    write_export(second)
    after = read_files(second)
    for name in before:
        assert after[name] == before[name], name
    # Same content, new rows.
    assert not old_ids & set(Card.objects.values_list("pk", flat=True))
    restored = Card.objects.get(external_id="kb-1")
    assert restored.version == 3
    assert restored.verification_state == VerificationState.VERIFIED
    assert not User.objects.get(email="sales@example.com").has_usable_password()
    reader = User.objects.get(email="sales@example.com")
    assert search_cards(user=reader, query="многолетние").total == 1
    assert search_cards(user=reader, query="refund").total == 0
    assert (
        search_cards(user=User.objects.get(email="outsider@example.com"), query="discount").total
        == 0
    )


def test_reimporting_an_export_into_the_same_base_changes_nothing(cast, tmp_path):
    rich_base(cast)
    path = tmp_path / "export.zip"
    call_command("export", str(path), stdout=StringIO())
    versions = CardVersion.objects.count()
    report = import_path(path, user=cast.admin)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 5)
    assert CardVersion.objects.count() == versions
    assert Card.objects.count() == 5
    assert Flag.objects.filter(resolved_at=None).count() == 1


def test_export_as_a_user_holds_only_what_they_can_read(cast, tmp_path):
    rich_base(cast)
    write_export(tmp_path / "sales", user=cast.sales_reader)
    files = read_files(tmp_path / "sales")
    assert {c["collection"] for c in files["cards.jsonl"]} == {"sales-playbook"}
    assert files["users.jsonl"] == [] and files["groups.jsonl"] == []
    assert {f["user"] for f in files["favorites.jsonl"]} == {"sales@example.com"}

    write_export(tmp_path / "outsider", user=cast.outsider)
    files = read_files(tmp_path / "outsider")
    assert files["cards.jsonl"] == [] and files["collections.jsonl"] == []
    assert files["folders.jsonl"] == [] and files["flags.jsonl"] == []


@pytest.mark.parametrize("name", ["export.zip", "export-dir"])
def test_export_command_writes_zip_or_directory(cast, tmp_path, name):
    out = StringIO()
    call_command("export", str(tmp_path / name), stdout=out)
    assert "2 cards" in out.getvalue()
    assert (tmp_path / name).exists()


def test_only_a_site_admin_may_restore_an_export(cast, tmp_path):
    write_export(tmp_path / "export")
    with pytest.raises(ImportFailed, match="bad record"):
        import_path(tmp_path / "export", user=cast.curator)
    (tmp_path / "export" / "cards.jsonl").write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ImportFailed) as failed:
        import_path(tmp_path / "export", user=cast.admin)
    assert str(failed.value.problems[0]).startswith("cards.jsonl line 1: bad JSON")
