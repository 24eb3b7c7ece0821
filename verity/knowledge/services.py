"""Writes to the knowledge base. Each function checks access through verity.accounts.access,
runs in one transaction, records a version where the card changes and keeps the search
index in step inside the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from verity.accounts import access
from verity.accounts.models import Group, User
from verity.core import jobs
from verity.knowledge import signals
from verity.knowledge.models import (
    VERIFICATION_INTERVALS,
    AccessRole,
    Card,
    CardFolder,
    CardVersion,
    Collection,
    CollectionAccess,
    Favorite,
    Flag,
    Folder,
    Tag,
    VerificationReason,
    VerificationState,
)
from verity.lib.markdown import render_markdown
from verity.search import duplicates  # also registers the duplicate scan job
from verity.search.services import index_card


class StaleVersion(Exception):
    """The edit was based on an older version than the one stored: nothing was written."""

    def __init__(self, current: int) -> None:
        super().__init__(
            _("Someone saved this card after you opened it (it is now version %(current)s).")
            % {"current": current}
        )
        self.current = current


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
MAX_TAGS = 30


# ---------------------------------------------------------------- validation helpers


def clean_tags(names: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in names:
        name = " ".join(str(raw).strip().lower().lstrip("#").split())
        if not name:
            continue
        if len(name) > 60:
            raise ValidationError(
                {"tags": _("Tag “%(name)s…” is longer than 60 characters.") % {"name": name[:20]}}
            )
        if name not in cleaned:
            cleaned.append(name)
    if len(cleaned) > MAX_TAGS:
        raise ValidationError(
            {"tags": _("A card can have at most %(max_tags)s tags.") % {"max_tags": MAX_TAGS}}
        )
    return cleaned


def clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": _("A card needs a title.")})
    if len(title) > 300:
        raise ValidationError({"title": _("The title is longer than 300 characters.")})
    return title


def clean_interval(days: int | None) -> int | None:
    if days is None or days == 0:
        return None  # never expires
    if days not in VERIFICATION_INTERVALS:
        allowed = ", ".join(str(d) for d in VERIFICATION_INTERVALS)
        raise ValidationError(
            {
                "verification_interval_days": _("Choose %(allowed)s days, or none for never.")
                % {"allowed": allowed}
            }
        )
    return days


def clean_folders(collection: Collection, folder_ids: Iterable[int]) -> list[int]:
    ids = list(dict.fromkeys(int(f) for f in folder_ids))
    found = set(
        Folder.objects.filter(collection=collection, pk__in=ids).values_list("pk", flat=True)
    )
    missing = [f for f in ids if f not in found]
    if missing:
        raise ValidationError(
            {
                "folders": _("Folder(s) %(missing)s do not exist in collection “%(collection)s”.")
                % {"missing": missing, "collection": collection.name}
            }
        )
    return ids


def clean_verifier(user: User | None, group: Group | None) -> None:
    if user is not None and group is not None:
        raise ValidationError({"verifier": _("A card has one verifier: a person or a group.")})
    if user is not None and not user.is_active:
        raise ValidationError({"verifier": _("The verifier's account is deactivated.")})


def clean_external_id(external_id: str | None, card: Card | None = None) -> str | None:
    external_id = (external_id or "").strip() or None
    if external_id is None:
        return None
    clash = Card.objects.filter(external_id=external_id)
    if card is not None:
        clash = clash.exclude(pk=card.pk)
    if clash.exists():
        raise ValidationError(
            {
                "external_id": _("Another card already has external id “%(external_id)s”.")
                % {"external_id": external_id}
            }
        )
    return external_id


# ---------------------------------------------------------------- cards


def _next_due(card: Card, verified_at: datetime | None) -> datetime | None:
    if verified_at is None or card.verification_interval_days is None:
        return None
    return verified_at + timedelta(days=card.verification_interval_days)


def _set_folders(card: Card, folder_ids: Sequence[int]) -> None:
    CardFolder.objects.filter(card=card).exclude(folder_id__in=folder_ids).delete()
    existing = set(CardFolder.objects.filter(card=card).values_list("folder_id", flat=True))
    for folder_id in folder_ids:
        if folder_id not in existing:
            last = CardFolder.objects.filter(folder_id=folder_id).order_by("-position").first()
            CardFolder.objects.create(
                card=card, folder_id=folder_id, position=(last.position + 1) if last else 0
            )


def _set_tags(card: Card, names: Sequence[str]) -> None:
    tags = []
    for name in names:
        tag, _created = Tag.objects.get_or_create(name=name)
        tags.append(tag)
    card.tags.set(tags)


def _snapshot(card: Card, author: User | None, changed: list[str], note: str = "") -> CardVersion:
    return CardVersion.objects.create(
        card=card,
        number=card.version,
        title=card.title,
        content=card.content,
        tags=sorted(card.tags.values_list("name", flat=True)),
        folder_ids=sorted(card.folder_links.values_list("folder_id", flat=True)),
        collection_id_at_version=card.collection_id,
        verifier_user_id_at_version=card.verifier_user_id,
        verifier_group_id_at_version=card.verifier_group_id,
        verification_interval_days=card.verification_interval_days,
        changed_fields=changed,
        note=note,
        author=author,
        created_at=card.updated_at,
    )


def _mark_needs_verification(card: Card, reason: str, now: datetime) -> None:
    if card.verification_state != VerificationState.NEEDS_VERIFICATION:
        card.needs_verification_since = now
    card.verification_state = VerificationState.NEEDS_VERIFICATION
    card.verification_reason = reason


@transaction.atomic
def card_create(
    *,
    user: User,
    collection: Collection,
    title: str,
    content: str = "",
    tags: Iterable[str] = (),
    folder_ids: Iterable[int] = (),
    verifier_user: User | None = None,
    verifier_group: Group | None = None,
    verification_interval_days: int | None = 90,
    external_id: str | None = None,
    owner: User | None = None,
) -> Card:
    access.require(access.has_role(user, collection, AccessRole.AUTHOR))
    clean_verifier(verifier_user, verifier_group)
    if verifier_user is None and verifier_group is None:
        verifier_user = owner or user  # someone must answer for every card
    tag_names = clean_tags(tags)
    folders = clean_folders(collection, folder_ids)
    now = timezone.now()
    card = Card.objects.create(
        collection=collection,
        title=clean_title(title),
        content=content or "",
        content_html=render_markdown(content),
        external_id=clean_external_id(external_id),
        owner=owner or user,
        verifier_user=verifier_user,
        verifier_group=verifier_group,
        verification_interval_days=clean_interval(verification_interval_days),
        verification_state=VerificationState.UNVERIFIED,
        verification_reason=VerificationReason.NEW,
        needs_verification_since=now,
        updated_by=user,
    )
    _set_tags(card, tag_names)
    _set_folders(card, folders)
    _snapshot(card, user, ["created"])
    index_card(card)
    return card


@transaction.atomic
def card_update(
    *,
    user: User,
    card: Card,
    expected_version: int | None,
    title: str = UNSET,
    content: str = UNSET,
    tags: Iterable[str] = UNSET,
    folder_ids: Iterable[int] = UNSET,
    collection: Collection = UNSET,
    verifier_user: User | None = UNSET,
    verifier_group: Group | None = UNSET,
    verification_interval_days: int | None = UNSET,
    external_id: str | None = UNSET,
    owner: User = UNSET,
    note: str = "",
) -> Card:
    """Apply the given changes. `expected_version` is the version the editor started from;
    if the card has moved on since, StaleVersion is raised and nothing is written."""
    # Lock the row (PostgreSQL) / hold the write lock (SQLite IMMEDIATE) before comparing.
    card = Card.objects.select_for_update().get(pk=card.pk)
    access.require(access.has_role(user, card.collection, AccessRole.AUTHOR))
    if expected_version is not None and expected_version != card.version:
        raise StaleVersion(card.version)

    changed: list[str] = []
    now = timezone.now()
    editor_is_verifier = access.is_verifier(user, card)

    if collection is not UNSET and collection.pk != card.collection_id:
        access.require(access.has_role(user, collection, AccessRole.AUTHOR))
        card.collection = collection
        changed.append("collection")
        if folder_ids is UNSET:
            folder_ids = []  # folders belong to the old collection
    if title is not UNSET and clean_title(title) != card.title:
        card.title = clean_title(title)
        changed.append("title")
    if content is not UNSET and (content or "") != card.content:
        card.content = content or ""
        card.content_html = render_markdown(card.content)
        changed.append("content")
    if tags is not UNSET:
        names = clean_tags(tags)
        if sorted(names) != sorted(card.tags.values_list("name", flat=True)):
            _set_tags(card, names)
            changed.append("tags")
    if folder_ids is not UNSET:
        ids = clean_folders(card.collection, folder_ids)
        if sorted(ids) != sorted(card.folder_links.values_list("folder_id", flat=True)):
            _set_folders(card, ids)
            changed.append("folders")
    if external_id is not UNSET:
        cleaned = clean_external_id(external_id, card)
        if cleaned != card.external_id:
            card.external_id = cleaned
            changed.append("external_id")
    if owner is not UNSET and owner.pk != card.owner_id:
        card.owner = owner
        changed.append("owner")
    if verification_interval_days is not UNSET:
        interval = clean_interval(verification_interval_days)
        if interval != card.verification_interval_days:
            card.verification_interval_days = interval
            card.next_verification_at = _next_due(card, card.last_verified_at)
            changed.append("verification_interval_days")
    if verifier_user is not UNSET or verifier_group is not UNSET:
        new_user = card.verifier_user if verifier_user is UNSET else verifier_user
        new_group = card.verifier_group if verifier_group is UNSET else verifier_group
        if verifier_user is not UNSET and verifier_user is not None and verifier_group is UNSET:
            new_group = None  # naming a person replaces a group verifier, and vice versa
        if verifier_group is not UNSET and verifier_group is not None and verifier_user is UNSET:
            new_user = None
        clean_verifier(new_user, new_group)
        if new_user is None and new_group is None:
            raise ValidationError({"verifier": _("Every card needs a verifier.")})
        if (getattr(new_user, "pk", None), getattr(new_group, "pk", None)) != (
            card.verifier_user_id,
            card.verifier_group_id,
        ):
            card.verifier_user, card.verifier_group = new_user, new_group
            changed.append("verifier")

    if not changed:
        return card

    if "verifier" in changed:
        _mark_needs_verification(card, VerificationReason.NEW_VERIFIER, now)
    elif {"title", "content"} & set(changed) and not editor_is_verifier:
        _mark_needs_verification(card, VerificationReason.EDITED, now)

    card.version += 1
    card.updated_by = user
    card.save()
    _snapshot(card, user, changed, note)
    index_card(card)
    if {"title", "content"} & set(changed):
        signals.card_text_changed.send(sender=Card, card=card, user=user)
    return card


@transaction.atomic
def card_restore_version(
    *, user: User, card: Card, number: int, expected_version: int | None
) -> Card:
    old = CardVersion.objects.filter(card=card, number=number).first()
    if old is None:
        raise ValidationError(
            {"version": _("Version %(number)s does not exist.") % {"number": number}}
        )
    folder_ids: Any = UNSET
    if old.collection_id_at_version == card.collection_id:
        folder_ids = list(
            Folder.objects.filter(pk__in=old.folder_ids, collection=card.collection).values_list(
                "pk", flat=True
            )
        )
    return card_update(
        user=user,
        card=card,
        expected_version=expected_version,
        title=old.title,
        content=old.content,
        tags=old.tags,
        folder_ids=folder_ids,
        note=f"Restored version {number}",
    )


def _verify(card: Card, user: User, now: datetime) -> None:
    card.verification_state = VerificationState.VERIFIED
    card.verification_reason = VerificationReason.NONE
    card.last_verified_at = now
    card.last_verified_by = user
    card.needs_verification_since = None
    card.next_verification_at = _next_due(card, now)
    card.save(
        update_fields=[
            "verification_state",
            "verification_reason",
            "last_verified_at",
            "last_verified_by",
            "needs_verification_since",
            "next_verification_at",
        ]
    )
    Flag.objects.filter(card=card, resolved_at__isnull=True).update(
        resolved_at=now, resolved_by=user
    )


@transaction.atomic
def card_verify(*, user: User, card: Card) -> Card:
    """Confirm the card is correct. Verifiers do this; curators may on their behalf."""
    card = Card.objects.select_for_update().select_related("collection").get(pk=card.pk)
    access.require(access.can_verify(user, card))
    if card.archived_at is not None:
        raise ValidationError({"card": _("An archived card cannot be verified; restore it first.")})
    _verify(card, user, timezone.now())
    return card


@transaction.atomic
def card_flag(*, user: User, card: Card, comment: str) -> Flag:
    """Anyone who can read a card can report it as outdated; the verifier is told."""
    card = access.get_card_for(user, card.pk, include_archived=False)
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": _("Say what is outdated, so the verifier can fix it.")})
    if len(comment) > 2000:
        raise ValidationError({"comment": _("Keep the comment under 2,000 characters.")})
    flag = Flag.objects.create(card=card, user=user, comment=comment)
    _mark_needs_verification(card, VerificationReason.FLAGGED, timezone.now())
    card.save(
        update_fields=["verification_state", "verification_reason", "needs_verification_since"]
    )
    jobs.enqueue("knowledge.notify_flag", flag_id=flag.pk)
    return flag


@transaction.atomic
def card_archive(*, user: User, card: Card) -> Card:
    access.require(access.has_role(user, card.collection, AccessRole.AUTHOR))
    if card.archived_at is None:
        card.archived_at = timezone.now()
        card.save(update_fields=["archived_at"])
        index_card(card)  # removes it from the index
    return card


@transaction.atomic
def card_unarchive(*, user: User, card: Card) -> Card:
    access.require(access.has_role(user, card.collection, AccessRole.AUTHOR))
    if card.archived_at is not None:
        card.archived_at = None
        card.merged_into = None  # a restored card is its own answer again: no redirect
        card.save(update_fields=["archived_at", "merged_into"])
        index_card(card)
    return card


def favorite_set(*, user: User, card: Card, on: bool) -> bool:
    access.get_card_for(user, card.pk)
    if on:
        Favorite.objects.get_or_create(user=user, card=card)
    else:
        Favorite.objects.filter(user=user, card=card).delete()
    return on


@transaction.atomic
def merge_cards(*, user: User, keep: Card, others: Iterable[Card]) -> Card:
    """Keep one card and fold the others into it: they are archived with `merged_into` set
    (their pages redirect to `keep`, so old links and bookmarks keep working), their
    favourites move to `keep` and `keep` records a version saying what was merged.
    Curators only, of every card's collection."""
    other_ids = list(dict.fromkeys(card.pk for card in others))
    if not other_ids:
        raise ValidationError({"others": _("Choose at least one card to merge into this one.")})
    if keep.pk in other_ids:
        raise ValidationError({"others": _("A card cannot be merged into itself.")})
    # Lock every row involved, then check rights on what is stored now.
    locked = {
        card.pk: card
        for card in Card.objects.select_for_update()
        .select_related("collection")
        .filter(pk__in=[keep.pk, *other_ids])
    }
    keep = locked[keep.pk]
    merged = [locked[pk] for pk in other_ids if pk in locked]
    for card in [keep, *merged]:
        access.require(access.has_role(user, card.collection, AccessRole.CURATE))
    if len(merged) != len(other_ids):
        raise ValidationError({"others": _("Some of the cards to merge do not exist.")})
    if keep.archived_at is not None:
        raise ValidationError({"card": _("Restore the card you keep before merging into it.")})
    for card in merged:
        if card.archived_at is not None:
            raise ValidationError(
                {"others": _("“%(title)s” is already archived.") % {"title": card.title}}
            )

    now = timezone.now()
    for card in merged:
        card.archived_at = now
        card.merged_into = keep
        card.save(update_fields=["archived_at", "merged_into"])
        index_card(card)  # removes it from search
    # Cards merged earlier into one of these now point straight at the card kept: one hop.
    Card.objects.filter(merged_into_id__in=other_ids).update(merged_into=keep)

    # Favourites follow the answer; someone who had both keeps one.
    has_keep = set(Favorite.objects.filter(card=keep).values_list("user_id", flat=True))
    for favourite in Favorite.objects.filter(card_id__in=other_ids).order_by("created_at"):
        if favourite.user_id in has_keep:
            favourite.delete()
        else:
            has_keep.add(favourite.user_id)
            Favorite.objects.filter(pk=favourite.pk).update(card=keep)

    keep.version += 1
    keep.updated_by = user
    keep.save(update_fields=["version", "updated_by", "updated_at"])
    numbers = ", ".join(f"#{card.pk}" for card in merged)
    # Stored, like "Restored version N", in the site's language rather than the reader's.
    _snapshot(keep, user, [], note=f"Merged {numbers} into this card"[:200])
    duplicates.forget_cards(other_ids)
    return keep


