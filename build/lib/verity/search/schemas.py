"""JSON shapes for search: the query parameters and the ranked, permission-trimmed results."""

from __future__ import annotations

from ninja import Field, Schema

from verity.accounts.schemas import Id, Text
from verity.knowledge.schemas import CardSummary, State

MAX_SEARCH_LIMIT = 100


class SearchParams(Schema):
    q: Text = Field("", max_length=500, description="Words to find; every word must match")
    collection: Id | None = None
    tag: Text | None = Field(None, max_length=60)
    state: State | None = None
    limit: int = Field(20, ge=1, le=MAX_SEARCH_LIMIT)
    offset: int = Field(0, ge=0, le=10_000)


class SearchHitOut(Schema):
    card: CardSummary
    snippet: str = Field(..., description="HTML-escaped text with matches in <mark>")
    score: float


class SearchOut(Schema):
    query: str
    total: int = Field(..., description="Readable cards matching, over all pages")
    count: int = Field(..., description="Same as total, for clients that read every list alike")
    items: list[SearchHitOut]
