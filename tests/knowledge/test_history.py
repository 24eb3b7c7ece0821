"""Versions on every save, readable diffs, restore, and refusing stale edits."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from verity.knowledge import selectors, services
from verity.knowledge.models import Card


def test_every_save_is_a_numbered_version_with_who_and_what(cast):
    card = services.card_update(
        user=cast.author, card=cast.sales_card, expected_version=1, title="Discount rules 2027"
    )
    card = services.card_update(
        user=cast.curator, card=card, expected_version=2, content="New body", tags=["pricing"]
    )
    versions = list(card.versions.order_by("number"))
    assert [v.number for v in versions] == [1, 2, 3]
    assert versions[0].changed_fields == ["created"]
    assert versions[1].changed_fields == ["title"] and versions[1].author == cast.author
    assert set(versions[2].changed_fields) == {"content", "tags"}
    assert versions[2].author == cast.curator
    assert versions[2].tags == ["pricing"]


def test_save_without_changes_makes_no_version(cast):
    card = services.card_update(
        user=cast.author, card=cast.sales_card, expected_version=1, title=cast.sales_card.title
    )
    assert card.version == 1 and card.versions.count() == 1


def test_stale_update_is_refused_and_nothing_is_overwritten(cast):
    services.card_update(
        user=cast.author, card=cast.sales_card, expected_version=1, content="first"
    )
    with pytest.raises(services.StaleVersion) as err:
        services.card_update(
            user=cast.curator, card=cast.sales_card, expected_version=1, content="second"
        )
    assert err.value.current == 2
    stored = Card.objects.get(pk=cast.sales_card.pk)
    assert stored.content == "first" and stored.version == 2
    assert stored.versions.count() == 2


def test_diff_shows_added_and_removed_lines(cast):
    card = services.card_update(
        user=cast.author,
        card=cast.sales_card,
        expected_version=1,
        title="Discount approval",
        content="Up to **10%** needs no approval; above that ask the deal desk.\n\nNew line.",
    )
    diff = selectors.version_diff(card, 2)
    assert diff is not None and diff.title_changed
    kinds = {(kind, text) for kind, text in diff.lines}
    assert ("add", "New line.") in kinds
    assert ("del", "Up to **15%** needs no approval; above that ask the deal desk.") in kinds
    assert selectors.version_diff(card, 99) is None


def test_restore_makes_a_new_version_with_the_old_content(cast):
    original = cast.sales_card.content
    card = services.card_update(
        user=cast.author, card=cast.sales_card, expected_version=1, content="wrong"
    )
    card = services.card_restore_version(user=cast.author, card=card, number=1, expected_version=2)
    assert card.content == original and card.version == 3
    latest = card.versions.first()
    assert latest.note == "Restored version 1" and latest.changed_fields == ["content"]
    from verity.search.services import search_cards

    assert search_cards(user=cast.sales_reader, query="deal desk").total == 1


def test_restore_needs_author_role(cast):
    with pytest.raises(PermissionDenied):
        services.card_restore_version(
            user=cast.sales_reader, card=cast.sales_card, number=1, expected_version=1
        )


def test_archive_hides_from_search_and_lists_restore_brings_back(cast):
    from verity.accounts import access
    from verity.search.services import search_cards

    services.card_archive(user=cast.author, card=cast.sales_card)
    assert search_cards(user=cast.sales_reader, query="discount").total == 0
    assert not access.cards_for(cast.sales_reader).filter(pk=cast.sales_card.pk).exists()
    with pytest.raises(PermissionDenied):
        services.card_unarchive(user=cast.sales_reader, card=cast.sales_card)
    services.card_unarchive(user=cast.author, card=cast.sales_card)
    assert search_cards(user=cast.sales_reader, query="discount").total == 1


def test_card_is_searchable_the_moment_it_is_saved(cast):
    from verity.search.services import search_cards

    services.card_create(
        user=cast.author,
        collection=cast.sales_collection,
        title="Multi-year contracts",
        content="Two-year deals get a **zebra** clause.",
    )
    assert search_cards(user=cast.sales_reader, query="zebra").total == 1
    assert search_cards(user=cast.support_reader, query="zebra").total == 0
