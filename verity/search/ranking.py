"""Ranking a query among the cards a user may see: lexical, semantic, fused, trust-aware.

1. The lexical backend ranks a pool of the best matches (BM25 over stems).
2. The embedding model scores the same readable cards by meaning; cards above a similarity
   floor join the pool even when they share no word with the query (paraphrases).
3. Both scores are scaled to 0..1 within the pool (lexical by the best score, semantic from
   the floor to the best similarity) and mixed with a weight tuned on data
   (benchmarks/tune_fusion.py, see docs/search.md for the figures).
4. A verified card gets a small bonus, enough to win a tie with a stale card that is
   equally relevant and too small to overtake a clearly better match.

When a query finds almost nothing, misspelt words are replaced by the closest terms in the
index and the search runs again. Without the model (or before any vector exists) steps 2
and 3 fall away and the order is the lexical one.
"""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from verity.knowledge.models import Card, VerificationState
from verity.search import semantic
from verity.search.analysis import ParsedQuery, stem
from verity.search.backends import Scope, SearchHit, get_backend


@dataclass(frozen=True)
class Fusion:
    # Weight of meaning against words (0 = lexical only). Tuned with benchmarks/tune_fusion.py
    # on the FAQ dev set and half of XQuAD-ru; the optimum is a flat plateau (a dozen
    # settings within 0.002 nDCG@10), this is its middle. See docs/benchmarks.md.
    semantic_weight: float = 0.8
    # Where the semantic scale starts: similarity at or below it adds nothing. multilingual-e5
    # compresses similarities: unrelated texts score around 0.75-0.80.
    floor: float = 0.78
    # Similarity a card needs to be found by meaning alone, with none of the query's words.
    # Higher than the floor: a query about something no card covers ("zendesk", gibberish)
    # still reaches 0.81-0.84 with the closest card, and must find nothing, not noise.
    # At 0.85, 1 of the demo's 13 gap and nonsense queries finds a card by meaning; it costs
    # 0.01 nDCG@10 on the FAQ dev set against no bar at all.
    join: float = 0.85
    # Added to a verified card's fused score (which is at most 1).
    trust_bonus: float = 0.02
    # How many of each side's best cards are fused; deeper pages extend it.
    pool: int = 100


FUSION = Fusion()
TRUSTED = {VerificationState.VERIFIED}


@dataclass
class RankedHit:
    card_id: int
    score: float
    lexical: float = 0.0
    semantic: float | None = None


@dataclass
class RankedPage:
    hits: list[RankedHit] = field(default_factory=list)
    total: int = 0
    corrected: dict[str, str] = field(default_factory=dict)  # misspelt stem → index term
    semantic: bool = False  # whether meaning took part
    ranked: ParsedQuery | None = None  # the query as ranked, misspellings corrected


def rank(
    parsed: ParsedQuery,
    candidates: QuerySet[Card],
    scope: Scope,
    *,
    limit: int,
    offset: int,
    fusion: Fusion,
    use_semantic: bool = True,
) -> RankedPage:
    pool = max(fusion.pool, offset + limit)
    wants_meaning = use_semantic and fusion.semantic_weight > 0
    # Meaning reads the text as typed (a correction below changes only the words).
    nearest = _nearest_by_meaning(parsed, candidates, scope, pool) if wants_meaning else None
    lexical_hits, lexical_total = _lexical(parsed, candidates, scope, pool)
    corrected: dict[str, str] = {}
    if lexical_total < TYPO_RETRY_BELOW:
        fixed, corrected = correct_spelling(parsed)
        if corrected:
            more_hits, more_total = _lexical(fixed, candidates, scope, pool)
            if more_total > lexical_total:
                parsed, lexical_hits, lexical_total = fixed, more_hits, more_total
            else:
                corrected = {}

    meaning: dict[int, float] = {}
    query_vector = None
    if nearest is not None:
        query_vector, found = nearest
        meaning = {cid: sim for cid, sim in found if sim >= fusion.join}
        missing = [h.card_id for h in lexical_hits if h.card_id not in meaning]
        meaning.update(semantic.vector_index().scores(query_vector, missing, fresh=True))

    scored = fuse(lexical_hits, meaning, fusion)
    lexical_by_id = {h.card_id: h.score for h in lexical_hits}
    extra = sum(1 for cid in scored if cid not in lexical_by_id)  # found by meaning alone
    trusted = set(
        Card.objects.filter(pk__in=list(scored), verification_state__in=TRUSTED)
        .order_by()
        .values_list("pk", flat=True)
    )
    final = {
        cid: parts[0] + (fusion.trust_bonus if cid in trusted else 0.0)
        for cid, parts in scored.items()
    }
    page_ids = sorted(final, key=lambda cid: (-final[cid], cid))[offset : offset + limit]
    hits = [
        RankedHit(
            card_id=cid,
            score=final[cid],
            lexical=lexical_by_id.get(cid, 0.0),
            semantic=meaning.get(cid),
        )
        for cid in page_ids
    ]
    return RankedPage(
        hits=hits,
        total=lexical_total + extra,
        corrected=corrected,
        semantic=query_vector is not None,
        ranked=parsed,
    )


