"""The lexical index held in memory (verity.search.memory) against FTS5 itself: the same
cards, in the same order, with the same bm25 scores and totals, for any query; and it
follows every change to the cards at once."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verity.knowledge import services as knowledge
from verity.knowledge.models import Card
from verity.search import services as search
from verity.search.analysis import analyze, parse_query
from verity.search.backends import SearchPage, get_backend
from verity.search.memory import TOKENIZER, MemoryIndex, fts_terms, is_plain_term
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
        pytest.skip("only the SQLite backend keeps its index in memory")
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
    assert page == answers(user, query, use_memory=False) or page.total == 0
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
        assert len(memory._overlay) <= 3  # past the limit the arrays were rebuilt
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
    seen = memory._serial
    # A flush or a restored backup empties the log; the next changes start from a random
    # serial with the "every card" row, so the copy in memory is rebuilt, not trusted.
    IndexChange.objects.all().delete()
    Card.objects.filter(pk__in=[c.pk for c in shelf]).update(archived_at=timezone.now())
    for card in shelf:
        get_backend().delete(card.pk)
    assert get_backend().last_change() != seen
    assert found(cast.admin, "quota") == []


def test_a_server_process_fills_it_before_the_first_search(
    shelf: list[Card], memory: MemoryIndex
) -> None:
    assert not memory._ready
    search.load_memory_index()  # what `verity serve` runs as each worker starts
    assert memory._ready and memory._size == len(shelf) + 2  # and the cast's two cards
