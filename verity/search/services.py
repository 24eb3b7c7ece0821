"""Searching cards as a given user: permissions and filters go into the query itself."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

from verity.accounts import access
from verity.accounts.models import User
from verity.knowledge.models import Card, Folder, Tag
from verity.search import ranking, semantic
from verity.search.analysis import ParsedQuery, make_snippet, parse_query
from verity.search.backends import get_backend


@dataclass
class SearchFilters:
    collection_id: int | None = None
    folder_id: int | None = None  # the folder and its subfolders
    tag: str | None = None
    state: str | None = None
    verifier_id: int | None = None  # verifies the card, in person or through a group
    author_id: int | None = None  # the card's owner

    def as_dict(self) -> dict[str, Any]:
        return {name: value for name, value in asdict(self).items() if value not in (None, "")}


@dataclass
class SearchResult:
    card: Card
    score: float
    snippet: str
    lexical: float = 0.0
    semantic: float | None = None


@dataclass
class SearchResults:
    query: str
    results: list[SearchResult] = field(default_factory=list)
    total: int = 0
    corrected: dict[str, str] = field(default_factory=dict)
    semantic: bool = False


def search_cards(
    *,
    user: Any,
    query: str,
    filters: SearchFilters | None = None,
    limit: int = 20,
    offset: int = 0,
    snippets: bool = True,
    fusion: ranking.Fusion | None = None,
    use_semantic: bool = True,
) -> SearchResults:
    filters = filters or SearchFilters()
    parsed = parse_query(query)
    with access.grants_cache():  # the readable cards and collections read them once
        candidates, scope = _candidates(user, filters, parsed)
    if parsed.positive:
        page = ranking.rank(
            parsed,
            candidates,
            scope,
            limit=limit,
            offset=offset,
            fusion=fusion or ranking.FUSION,
            use_semantic=use_semantic,
        )
    elif parsed.tags or parsed.collections:
        page = _browse(candidates, limit, offset)  # only filters: list what they select
    else:
        page = ranking.RankedPage()
    cards = result_cards([h.card_id for h in page.hits], texts=snippets)
    highlighted = page.ranked or parsed
    results = [
        SearchResult(
            card=cards[h.card_id],
            score=h.score,
            snippet=make_snippet(cards[h.card_id].plain_text or "", highlighted)
            if snippets
            else "",
            lexical=h.lexical,
            semantic=h.semantic,
        )
        for h in page.hits
        if h.card_id in cards
    ]
    return SearchResults(
        query=query,
        results=results,
        total=page.total,
        corrected=page.corrected,
        semantic=page.semantic,
    )


RESULT_RELATIONS = ("collection", "verifier_user", "verifier_group", "last_verified_by")
# A result's card: its summary in the API (CardSummary) and its line on the page (title,
# collection, trust badge, "verified N days ago by X", verifier).
RESULT_FIELDS = (
    *RESULT_RELATIONS,
    "title",
    "external_id",
    "verification_interval_days",
    "verification_state",
    "verification_reason",
    "last_verified_at",
    "next_verification_at",
    "version",
    "updated_at",
    "archived_at",
    "collection__name",
    "collection__slug",
    "verifier_user__name",
    "verifier_user__email",
    "verifier_group__name",
    "last_verified_by__name",
    "last_verified_by__email",
)


# Joins a card's tag names in one column. Tag names are whitespace-normalised
# (knowledge.services.clean_tags), and Python counts U+001F as whitespace, so it never occurs
# in a name.
TAG_SEPARATOR = "\x1f"


def result_cards(card_ids: list[int], *, texts: bool = False) -> dict[int, Card]:
    """The cards of a result page, with what a result shows: collection, verifier and who
    verified last, `tag_names` and, with `texts`, `plain_text` (the indexed text that
    snippets are cut from). One query: on PostgreSQL each further query was another
    millisecond of round trip per search."""
    card_id = f'"{Card._meta.db_table}"."id"'
    joined = "string_agg" if connection.vendor == "postgresql" else "group_concat"
    columns = {
        "joined_tag_names": RawSQL(
            f"SELECT {joined}(t.name, %s) FROM {Card.tags.through._meta.db_table} ct "
            f"JOIN {Tag._meta.db_table} t ON t.id = ct.tag_id WHERE ct.card_id = {card_id}",
            (TAG_SEPARATOR,),
        ),
        "plain_text": RawSQL(get_backend().plain_text_sql(card_id) if texts else "NULL", ()),
    }
    cards: dict[int, Card] = (
        Card.objects.filter(pk__in=card_ids)
        .select_related(*RESULT_RELATIONS)
        .only(*RESULT_FIELDS)  # not the body, nor what a result never shows
        .annotate(**columns)
        .in_bulk()
    )
    for card in cards.values():
        joined_names = getattr(card, "joined_tag_names", None)
        card.tag_names = sorted(joined_names.split(TAG_SEPARATOR)) if joined_names else []
    return cards


def _candidates(
    user: Any, filters: SearchFilters, parsed: ParsedQuery
) -> tuple[QuerySet[Card], ranking.Scope]:
    """The cards the search may return, as one query: the user's readable cards narrowed by
    every filter. The scope tells the vector side the same thing in its own terms."""
    candidates = access.cards_for(user)
    collections = access.readable_collection_ids(user)
    narrowed = False
    if filters.collection_id:
        candidates = candidates.filter(collection_id=filters.collection_id)
        collections = [
            c for c in (collections or [filters.collection_id]) if c == filters.collection_id
        ]
    if filters.folder_id:
        candidates = candidates.filter(folders__in=folder_and_descendants(filters.folder_id))
        narrowed = True
    if filters.tag:
        candidates = candidates.filter(tags__name=filters.tag.lower())
        narrowed = True
    if filters.state:
        candidates = candidates.filter(verification_state=filters.state)
        narrowed = True
    if filters.verifier_id:
        candidates = candidates.filter(
            Q(verifier_user_id=filters.verifier_id)
            | Q(verifier_group__members__id=filters.verifier_id)
        )
        narrowed = True
    if filters.author_id:
        candidates = candidates.filter(owner_id=filters.author_id)
        narrowed = True
    for tag in parsed.tags:  # "#pricing" in the query
        candidates = candidates.filter(tags__name=tag)
        narrowed = True
    for name in parsed.collections:  # "!sales" in the query
        candidates = candidates.filter(
            Q(collection__slug__icontains=name.replace(" ", "-"))
            | Q(collection__name__icontains=name)
        )
        narrowed = True
    return candidates, ranking.Scope(collections=collections, narrowed=narrowed)


@dataclass
class FilterChoices:
    folders: list[tuple[int, str]]  # id, "Collection / Folder / Subfolder"
    verifiers: list[tuple[int, str]]  # people who verify readable cards
    authors: list[tuple[int, str]]  # owners of readable cards


def filter_choices(user: Any) -> FilterChoices:
    """The options of the search filters: only what the user's readable cards use."""
    readable = access.cards_for(user)
    folders = (
        access.folders_for(user)
        .select_related("collection")
        .order_by("collection__name", "position", "name")
    )
    by_id = {f.pk: f for f in folders}

    def path(folder: Folder) -> str:
        names = [folder.name]
        parent = by_id.get(folder.parent_id) if folder.parent_id else None
        while parent is not None:
            names.append(parent.name)
            parent = by_id.get(parent.parent_id) if parent.parent_id else None
        return " / ".join([folder.collection.name, *reversed(names)])

    people = User.objects.filter(is_active=True).order_by("name", "email")
    verifiers = people.filter(
        Q(pk__in=readable.values("verifier_user_id"))
        | Q(member_groups__pk__in=readable.values("verifier_group_id"))
    ).distinct()
    authors = people.filter(pk__in=readable.values("owner_id"))
    return FilterChoices(
        folders=sorted(((f.pk, path(f)) for f in folders), key=lambda item: item[1].lower()),
        verifiers=[(p.pk, p.display_name) for p in verifiers],
        authors=[(p.pk, p.display_name) for p in authors],
    )


