"""Reads of the knowledge base, always as a given user (through verity.accounts.access)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from verity.accounts import access
from verity.accounts.models import Group, User
from verity.knowledge.models import Card, CardVersion, Collection, Flag, VerificationState

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
