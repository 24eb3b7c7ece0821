"""JSON shapes for search: the query parameters and the ranked, permission-trimmed results."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema

from verity.accounts.schemas import Id, Text
from verity.knowledge.schemas import CardSummary, State

MAX_SEARCH_LIMIT = 100


class SearchParams(Schema):
    q: Text = Field("", max_length=500, description="Words to find; every word must match")
    collection: Id | None = None
    folder: Id | None = Field(None, description="The folder and its subfolders")
    tag: Text | None = Field(None, max_length=60)
    state: State | None = None
    verifier: Id | None = Field(None, description="User id: cards they verify, also via a group")
    author: Id | None = Field(None, description="User id of the card's owner")
    limit: int = Field(20, ge=1, le=MAX_SEARCH_LIMIT)
    offset: int = Field(0, ge=0, le=10_000)


class SearchHitOut(Schema):
    card: CardSummary
    snippet: str = Field(..., description="HTML-escaped text with matches in <mark>")
    score: float
    lexical: float = Field(..., description="BM25 score of the words (0: found by meaning only)")
    semantic: float | None = Field(
        ..., description="Cosine similarity of meaning; null when vectors are not in use"
    )


class SearchOut(Schema):
    search_id: int | None = Field(
        None, description="Send to POST /search/{search_id}/click when a result is opened"
    )
    query: str
    total: int = Field(..., description="Readable cards matching, over all pages")
    count: int = Field(..., description="Same as total, for clients that read every list alike")
    items: list[SearchHitOut]
    corrected: dict[str, str] = Field(
        default_factory=dict, description="Misspelt word → index term searched instead"
    )
    semantic: bool = Field(False, description="Whether meaning took part in the ranking")


class SearchClickIn(Schema):
    card_id: Id
    rank: int | None = Field(None, ge=1, le=10_000, description="1 = the first result")


class QueryStatOut(Schema):
    query: str = Field(..., description="Lower-cased, spacing collapsed; who searched is not shown")
    searches: int
    users: int
    avg_results: float
    clicks: int
    click_rate: float
    last_searched: datetime


class SearchInsightsOut(Schema):
    days: int
    since: datetime
    total_searches: int
    top: list[QueryStatOut]
    no_results: list[QueryStatOut]
    no_clicks: list[QueryStatOut]
