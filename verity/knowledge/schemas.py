"""JSON shapes for cards, collections, folders, versions and the trust score."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

from verity.accounts import access
from verity.accounts.schemas import MAX_ID, Id, Text, not_null

Role = Literal["read", "author", "curate"]
State = Literal["verified", "needs_verification", "unverified"]
Interval = int | None


class VerifierRef(Schema):
    """Who answers for a card's truth: a person or a group."""

    type: Literal["user", "group"]
    id: Id


def verifier_ref(user_id: int | None, group_id: int | None) -> dict[str, Any] | None:
    if user_id is not None:
        return {"type": "user", "id": user_id}
    if group_id is not None:
        return {"type": "group", "id": group_id}
    return None


# ---------------------------------------------------------------- cards


class CardSummary(Schema):
    """What a list or a search result shows: no body."""

    id: int
    external_id: str | None
    title: str
    collection: int
    tags: list[str]
    verifier: VerifierRef | None
    verification_interval_days: int | None
    verification_state: str
    verification_reason: str
    last_verified_at: datetime | None
    next_verification_at: datetime | None
    version: int
    updated_at: datetime
    archived: bool

    @staticmethod
    def resolve_collection(obj: Any) -> int:
        return int(obj.collection_id)

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        names = getattr(obj, "tag_names", None)  # search results read them in one query
        if names is not None:
            return list(names)
        return [t.name for t in obj.tags.all()]  # prefetched by the caller

    @staticmethod
    def resolve_verifier(obj: Any) -> dict[str, Any] | None:
        return verifier_ref(obj.verifier_user_id, obj.verifier_group_id)


class CardOut(CardSummary):
    content: str
    content_html: str
    folders: list[int]
    owner: int
    last_verified_by: int | None
    created_at: datetime
    archived_at: datetime | None
    merged_into: int | None = Field(
        None, description="The card this one was merged into (it is archived), if you can read it"
    )

    @staticmethod
    def resolve_folders(obj: Any) -> list[int]:
        return [link.folder_id for link in obj.folder_links.all()]  # prefetched by the caller

    @staticmethod
    def resolve_owner(obj: Any) -> int:
        return int(obj.owner_id)

    @staticmethod
    def resolve_last_verified_by(obj: Any) -> int | None:
        return obj.last_verified_by_id  # type: ignore[no-any-return]

    @staticmethod
    def resolve_merged_into(obj: Any, context: Any) -> int | None:
        target = getattr(obj, "merged_into_id", None)
        request = (context or {}).get("request")
        user = getattr(request, "auth", None)
        if target is None or user is None:
            return None
        # Only a card the reader may see: the id of any other card would reveal that it exists.
        return target if access.cards_for(user).filter(pk=target).exists() else None


class CardPage(Schema):
    items: list[CardOut]
    count: int


class CardCreate(Schema):
    title: Text = Field(..., max_length=300)
    content: Text = Field("", max_length=500_000, description="Markdown")
    collection: Id
    folders: list[Id] = Field(default_factory=list, max_length=200)
    tags: list[Text] = Field(default_factory=list, max_length=100)
    verifier: VerifierRef | None = Field(None, description="Defaults to the author")
    verification_interval_days: Interval = Field(
        90, ge=0, le=36_500, description="7, 30, 90, 180 or 365; null or 0 for never"
    )
    external_id: Text | None = Field(None, max_length=200)


class CardPatch(Schema):
    """Send `version` (the one you read) and only the fields to change."""

    version: int = Field(..., ge=1, le=MAX_ID, description="The version this edit is based on")
    title: Text | None = Field(None, max_length=300)
    content: Text | None = Field(None, max_length=500_000)
    collection: Id | None = None
    folders: list[Id] | None = Field(None, max_length=200)
    tags: list[Text] | None = Field(None, max_length=100)
    verifier: VerifierRef | None = None
    verification_interval_days: Interval = Field(None, ge=0, le=36_500)
    external_id: Text | None = Field(None, max_length=200)

    _present = not_null("title", "content", "collection", "folders", "tags", "verifier")


class CardFilters(Schema):
    collection: Id | None = None
    folder: Id | None = Field(None, description="Cards in this folder, in the folder's order")
    tag: Text | None = Field(None, max_length=60)
    state: State | None = None
    verifier: Text | None = Field(
        None, max_length=40, description="`me`, `user:<id>` or `group:<id>`"
    )
    archived: bool = Field(False, description="true: only archived cards")


class FlagIn(Schema):
    comment: Text = Field(..., max_length=5000)


class FlagOut(Schema):
    id: int
    card: int
    user: int
    comment: str
    created_at: datetime

    @staticmethod
    def resolve_card(obj: Any) -> int:
        return int(obj.card_id)

    @staticmethod
    def resolve_user(obj: Any) -> int:
        return int(obj.user_id)


class FavoriteOut(Schema):
    favorite: bool


