"""Cards, collections, folders, versions, tags and the trust score over the JSON API.

Views parse, look the object up through verity.accounts.access (404 when unreadable, 403 when
the role is missing), call a service or selector and return. An id in a request body that the
user cannot see is reported exactly like one that does not exist."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet, prefetch_related_objects
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.responses import Status

from verity.accounts import access
from verity.accounts.models import Group, User
from verity.accounts.schemas import AuthedRequest, Error, Id, Ok, PageParams, Text, paginate
from verity.knowledge import selectors, services
from verity.knowledge.models import (
    AccessRole,
    Card,
    CardVersion,
    Collection,
    CollectionAccess,
    Folder,
    Tag,
)
from verity.knowledge.schemas import (
    BulkIn,
    BulkOut,
    CardCreate,
    CardFilters,
    CardOut,
    CardPage,
    CardPatch,
    CollectionCreate,
    CollectionOut,
    CollectionPage,
    CollectionPatch,
    CollectionTrust,
    DismissIn,
    DuplicateFilters,
    DuplicatePage,
    FavoriteOut,
    FlagIn,
    FlagOut,
    FolderCardsOrder,
    FolderCreate,
    FolderOut,
    FolderPage,
    FolderPatch,
    GrantIn,
    GrantOut,
    GrantRemove,
    MergeIn,
    RestoreIn,
    TagPage,
    TrustReport,
    VerifierRef,
    VersionDetail,
    VersionPage,
)
from verity.search import duplicates

router = Router()

ERRORS: dict[int | str, Any] = {400: Error, 401: Error, 403: Error, 404: Error, 422: Error}
CARD_ERRORS: dict[int | str, Any] = {**ERRORS, 409: Error}
CARD_PREFETCH = ("tags", "folder_links")


# ---------------------------------------------------------------- lookups for request bodies


def _collection_input(user: Any, collection_id: int, role: str = AccessRole.AUTHOR) -> Collection:
    """A collection named in a body: unknown or unreadable is a field error, not a 404."""
    collection = access.collections_for(user).filter(pk=collection_id).first()
    if collection is None:
        raise ValidationError(
            {"collection": _("No collection with id %(id)s.") % {"id": collection_id}}
        )
    access.require(access.has_role(user, collection, role))
    return collection


def _verifier_input(
    ref: VerifierRef | None, field: str = "verifier"
) -> tuple[User | None, Group | None]:
    if ref is None:
        return None, None
    if ref.type == "user":
        user = User.objects.filter(pk=ref.id).first()
        if user is None:
            raise ValidationError({field: _("No person with id %(id)s.") % {"id": ref.id}})
        return user, None
    group = Group.objects.filter(pk=ref.id).first()
    if group is None:
        raise ValidationError({field: _("No group with id %(id)s.") % {"id": ref.id}})
    return None, group


def _group_input(group_id: int) -> Group:
    group = Group.objects.filter(pk=group_id).first()
    if group is None:
        raise ValidationError({"group": _("No group with id %(id)s.") % {"id": group_id}})
    return group


def _card_input(user: Any, card_id: int, field: str) -> Card:
    """A card named in a body: unknown or unreadable is a field error, not a 404."""
    card = access.cards_for(user, include_archived=True).filter(pk=card_id).first()
    if card is None:
        raise ValidationError({field: _("No card with id %(id)s.") % {"id": card_id}})
    return card


def _fresh(card: Card) -> Card:
    """The card as stored after a write, with what its JSON needs prefetched."""
    return Card.objects.prefetch_related(*CARD_PREFETCH).get(pk=card.pk)


def _card(request: AuthedRequest, card_id: int, role: str = AccessRole.READ) -> Card:
    return access.get_card_for(request.auth, card_id, role=role)


# ---------------------------------------------------------------- cards


def _filtered_cards(user: Any, filters: CardFilters) -> QuerySet[Card]:
    cards = access.cards_for(user, include_archived=filters.archived)
    if filters.archived:
        cards = cards.filter(archived_at__isnull=False)
    if filters.collection is not None:
        cards = cards.filter(collection_id=filters.collection)
    if filters.tag:
        cards = cards.filter(tags__name=" ".join(filters.tag.strip().lower().lstrip("#").split()))
    if filters.state:
        cards = cards.filter(verification_state=filters.state)
    if filters.verifier:
        cards = cards.filter(_verifier_filter(user, filters.verifier))
    if filters.folder is not None:
        cards = cards.filter(folder_links__folder_id=filters.folder).order_by(
            "folder_links__position", "pk"
        )
    else:
        cards = cards.order_by("-updated_at", "-pk")
    return cards.prefetch_related(*CARD_PREFETCH)


def _verifier_filter(user: Any, value: str) -> Q:
    value = value.strip().lower()
    if value == "me":
        return selectors.verifier_filter(user)
    kind, _sep, raw_id = value.partition(":")
    if (
        kind in ("user", "group")
        and raw_id.isascii()
        and raw_id.isdigit()
        and 0 < int(raw_id) < 2**63
    ):
        return (
            Q(verifier_user_id=int(raw_id)) if kind == "user" else Q(verifier_group_id=int(raw_id))
        )
    raise ValidationError({"verifier": _("Use “me”, “user:<id>” or “group:<id>”.")})


@router.get("/cards", response={200: CardPage, **ERRORS}, tags=["cards"], summary="List cards")
def card_list(request: AuthedRequest, filters: Query[CardFilters], page: Query[PageParams]) -> Any:
    return paginate(_filtered_cards(request.auth, filters), page)


@router.post("/cards", response={201: CardOut, **ERRORS}, tags=["cards"], summary="Create a card")
def card_create(request: AuthedRequest, payload: CardCreate) -> Any:
    user = request.auth
    collection = _collection_input(user, payload.collection)
    verifier_user, verifier_group = _verifier_input(payload.verifier)
    card = services.card_create(
        user=user,
        collection=collection,
        title=payload.title,
        content=payload.content,
        tags=payload.tags,
        folder_ids=payload.folders,
        verifier_user=verifier_user,
        verifier_group=verifier_group,
        verification_interval_days=payload.verification_interval_days,
        external_id=payload.external_id,
    )
    return Status(201, _fresh(card))


# Registered before /cards/{card_id} so that "bulk" is never read as a card id.
@router.post(
    "/cards/bulk",
    response={200: BulkOut, **ERRORS},
    tags=["cards"],
    summary="Verify, change verifier or change interval of many cards (curators)",
)
def card_bulk(request: AuthedRequest, payload: BulkIn) -> Any:
    user: Any = request.auth
    if payload.action == "verify":
        updated = services.bulk_verify(user=user, card_ids=payload.card_ids)
    elif payload.action == "set_verifier":
        if payload.verifier is None:
            raise ValidationError({"verifier": _("Name the new verifier: {type, id}.")})
        verifier_user, verifier_group = _verifier_input(payload.verifier)
        updated = services.bulk_set_verifier(
            user=user,
            card_ids=payload.card_ids,
            verifier_user=verifier_user,
            verifier_group=verifier_group,
        )
    else:
        if "verification_interval_days" not in payload.model_fields_set:
            raise ValidationError(
                {"verification_interval_days": _("Give the new interval in days (null for never).")}
            )
        updated = services.bulk_set_interval(
            user=user, card_ids=payload.card_ids, days=payload.verification_interval_days
        )
    return {"action": payload.action, "updated": updated}


# Also before /cards/{card_id}.
@router.get(
    "/cards/duplicates",
    response={200: DuplicatePage, **ERRORS},
    tags=["duplicates"],
    summary="Likely duplicate pairs among the cards I curate, most similar first (curators)",
)
def duplicate_list(
    request: AuthedRequest, filters: Query[DuplicateFilters], page: Query[PageParams]
) -> Any:
    user: Any = request.auth
    access.require(access.collections_for(user, AccessRole.CURATE).exists())
    pairs = duplicates.duplicate_pairs(user, min_score=filters.min_score).prefetch_related(
        "card_a__tags", "card_b__tags"
    )
    scan = duplicates.last_scan()
    return {**paginate(pairs, page), "computed_at": scan.finished_at if scan else None}


@router.post(
    "/cards/duplicates/dismiss",
    response={200: Ok, **ERRORS},
    tags=["duplicates"],
    summary="Say two cards are not duplicates; the pair is not suggested again (curators)",
)
def duplicate_dismiss(request: AuthedRequest, payload: DismissIn) -> Any:
    card_a, card_b = (_card_input(request.auth, pk, "cards") for pk in payload.cards)
    duplicates.dismiss_pair(user=request.auth, card_a=card_a, card_b=card_b)
    return {"ok": True}


@router.get(
    "/cards/{card_id}", response={200: CardOut, **ERRORS}, tags=["cards"], summary="One card"
)
def card_detail(request: AuthedRequest, card_id: Id) -> Any:
    card = _card(request, card_id)
    prefetch_related_objects([card], *CARD_PREFETCH)
    return card


@router.patch(
    "/cards/{card_id}",
    response={200: CardOut, **CARD_ERRORS},
    tags=["cards"],
    summary="Change a card (send the version you read; 409 if it has moved on)",
)
def card_update(request: AuthedRequest, card_id: Id, payload: CardPatch) -> Any:
    user: Any = request.auth
    card = _card(request, card_id, AccessRole.AUTHOR)
    sent = payload.model_fields_set
    changes: dict[str, Any] = {}
    for field in ("title", "content", "tags", "verification_interval_days", "external_id"):
        if field in sent:
            changes[field] = getattr(payload, field)
    if "folders" in sent:
        changes["folder_ids"] = payload.folders
    if "collection" in sent and payload.collection is not None:
        changes["collection"] = _collection_input(user, payload.collection)
    if "verifier" in sent:
        if payload.verifier is None:
            raise ValidationError({"verifier": _("Every card needs a verifier.")})
        changes["verifier_user"], changes["verifier_group"] = _verifier_input(payload.verifier)
    card = services.card_update(user=user, card=card, expected_version=payload.version, **changes)
    return _fresh(card)


@router.delete(
    "/cards/{card_id}", response={200: CardOut, **ERRORS}, tags=["cards"], summary="Archive a card"
)
def card_archive(request: AuthedRequest, card_id: Id) -> Any:
    card = _card(request, card_id, AccessRole.AUTHOR)
    return _fresh(services.card_archive(user=request.auth, card=card))


@router.post(
    "/cards/{card_id}/restore",
    response={200: CardOut, **ERRORS},
    tags=["cards"],
    summary="Bring an archived card back",
)
def card_unarchive(request: AuthedRequest, card_id: Id) -> Any:
    card = _card(request, card_id, AccessRole.AUTHOR)
    return _fresh(services.card_unarchive(user=request.auth, card=card))


@router.post(
    "/cards/{card_id}/merge",
    response={200: CardOut, **ERRORS},
    tags=["duplicates"],
    summary="Keep this card and fold `others` into it: they are archived with `merged_into` "
    "set, their favourites move here (curators of every card)",
)
def card_merge(request: AuthedRequest, card_id: Id, payload: MergeIn) -> Any:
    keep = _card(request, card_id)
    others = [_card_input(request.auth, pk, "others") for pk in dict.fromkeys(payload.others)]
    return _fresh(services.merge_cards(user=request.auth, keep=keep, others=others))


@router.post(
    "/cards/{card_id}/verify",
    response={200: CardOut, **ERRORS},
    tags=["verification"],
    summary="Confirm a card is correct (its verifier, or a curator)",
)
def card_verify(request: AuthedRequest, card_id: Id) -> Any:
    card = _card(request, card_id)
    return _fresh(services.card_verify(user=request.auth, card=card))


@router.post(
    "/cards/{card_id}/flag",
    response={201: FlagOut, **ERRORS},
    tags=["verification"],
    summary="Report a card as outdated; its verifier is told",
)
def card_flag(request: AuthedRequest, card_id: Id, payload: FlagIn) -> Any:
    card = access.get_card_for(request.auth, card_id, include_archived=False)
    flag = services.card_flag(user=request.auth, card=card, comment=payload.comment)
    return Status(201, flag)


@router.put(
    "/cards/{card_id}/favorite",
    response={200: FavoriteOut, **ERRORS},
    tags=["cards"],
    summary="Add to my favourites",
)
def card_favorite(request: AuthedRequest, card_id: Id) -> Any:
    card = _card(request, card_id)
    return {"favorite": services.favorite_set(user=request.auth, card=card, on=True)}


@router.delete(
    "/cards/{card_id}/favorite",
    response={200: FavoriteOut, **ERRORS},
    tags=["cards"],
    summary="Remove from my favourites",
)
def card_unfavorite(request: AuthedRequest, card_id: Id) -> Any:
    card = _card(request, card_id)
    return {"favorite": services.favorite_set(user=request.auth, card=card, on=False)}


# ---------------------------------------------------------------- versions


@router.get(
    "/cards/{card_id}/versions",
    response={200: VersionPage, **ERRORS},
    tags=["history"],
    summary="A card's versions, newest first",
)
def version_list(request: AuthedRequest, card_id: Id, page: Query[PageParams]) -> Any:
    card = _card(request, card_id)
    return paginate(CardVersion.objects.filter(card=card).order_by("-number"), page)


@router.get(
    "/cards/{card_id}/versions/{number}",
    response={200: VersionDetail, **ERRORS},
    tags=["history"],
    summary="One version, with its diff against the one before",
)
def version_detail(request: AuthedRequest, card_id: Id, number: Id) -> Any:
    card = _card(request, card_id)
    diff = selectors.version_diff(card, number)
    if diff is None:
        raise Http404
    version: Any = diff.newer
    version.title_changed = diff.title_changed
    version.diff = [{"kind": kind, "text": text} for kind, text in diff.lines]
    return version


@router.post(
    "/cards/{card_id}/versions/{number}/restore",
    response={200: CardOut, **CARD_ERRORS},
    tags=["history"],
    summary="Make an old version current again (as a new version)",
)
def version_restore(
    request: AuthedRequest, card_id: Id, number: Id, payload: RestoreIn | None = None
) -> Any:
    card = _card(request, card_id, AccessRole.AUTHOR)
    if not CardVersion.objects.filter(card=card, number=number).exists():
        raise Http404
    card = services.card_restore_version(
        user=request.auth,
        card=card,
        number=number,
        expected_version=payload.version if payload is not None else None,
    )
    return _fresh(card)


# ---------------------------------------------------------------- me, tags, trust


@router.get(
    "/me/queue",
    response={200: CardPage, **ERRORS},
    tags=["verification"],
    summary="Cards waiting for my verification, oldest first",
)
def my_queue(request: AuthedRequest, page: Query[PageParams]) -> Any:
    cards = selectors.verification_queue(request.auth).prefetch_related(*CARD_PREFETCH)
    return paginate(cards, page)


@router.get(
    "/tags", response={200: TagPage, **ERRORS}, tags=["cards"], summary="Tags of cards I can read"
)
def tag_list(request: AuthedRequest, page: Query[PageParams], q: Text | None = None) -> Any:
    readable = access.cards_for(request.auth).values("pk")
    tags = Tag.objects.filter(cards__in=readable)
    if q:
        tags = tags.filter(name__startswith=q.strip().lower())
    tags = tags.annotate(count=Count("cards")).order_by("-count", "name")
    return paginate(tags.values("name", "count"), page)


@router.get(
    "/trust",
    response={200: TrustReport, **ERRORS},
    tags=["verification"],
    summary="Share of verified cards, overall and per collection I can read",
)
def trust(request: AuthedRequest) -> Any:
    overall = selectors.trust_score(access.cards_for(request.auth))
    collections = [
        CollectionTrust(id=c.pk, name=c.name, verified=s.verified, total=s.total, percent=s.percent)
        for c, s in selectors.trust_by_collection(request.auth)
    ]
    return {
        "overall": {
            "verified": overall.verified,
            "total": overall.total,
            "percent": overall.percent,
        },
        "collections": collections,
    }


# ---------------------------------------------------------------- collections


def _with_roles(user: Any, collections: list[Collection]) -> list[Collection]:
    """Attach the user's role to each collection (from the grants read once per request)."""
    for c in collections:
        setattr(c, "role", access.collection_role(user, c))  # noqa: B010 - read by CollectionOut
    return collections