# ---------------------------------------------------------------- curator bulk actions


def _curatable(user: User, card_ids: Iterable[int]) -> list[Card]:
    ids = list(dict.fromkeys(int(i) for i in card_ids))
    cards = list(
        access.cards_for(user, AccessRole.CURATE).filter(pk__in=ids).select_related("collection")
    )
    if len(cards) != len(ids):
        raise PermissionDenied(_("You can only change cards in collections you curate."))
    return cards


@transaction.atomic
def bulk_verify(*, user: User, card_ids: Iterable[int]) -> int:
    now = timezone.now()
    cards = _curatable(user, card_ids)
    for card in cards:
        _verify(card, user, now)
    return len(cards)


@transaction.atomic
def bulk_set_verifier(
    *, user: User, card_ids: Iterable[int], verifier_user: User | None, verifier_group: Group | None
) -> int:
    cards = _curatable(user, card_ids)
    for card in cards:
        card_update(
            user=user,
            card=card,
            expected_version=None,
            verifier_user=verifier_user,
            verifier_group=verifier_group,
        )
    return len(cards)


@transaction.atomic
def bulk_set_interval(*, user: User, card_ids: Iterable[int], days: int | None) -> int:
    cards = _curatable(user, card_ids)
    for card in cards:
        card_update(user=user, card=card, expected_version=None, verification_interval_days=days)
    return len(cards)


