"""The only door to protected rows.

Every page, list, search, API response and export reaches cards and collections through
these functions, so the permission rule lives in one place and is enforced inside the
query (never by filtering a page afterwards). A row the user cannot read is a 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from verity.accounts.models import Group, User
from verity.knowledge.models import (
    ROLE_RANK,
    AccessRole,
    Card,
    Collection,
    CollectionAccess,
    Folder,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    AnyUser = User | AnonymousUser
else:
    AnyUser = Any


def _roles_at_least(role: str) -> list[str]:
    return [r for r, rank in ROLE_RANK.items() if rank >= ROLE_RANK[AccessRole(role)]]


def collections_for(user: AnyUser, role: str = AccessRole.READ) -> QuerySet[Collection]:
    """Collections where `user` holds at least `role` (admins hold curate everywhere)."""
    if not user.is_authenticated or not user.is_active:
        return Collection.objects.none()
    if user.is_site_admin:
        return Collection.objects.all()
    grants = CollectionAccess.objects.filter(
        collection=OuterRef("pk"), group__members=user, role__in=_roles_at_least(role)
    )
    return Collection.objects.filter(Exists(grants))


def cards_for(
    user: AnyUser, role: str = AccessRole.READ, include_archived: bool = False
) -> QuerySet[Card]:
    """Cards in collections where `user` holds at least `role`."""
    if not user.is_authenticated or not user.is_active:
        return Card.objects.none()
    cards = Card.objects.all()
    if not user.is_site_admin:
        cards = cards.filter(collection__in=collections_for(user, role).values("pk"))
    if not include_archived:
        cards = cards.filter(archived_at__isnull=True)
    return cards


def folders_for(user: AnyUser, role: str = AccessRole.READ) -> QuerySet[Folder]:
    return Folder.objects.filter(collection__in=collections_for(user, role).values("pk"))


def collection_role(user: AnyUser, collection: Collection) -> str | None:
    """The strongest role `user` holds on `collection`, or None."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_site_admin:
        return AccessRole.CURATE
    roles = CollectionAccess.objects.filter(collection=collection, group__members=user).values_list(
        "role", flat=True
    )
    return max(roles, key=lambda r: ROLE_RANK[AccessRole(r)], default=None)


def has_role(user: AnyUser, collection: Collection, role: str) -> bool:
    held = collection_role(user, collection)
    return held is not None and ROLE_RANK[AccessRole(held)] >= ROLE_RANK[AccessRole(role)]


def get_collection_for(user: AnyUser, role: str = AccessRole.READ, **lookup: Any) -> Collection:
    """The collection; 404 if it cannot be read, 403 if readable but `role` is missing."""
    collection = collections_for(user).filter(**lookup).first()
    if collection is None:
        raise Http404("No such collection")
    if role != AccessRole.READ and not has_role(user, collection, role):
        raise PermissionDenied
    return collection


def get_card_for(
    user: AnyUser, pk: Any, role: str = AccessRole.READ, include_archived: bool = True
) -> Card:
    """The card, or 404 if it cannot be read, or 403 if readable but `role` is missing."""
    try:
        card_pk = int(pk)
    except (TypeError, ValueError):
        raise Http404("No such card") from None
    card = (
        cards_for(user, include_archived=include_archived)
        .select_related(
            "collection", "owner", "verifier_user", "verifier_group", "last_verified_by"
        )
        .filter(pk=card_pk)
        .first()
    )
    if card is None:
        raise Http404("No such card")
    if role != AccessRole.READ and not has_role(user, card.collection, role):
        raise PermissionDenied
    return card


def is_verifier(user: AnyUser, card: Card) -> bool:
    """The verifier is a person or every member of a group."""
    if not user.is_authenticated:
        return False
    if card.verifier_user_id is not None:
        return bool(card.verifier_user_id == user.pk)
    if card.verifier_group_id is not None:
        return Group.objects.filter(pk=card.verifier_group_id, members=user).exists()
    return False


def can_verify(user: AnyUser, card: Card) -> bool:
    """Verifiers verify their cards; curators of the collection may verify on their behalf."""
    return is_verifier(user, card) or has_role(user, card.collection, AccessRole.CURATE)


def require(condition: bool) -> None:
    if not condition:
        raise PermissionDenied


def require_site_admin(user: AnyUser) -> None:
    require(bool(user.is_authenticated and user.is_site_admin))