@router.get(
    "/collections",
    response={200: CollectionPage, **ERRORS},
    tags=["collections"],
    summary="Collections I can read",
)
def collection_list(request: AuthedRequest, page: Query[PageParams]) -> Any:
    result = paginate(access.collections_for(request.auth).order_by("name", "pk"), page)
    result["items"] = _with_roles(request.auth, result["items"])
    return result


@router.post(
    "/collections",
    response={201: CollectionOut, **ERRORS},
    tags=["collections"],
    summary="Create a collection (admins)",
)
def collection_create(request: AuthedRequest, payload: CollectionCreate) -> Any:
    collection = services.collection_create(
        user=request.auth,
        name=payload.name,
        description=payload.description,
    )
    return Status(201, _with_roles(request.auth, [collection])[0])


@router.get(
    "/collections/{collection_id}",
    response={200: CollectionOut, **ERRORS},
    tags=["collections"],
    summary="One collection",
)
def collection_detail(request: AuthedRequest, collection_id: Id) -> Any:
    collection = access.get_collection_for(request.auth, pk=collection_id)
    return _with_roles(request.auth, [collection])[0]


@router.patch(
    "/collections/{collection_id}",
    response={200: CollectionOut, **ERRORS},
    tags=["collections"],
    summary="Rename or describe a collection (curators)",
)
def collection_update(request: AuthedRequest, collection_id: Id, payload: CollectionPatch) -> Any:
    collection = access.get_collection_for(request.auth, AccessRole.CURATE, pk=collection_id)
    collection = services.collection_update(
        user=request.auth,
        collection=collection,
        **payload.model_dump(exclude_unset=True),
    )
    return _with_roles(request.auth, [collection])[0]


