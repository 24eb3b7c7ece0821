"""Reads of the knowledge base, always as a given user (through verity.accounts.access)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from verity.accounts import access
from verity.accounts.models import Group, User
from verity.knowledge.models import (
    Card,
    CardFolder,
    CardVersion,
    Collection,
    Favorite,
    Flag,
    Folder,
    Tag,
    VerificationState,
)

CARD_LIST_RELATED = ("collection", "verifier_user", "verifier_group", "last_verified_by")


def card_list(user: Any, **filters: Any) -> QuerySet[Card]:
    return access.cards_for(user).filter(**filters).select_related(*CARD_LIST_RELATED)


def verifier_filter(user: User) -> Q:
    return Q(verifier_user=user) | Q(verifier_group__in=Group.objects.filter(members=user))


def verification_queue(user: Any) -> QuerySet[Card]:
    """Cards waiting for this user's verification, oldest due first."""
    if not user.is_authenticated:
        return Card.objects.none()
    return (
        card_list(user)
        .filter(verifier_filter(user))
        .exclude(verification_state=VerificationState.VERIFIED)
        .order_by("needs_verification_since", "pk")
    )


def cards_needing_verification_by_verifier() -> dict[User, list[Card]]:
    """Every active verifier (a person, or each member of a group) → their waiting cards."""
    waiting = (
        Card.objects.filter(archived_at__isnull=True)
        .exclude(verification_state=VerificationState.VERIFIED)
        .select_related("verifier_user", "verifier_group", "collection")
        .order_by("needs_verification_since", "pk")
    )
    by_user: dict[User, list[Card]] = {}
    group_members: dict[int, list[User]] = {}
    for card in waiting:
        if card.verifier_user is not None:
            people = [card.verifier_user]
        elif card.verifier_group_id is not None:
            if card.verifier_group_id not in group_members:
                group_members[card.verifier_group_id] = list(
                    User.objects.filter(member_groups=card.verifier_group_id)
                )
            people = group_members[card.verifier_group_id]
        else:
            people = []
        for person in people:
            if person.is_active:
                by_user.setdefault(person, []).append(card)
    return by_user


@dataclass
class TrustScore:
    verified: int
    total: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.verified / self.total) if self.total else None


def trust_score(cards: QuerySet[Card]) -> TrustScore:
    counts = cards.aggregate(
        total=Count("pk"), verified=Count("pk", filter=Q(verification_state="verified"))
    )
    return TrustScore(verified=counts["verified"], total=counts["total"])


def trust_by_collection(user: Any) -> list[tuple[Collection, TrustScore]]:
    collections = access.collections_for(user).annotate(
        total=Count("cards", filter=Q(cards__archived_at__isnull=True)),
        verified=Count(
            "cards",
            filter=Q(cards__archived_at__isnull=True, cards__verification_state="verified"),
        ),
    )
    return [(c, TrustScore(verified=c.verified, total=c.total)) for c in collections]


def open_flags(card: Card) -> QuerySet[Flag]:
    return card.flags.filter(resolved_at__isnull=True).select_related("user")


@dataclass
class VersionDiff:
    older: CardVersion | None
    newer: CardVersion
    title_changed: bool
    lines: list[tuple[str, str]]  # (kind: "add" | "del" | "same" | "gap", text)


def version_diff(card: Card, number: int, against: int | None = None) -> VersionDiff | None:
    """Line diff of a version's content against the one before it (or `against`)."""
    versions = {v.number: v for v in card.versions.select_related("author")}
    newer = versions.get(number)
    if newer is None:
        return None
    older = versions.get(against if against is not None else number - 1)
    old_lines = older.content.splitlines() if older else []
    lines: list[tuple[str, str]] = []
    for line in difflib.unified_diff(old_lines, newer.content.splitlines(), n=3, lineterm=""):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            lines.append(("gap", "…"))
        elif line.startswith("+"):
            lines.append(("add", line[1:]))
        elif line.startswith("-"):
            lines.append(("del", line[1:]))
        else:
            lines.append(("same", line[1:]))
    return VersionDiff(
        older=older,
        newer=newer,
        title_changed=older is not None and older.title != newer.title,
        lines=lines,
    )


# ---------------------------------------------------------------- reads for the web pages


def recently_updated(user: Any, limit: int = 8) -> list[Card]:
    return list(card_list(user).order_by("-updated_at", "-pk")[:limit])


def favourite_cards(user: Any, limit: int | None = None) -> QuerySet[Card]:
    mine = Favorite.objects.filter(user_id=user.pk).values("card_id")
    cards = card_list(user).filter(pk__in=mine).order_by("title")
    return cards[:limit] if limit else cards


def is_favourite(user: Any, card: Card) -> bool:
    return card.favorited_by.filter(user_id=user.pk).exists()


@dataclass
class FolderNode:
    folder: Any
    children: list[FolderNode]
    depth: int
    first: bool
    last: bool


def folder_tree(collection: Collection) -> list[FolderNode]:
    """The collection's folders as an ordered tree, read in one query."""
    by_parent: dict[int | None, list[Folder]] = {}
    for folder in Folder.objects.filter(collection=collection).order_by("position", "name", "pk"):
        by_parent.setdefault(folder.parent_id, []).append(folder)

    def build(parent_id: int | None, depth: int) -> list[FolderNode]:
        siblings = by_parent.get(parent_id, [])
        return [
            FolderNode(
                folder=f,
                children=build(f.pk, depth + 1),
                depth=depth,
                first=i == 0,
                last=i == len(siblings) - 1,
            )
            for i, f in enumerate(siblings)
        ]

    return build(None, 0)


def flatten_tree(nodes: list[FolderNode]) -> list[FolderNode]:
    flat: list[FolderNode] = []
    for node in nodes:
        flat.append(node)
        flat.extend(flatten_tree(node.children))
    return flat


def folder_path(folder: Any) -> list[Any]:
    """The folder and its ancestors, outermost first."""
    path = [folder]
    while path[0].parent_id is not None:
        path.insert(0, path[0].parent)
    return path


def collection_cards(user: Any, collection: Collection) -> QuerySet[Card]:
    return card_list(user).filter(collection=collection).order_by("title", "pk")


def folder_cards(user: Any, folder: Any) -> QuerySet[Card]:
    """The readable cards of a folder, in the curator's order."""
    position = CardFolder.objects.filter(folder=folder, card=OuterRef("pk")).values("position")[:1]
    return (
        card_list(user)
        .filter(folder_links__folder=folder)
        .annotate(folder_position=Subquery(position))
        .order_by("folder_position", "pk")
    )


def archived_cards(user: Any, collection: Collection) -> QuerySet[Card]:
    return (
        access.cards_for(user, include_archived=True)
        .filter(collection=collection, archived_at__isnull=False)
        .select_related(*CARD_LIST_RELATED)
        .order_by("-archived_at")
    )


def card_versions(card: Card) -> QuerySet[CardVersion]:
    return card.versions.select_related("author").order_by("-number")


def tags_in_use(user: Any, limit: int = 60) -> list[str]:
    readable = access.cards_for(user).values("pk")
    return list(
        Tag.objects.filter(cards__in=readable).values_list("name", flat=True).distinct()[:limit]
    )


def verifier_choices() -> tuple[list[User], list[Group]]:
    """Everyone who may be named verifier: active people and all groups."""
    return (
        list(User.objects.filter(is_active=True).order_by("name", "email")),
        list(Group.objects.order_by("name")),
    )
