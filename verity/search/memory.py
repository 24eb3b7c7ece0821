"""The lexical index held in memory: BM25 as FTS5 computes it, with numpy.

Why: at 100k cards, FTS5's bm25() costs a few microseconds per match plus a pass over each
query term's whole posting list, and PostgreSQL's ts_rank_cd reads every matching card's
tsvector (a common word took 0.6-0.9 s). The same scores computed over arrays take 2-3 ms.

What: every indexed card's terms with their weighted counts (title, tags and body weighted
as in the FTS5 query), as posting lists sorted by term (so a prefix is a contiguous range),
plus each card's length and collection. The score is FTS5's bm25() to the last detail (the
same k1, b, IDF floor, document length and average), so on SQLite a search ranks the same
whichever index answers it (tests/search/test_memory_index.py holds the two side by side);
PostgreSQL, which ranks differently in the database, gets the same BM25 as SQLite.

What it leaves to the database (ranked() returns None): quoted phrases (they need
positions), any filter beyond the readable collections (tags, folders, states: the
database knows those), words outside plain Latin and Cyrillic letters and digits (FTS5
folds some of those unlike Python), and searches inside a transaction (its uncommitted
rows would otherwise stay in memory after a rollback).

Staying current: every change to the full-text index records the card in IndexChange,
inside the same write. Every search asks the backend what changed since it last looked
(one index lookup) and loads only those cards; they live in a small overlay beside the
sorted arrays until enough have changed to rebuild (for a large index in a thread, while
the database answers).
"""

from __future__ import annotations

import bisect
import math
import re
import sqlite3
import threading
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, cast

import numpy as np
from django.db import connection

from verity.search.analysis import ParsedQuery, prefix_stem
from verity.search.backends.base import SearchHit, SearchPage

# The full-text index's tokenizer (verity.search.backends.sqlite).
TOKENIZER = "unicode61 remove_diacritics 2"
# FTS5's bm25() constants (fts5_aux.c): the in-memory scores must be FTS5's.
K1 = 1.2
B = 0.75
IDF_FLOOR = 1e-6

# Analysed text in these letters is split by FTS5's unicode61 tokenizer exactly as by
# str.split(); anything else (accents, which it folds, rarer scripts, whose case folding and
# letter tables differ from Python's) goes through a real FTS5 tokenizer.
_PLAIN_TEXT = re.compile(r"[0-9a-z\u0430-\u044f\u0451 ]*")
_tokenizer = threading.local()


def fts_terms(text: str) -> list[str]:
    """The terms FTS5 makes of analysed text (stems separated by spaces)."""
    if _PLAIN_TEXT.fullmatch(text):
        return text.split()
    db = getattr(_tokenizer, "db", None)
    if db is None:
        db = _tokenizer.db = sqlite3.connect(":memory:")
        db.execute(f"CREATE VIRTUAL TABLE t USING fts5(a, tokenize = '{TOKENIZER}')")
        db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    db.execute("INSERT INTO t (rowid, a) VALUES (1, ?)", [text])
    terms = [term for (term,) in db.execute("SELECT term FROM v ORDER BY offset")]
    db.execute("DELETE FROM t")
    return terms


# Query terms FTS5 reads as they are (see _PLAIN_TEXT); queries with others go to FTS5.
_PLAIN_TERM = re.compile(r"[0-9a-z\u0430-\u044f\u0451]+")


def is_plain_term(term: str | None) -> bool:
    return term is not None and _PLAIN_TERM.fullmatch(term) is not None


@dataclass(frozen=True)
class IndexedDocument:
    card_id: int
    collection_id: int
    counts: dict[str, float]  # term → count, each occurrence weighted by its field
    length: int  # in tokens, as BM25 counts it