def _lexical(
    parsed: ParsedQuery, candidates: QuerySet[Card], scope: Scope, pool: int
) -> tuple[list[SearchHit], int]:
    if not parsed.positive:
        return [], 0
    page = get_backend().search(parsed, candidates, limit=pool, scope=scope)
    return page.hits, page.total


def _nearest_by_meaning(
    parsed: ParsedQuery, candidates: QuerySet[Card], scope: Scope, pool: int
) -> tuple[Any, list[tuple[int, float]]] | None:
    """The query's vector and the `pool` readable cards nearest to it; None without the
    model or before any vector exists (search is then lexical)."""
    embedder = semantic.get_embedder()
    if embedder is None or not parsed.text:
        return None
    index = semantic.vector_index()
    index.refresh()
    if len(index) == 0:
        return None
    vector = embedder.query(parsed.text)
    # With explicit word constraints (a phrase, an excluded word) meaning only reorders the
    # word matches; it finds no card of its own.
    if parsed.excluded or parsed.phrases:
        return vector, []
    ids = set(candidates.values_list("pk", flat=True)) if scope.narrowed else None
    return vector, index.top(vector, collections=scope.collections, ids=ids, k=pool, fresh=True)


def fuse(
    lexical_hits: list[SearchHit], meaning: dict[int, float], fusion: Fusion
) -> dict[int, tuple[float, float, float]]:
    """card id → (fused, lexical part, semantic part), each part scaled to 0..1.
    A card joins by words (any lexical hit) or by meaning (similarity at `join` or above);
    the other side then adds what it knows about it."""
    best_lexical = max((h.score for h in lexical_hits), default=0.0)
    members = {h.card_id: h.score for h in lexical_hits}
    for cid, sim in meaning.items():
        if sim >= fusion.join:
            members.setdefault(cid, 0.0)
    best_meaning = max((meaning[c] for c in members if c in meaning), default=fusion.floor)
    spread = best_meaning - fusion.floor
    weight = fusion.semantic_weight if meaning else 0.0
    fused: dict[int, tuple[float, float, float]] = {}
    for cid, lexical_score in members.items():
        lexical_part = lexical_score / best_lexical if best_lexical > 0 else 0.0
        similarity = meaning.get(cid)
        semantic_part = 0.0
        if similarity is not None and spread > 0:
            semantic_part = min(max((similarity - fusion.floor) / spread, 0.0), 1.0)
        fused[cid] = (
            (1 - weight) * lexical_part + weight * semantic_part,
            lexical_part,
            semantic_part,
        )
    return fused


# ---------------------------------------------------------------- typo tolerance

# Fewer matches than this and misspellings are tried (a query that found a handful of cards
# may have found them by its one correct word).
TYPO_RETRY_BELOW = 3
# How long the cached vocabulary is used before it is re-read. Reading it from the database
# scans the whole index (seconds per 100k cards; the index in memory has it at hand), so a
# stale copy keeps serving while a background thread reads the new one; only a process's
# very first correction waits for it.
VOCABULARY_SECONDS = 1800


