"""Near-duplicate cards: warn the editor before a second copy of an answer is saved, and give
curators a report of likely duplicate pairs across the base.

Two signals, each shown on its own so a curator can judge:

- **Text**: the stems of the title and body (verity.search.analysis, so "discounts" meets
  "discount" and "скидки" meets "скидка") compared as sets of words and of word pairs
  (2-word shingles). Word pairs notice an edited copy even when it reuses every word;
  single words keep short cards comparable. Candidates come from the full-text index (the
  draft's title and most distinctive words, any of them matching), so only a few dozen
  cards are compared, however large the base.
- **Meaning**: the cosine between sentence vectors (verity.search.semantic), which also
  finds a rewording or a translation of the same answer. Only when the model is on and the
  cards have been embedded; otherwise the text alone decides, with no error.

The editor asks `similar_cards` on every pause in typing; the report reads the pairs that
`scan_duplicates` (a worker job, every six hours and on a curator's request) stored, because
comparing every card with every other one is work for the worker, not for a page view: it
finds candidates through an inverted index of word pairs and compares the vectors block by
block, about 30 s for 5,000 cards full of near-copies on a busy two-core machine.
Permissions: the editor sees only cards its user can read; the report only pairs whose
both cards its user curates (the only pairs they could merge).
"""

from __future__ import annotations

import html
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.html import strip_tags

from verity.accounts import access
from verity.core.jobs import enqueue, job, periodic
from verity.knowledge.models import (
    AccessRole,
    Card,
    DuplicateDismissal,
    DuplicatePair,
    DuplicateScan,
)
from verity.lib.markdown import render_markdown
from verity.search import semantic
from verity.search.analysis import ENGLISH_STOPWORDS, ParsedQuery, stem, words
from verity.search.backends import get_backend
from verity.search.backends.base import Allowed
from verity.search.models import CardEmbedding
from verity.search.ranking import vocabulary

log = logging.getLogger(__name__)

SCAN_JOB = "search.find_duplicates"

# ---------------------------------------------------------------- thresholds
#
# Measured on the demo base (152 cards, English and Russian; 11,476 pairs) and on edited
# copies of 15 of its cards (" (updated)" added to the title, a fifth of the body's words
# replaced, a sentence added):
#
#                              text similarity     cosine of the vectors
#   edited copies              0.63-0.72           0.952-0.986
#   all distinct pairs         median 0.04,        median 0.82,
#                              99.9th pct 0.42     99.9th pct 0.93
#   same-template siblings     0.35-0.50           up to 0.946
#   ("Discovery questions for the CFO" / "... for the Controller")
#
# The one distinct pair above 0.5 on text (0.80: two pricing cards that repeat the same
# three paragraphs word for word) is exactly what a curator should look at. Text separates
# copies from siblings well; the cosine barely does (0.946 vs 0.952), so meaning only adds
# to a card's score when it is very high, which catches rewordings and translations.

# Below this a card is not shown in the editor at all: it would be noise.
SHOW_AT = 0.25
# From here on the editor says "probably a duplicate" and the report lists the pair.
LIKELY_AT = 0.5
# e5 vectors of any two texts have a cosine of ~0.7 or more, so the raw cosine would make
# every card look "80% similar". Meaning counts from MEANING_FLOOR (siblings on one
# subject) and is full at MEANING_FULL (the same answer, lightly edited or reworded).
MEANING_FLOOR = 0.93
MEANING_FULL = 0.98
# Containment (the smaller text found inside the larger one) only means something once the
# smaller text has a few words; before that a two-word title would be "inside" every card.
MIN_CONTAINED = 8
# A shared title is strong evidence, but two answers may share a short title ("Pricing").
TITLE_WEIGHT = 0.7
# How many candidates the full-text index and the vectors propose for exact comparison.
CANDIDATES = 40
# The draft's words sent to the full-text index (the title's and the rarest-looking others).
QUERY_TERMS = 24
# Word pairs found in more cards than this are boilerplate ("how to", a template heading)
# and propose no candidates in the scan (they still count in the comparison itself).
SCAN_MAX_SHARED = 50
# Rows of the vector matrix compared at once in the scan: 1024 x 100k floats = 400 MB at
# most, usually far less.
SCAN_BLOCK = 1024
# The report keeps at most this many pairs, best first.
SCAN_MAX_PAIRS = 5000


# ---------------------------------------------------------------- text similarity


@dataclass(frozen=True)
class Fingerprint:
    """What the text comparison looks at: stems of the title, content stems of the whole
    card (stop words dropped), and consecutive stem pairs of the whole card."""

    title: frozenset[str]
    words: frozenset[str]
    pairs: frozenset[str]

    @property
    def empty(self) -> bool:
        return not self.words and not self.title