def weighted_counts(
    fields: list[tuple[list[str], float]], extra_length: int = 0
) -> tuple[dict[str, float], int]:
    """The terms of a card's fields (terms, weight) with their weighted counts, and its
    length in tokens (plus `extra_length` tokens held outside these fields). The longest
    field should come first: it is counted in C."""
    (first, first_weight), *rest = fields
    # Counter's ints stand for the weights' floats until a weight other than 1 is applied.
    counts = cast(dict[str, float], Counter(first))
    if first_weight != 1:
        counts = {term: n * first_weight for term, n in counts.items()}
    for terms, weight in rest:
        for term in terms:
            counts[term] = counts.get(term, 0) + weight
    return counts, sum(len(terms) for terms, _ in fields) + extra_length


# A change: (card id, the backend's serial for it).
Change = tuple[int, int]
EVERY_CARD = 0  # the card id of a change to every card (the index was emptied)


class DocumentSource(Protocol):
    """What the in-memory index needs from a backend."""

    def documents(self, card_ids: list[int] | None = None) -> Iterator[IndexedDocument]:
        """Indexed cards (all, or those of `card_ids` still indexed)."""
        ...

    def document_count(self) -> int: ...

    def changes_since(self, position: int | None) -> tuple[int, list[Change] | None]:
        """The new position in the change log, and the changes since `position` (None:
        start afresh, from everything). A change may be reported again at later calls;
        one whose serial is below the new position never is."""
        ...


