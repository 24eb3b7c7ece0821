"""Language-aware matching and the query language, on whichever backend the suite runs."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verity.knowledge import services
from verity.search.analysis import analyze, make_snippet, parse_query, stem, words
from verity.search.services import search_cards


@pytest.fixture
def cards(cast):
    def make(title: str, content: str, tags: list[str] | None = None):
        return services.card_create(
            user=cast.author,
            collection=cast.sales_collection,
            title=title,
            content=content,
            tags=tags or [],
        )

    return {
        "discount_ru": make("Правила согласования", "Скидка до 10% без согласования."),
        "refund_ru": make("Возврат средств", "Оформляем возврат в течение 14 дней."),
        "price": make("Price book", "The list price of every plan.", ["pricing"]),
        "lock": make("Price lock", "A price lock for multi-year terms.", ["contracts"]),
        "churn": make("Renewal risk", "Churn signals before the renewal."),
    }


def titles(user, query: str) -> set[str]:
    return {r.card.title for r in search_cards(user=user, query=query, limit=50).results}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("скидки", "Правила согласования"),  # plural finds the singular
        ("скидку", "Правила согласования"),
        ("возвратов", "Возврат средств"),
        ("оформить возврат", "Возврат средств"),
        ("pricing", "Price book"),  # "pricing" finds "price"
        ("prices", "Price lock"),
        ("Ёлка возврат", "Возврат средств"),  # any word may match when all cannot
    ],
)
def test_morphology(cast, cards, query, expected):
    assert expected in titles(cast.sales_reader, query)


def test_prefix_of_the_last_word_matches_while_typing(cast, cards):
    assert "Renewal risk" in titles(cast.sales_reader, "chur")
    assert "Renewal risk" in titles(cast.sales_reader, "renewal si")


def test_phrase_exclusion_tag_and_collection_syntax(cast, cards):
    assert titles(cast.sales_reader, '"price lock"') == {"Price lock"}
    without_lock = titles(cast.sales_reader, "price -lock")
    assert "Price book" in without_lock and "Price lock" not in without_lock
    assert titles(cast.sales_reader, "#contracts") == {"Price lock"}
    assert "Price book" in titles(cast.sales_reader, "#pricing")
    assert titles(cast.sales_reader, "price #contracts") == {"Price lock"}
    assert "Price book" in titles(cast.sales_reader, "price !sales")
    assert titles(cast.sales_reader, "price !support") == set()


def test_syntax_does_not_bypass_permissions(cast, cards):
    assert titles(cast.outsider, "#pricing") == set()
    assert titles(cast.support_reader, "price !sales") == set()
    assert titles(cast.support_reader, "refund") == {"Refund escalation"}


def test_snippet_marks_matching_words_and_escapes_the_rest(cast, cards):
    services.card_create(
        user=cast.author,
        collection=cast.sales_collection,
        title="Escaping",
        content="Discounts <b>matter</b> & more discount talk",
    )
    results = search_cards(user=cast.sales_reader, query="discount").results
    result = next(r for r in results if r.card.title == "Escaping")
    assert "<mark>Discounts</mark>" in result.snippet
    assert "<mark>discount</mark>" in result.snippet
    assert "<b>" not in result.snippet


def test_stemming_is_per_script():
    assert stem("Скидки") == stem("скидка")
    assert stem("pricing") == stem("price")
    assert stem("ёлка") == stem("елка")


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=80))
def test_any_text_is_a_valid_query(cast, query):
    """No input is a syntax error, on either backend."""
    parsed = parse_query(query)
    make_snippet("some body text", parsed)
    search_cards(user=cast.sales_reader, query=query)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.lists(
        st.sampled_from(['"', "-", "#", "!", "*", "(", ")", "OR", "AND", "NOT", ":", "'", "&",
                         "|", "<->", "^", "price", "скидка", " ", "NEAR"]),
        max_size=12,
    ).map("".join)
)  # fmt: skip
def test_operator_soup_never_errors(cast, query):
    search_cards(user=cast.sales_reader, query=query)


def test_stop_words_are_dropped_only_when_other_words_remain():
    assert parse_query("the price of a renewal").terms == [stem("price")]
    assert parse_query("the price of a renewal").prefix == "renewal"
    to_be = parse_query("to be or not")
    assert to_be.terms and to_be.prefix == "not"  # nothing but stop words: keep them all


def test_a_discount_question_is_not_about_time_off():
    parsed = parse_query("can I give 25% off on a 2-year deal?")
    assert stem("off") not in parsed.terms
    assert {stem("give"), "25pct", stem("year")} <= set(parsed.terms) and parsed.prefix == "deal"


def test_a_percentage_is_one_word_however_it_is_typeset():
    assert words("Скидка 25 % и 25\u00a0% или 10\u201320%!") == [
        "Скидка",
        "25%",
        "и",
        "25%",
        "или",
        "10",
        "20%",
    ]
    # A card's percentage is indexed under the bare number as well, so "25" finds it.
    assert analyze("Up to 25% off") == "up to 25 25pct off"
    parsed = parse_query("скидка 25 %")
    assert parsed.terms == [stem("скидка"), "25pct"] and parsed.prefix is None  # "%" ends it
    assert parse_query("25").prefix == "25"  # a bare number is still typed on


def test_long_questions_keep_their_words():
    question = " ".join(f"word{i}" for i in range(30))
    parsed = parse_query(question)
    assert len(parsed.terms) == 29 and parsed.prefix == "word29"


@pytest.mark.parametrize(
    ("text", "query", "marked"),
    [
        ("Pricing rules for renewals.", "price", ["Pricing"]),
        ("СКИДКИ согласует отдел продаж.", "скидка", ["СКИДКИ"]),
        ("Ёлка стоит в холле, ёлки на складе.", "елки", ["Ёлка", "ёлки"]),
        ("Renewal terms; the renewed contract.", "renew", ["Renewal", "renewed"]),
        ("Nothing relevant here.", "discount", []),
    ],
)
def test_snippets_mark_every_form_of_the_words(text, query, marked):
    snippet = make_snippet(text, parse_query(query))
    assert re.findall(r"<mark>(\w+)</mark>", snippet) == marked