@router.get(
    "/collections/{collection_id}/access",
    response={200: list[GrantOut], **ERRORS},
    tags=["collections"],
    summary="Which groups may read, author or curate (curators)",
)
def access_list(request: AuthedRequest, collection_id: Id) -> Any:
    collection = access.get_collection_for(request.auth, AccessRole.CURATE, pk=collection_id)
    return (
        CollectionAccess.objects.filter(collection=collection)
        .select_related("group")
        .order_by("group__name")
    )


@router.put(
    "/collections/{collection_id}/access",
    response={200: list[GrantOut], **ERRORS},
    tags=["collections"],
    summary="Give a group a role (curators)",
)
def access_grant(request: AuthedRequest, collection_id: Id, payload: GrantIn) -> Any:
    collection = access.get_collection_for(request.auth, AccessRole.CURATE, pk=collection_id)
    group = _group_input(payload.group)
    services.collection_grant(
        user=request.auth, collection=collection, group=group, role=payload.role
    )
    return access_list(request, collection_id)


def _revoke(request: AuthedRequest, collection_id: int, group_id: int) -> Any:
    collection = access.get_collection_for(request.auth, AccessRole.CURATE, pk=collection_id)
    group = _group_input(group_id)
    services.collection_grant(user=request.auth, collection=collection, group=group, role=None)
    return access_list(request, collection_id)