class _Postings:
    """Posting lists of many cards at once, sorted by term (a prefix is one range)."""

    def __init__(self, entries: Iterable[tuple[int, dict[str, float]]] = ()) -> None:
        # Typed arrays while reading: at 100k cards there are some 15 million postings.
        vocabulary: dict[str, int] = {}
        term_ids = array("i")
        slots = array("i")
        freqs = array("f")
        for slot, counts in entries:
            for term in [t for t in counts if t not in vocabulary]:
                vocabulary[term] = len(vocabulary)
            term_ids.extend(map(vocabulary.__getitem__, counts))
            slots.extend([slot] * len(counts))
            freqs.extend(counts.values())
        self.terms = sorted(vocabulary)
        rank = np.empty(len(vocabulary), dtype=np.int64)
        rank[[vocabulary[t] for t in self.terms]] = np.arange(len(self.terms))
        by_term = rank[np.frombuffer(term_ids, dtype=np.int32)] if term_ids else rank[:0]
        del term_ids
        order = np.argsort(by_term, kind="stable")  # slots stay ascending within a term
        self.slots = np.frombuffer(slots, dtype=np.int32)[order]
        self.freqs = np.frombuffer(freqs, dtype=np.float32)[order]
        self.bounds = np.searchsorted(by_term[order], np.arange(len(self.terms) + 1))
        self.position = {t: i for i, t in enumerate(self.terms)}

    def of_term(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        i = self.position.get(term)
        if i is None:
            return _NO_SLOTS, _NO_FREQS
        start, end = self.bounds[i], self.bounds[i + 1]
        return self.slots[start:end], self.freqs[start:end]

    def of_prefix(self, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        """Every posting of every term starting with `prefix` (a card can appear twice)."""
        first = bisect.bisect_left(self.terms, prefix)
        last = bisect.bisect_left(self.terms, prefix + "\U0010ffff", first)
        start, end = self.bounds[first], self.bounds[last]
        return self.slots[start:end], self.freqs[start:end]


_NO_SLOTS = np.zeros(0, dtype=np.int32)
_NO_FREQS = np.zeros(0, dtype=np.float32)


def _with_overlay(
    slots: np.ndarray, freqs: np.ndarray, overlay: list[dict[int, float]]
) -> tuple[np.ndarray, np.ndarray]:
    """Base postings followed by overlay postings (slot → weighted count)."""
    if not overlay:
        return slots, freqs
    return (
        np.concatenate([slots, *(np.fromiter(o.keys(), np.int32, len(o)) for o in overlay)]),
        np.concatenate([freqs, *(np.fromiter(o.values(), np.float32, len(o)) for o in overlay)]),
    )


class _Contents:
    """What the index holds: per slot (one per card ever seen) its card, collection, length
    and whether it is indexed; the postings built in one go (`base`) and the overlay of
    cards changed since. A build fills a new one and swaps it in whole."""

    # Readable-collection masks kept (one per permission set seen; 100 kB each at 100k).
    MASKS_KEPT = 64

    def __init__(self) -> None:
        self.slot_of: dict[int, int] = {}
        self.ids = np.zeros(0, dtype=np.int64)
        self.collections = np.zeros(0, dtype=np.int64)
        self.lengths = np.zeros(0, dtype=np.float64)
        self.alive = np.zeros(0, dtype=bool)
        self.size = 0
        self.base = _Postings()
        self.in_base = np.zeros(0, dtype=bool)  # the slot's postings in `base` are current
        self.overlay: dict[int, dict[str, float]] = {}  # slot → terms, for cards changed since
        self.overlay_postings: dict[str, dict[int, float]] = {}
        self.overlay_terms: list[str] | None = []  # sorted, None when stale
        self.total_length = 0.0
        self.masks: dict[tuple[int, ...] | None, np.ndarray] = {}

    def slot(self, card_id: int) -> int:
        slot = self.slot_of.get(card_id)
        if slot is None:
            if self.size == len(self.ids):
                extra = max(1024, len(self.ids))
                self.ids = np.concatenate([self.ids, np.zeros(extra, dtype=np.int64)])
                self.collections = np.concatenate(
                    [self.collections, np.zeros(extra, dtype=np.int64)]
                )
                self.lengths = np.concatenate([self.lengths, np.zeros(extra)])
                self.alive = np.concatenate([self.alive, np.zeros(extra, dtype=bool)])
                self.in_base = np.concatenate([self.in_base, np.zeros(extra, dtype=bool)])
            slot = self.slot_of[card_id] = self.size
            self.ids[slot] = card_id
            self.size += 1
        return slot

    def place(self, doc: IndexedDocument) -> int:
        """The card's slot, holding its collection and length, counted as indexed."""
        slot = self.slot(doc.card_id)
        self.collections[slot] = doc.collection_id
        self.lengths[slot] = doc.length
        self.alive[slot] = True
        self.total_length += doc.length
        return slot

    def apply(self, docs: Iterable[IndexedDocument], card_ids: set[int]) -> None:
        """Cards that changed: `docs` are those still indexed, the rest of `card_ids` left."""
        self.masks.clear()
        self.overlay_terms = None
        for doc in docs:
            card_ids.discard(doc.card_id)
            self.forget(self.slot(doc.card_id))
            slot = self.place(doc)
            self.overlay[slot] = doc.counts
            for term, freq in doc.counts.items():
                self.overlay_postings.setdefault(term, {})[slot] = freq
        for card_id in card_ids:
            gone = self.slot_of.get(card_id)
            if gone is not None:
                self.forget(gone)

    def forget(self, slot: int) -> None:
        if self.alive[slot]:
            self.alive[slot] = False
            self.total_length -= self.lengths[slot]
        self.in_base[slot] = False
        for term in self.overlay.pop(slot, ()):
            postings = self.overlay_postings[term]
            del postings[slot]
            if not postings:
                del self.overlay_postings[term]

    def vocabulary(self) -> dict[str, int]:
        """Every term with the number of cards holding it now."""
        base = self.base
        held = np.diff(base.bounds)
        current = self.in_base[base.slots]
        if not current.all():  # leave out the postings of cards changed since the build
            term_of = np.repeat(np.arange(len(base.terms), dtype=np.int32), held)
            held = np.bincount(term_of[current], minlength=len(base.terms))
        terms = {t: n for t, n in zip(base.terms, held.tolist(), strict=True) if n}
        for term, postings in self.overlay_postings.items():
            terms[term] = terms.get(term, 0) + len(postings)
        return terms

    def of_term(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        slots, freqs = self.current(*self.base.of_term(term))
        extra = self.overlay_postings.get(term)
        return _with_overlay(slots, freqs, [extra] if extra else [])

    def of_prefix(self, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        slots, freqs = self.current(*self.base.of_prefix(prefix))
        if self.overlay_postings:
            if self.overlay_terms is None:
                self.overlay_terms = sorted(self.overlay_postings)
            terms = self.overlay_terms
            first = bisect.bisect_left(terms, prefix)
            last = bisect.bisect_left(terms, prefix + "\U0010ffff", first)
            extra = [self.overlay_postings[t] for t in terms[first:last]]
            slots, freqs = _with_overlay(slots, freqs, extra)
        # A card holding several terms with the prefix counts all of them, once.
        summed = np.bincount(slots, weights=freqs, minlength=self.size)
        slots = np.flatnonzero(np.bincount(slots, minlength=self.size)).astype(np.int32)
        return slots, summed[slots]

    def current(self, slots: np.ndarray, freqs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Drop base postings of cards changed since the arrays were built."""
        if slots.size and not self.in_base[slots].all():
            keep = self.in_base[slots]
            return slots[keep], freqs[keep]
        return slots, freqs

    def allowed(self, collections: list[int] | None) -> np.ndarray:
        key = None if collections is None else tuple(sorted(set(collections)))
        mask = self.masks.get(key)
        if mask is None:
            mask = self.alive[: self.size].copy()
            if key is not None:
                mask &= np.isin(self.collections[: self.size], np.array(key, dtype=np.int64))
            if len(self.masks) >= self.MASKS_KEPT:
                self.masks.clear()
            self.masks[key] = mask
        return mask

    def ranked(
        self,
        terms: list[str],
        prefixes: list[str],
        excluded: list[str],
        collections: list[int] | None,
        *,
        match_all: bool,
        limit: int,
        offset: int,
    ) -> SearchPage:
        size = self.size
        alive = int(self.alive[:size].sum())
        if not alive:
            return SearchPage()
        # The query's phrases in FTS5's order (words, then the prefix's options), and the
        # operands that must all match: each word, and the prefix in any of its forms.
        phrases = [self.of_term(t) for t in terms] + [self.of_prefix(p) for p in prefixes]
        operands = [[p] for p in phrases[: len(terms)]]
        if prefixes:
            operands.append(phrases[len(terms) :])
        matched = np.zeros(size, dtype=np.int16)
        for operand in operands:
            if len(operand) == 1:
                matched[operand[0][0]] += 1
            else:  # a card holding several forms of the prefix counts once
                holds = np.zeros(size, dtype=bool)
                for slots, _ in operand:
                    holds[slots] = True
                matched += holds
        wanted = (matched == len(operands)) if match_all else (matched > 0)
        wanted &= self.allowed(collections)
        for term in excluded:
            wanted[self.of_term(term)[0]] = False
        found = np.flatnonzero(wanted)
        total = int(found.size)
        if not total:
            return SearchPage()

        average = self.total_length / alive
        scores = np.zeros(size)
        for slots, freqs in phrases:
            holders = slots.size  # each of a phrase's slots is a distinct, current card
            idf = math.log((alive - holders + 0.5) / (holders + 0.5))
            idf = idf if idf > 0 else IDF_FLOOR
            f = freqs.astype(np.float64)
            damping = K1 * (1 - B + B * self.lengths[slots] / average)
            scores[slots] += idf * ((f * (K1 + 1.0)) / (f + damping))

        found_scores = scores[found]
        wanted_count = offset + limit
        if found.size > wanted_count:
            # Keep every card tied with the last one in, so ties break by id as in SQL.
            cut = -np.partition(-found_scores, wanted_count - 1)[wanted_count - 1]
            keep = found_scores >= cut
            found, found_scores = found[keep], found_scores[keep]
        card_ids = self.ids[found]
        order = np.lexsort((card_ids, -found_scores))[offset:wanted_count]
        hits = [SearchHit(int(card_ids[i]), float(found_scores[i])) for i in order]
        return SearchPage(hits=hits, total=total)


class MemoryIndex:
    # Cards changed since the last build are kept in an overlay; past this many (or a tenth
    # of the index) the arrays are rebuilt.
    OVERLAY_LIMIT = 2_000
    # Up to this many cards the arrays are built during the search that needs them (about
    # 1.5 s); above, in a thread, while the database answers (100k take about half a minute).
    BUILD_INLINE_UPTO = 5_000

    def __init__(self, source: DocumentSource, *, in_transactions: bool = False) -> None:
        self.source = source
        # Whether to answer inside a transaction (tests, which roll theirs back afterwards).
        self.in_transactions = in_transactions
        self._lock = threading.RLock()
        self._building = threading.Lock()
        self._ready = False
        self._position: int | None = None  # in the backend's change log
        # Changes already applied that the log may report again (see changes_since).
        self._applied: dict[int, int] = {}
        self._contents = _Contents()

    # ------------------------------------------------------------------ loading

    def _build(self, position: int, applied: list[Change]) -> None:
        """Load every indexed card (the caller holds _building, not _lock: searches go on)."""
        fresh = _Contents()

        def entries() -> Iterator[tuple[int, dict[str, float]]]:
            for doc in self.source.documents():
                yield fresh.place(doc), doc.counts

        fresh.base = _Postings(entries())
        fresh.in_base[: fresh.size] = True
        with self._lock:
            self._contents = fresh
            self._position = position
            self._applied = dict(applied)
            self._ready = True

    def refresh(self) -> bool:
        """Catch up with the database; False while the index is not (yet) usable."""
        position, changes = self.source.changes_since(self._position if self._ready else None)
        with self._lock:
            if self._ready and changes is not None:
                new = [(card_id, s) for card_id, s in changes if self._applied.get(card_id) != s]
                contents = self._contents
                fits = len(contents.overlay) + len(new) <= max(
                    self.OVERLAY_LIMIT, contents.size // 10
                )
                if fits and all(card_id != EVERY_CARD for card_id, _ in new):
                    if new:
                        ids = {card_id for card_id, _ in new}
                        contents.apply(self.source.documents(sorted(ids)), ids)
                        self._applied.update(new)
                    self._position = position
                    # What the log will not report again need not be remembered.
                    self._applied = {c: s for c, s in self._applied.items() if s >= position}
                    return True
        return self._rebuild(position, changes or [])

    def _rebuild(self, position: int, changes: list[Change]) -> bool:
        if self._building.locked():
            return False  # a build is under way: the database answers meanwhile
        if self.source.document_count() <= self.BUILD_INLINE_UPTO:
            with self._building:
                self._build(position, changes)
            return True
        if self._building.acquire(blocking=False):
            with self._lock:
                self._ready = False  # the database answers until the new arrays are in

            def run() -> None:
                try:
                    self._build(position, changes)
                finally:
                    connection.close()  # this thread's own connection
                    self._building.release()

            threading.Thread(target=run, name="verity-memory-index", daemon=True).start()
        return False

    def vocabulary(self) -> dict[str, int] | None:
        """Every term with the number of cards holding it; None until the index is filled.
        (Reading it from the database takes seconds at 100k cards: PostgreSQL's ts_stat six.)"""
        with self._lock:
            return self._contents.vocabulary() if self._ready else None

    # ------------------------------------------------------------------ searching

    def ranked(
        self,
        parsed: ParsedQuery,
        collections: list[int] | None,
        *,
        match_all: bool,
        limit: int,
        offset: int,
    ) -> SearchPage | None:
        """One page of the cards in `collections` (None: all) matching the query, ranked
        by bm25 as FTS5 would; None when this index cannot answer (see the module doc)."""
        stem = prefix_stem(parsed)
        prefixes = [p for p in dict.fromkeys([stem, parsed.prefix]) if p]
        if (
            parsed.phrases
            or (connection.in_atomic_block and not self.in_transactions)
            or not all(is_plain_term(t) for t in [*parsed.terms, *parsed.excluded, *prefixes])
            or not self.refresh()
        ):
            return None
        with self._lock:
            return self._contents.ranked(
                parsed.terms, prefixes, parsed.excluded, collections,
                match_all=match_all, limit=limit, offset=offset,
            )  # fmt: skip