def folder_and_descendants(folder_id: int) -> list[int]:
    """The folder and every folder below it (one query for the folder's collection)."""
    collection_id = Folder.objects.filter(pk=folder_id).values_list("collection_id", flat=True)
    children: dict[int | None, list[int]] = {}
    for pk, parent in Folder.objects.filter(collection_id__in=collection_id).values_list(
        "pk", "parent_id"
    ):
        children.setdefault(parent, []).append(pk)
    found, todo = [], [folder_id]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _browse(candidates: QuerySet[Card], limit: int, offset: int) -> ranking.RankedPage:
    ids = list(
        candidates.order_by("title", "pk")
        .values_list("pk", flat=True)
        .distinct()[offset : offset + limit]
    )
    return ranking.RankedPage(
        hits=[ranking.RankedHit(card_id=i, score=0.0) for i in ids],
        total=candidates.distinct().count(),
    )


def index_card(card: Card) -> None:
    """Called in the transaction that saves the card: the words are searchable at once, the
    vector follows from the worker."""
    get_backend().index(card)
    semantic.sync_card(card)


def indexable_cards() -> QuerySet[Card]:
    return Card.objects.filter(archived_at__isnull=True)


def load_memory_index(*, wait: bool = False, timeout: float = 900.0) -> None:
    """Bring this process's in-memory copy of the index up to date (see verity.search.memory);
    a large one is built in a thread, which `wait` waits for, up to `timeout` seconds (a
    build that keeps failing logs why each time and would otherwise be retried forever)."""
    memory = get_backend().memory
    deadline = time.monotonic() + timeout
    while memory is not None and not memory.refresh() and wait:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"The search index in memory was not ready after {timeout:.0f} s; "
                "the log says why its build failed."
            )
        time.sleep(0.2)


def rebuild_index(progress: Callable[[], None] | None = None) -> int:
    """Rebuild the full-text index from the cards, and record which vectors are due
    (vectors whose text did not change are kept: computing them is the slow part)."""

    def each(card: Card) -> None:
        semantic.sync_card(card)
        if progress is not None:
            progress()

    return get_backend().rebuild(indexable_cards(), each)