@router.delete(
    "/collections/{collection_id}/access",
    response={200: list[GrantOut], **ERRORS},
    tags=["collections"],
    summary="Take a group's access away (curators)",
)
def access_revoke(request: AuthedRequest, collection_id: Id, payload: GrantRemove) -> Any:
    return _revoke(request, collection_id, payload.group)


@router.delete(
    "/collections/{collection_id}/access/{group_id}",
    response={200: list[GrantOut], **ERRORS},
    tags=["collections"],
    summary="Take a group's access away (curators)",
)
def access_revoke_group(request: AuthedRequest, collection_id: Id, group_id: Id) -> Any:
    return _revoke(request, collection_id, group_id)


# ---------------------------------------------------------------- folders


def _folder(collection: Collection, folder_id: int) -> Folder:
    folder = (
        Folder.objects.filter(collection=collection, pk=folder_id)
        .select_related("collection")
        .first()
    )
    if folder is None:
        raise Http404
    return folder


def _parent_input(collection: Collection, parent_id: int | None) -> Folder | None:
    if parent_id is None:
        return None
    parent = Folder.objects.filter(collection=collection, pk=parent_id).first()
    if parent is None:
        raise ValidationError(
            {"parent": _("No folder with id %(id)s in this collection.") % {"id": parent_id}}
        )
    return parent