@dataclass
class _Vocabulary:
    terms: dict[str, int] = field(default_factory=dict)
    # The same terms sorted (a prefix is a range of them) and by length (a word within two
    # edits differs in length by at most two): at 100k cards the index holds ~10^5 terms,
    # too many to scan for every misspelt word.
    ordered: list[str] = field(default_factory=list)
    by_length: dict[int, list[str]] = field(default_factory=dict)
    loaded_at: float = 0.0


_vocabulary = _Vocabulary()
_refreshing = threading.Lock()


def _load_vocabulary() -> _Vocabulary:
    backend = get_backend()
    terms = backend.memory.vocabulary() if backend.memory is not None else None
    if terms is None:
        terms = backend.vocabulary()
    by_length: dict[int, list[str]] = {}
    for term in terms:
        by_length.setdefault(len(term), []).append(term)
    return _Vocabulary(terms, sorted(terms), by_length, time.monotonic())


def _refresh_in_background() -> None:
    def run() -> None:
        global _vocabulary
        try:
            _vocabulary = _load_vocabulary()
        finally:
            connection.close()  # this thread's own connection
            _refreshing.release()

    if _refreshing.acquire(blocking=False):
        threading.Thread(target=run, name="verity-vocabulary", daemon=True).start()


def _lexicon() -> _Vocabulary:
    """The index's terms (cached; see VOCABULARY_SECONDS)."""
    global _vocabulary
    if not _vocabulary.terms:
        _vocabulary = _load_vocabulary()
    elif time.monotonic() - _vocabulary.loaded_at > VOCABULARY_SECONDS:
        _refresh_in_background()
    return _vocabulary


def vocabulary() -> dict[str, int]:
    """Every index term with the number of cards holding it (cached, see _lexicon)."""
    return _lexicon().terms


def forget_vocabulary() -> None:
    global _vocabulary
    _vocabulary = _Vocabulary()


def max_edits(term: str) -> int:
    """Edits allowed for a word of this length: none for short words (too many neighbours),
    one up to six letters, two beyond."""
    if len(term) < 4:
        return 0
    return 1 if len(term) <= 6 else 2


def closest_term(term: str, lexicon: _Vocabulary) -> str | None:
    limit = max_edits(term)
    if limit == 0 or term in lexicon.terms:
        return None
    near = [
        t
        for length in range(len(term) - limit, len(term) + limit + 1)
        for t in lexicon.by_length.get(length, ())
    ]
    matches = process.extract(term, near, scorer=Levenshtein.distance, score_cutoff=limit, limit=20)
    if not matches:
        return None
    # Fewest edits first, then the most common term.
    best = min(matches, key=lambda m: (m[1], -lexicon.terms[m[0]], m[0]))
    return str(best[0])


def correct_spelling(parsed: ParsedQuery) -> tuple[ParsedQuery, dict[str, str]]:
    """The query with each unknown word replaced by the closest index term."""
    lexicon = _lexicon()
    if not lexicon.terms:
        return parsed, {}
    corrected: dict[str, str] = {}
    new_terms = []
    for term in parsed.terms:
        replacement = closest_term(term, lexicon)
        if replacement:
            corrected[term] = replacement
        new_terms.append(replacement or term)
    prefix = parsed.prefix
    if prefix and not _has_prefix(lexicon.ordered, prefix):
        replacement = closest_term(stem(prefix), lexicon)
        if replacement:
            corrected[prefix] = replacement
            new_terms.append(replacement)
            prefix = None
    if not corrected:
        return parsed, {}
    return replace(parsed, terms=new_terms, prefix=prefix), corrected


def _has_prefix(ordered: list[str], prefix: str) -> bool:
    """Whether any term starts with `prefix` (the first term not below it is the one)."""
    i = bisect.bisect_left(ordered, prefix)
    return i < len(ordered) and ordered[i].startswith(prefix)
