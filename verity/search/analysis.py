"""Text analysis shared by indexing and querying: the same words become the same terms on
both sides. Each word is stemmed with the Snowball stemmer of its script (Russian for
Cyrillic, English otherwise), so "скидки" meets "скидка" and "pricing" meets "price"."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice

import Stemmer

# A percentage is one word ("25%": a discount, not "25 days"); Russian typesetting puts a
# space, often a non-breaking one, before the sign ("25 %"), which is joined up first.
WORD_RE = re.compile(r"\d+%|\w+", re.UNICODE)
SPACE_BEFORE_PERCENT = "[ \u00a0\u202f]"
PERCENT_SPACE_RE = re.compile(rf"(\d){SPACE_BEFORE_PERCENT}%")
PERCENT_SUFFIX = "pct"  # "25%" is indexed as "25pct": a term both full-text engines keep whole
CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")

_english = Stemmer.Stemmer("english")
_russian = Stemmer.Stemmer("russian")


def normalise(word: str) -> str:
    return word.lower().replace("ё", "е")


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """The index term for one word (lower-cased, ё folded, stemmed by its script)."""
    word = normalise(word)
    if word.endswith("%"):
        return word[:-1].rstrip() + PERCENT_SUFFIX
    stemmer = _russian if CYRILLIC_RE.search(word) else _english
    return str(stemmer.stemWord(word))


def join_percent_signs(text: str) -> str:
    return PERCENT_SPACE_RE.sub(r"\1%", text)


def words(text: str) -> list[str]:
    return WORD_RE.findall(join_percent_signs(text or ""))


def index_terms(word: str) -> list[str]:
    """The terms a card's word is indexed under: its stem and, for a percentage, the bare
    number too (so "25" still finds "25%", while "25%" does not find "25 days")."""
    term = stem(word)
    return [term.removesuffix(PERCENT_SUFFIX), term] if word.endswith("%") else [term]


def analyze(text: str) -> str:
    """Text as the index stores it: its terms, space-separated, in order."""
    return " ".join(term for w in words(text) for term in index_terms(w))


# ---------------------------------------------------------------- the query language


@dataclass
class ParsedQuery:
    """A user's query: plain words (all must match), "quoted phrases", -excluded words,
    #tags and !collections. The last plain word is also matched as a prefix, so results
    follow the user while they type."""

    terms: list[str] = field(default_factory=list)  # stems
    phrases: list[list[str]] = field(default_factory=list)  # stems, in order
    excluded: list[str] = field(default_factory=list)  # stems
    tags: list[str] = field(default_factory=list)
    collections: list[str] = field(default_factory=list)
    prefix: str | None = None  # the last word as typed (lower-case), for prefix matching
    text: str = ""  # the words and phrases as typed, without syntax: what semantic search reads

    @property
    def positive(self) -> bool:
        return bool(self.terms or self.phrases or self.prefix)

    def highlight_terms(self) -> set[str]:
        found = set(self.terms)
        for phrase in self.phrases:
            found.update(phrase)
        return found


# Lucene's English stop words: dropped from queries that have other words, so natural
# questions rank by what they are about ("the price of a renewal" → price, renewal).
ENGLISH_STOPWORDS = frozenset(
    {"a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is",
     "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there",
     "these", "they", "this", "to", "was", "will", "with"}
)  # fmt: skip
# How people phrase a question to a colleague ("how do I…", "can we…"): nothing about the
# topic, and in the any-word fallback they would match every card written as a Q&A.
QUESTION_WORDS = (
    "i me my we our you your how what when where which who why do does did can could should "
    "would have has had am "
    # "25% off", "sign off": a particle that matched "Time off" in titles and tags before
    # any card about discounts (the demo's "can I give 25% off on a 2-year deal?").
    "off"
)
# Snowball's Russian stop words, without the few that carry meaning in a policy question
# (нельзя, можно, больше, лучше, хорошо, два, три).
RUSSIAN_STOPWORDS = (
    "и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только "
    "ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни "
    "быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где "
    "есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж "
    "тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы "
    "нее сейчас были куда зачем всех никогда при наконец об другой хоть после над тот через "
    "эти нас про всего них какая много разве эту моя впрочем свою этой перед иногда чуть том "
    "такой им более всегда конечно всю между"
)

TOKEN_RE = re.compile(r'(-?)"([^"]*)"?|(\S+)')
# Long natural-language questions keep all their words (SciFact train: +0.03 nDCG@10 over 12).
MAX_TERMS = 32


def parse_query(query: str) -> ParsedQuery:
    """Never raises: anything that is not syntax is treated as words."""
    parsed = ParsedQuery()
    count = 0
    last_word_typed: str | None = None
    typed: list[str] = []
    for match in TOKEN_RE.finditer(join_percent_signs((query or "")[:500])):
        if count >= MAX_TERMS:
            break
        negated, phrase, token = match.group(1), match.group(2), match.group(3)
        if phrase is not None:
            stems = [stem(w) for w in words(phrase)]
            if not stems:
                continue
            last_word_typed = None
            if negated:
                parsed.excluded.extend(stems)
                continue
            typed.append(phrase)
            if len(stems) == 1:
                parsed.terms.extend(stems)
            else:
                parsed.phrases.append(stems)
            count += len(stems)
            continue
        if token.startswith("#") and words(token[1:]):
            parsed.tags.append(" ".join(words(token[1:])).lower())
            continue
        if token.startswith("!") and words(token[1:]):
            parsed.collections.append(" ".join(words(token[1:])).lower())
            continue
        token_words = words(token)
        if not token_words:
            continue
        if token.startswith("-") and len(token) > 1:
            parsed.excluded.extend(stem(w) for w in token_words)
            continue
        parsed.terms.extend(stem(w) for w in token_words)
        typed.append(token)
        count += len(token_words)
        # A typed "%" ends the number: "25%" is not the start of a longer word.
        last_word_typed = None if token_words[-1].endswith("%") else normalise(token_words[-1])
    parsed.text = " ".join(typed)
    if last_word_typed and parsed.terms:
        parsed.terms.pop()  # the last word is matched as a prefix of its stem or of itself
        parsed.prefix = last_word_typed
    content = [t for t in parsed.terms if t not in STOPWORDS]
    prefix_is_content = bool(parsed.prefix) and stem(parsed.prefix) not in STOPWORDS
    if content or parsed.phrases or prefix_is_content:  # else keep them: "to be or not"
        parsed.terms = content
        if not prefix_is_content:
            parsed.prefix = None
    return parsed


# Query stop words as the index sees them (stems), for both languages.
STOPWORDS = ENGLISH_STOPWORDS | {stem(w) for w in f"{QUESTION_WORDS} {RUSSIAN_STOPWORDS}".split()}


def prefix_stem(parsed: ParsedQuery) -> str | None:
    return stem(parsed.prefix) if parsed.prefix else None


# ---------------------------------------------------------------- snippets

CHARS_PER_WORD = 7  # a word and its space, roughly, in English and Russian prose


@lru_cache(maxsize=1024)
def _head_pattern(heads: frozenset[str]) -> re.Pattern[str] | None:
    """Whole words starting with any of `heads` (folded like normalise: case, and yo as ye)."""
    if not heads:
        return None
    options = {h.replace("е", "[её]") if "е" in h else re.escape(h) for h in heads}
    # A number's percent sign belongs to it, as in words().
    return re.compile(
        r"\b(?:" + "|".join(sorted(options)) + rf")\w*(?:{SPACE_BEFORE_PERCENT}?%)?", re.IGNORECASE
    )


def _head(term: str) -> str:
    """The first letters a word indexed under `term` starts with in the text ("25pct" is
    written "25%")."""
    number = term.removesuffix(PERCENT_SUFFIX)
    return (number if number.isdigit() else term)[:3]


def make_snippet(text: str, parsed: ParsedQuery, width: int = 30) -> str:
    """Escaped text around the densest run of matching words (about `width` words, from a
    few words before the first match), matches in <mark>."""
    if not text:
        return ""
    wanted = parsed.highlight_terms()
    prefixes = [p for p in (parsed.prefix, prefix_stem(parsed)) if p]

    def hit(word: str) -> bool:
        low = normalise(word)
        return any(
            term in wanted or any(term.startswith(p) or low.startswith(p) for p in prefixes)
            for term in index_terms(low)
        )

    # Snowball only rewrites endings, so a word can only match if it starts like one of the
    # wanted stems: one regex finds the words starting with those letters, and only they
    # are stemmed. Only the window's own words are split out afterwards (splitting and
    # stemming every word of a long card was most of a search's time).
    candidates = _head_pattern(frozenset(_head(w) for w in [*wanted, *prefixes] if w))
    hits = [m.span() for m in candidates.finditer(text) if hit(m.group())] if candidates else []
    start = 0
    if hits:
        # The stretch of about `width` words (by characters) holding the most matches.
        span = width * CHARS_PER_WORD
        best, right, first = 0, 0, 0
        for left in range(len(hits)):
            while right < len(hits) and hits[right][0] - hits[left][0] < span:
                right += 1
            if right - left > best:
                best, first = right - left, hits[left][0]
        # Start three words before it (the first word seen may be the end of a longer one).
        lookback = max(0, first - 60)
        before = [m.start() for m in WORD_RE.finditer(text, lookback, first)]
        if lookback > 0:
            before = before[1:]
        start = before[-3] if len(before) >= 3 else (before[0] if before else first)
    window = list(islice(WORD_RE.finditer(text, start), width))
    if not window:
        return ""
    begin, end = window[0].start(), window[-1].end()
    # Escaped in runs between the marks (not word by word: escaping was a third of the
    # snippet's time).
    out = ["…"] if WORD_RE.search(text, 0, begin) else []
    cursor = begin
    for left, right in hits:
        if begin <= left and right <= end:
            out.append(html.escape(text[cursor:left]))
            out.append(f"<mark>{html.escape(text[left:right])}</mark>")
            cursor = right
    out.append(html.escape(text[cursor:end]))
    if WORD_RE.search(text, end):
        out.append("…")
    return " ".join("".join(out).split())
