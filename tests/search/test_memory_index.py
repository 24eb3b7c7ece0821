"""The lexical index held in memory (verity.search.memory) against the database's own
full-text search: on SQLite the same cards, in the same order, with the same bm25 scores
and totals as FTS5, for any query; on PostgreSQL (which ranks otherwise) the same matches.
It follows every change to the cards at once, on PostgreSQL even when transactions commit
out of order."""

from __future__ import annotations

import sqlite3
from collections import Counter
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verity.knowledge import services as knowledge
from verity.knowledge.models import Card
from verity.search import services as search
from verity.search.analysis import analyze, parse_query
from verity.search.backends import SearchPage, get_backend
from verity.search.backends.base import BODY_WEIGHT, TAGS_WEIGHT, TITLE_WEIGHT, document_for
from verity.search.backends.postgres import record_changes
from verity.search.memory import (
    TOKENIZER,
    MemoryIndex,
    fts_terms,
    is_plain_term,
    weighted_counts,
)
from verity.search.models import IndexChange
from verity.search.services import SearchFilters

pytestmark = pytest.mark.django_db

WORDS = [
    *("discount", "discounts", "discounted", "renewal", "renewals", "quota", "pipeline"),
    *("refund", "refunds", "price", "pricing", "contract", "security", "review", "onboarding"),
    *("café", "naïve", "foo_bar", "q3", "2025"),  # folded or split by FTS5
    *("скидка", "скидки", "возврат", "возвратов", "договор", "продление", "квота"),
]


@pytest.fixture
def memory() -> MemoryIndex:
    backend = get_backend()
    if backend.memory is None:
        pytest.skip("VERITY_SEARCH_MEMORY_INDEX is off")
    return backend.memory


@pytest.fixture
def shelf(cast: Any, memory: MemoryIndex) -> list[Card]:
    """Cards of many lengths and word mixes, in two collections, some tagged."""
    cards = []
    for n in range(36):
        words = [WORDS[(n * 7 + i * (n % 5 + 1)) % len(WORDS)] for i in range(3 + n % 11)]
        cards.append(
            knowledge.card_create(
                user=cast.admin,
                collection=cast.sales_collection if n % 3 else cast.support_collection,
                title=" ".join(words[: 1 + n % 3]).capitalize(),
                content=" ".join(words * (1 + n % 4)) + ".",
                tags=[WORDS[n % len(WORDS)]] if n % 4 == 0 else [],
            )
        )
    return cards


def answers(user: Any, query: str, *, use_memory: bool) -> SearchPage:
    """The backend's page for `query` as `user` sees it, from memory or from FTS5."""
    backend = get_backend()
    memory = backend.memory
    parsed = parse_query(query)
    candidates, scope = search._candidates(user, SearchFilters(), parsed)
    if not use_memory:
        backend.memory = None
    try:
        return backend.search(parsed, candidates, limit=50, scope=scope)
    finally:
        backend.memory = memory


def assert_same_page(from_memory: SearchPage, from_fts: SearchPage) -> None:
    assert from_memory.total == from_fts.total
    if connection.vendor != "sqlite":  # BM25 here, ts_rank_cd in the database
        if from_fts.total <= len(from_fts.hits):
            assert {h.card_id for h in from_memory.hits} == {h.card_id for h in from_fts.hits}
        return
    assert [h.score for h in from_memory.hits] == pytest.approx(
        [h.score for h in from_fts.hits], rel=1e-9
    )

    # Ties break by card id on both sides; scores equal to the last few digits may differ
    # in the last bit between C and numpy, so compare the order at nine digits.
    def order(page: SearchPage) -> list[tuple[float, int]]:
        return sorted((-round(h.score, 9), h.card_id) for h in page.hits)

    assert order(from_memory) == order(from_fts)