# ---------------------------------------------------------------- scheduled verification


def expire_overdue_cards(now: datetime | None = None) -> int:
    """Verified cards whose interval has passed now need verification (reason: expired)."""
    now = now or timezone.now()
    with transaction.atomic():
        overdue = Card.objects.filter(
            verification_state=VerificationState.VERIFIED,
            next_verification_at__lte=now,
            archived_at__isnull=True,
        )
        return overdue.update(
            verification_state=VerificationState.NEEDS_VERIFICATION,
            verification_reason=VerificationReason.EXPIRED,
            needs_verification_since=now,
        )


# ---------------------------------------------------------------- collections, folders, access


@transaction.atomic
def collection_create(*, user: User, name: str, description: str = "") -> Collection:
    access.require_site_admin(user)
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("A collection needs a name.")})
    if Collection.objects.filter(name__iexact=name).exists():
        raise ValidationError(
            {"name": _("A collection named “%(name)s” already exists.") % {"name": name}}
        )
    base = slugify(name, allow_unicode=False) or "collection"
    slug, n = base, 2
    while Collection.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return Collection.objects.create(name=name, slug=slug, description=description or "")


@transaction.atomic
def collection_update(
    *, user: User, collection: Collection, name: str = UNSET, description: str = UNSET
) -> Collection:
    access.require(access.has_role(user, collection, AccessRole.CURATE))
    if name is not UNSET:
        name = " ".join((name or "").split())
        if not name:
            raise ValidationError({"name": _("A collection needs a name.")})
        if Collection.objects.filter(name__iexact=name).exclude(pk=collection.pk).exists():
            raise ValidationError(
                {"name": _("A collection named “%(name)s” already exists.") % {"name": name}}
            )
        collection.name = name
    if description is not UNSET:
        collection.description = description or ""
    collection.save()
    return collection