class BulkIn(Schema):
    action: Literal["verify", "set_verifier", "set_interval"]
    card_ids: list[Id] = Field(..., min_length=1, max_length=500)
    verifier: VerifierRef | None = Field(None, description="For set_verifier")
    verification_interval_days: Interval = Field(
        None, ge=0, le=36_500, description="For set_interval"
    )


class BulkOut(Schema):
    action: str
    updated: int


# ---------------------------------------------------------------- versions


class VersionOut(Schema):
    number: int
    title: str
    content: str
    tags: list[str]
    folders: list[int]
    collection: int
    verifier: VerifierRef | None
    verification_interval_days: int | None
    changed_fields: list[str]
    note: str
    author: int | None
    created_at: datetime

    @staticmethod
    def resolve_folders(obj: Any) -> list[int]:
        return list(obj.folder_ids)

    @staticmethod
    def resolve_collection(obj: Any) -> int:
        return int(obj.collection_id_at_version)

    @staticmethod
    def resolve_verifier(obj: Any) -> dict[str, Any] | None:
        return verifier_ref(obj.verifier_user_id_at_version, obj.verifier_group_id_at_version)

    @staticmethod
    def resolve_author(obj: Any) -> int | None:
        return obj.author_id  # type: ignore[no-any-return]


class VersionPage(Schema):
    items: list[VersionOut]
    count: int


class DiffLine(Schema):
    kind: Literal["add", "del", "same", "gap"]
    text: str


class VersionDetail(VersionOut):
    title_changed: bool = False
    diff: list[DiffLine] = Field(
        default_factory=list, description="Content against the version before"
    )


class RestoreIn(Schema):
    version: int | None = Field(
        None, ge=1, le=MAX_ID, description="The card's current version, to refuse a stale restore"
    )


# ---------------------------------------------------------------- collections and folders


class CollectionOut(Schema):
    id: int
    name: str
    slug: str
    description: str
    created_at: datetime
    role: Role | None = Field(None, description="Your role in this collection")


class CollectionPage(Schema):
    items: list[CollectionOut]
    count: int


class CollectionCreate(Schema):
    name: Text = Field(..., max_length=120)
    description: Text = Field("", max_length=5000)


class CollectionPatch(Schema):
    name: Text | None = Field(None, max_length=120)
    description: Text | None = Field(None, max_length=5000)

    _present = not_null("name", "description")


class GrantOut(Schema):
    group: int
    group_name: str
    role: Role

    @staticmethod
    def resolve_group(obj: Any) -> int:
        return int(obj.group_id)

    @staticmethod
    def resolve_group_name(obj: Any) -> str:
        return str(obj.group.name)


class GrantIn(Schema):
    group: Id
    role: Role


class GrantRemove(Schema):
    group: Id


class FolderOut(Schema):
    id: int
    collection: int
    parent: int | None
    name: str
    position: int

    @staticmethod
    def resolve_collection(obj: Any) -> int:
        return int(obj.collection_id)

    @staticmethod
    def resolve_parent(obj: Any) -> int | None:
        return obj.parent_id  # type: ignore[no-any-return]


class FolderPage(Schema):
    items: list[FolderOut]
    count: int


class FolderCreate(Schema):
    name: Text = Field(..., max_length=120)
    parent: Id | None = None


class FolderPatch(Schema):
    name: Text | None = Field(None, max_length=120)
    parent: Id | None = None
    position: int | None = Field(None, ge=0, le=100_000, description="New place among its siblings")

    _present = not_null("name", "position")


class FolderCardsOrder(Schema):
    card_ids: list[Id] = Field(..., max_length=10_000)


# ---------------------------------------------------------------- tags and trust


class TagOut(Schema):
    name: str
    count: int


class TagPage(Schema):
    items: list[TagOut]
    count: int


class TrustOut(Schema):
    verified: int
    total: int
    percent: int | None


class CollectionTrust(TrustOut):
    id: int
    name: str


class TrustReport(Schema):
    overall: TrustOut
    collections: list[CollectionTrust]


# ---------------------------------------------------------------- duplicates


class DuplicatePairOut(Schema):
    """Two cards that look like the same answer. `text_similarity` and `score` run from 0 to
    1; `meaning_similarity` is the cosine of the cards' sentence vectors (null without them)."""

    cards: list[CardSummary]
    text_similarity: float
    meaning_similarity: float | None
    score: float

    @staticmethod
    def resolve_cards(obj: Any) -> list[Any]:
        return [obj.card_a, obj.card_b]


class DuplicatePage(Schema):
    items: list[DuplicatePairOut]
    count: int
    computed_at: datetime | None = Field(None, description="When the pairs were last computed")


class DuplicateFilters(Schema):
    min_score: float = Field(0.5, ge=0.5, le=1.0, description="Only pairs scoring at least this")


class MergeIn(Schema):
    others: list[Id] = Field(
        ..., min_length=1, max_length=100, description="Cards to fold into this one"
    )


class DismissIn(Schema):
    cards: list[Id] = Field(..., min_length=2, max_length=2, description="The two card ids")