query_words = st.sampled_from(WORDS)
query_parts = st.one_of(
    query_words,
    query_words.map(lambda w: w[: max(1, len(w) // 2)]),  # typed half-way
    query_words.map(lambda w: "-" + w),
    query_words.map(lambda w: w.upper()),
    st.sampled_from(["the", "how", "can", "и", "#" + WORDS[0], "zzzz"]),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(query_parts, min_size=1, max_size=4))
def test_any_query_ranks_as_fts5_does(cast: Any, shelf: list[Card], parts: list[str]) -> None:
    query = " ".join(parts)
    for user in (cast.admin, cast.sales_reader, cast.outsider):
        assert_same_page(
            answers(user, query, use_memory=True), answers(user, query, use_memory=False)
        )


def test_the_memory_index_answers_plain_queries_and_leaves_phrases_to_fts5(
    cast: Any, shelf: list[Card], memory: MemoryIndex
) -> None:
    page = memory.ranked(parse_query("discount ren"), None, match_all=True, limit=5, offset=0)
    assert page is not None and page.total > 0
    phrase = parse_query('"discount approval"')
    assert memory.ranked(phrase, None, match_all=True, limit=5, offset=0) is None
    assert answers(cast.admin, '"discount approval"', use_memory=True).total > 0  # by FTS5


def test_it_stands_aside_inside_a_transaction_it_could_see_rolled_back(
    shelf: list[Card], memory: MemoryIndex
) -> None:
    guarded = MemoryIndex(get_backend())  # type: ignore[arg-type]
    # (Every test runs inside a transaction.)
    assert guarded.ranked(parse_query("quota"), None, match_all=True, limit=5, offset=0) is None


def found(user: Any, query: str) -> list[int]:
    page = answers(user, query, use_memory=True)
    assert_same_page(page, answers(user, query, use_memory=False))
    return [h.card_id for h in page.hits]


def test_every_change_is_searchable_at_once(
    cast: Any, shelf: list[Card], memory: MemoryIndex
) -> None:
    assert found(cast.admin, "quota")  # the arrays are built
    card = knowledge.card_create(
        user=cast.admin, collection=cast.sales_collection, title="Escalation matrix",
        content="Who to call at night.",
    )  # fmt: skip
    assert found(cast.sales_reader, "escalation") == [card.pk]
    card = knowledge.card_update(
        user=cast.admin, card=card, expected_version=None, title="Paging rota"
    )
    assert found(cast.sales_reader, "escalation") == []
    assert found(cast.sales_reader, "rota") == [card.pk]
    card = knowledge.card_update(
        user=cast.admin, card=card, expected_version=None, collection=cast.support_collection
    )
    assert found(cast.sales_reader, "rota") == []  # the permission mask follows the card
    assert found(cast.admin, "rota") == [card.pk]
    knowledge.card_archive(user=cast.admin, card=card)
    assert found(cast.admin, "rota") == []


def test_many_changes_rebuild_the_arrays(
    cast: Any, shelf: list[Card], memory: MemoryIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert found(cast.admin, "renewal")
    monkeypatch.setattr(MemoryIndex, "OVERLAY_LIMIT", 3)
    for card in shelf[:10]:
        knowledge.card_update(
            user=cast.admin, card=card, expected_version=None, title=card.title + " renewal"
        )
        assert_same_page(
            answers(cast.admin, "renewal", use_memory=True),
            answers(cast.admin, "renewal", use_memory=False),
        )
        assert len(memory._contents.overlay) <= 3  # past the limit the arrays were rebuilt
    search.rebuild_index()
    assert_same_page(
        answers(cast.sales_reader, "ren", use_memory=True),
        answers(cast.sales_reader, "ren", use_memory=False),
    )


@settings(max_examples=500, deadline=None)
@given(
    text=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
    | st.text("aZz09_ éİЁёЯяйЇ-.", max_size=40)
)
def test_terms_are_those_fts5_makes(text: str) -> None:
    analysed = analyze(text)
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(a, tokenize = '{TOKENIZER}')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    db.execute("INSERT INTO t VALUES (?)", [analysed])
    expected = [term for (term,) in db.execute("SELECT term FROM v ORDER BY offset")]
    assert fts_terms(analysed) == expected
    for term in expected:  # a query with this term can be answered from memory
        assert not is_plain_term(term) or fts_terms(term) == [term]


def test_an_emptied_change_log_is_never_taken_for_one_already_seen(
    cast: Any, shelf: list[Card], memory: MemoryIndex
) -> None:
    assert found(cast.admin, "quota")
    seen = memory._position
    # A flush or a restored backup empties the log; on SQLite the next changes start from
    # a random serial with the "every card" row, so the copy in memory is rebuilt, not
    # trusted (on PostgreSQL they carry the writing transaction's id, as ever).
    IndexChange.objects.all().delete()
    Card.objects.filter(pk__in=[c.pk for c in shelf]).update(archived_at=timezone.now())
    for card in shelf:
        get_backend().delete(card.pk)
    assert get_backend().changes_since(seen) != (seen, [])  # type: ignore[attr-defined]
    assert found(cast.admin, "quota") == []


def test_a_server_process_fills_it_before_the_first_search(
    shelf: list[Card], memory: MemoryIndex
) -> None:
    assert not memory._ready
    search.load_memory_index()  # what `verity serve` runs as each worker starts
    assert memory._ready and memory._contents.size == len(shelf) + 2  # and the cast's two cards


def test_waiting_for_a_build_that_keeps_failing_ends_with_a_clear_error(
    memory: MemoryIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = []

    def never_ready() -> bool:
        attempts.append(1)
        return False  # as while a build in a thread keeps failing

    monkeypatch.setattr(memory, "refresh", never_ready)
    with pytest.raises(TimeoutError, match="not ready after"):
        search.load_memory_index(wait=True, timeout=0.5)
    assert len(attempts) >= 2  # it did wait and retry before giving up


def plain_card(cast: Any, title: str, content: str, tags: list[str] | None = None) -> Card:
    return knowledge.card_create(
        user=cast.admin, collection=cast.sales_collection, title=title, content=content,
        tags=tags or [],
    )  # fmt: skip


def test_postgres_reads_each_cards_weighted_terms_back_from_its_tsvector(
    cast: Any, memory: MemoryIndex
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the tsvector is PostgreSQL's")
    cards = [
        plain_card(cast, "Discount approval", "Discounts over 20% need the CFO. " * 3, ["price"]),
        plain_card(cast, "Скидка для партнёров", "Скидки партнёрам: до 15% в Q3 2025.", ["скидка"]),
        plain_card(cast, "It's a 'quoted' title", "Don't forget the 'quotes'."),
    ]
    documents = {doc.card_id: doc for doc in get_backend().documents([c.pk for c in cards])}  # type: ignore[attr-defined]
    for card in cards:
        doc = document_for(card)
        counts, length = weighted_counts(
            [(doc.body.split(), BODY_WEIGHT), (doc.title.split(), TITLE_WEIGHT),
             (doc.tags.split(), TAGS_WEIGHT)]
        )  # fmt: skip
        assert documents[card.pk].counts == counts
        assert documents[card.pk].length == length
        assert documents[card.pk].collection_id == card.collection_id


@pytest.mark.django_db(transaction=True)
def test_postgres_never_misses_a_change_committed_after_a_later_one(cast: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: its changes commit in order")
    memory = MemoryIndex(get_backend())  # type: ignore[arg-type]
    first = plain_card(cast, "Renewal checklist", "Start ninety days out.")
    late = plain_card(cast, "Quota relief", "Ask your manager.")

    def hits(query: str) -> list[int]:
        page = memory.ranked(parse_query(query), None, match_all=True, limit=5, offset=0)
        assert page is not None
        return [h.card_id for h in page.hits]

    assert hits("renewal") == [first.pk]
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        # Another process starts writing first (its transaction takes the older id) ...
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute(
                "UPDATE search_document SET document = to_tsvector('simple', 'zebra') "
                "WHERE card_id = %s",
                [late.pk],
            )
            record_changes(cursor, [late.pk])
        # ... this one commits a change meanwhile, and the index takes it in ...
        knowledge.card_update(user=cast.admin, card=first, expected_version=None, title="Zebra")
        assert hits("zebra") == [first.pk]
        # ... and then the older transaction commits.
        other.commit()
    finally:
        other.close()
    assert sorted(hits("zebra")) == sorted([first.pk, late.pk])


def test_its_vocabulary_counts_the_cards_holding_each_term(
    cast: Any, shelf: list[Card], memory: MemoryIndex
) -> None:
    assert memory.vocabulary() is None  # not filled yet: typo correction asks the database
    assert found(cast.admin, "quota")
    plain_card(cast, "Escalation matrix", "Escalation: who to call at night.")
    assert found(cast.admin, "escalation")  # now in the overlay
    held: Counter[str] = Counter()
    for doc in get_backend().documents():  # type: ignore[attr-defined]
        held.update(doc.counts.keys())
    assert memory.vocabulary() == dict(held)
