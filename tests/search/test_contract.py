"""The backend contract: every search backend (SQLite FTS5, PostgreSQL full text) must pass
this file. CI runs the whole suite once per database, so each backend meets it there."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verity.accounts import access
from verity.knowledge import services
from verity.knowledge.models import Card
from verity.search.analysis import parse_query
from verity.search.backends import get_backend
from verity.search.backends.base import candidate_sql
from verity.search.services import SearchFilters, rebuild_index, result_cards, search_cards

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(cast: Any) -> dict[str, Card]:
    def make(title: str, content: str, collection: Any = None, **extra: Any) -> Card:
        return services.card_create(
            user=cast.admin,
            collection=collection or cast.sales_collection,
            title=title,
            content=content,
            **extra,
        )

    return {
        "title": make("Renewal discount", "Terms for a second year."),
        "body": make("Pricing FAQ", "A renewal may carry a discount after review."),
        "tags": make("Deal desk", "Who approves what.", tags=["discount"]),
        "ru": make("Скидка при продлении", "Скидки на продление согласует отдел продаж."),
        "support": make(
            "Support discount", "Support plans carry no discount.", cast.support_collection
        ),
    }


def test_the_backend_is_the_one_for_this_database() -> None:
    expected = {"sqlite": "SQLiteBackend", "postgresql": "PostgresBackend"}[connection.vendor]
    assert type(get_backend()).__name__ == expected


def test_title_outranks_tags_outranks_body(cast: Any, library: dict[str, Card]) -> None:
    found = [r.card for r in search_cards(user=cast.sales_reader, query="discount").results]
    ranks = {name: found.index(card) for name, card in library.items() if card in found}
    assert ranks["title"] < ranks["tags"] < ranks["body"]
    assert "support" not in ranks  # not readable by a sales reader


def test_totals_pages_and_snippets(cast: Any, library: dict[str, Card]) -> None:
    everything = search_cards(user=cast.admin, query="discount", limit=50)
    # The four above with the word, and the cast's "Discount approval rules".
    assert everything.total == len(everything.results) == 5
    first = search_cards(user=cast.admin, query="discount", limit=2)
    second = search_cards(user=cast.admin, query="discount", limit=2, offset=2)
    assert first.total == second.total == 5
    assert [r.card for r in first.results + second.results] == [
        r.card for r in everything.results[:4]
    ]
    snippets = {r.card.pk: r.snippet for r in everything.results}
    assert "may carry a <mark>discount</mark> after review" in snippets[library["body"].pk]


def test_a_percentage_is_a_word_of_its_own(cast: Any) -> None:
    def make(title: str, content: str) -> Card:
        return services.card_create(
            user=cast.admin, collection=cast.sales_collection, title=title, content=content
        )

    discount = make("Partner discount", "Partners get up to 25% off the first year.")
    russian = make("Скидка партнёрам", "Партнёрам — скидка до 25 % на первый год.")
    time_off = make("Time off", "25 days of paid time off a year; give two weeks' notice.")

    def found(query: str) -> list[Card]:
        return [r.card for r in search_cards(user=cast.admin, query=query).results]

    # "25%" is a discount, not 25 days; the Russian "25 %" (a space before the sign) is the
    # same word, whichever way the query writes it.
    for query in ("25%", "25 %", "до 25%"):
        assert time_off not in found(query)
    assert set(found("25%")) == {discount, russian}
    assert found("скидка 25 %") == [russian]
    assert {discount, russian, time_off} <= set(found("25"))  # the bare number finds them all
    assert found('"25% off"') == [discount]
    assert time_off in found("days -25%") and discount not in found("off -25%")
    snippet = search_cards(user=cast.admin, query="скидка 25 %").results[0].snippet
    assert "<mark>скидка</mark> до <mark>25 %</mark>" in snippet


def test_a_saved_card_is_searchable_at_once_and_archived_is_gone(
    cast: Any, library: dict[str, Card]
) -> None:
    card = services.card_update(
        user=cast.admin,
        card=library["body"],
        expected_version=library["body"].version,
        content="Now about onboarding checklists.",
    )
    assert card not in [r.card for r in search_cards(user=cast.admin, query="review").results]
    assert [r.card for r in search_cards(user=cast.admin, query="checklists").results] == [card]
    services.card_archive(user=cast.admin, card=card)
    assert search_cards(user=cast.admin, query="checklists").total == 0


def test_plain_texts_vocabulary_and_index_listing(library: dict[str, Card]) -> None:
    backend = get_backend()
    ids = [library["title"].pk, library["ru"].pk]
    cards = result_cards(ids, texts=True)
    assert cards[library["title"].pk].plain_text == "Terms for a second year."
    assert "продление" in (cards[library["ru"].pk].plain_text or "")
    vocabulary = backend.vocabulary()
    assert vocabulary["discount"] >= 3  # stems, with the number of cards holding them
    assert "скидк" in vocabulary
    assert {c.pk for c in library.values()} <= backend.indexed_ids()


def test_rebuild_restores_a_cleared_index(cast: Any, library: dict[str, Card]) -> None:
    get_backend().clear()
    assert search_cards(user=cast.admin, query="discount").total == 0
    assert rebuild_index() == Card.objects.filter(archived_at__isnull=True).count()
    assert search_cards(user=cast.admin, query="discount").total == 5


def test_sweep_removes_rows_of_archived_cards(library: dict[str, Card]) -> None:
    card = library["tags"]
    Card.objects.filter(pk=card.pk).update(archived_at=card.updated_at)  # behind its back
    assert get_backend().sweep_orphans() == 1
    assert card.pk not in get_backend().indexed_ids()


def test_the_permission_filter_is_inside_the_query(cast: Any, library: dict[str, Card]) -> None:
    """A page of results is full even when most matches are unreadable: the backend ranks
    among the readable cards instead of trimming a page afterwards."""
    for n in range(12):
        services.card_create(
            user=cast.admin,
            collection=cast.support_collection,
            title=f"Discount note {n}",
            content="discount discount discount",
        )
    page = get_backend().search(
        parse_query("discount"), access.cards_for(cast.sales_reader), limit=3
    )
    # Sales has four discount cards (three above and the cast's); Support's twelve don't count.
    assert len(page.hits) == 3 and page.total == 4
    readable = set(access.cards_for(cast.sales_reader).values_list("pk", flat=True))
    assert {h.card_id for h in page.hits} <= readable
    assert candidate_sql(access.cards_for(cast.outsider)) is None


def test_moving_a_card_moves_it_between_readers(cast: Any, library: dict[str, Card]) -> None:
    """The readable-collections filter is applied inside the index (SQLite keeps the
    collection in the index row), so a move must re-file the card at once."""

    def found(user: Any) -> set[int]:
        return {r.card.pk for r in search_cards(user=user, query="support plans").results}

    card = library["support"]
    assert card.pk not in found(cast.sales_reader)
    services.card_update(
        user=cast.admin, card=card, expected_version=None, collection=cast.sales_collection
    )
    assert card.pk in found(cast.sales_reader)
    assert card.pk not in found(cast.support_reader)


def test_collection_bookkeeping_is_not_searchable(cast: Any, library: dict[str, Card]) -> None:
    token = f"c{cast.sales_collection.pk}"
    assert search_cards(user=cast.admin, query=token, use_semantic=False).total == 0
    assert token not in get_backend().vocabulary()


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (SearchFilters(tag="discount"), {"tags"}),
        (SearchFilters(state="unverified"), {"title", "body", "tags"}),
        (SearchFilters(state="verified"), set()),
    ],
)
def test_filters_hold_on_every_backend(
    cast: Any, library: dict[str, Card], filters: SearchFilters, expected: set[str]
) -> None:
    results = search_cards(user=cast.sales_reader, query="discount", filters=filters).results
    found = {r.card.pk for r in results}
    assert {name for name, card in library.items() if card.pk in found} == expected


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=80))
def test_no_input_breaks_the_backend(cast: Any, library: dict[str, Card], query: str) -> None:
    results = search_cards(user=cast.sales_reader, query=query)
    readable = set(access.cards_for(cast.sales_reader).values_list("pk", flat=True))
    assert {r.card.pk for r in results.results} <= readable