def _content_stems(text: str) -> list[str]:
    return [stem(w) for w in words(text)]


def plain_text(content_html: str) -> str:
    """The text a reader sees (no Markdown or HTML), as the search index stores it."""
    return " ".join(html.unescape(strip_tags(content_html or "")).split())


def fingerprint(title: str, plain_body: str) -> Fingerprint:
    title_stems = _content_stems(title)
    stems = title_stems + _content_stems(plain_body)
    return Fingerprint(
        title=frozenset(s for s in title_stems if s not in ENGLISH_STOPWORDS),
        words=frozenset(s for s in stems if s not in ENGLISH_STOPWORDS),
        pairs=frozenset(f"{a} {b}" for a, b in pairwise(stems)),
    )


def card_fingerprint(card: Card) -> Fingerprint:
    return fingerprint(card.title, plain_text(card.content_html))


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard, averaged with containment when the smaller set is big enough: a copy with
    a paragraph added is still a copy, though its Jaccard halves."""
    if not a or not b:
        return 0.0
    shared = len(a & b)
    jaccard = shared / len(a | b)
    smaller = min(len(a), len(b))
    if smaller < MIN_CONTAINED:
        return jaccard
    return (jaccard + shared / smaller) / 2


def text_similarity(a: Fingerprint, b: Fingerprint) -> float:
    """0..1: 1 for the same text, near 0 for cards that share a word or two."""
    body = (_overlap(a.words, b.words) + _overlap(a.pairs, b.pairs)) / 2
    title = len(a.title & b.title) / len(a.title | b.title) if a.title and b.title else 0.0
    return round(max(body, TITLE_WEIGHT * title), 4)


def meaning_score(cosine: float | None) -> float:
    """The cosine rescaled so that 0 is "same subject, different answer" and 1 is "the
    same answer" (see MEANING_FLOOR)."""
    if cosine is None:
        return 0.0
    return min(1.0, max(0.0, (cosine - MEANING_FLOOR) / (MEANING_FULL - MEANING_FLOOR)))


def combined_score(text: float, cosine: float | None) -> float:
    """The text similarity, raised towards the meaning when the vectors are closer than the
    text suggests (a rewording or a translation): the average of the two, if higher. Meaning
    never lowers the score, and never decides alone (siblings on one subject sit close)."""
    if cosine is None:
        return round(text, 4)
    return round(max(text, (text + meaning_score(cosine)) / 2), 4)


# ---------------------------------------------------------------- the editor's question


class SimilarCard(NamedTuple):
    card: Card
    text_similarity: float
    meaning_similarity: float | None  # the raw cosine; None without vectors
    score: float

    @property
    def percent(self) -> int:
        return round(self.score * 100)

    @property
    def text_percent(self) -> int:
        return round(self.text_similarity * 100)

    @property
    def meaning_percent(self) -> int | None:
        if self.meaning_similarity is None:
            return None
        return round(meaning_score(self.meaning_similarity) * 100)

    @property
    def likely_duplicate(self) -> bool:
        return self.score >= LIKELY_AT


def _query_terms(fp: Fingerprint, title: str, body: str) -> list[str]:
    """The title's words first, then the body's most distinctive ones: those in the fewest
    cards of the index (words no card has cannot find a candidate). bm25 then ranks the
    cards sharing the rarest words first."""
    title_order = [s for s in _content_stems(title) if s in fp.title]
    counts = Counter(s for s in _content_stems(body) if s not in ENGLISH_STOPWORDS)
    in_cards = vocabulary()  # term → number of cards holding it (cached for minutes)
    if in_cards:
        body_order = sorted(
            (s for s in counts if s in in_cards), key=lambda s: (in_cards[s], -counts[s], s)
        )
    else:  # an empty index: nothing to find anyway
        body_order = sorted(counts, key=lambda s: (-counts[s], s))
    chosen = list(dict.fromkeys(title_order + body_order))
    return [s for s in chosen if len(s) > 1][:QUERY_TERMS]


def _lexical_candidates(terms: list[str], candidates: QuerySet[Card]) -> list[int]:
    allowed = Allowed(candidates)
    if not terms or allowed.nothing:
        return []
    page = get_backend().ranked(
        ParsedQuery(terms=terms),
        allowed,
        match_all=False,
        limit=CANDIDATES,
        offset=0,
        exact=True,  # an old copy matters as much as a new one
    )
    return [hit.card_id for hit in page.hits]