@transaction.atomic
def collection_grant(*, user: User, collection: Collection, group: Group, role: str | None) -> None:
    """Give `group` a role on the collection; None removes its access."""
    access.require(access.has_role(user, collection, AccessRole.CURATE))
    access.forget()
    if role is None:
        CollectionAccess.objects.filter(collection=collection, group=group).delete()
        return
    if role not in AccessRole.values:
        raise ValidationError(
            {
                "role": _("Role must be one of %(choices)s.")
                % {"choices": ", ".join(AccessRole.values)}
            }
        )
    CollectionAccess.objects.update_or_create(
        collection=collection, group=group, defaults={"role": role}
    )


@transaction.atomic
def folder_create(
    *, user: User, collection: Collection, name: str, parent: Folder | None = None
) -> Folder:
    access.require(access.has_role(user, collection, AccessRole.CURATE))
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("A folder needs a name.")})
    if parent is not None and parent.collection_id != collection.pk:
        raise ValidationError({"parent": _("The parent folder is in another collection.")})
    siblings = Folder.objects.filter(collection=collection, parent=parent)
    last = siblings.order_by("-position").first()
    return Folder.objects.create(
        collection=collection, parent=parent, name=name, position=(last.position + 1) if last else 0
    )


@transaction.atomic
def folder_update(
    *, user: User, folder: Folder, name: str = UNSET, parent: Folder | None = UNSET
) -> Folder:
    access.require(access.has_role(user, folder.collection, AccessRole.CURATE))
    if name is not UNSET:
        name = " ".join((name or "").split())
        if not name:
            raise ValidationError({"name": _("A folder needs a name.")})
        folder.name = name
    if parent is not UNSET:
        if parent is not None:
            if parent.collection_id != folder.collection_id:
                raise ValidationError({"parent": _("The parent folder is in another collection.")})
            ancestor: Folder | None = parent
            while ancestor is not None:
                if ancestor.pk == folder.pk:
                    raise ValidationError({"parent": _("A folder cannot be moved inside itself.")})
                ancestor = ancestor.parent
        folder.parent = parent
    folder.save()
    return folder