@router.get(
    "/collections/{collection_id}/folders",
    response={200: FolderPage, **ERRORS},
    tags=["folders"],
    summary="A collection's folders, depth first in their order",
)
def folder_list(request: AuthedRequest, collection_id: Id, page: Query[PageParams]) -> Any:
    collection = access.get_collection_for(request.auth, pk=collection_id)
    tree = selectors.flatten_tree(selectors.folder_tree(collection))
    return paginate([node.folder for node in tree], page)


@router.post(
    "/collections/{collection_id}/folders",
    response={201: FolderOut, **ERRORS},
    tags=["folders"],
    summary="Create a folder (curators)",
)
def folder_create(request: AuthedRequest, collection_id: Id, payload: FolderCreate) -> Any:
    collection = access.get_collection_for(request.auth, AccessRole.CURATE, pk=collection_id)
    folder = services.folder_create(
        user=request.auth,
        collection=collection,
        name=payload.name,
        parent=_parent_input(collection, payload.parent),
    )
    return Status(201, folder)


@router.patch(
    "/collections/{collection_id}/folders/{folder_id}",
    response={200: FolderOut, **ERRORS},
    tags=["folders"],
    summary="Rename, move (parent) or reorder (position) a folder (curators)",
)
def folder_update(
    request: AuthedRequest, collection_id: Id, folder_id: Id, payload: FolderPatch
) -> Any:
    user: Any = request.auth
    collection = access.get_collection_for(user, AccessRole.CURATE, pk=collection_id)
    folder = _folder(collection, folder_id)
    sent = payload.model_fields_set
    changes: dict[str, Any] = {}
    if "name" in sent:
        changes["name"] = payload.name
    if "parent" in sent:
        changes["parent"] = _parent_input(collection, payload.parent)
    if changes:
        folder = services.folder_update(user=user, folder=folder, **changes)
    if payload.position is not None:
        siblings = [
            f.pk
            for f in Folder.objects.filter(collection=collection, parent=folder.parent_id)
            if f.pk != folder.pk
        ]
        siblings.insert(min(payload.position, len(siblings)), folder.pk)
        services.folder_reorder(user=user, collection=collection, folder_ids=siblings)
    return Folder.objects.get(pk=folder.pk)


@router.delete(
    "/collections/{collection_id}/folders/{folder_id}",
    response={200: Ok, **ERRORS},
    tags=["folders"],
    summary="Delete a folder and its sub-folders; the cards stay in the collection (curators)",
)
def folder_delete(request: AuthedRequest, collection_id: Id, folder_id: Id) -> Any:
    collection = access.get_collection_for(request.auth, AccessRole.CURATE, pk=collection_id)
    services.folder_delete(user=request.auth, folder=_folder(collection, folder_id))
    return {"ok": True}


@router.put(
    "/collections/{collection_id}/folders/{folder_id}/cards",
    response={200: Ok, **ERRORS},
    tags=["folders"],
    summary="Set the order of the cards in a folder (curators)",
)
def folder_cards_order(
    request: AuthedRequest, collection_id: Id, folder_id: Id, payload: FolderCardsOrder
) -> Any:
    collection = access.get_collection_for(request.auth, AccessRole.CURATE, pk=collection_id)
    services.folder_cards_reorder(
        user=request.auth,
        folder=_folder(collection, folder_id),
        card_ids=payload.card_ids,
    )
    return {"ok": True}