@lru_cache(maxsize=256)
def _draft_vector(text: str) -> np.ndarray | None:
    """The draft's passage vector (cached: the editor asks again after every pause)."""
    embedder = semantic.get_embedder()
    if embedder is None:
        return None
    vector = embedder.passages([text])[0]
    vector.setflags(write=False)
    return vector


def _draft_embedding_text(title: str, plain_body: str) -> str:
    # Shaped like semantic.embedding_text (title, tags line, body) so draft and card
    # vectors are comparable; the draft's tags are not known here, so that line is empty.
    return f"{title}\n\n{plain_body}"[: semantic.EMBED_CHARS]


def similar_cards(
    user: Any,
    *,
    title: str,
    body: str,
    exclude_card_id: int | None = None,
    limit: int = 5,
) -> list[SimilarCard]:
    """The cards most like a draft, best first: only cards `user` can read, archived ones
    excluded, and only those scoring at least SHOW_AT."""
    plain_body = plain_text(render_markdown(body[:200_000]))
    draft = fingerprint(title, plain_body)
    if draft.empty:
        return []
    readable = access.cards_for(user)
    if exclude_card_id is not None:
        readable = readable.exclude(pk=exclude_card_id)

    ids = _lexical_candidates(_query_terms(draft, title, plain_body), readable)
    cosines: dict[int, float] = {}
    vector = None
    if semantic.get_embedder() is not None:
        vector = _draft_vector(_draft_embedding_text(title, plain_body))
    if vector is not None:
        index = semantic.vector_index()
        # The vector index masks by collection; the readable queryset below is the gate.
        collections = (
            None
            if getattr(user, "is_site_admin", False)
            else set(access.collections_for(user).values_list("pk", flat=True))
        )
        for card_id, cosine in index.top(vector, collections=collections, k=CANDIDATES):
            cosines[card_id] = cosine
        missing = set(ids) - set(cosines)
        if missing:
            for card_id, cosine in index.top(
                vector, collections=collections, ids=missing, k=len(missing)
            ):
                cosines[card_id] = cosine
        ids = list(dict.fromkeys(ids + [i for i in cosines if i != exclude_card_id]))

    found: list[SimilarCard] = []
    cards = readable.filter(pk__in=ids).select_related(
        "collection", "verifier_user", "verifier_group", "last_verified_by"
    )
    for card in cards:
        text = text_similarity(draft, card_fingerprint(card))
        card_cosine = cosines.get(card.pk)
        score = combined_score(text, card_cosine)
        if score >= SHOW_AT:
            found.append(SimilarCard(card, text, card_cosine, score))
    found.sort(key=lambda s: (-s.score, s.card.pk))
    return found[:limit]


# ---------------------------------------------------------------- the curators' report