@transaction.atomic
def folder_delete(*, user: User, folder: Folder) -> None:
    """Deleting a folder keeps its cards (they stay in the collection)."""
    access.require(access.has_role(user, folder.collection, AccessRole.CURATE))
    folder.delete()


@transaction.atomic
def folder_reorder(*, user: User, collection: Collection, folder_ids: Sequence[int]) -> None:
    """Set the order of sibling folders to the given sequence."""
    access.require(access.has_role(user, collection, AccessRole.CURATE))
    folders = {f.pk: f for f in Folder.objects.filter(collection=collection, pk__in=folder_ids)}
    if len(folders) != len(set(folder_ids)):
        raise ValidationError({"folders": _("Some folders are not in this collection.")})
    for position, folder_id in enumerate(folder_ids):
        Folder.objects.filter(pk=folder_id).update(position=position)


@transaction.atomic
def folder_move(*, user: User, folder: Folder, direction: int) -> None:
    """Swap a folder with its previous (-1) or next (+1) sibling."""
    siblings = list(Folder.objects.filter(collection=folder.collection, parent=folder.parent_id))
    ids = [f.pk for f in siblings]
    i = ids.index(folder.pk)
    j = i + direction
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
        folder_reorder(user=user, collection=folder.collection, folder_ids=ids)


@transaction.atomic
def folder_cards_reorder(*, user: User, folder: Folder, card_ids: Sequence[int]) -> None:
    access.require(access.has_role(user, folder.collection, AccessRole.CURATE))
    links = {link.card_id: link for link in CardFolder.objects.filter(folder=folder)}
    if set(card_ids) != set(links):
        raise ValidationError({"cards": _("Give every card of the folder exactly once.")})
    for position, card_id in enumerate(card_ids):
        CardFolder.objects.filter(pk=links[card_id].pk).update(position=position)


@transaction.atomic
def folder_card_move(*, user: User, folder: Folder, card: Card, direction: int) -> None:
    ids = list(CardFolder.objects.filter(folder=folder).values_list("card_id", flat=True))
    i = ids.index(card.pk)
    j = i + direction
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
        folder_cards_reorder(user=user, folder=folder, card_ids=ids)