def ordered(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def duplicate_pairs(user: Any, min_score: float = LIKELY_AT) -> QuerySet[DuplicatePair]:
    """Stored pairs whose both cards `user` curates (and are still active), best first,
    without the pairs a curator dismissed."""
    curated = access.cards_for(user, AccessRole.CURATE).values("pk")
    dismissed = DuplicateDismissal.objects.filter(
        card_a_id=OuterRef("card_a_id"), card_b_id=OuterRef("card_b_id")
    )
    return (
        DuplicatePair.objects.filter(card_a__in=curated, card_b__in=curated, score__gte=min_score)
        .exclude(Exists(dismissed))
        .select_related(
            *(
                f"{side}__{relation}"
                for side in ("card_a", "card_b")
                for relation in (
                    "collection",
                    "last_verified_by",
                    "verifier_user",
                    "verifier_group",
                )
            )
        )
        .order_by("-score", "card_a_id", "card_b_id")
    )


def last_scan() -> DuplicateScan | None:
    return DuplicateScan.objects.filter(pk=1).first()


@transaction.atomic
def dismiss_pair(*, user: Any, card_a: Card, card_b: Card) -> None:
    """Remember that two cards are not duplicates (curators of both)."""
    access.require(card_a.pk != card_b.pk)
    access.require(access.has_role(user, card_a.collection, AccessRole.CURATE))
    access.require(access.has_role(user, card_b.collection, AccessRole.CURATE))
    a, b = ordered(card_a.pk, card_b.pk)
    DuplicateDismissal.objects.get_or_create(
        card_a_id=a, card_b_id=b, defaults={"dismissed_by": user}
    )


def forget_cards(card_ids: Iterable[int]) -> None:
    """Drop the stored pairs of cards that were merged away (they are no longer candidates)."""
    ids = list(card_ids)
    DuplicatePair.objects.filter(Q(card_a_id__in=ids) | Q(card_b_id__in=ids)).delete()


def request_scan() -> None:
    """Queue a scan (at most one waits at a time)."""
    enqueue(SCAN_JOB, unique=True)


# ---------------------------------------------------------------- the scan (worker)


def _text_candidates(fingerprints: dict[int, Fingerprint]) -> set[tuple[int, int]]:
    """Pairs of cards sharing enough word pairs to be worth comparing: an inverted index of
    word pairs, ignoring the ones so common they are boilerplate."""
    postings: dict[str, list[int]] = {}
    for card_id, fp in fingerprints.items():
        for pair in fp.pairs:
            postings.setdefault(pair, []).append(card_id)
        for word in fp.title:  # cards with (almost) no body still meet by their titles
            postings.setdefault("title:" + word, []).append(card_id)
    shared: Counter[tuple[int, int]] = Counter()
    for ids in postings.values():
        if len(ids) < 2 or len(ids) > SCAN_MAX_SHARED:
            continue
        ids.sort()
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                shared[(a, b)] += 1
    # Two shared word pairs (or title words) at least: one is coincidence.
    return {pair for pair, count in shared.items() if count >= 2}


def _meaning_candidates(
    vectors: dict[int, np.ndarray],
) -> tuple[set[tuple[int, int]], dict[tuple[int, int], float]]:
    """Pairs whose vectors are close enough to matter, compared block by block."""
    if len(vectors) < 2:
        return set(), {}
    ids = np.fromiter(vectors, dtype=np.int64)
    matrix = np.stack([vectors[int(i)] for i in ids])
    found: dict[tuple[int, int], float] = {}
    for start in range(0, len(ids), SCAN_BLOCK):
        block = matrix[start : start + SCAN_BLOCK] @ matrix.T
        rows, cols = np.nonzero(block >= MEANING_FLOOR)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            if start + r < c:  # each pair once, no card with itself
                found[ordered(int(ids[start + r]), int(ids[c]))] = float(block[r, c])
    return set(found), found


def _load_vectors(card_ids: set[int]) -> dict[int, np.ndarray]:
    if semantic.get_embedder() is None:
        return {}
    vectors: dict[int, np.ndarray] = {}
    rows = CardEmbedding.objects.exclude(vector=None).values_list("card_id", "vector")
    for card_id, raw in rows.iterator(chunk_size=2000):
        if card_id in card_ids and raw is not None:
            vectors[card_id] = np.frombuffer(raw, dtype=np.float32)
    return vectors


def scan_duplicates(now: datetime | None = None) -> int:
    """Compare every active card with its likely twins and store the pairs scoring at least
    LIKELY_AT (replacing the previous scan). Returns how many pairs were stored."""
    now = now or timezone.now()
    fingerprints: dict[int, Fingerprint] = {}
    for card_id, title, content_html in (
        Card.objects.filter(archived_at__isnull=True)
        .values_list("pk", "title", "content_html")
        .iterator(chunk_size=1000)
    ):
        fingerprints[card_id] = fingerprint(title, plain_text(content_html))
    vectors = _load_vectors(set(fingerprints))
    candidates = _text_candidates(fingerprints)
    near, cosines = _meaning_candidates(vectors)
    candidates |= near

    rows: list[DuplicatePair] = []
    for a, b in candidates:
        cosine = cosines.get((a, b))
        if cosine is None and a in vectors and b in vectors:
            cosine = float(vectors[a] @ vectors[b])
        text = text_similarity(fingerprints[a], fingerprints[b])
        score = combined_score(text, cosine)
        if score >= LIKELY_AT:
            rows.append(
                DuplicatePair(
                    card_a_id=a,
                    card_b_id=b,
                    text_similarity=text,
                    meaning_similarity=cosine,
                    score=score,
                    computed_at=now,
                )
            )
    rows.sort(key=lambda r: (-r.score, r.card_a_id, r.card_b_id))
    rows = rows[:SCAN_MAX_PAIRS]
    with transaction.atomic():
        DuplicatePair.objects.all().delete()
        DuplicatePair.objects.bulk_create(rows, batch_size=500)
        DuplicateScan.objects.update_or_create(
            pk=1,
            defaults={
                "finished_at": timezone.now(),
                "cards": len(fingerprints),
                "pairs": len(rows),
                "used_meaning": bool(vectors),
            },
        )
    log.info("duplicate scan: %d cards, %d pairs", len(fingerprints), len(rows))
    return len(rows)


@job(SCAN_JOB)
def find_duplicates() -> int:
    return scan_duplicates()


@periodic("search.duplicates_schedule", every=timedelta(hours=6))
def find_duplicates_periodically() -> int:
    return scan_duplicates()
