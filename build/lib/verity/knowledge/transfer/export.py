"""`verity export`: everything, in a documented JSONL format that `verity import` reads back
(see docs/import-export.md).

The files hold no database ids: people are named by email, groups by name, collections by
slug, folders by their path, cards by `ref` (their external_id, or collection-slug#n in
creation order). So an export of a restored copy equals the export it was restored from."""

from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from django.utils import timezone

from verity.accounts import access
from verity.accounts.models import Group, User
from verity.knowledge.models import (
    Card,
    CardFolder,
    CardVersion,
    Collection,
    CollectionAccess,
    Favorite,
    Flag,
    Folder,
)

FORMAT = "verity-export"
FORMAT_VERSION = 1
FILES = (
    "users.jsonl",
    "groups.jsonl",
    "collections.jsonl",
    "folders.jsonl",
    "cards.jsonl",
    "favorites.jsonl",
    "flags.jsonl",
)


def stamp(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def folder_path_value(path: list[str]) -> str | list[str]:
    """ "A/B" where that is unambiguous; a list when a name itself contains a slash."""
    return path if any("/" in name for name in path) else "/".join(path)


class Exporter:
    def __init__(self, user: User | None = None) -> None:
        """`user` None is the operator on the command line: everything. Otherwise only what
        `user` can read, and people and groups only for site admins."""
        self.user = user
        everything = user is None or user.is_site_admin
        self.collections = list(
            (Collection.objects.all() if user is None else access.collections_for(user)).order_by(
                "slug"
            )
        )
        collection_ids = [c.pk for c in self.collections]
        self.slugs = {c.pk: c.slug for c in self.collections}
        self.include_people = everything
        cards = Card.objects.filter(collection_id__in=collection_ids)
        self.cards = list(
            cards.select_related(
                "collection",
                "owner",
                "verifier_user",
                "verifier_group",
                "last_verified_by",
                "updated_by",
            )
            .prefetch_related("tags")
            .order_by("collection__slug", "created_at", "pk")
        )
        self.refs: dict[int, str] = {}
        ordinal: dict[int, int] = defaultdict(int)
        for card in self.cards:
            ordinal[card.collection_id] += 1
            self.refs[card.pk] = (
                card.external_id or f"{card.collection.slug}#{ordinal[card.collection_id]}"
            )
        self.folders = list(Folder.objects.filter(collection_id__in=collection_ids))
        self.paths: dict[int, list[str]] = {}
        by_id = {f.pk: f for f in self.folders}
        for folder in self.folders:
            path: list[str] = []
            cursor: Folder | None = folder
            while cursor is not None:
                path.insert(0, cursor.name)
                cursor = by_id.get(cursor.parent_id) if cursor.parent_id else None
            self.paths[folder.pk] = path
        self.emails = dict(User.objects.values_list("pk", "email"))
        self.group_names = dict(Group.objects.values_list("pk", "name"))

    # ------------------------------------------------------------ rows

    def users(self) -> Iterable[dict[str, Any]]:
        if not self.include_people:
            return
        for u in User.objects.select_related("manager").order_by("email"):
            yield {
                "email": u.email,
                "name": u.name,
                "job_function": u.job_function,
                "site_role": u.site_role,
                "manager": u.manager.email if u.manager else None,
                "hire_date": stamp(u.hire_date),
                "language": u.language,
                "is_active": u.is_active,
                "date_joined": stamp(u.date_joined),
            }

    def groups(self) -> Iterable[dict[str, Any]]:
        if not self.include_people:
            return
        for g in Group.objects.prefetch_related("members").order_by("name"):
            yield {
                "name": g.name,
                "description": g.description,
                "members": sorted(m.email for m in g.members.all()),
            }

    def collections_rows(self) -> Iterable[dict[str, Any]]:
        grants = defaultdict(list)
        for grant in CollectionAccess.objects.select_related("group").order_by("group__name"):
            grants[grant.collection_id].append({"group": grant.group.name, "role": grant.role})
        for c in self.collections:
            yield {
                "name": c.name,
                "slug": c.slug,
                "description": c.description,
                "access": grants[c.pk] if self.include_people else [],
            }

    def folder_rows(self) -> Iterable[dict[str, Any]]:
        children: dict[tuple[int, int | None], list[Folder]] = defaultdict(list)
        for folder in self.folders:
            children[(folder.collection_id, folder.parent_id)].append(folder)
        links: dict[int, list[int]] = defaultdict(list)
        for link in CardFolder.objects.filter(folder__in=self.folders).order_by(
            "position", "card__created_at", "card_id"
        ):
            if link.card_id in self.refs:
                links[link.folder_id].append(link.card_id)

        def walk(collection: Collection, parent: int | None) -> Iterable[dict[str, Any]]:
            siblings = sorted(
                children[(collection.pk, parent)], key=lambda f: (f.position, f.name, f.pk)
            )
            for position, folder in enumerate(siblings):
                yield {
                    "collection": collection.slug,
                    "path": folder_path_value(self.paths[folder.pk]),
                    "position": position,
                    "external_id": folder.external_id,
                    "cards": [self.refs[c] for c in links[folder.pk]],
                }
                yield from walk(collection, folder.pk)

        for collection in self.collections:
            yield from walk(collection, None)

    def _verifier(self, user_id: int | None, group_id: int | None) -> tuple[str | None, str | None]:
        if user_id is not None:
            return self.emails.get(user_id), "user"
        if group_id is not None:
            return self.group_names.get(group_id), "group"
        return None, None

    def card_rows(self) -> Iterable[dict[str, Any]]:
        versions: dict[int, list[CardVersion]] = defaultdict(list)
        for v in CardVersion.objects.filter(card__in=[c.pk for c in self.cards]).order_by("number"):
            versions[v.card_id].append(v)
        card_folders: dict[int, list[int]] = defaultdict(list)
        for link in CardFolder.objects.filter(card__in=[c.pk for c in self.cards]):
            card_folders[link.card_id].append(link.folder_id)
        for card in self.cards:
            verifier, verifier_type = self._verifier(card.verifier_user_id, card.verifier_group_id)
            yield {
                "ref": self.refs[card.pk],
                "external_id": card.external_id,
                "title": card.title,
                "content": card.content,
                "collection": card.collection.slug,
                "tags": sorted(t.name for t in card.tags.all()),
                "folders": sorted(
                    (folder_path_value(self.paths[f]) for f in card_folders[card.pk]), key=str
                ),
                "verifier": verifier,
                "verifier_type": verifier_type,
                "verification_interval_days": card.verification_interval_days,
                "owner": self.emails.get(card.owner_id),
                "verification": {
                    "state": card.verification_state,
                    "reason": card.verification_reason,
                    "last_verified_at": stamp(card.last_verified_at),
                    "last_verified_by": self.emails.get(card.last_verified_by_id)
                    if card.last_verified_by_id
                    else None,
                    "next_verification_at": stamp(card.next_verification_at),
                    "needs_verification_since": stamp(card.needs_verification_since),
                },
                "version": card.version,
                "created_at": stamp(card.created_at),
                "updated_at": stamp(card.updated_at),
                "updated_by": self.emails.get(card.updated_by_id) if card.updated_by_id else None,
                "archived_at": stamp(card.archived_at),
                "versions": [self._version_row(v) for v in versions[card.pk]],
            }

    def _version_row(self, v: CardVersion) -> dict[str, Any]:
        verifier, verifier_type = self._verifier(
            v.verifier_user_id_at_version, v.verifier_group_id_at_version
        )
        return {
            "number": v.number,
            "title": v.title,
            "content": v.content,
            "tags": list(v.tags),
            # A folder deleted since is no longer known by path; it is left out.
            "folders": sorted(
                (folder_path_value(self.paths[f]) for f in v.folder_ids if f in self.paths), key=str
            ),
            "collection": self.slugs.get(v.collection_id_at_version),
            "verifier": verifier,
            "verifier_type": verifier_type,
            "verification_interval_days": v.verification_interval_days,
            "changed_fields": list(v.changed_fields),
            "note": v.note,
            "author": self.emails.get(v.author_id) if v.author_id else None,
            "created_at": stamp(v.created_at),
        }

    def favorite_rows(self) -> Iterable[dict[str, Any]]:
        rows = [
            {"user": self.emails[f.user_id], "card": self.refs[f.card_id]}
            for f in Favorite.objects.filter(card__in=list(self.refs))
            if self.include_people or f.user_id == getattr(self.user, "pk", None)
        ]
        yield from sorted(rows, key=lambda r: (r["user"], r["card"]))

    def flag_rows(self) -> Iterable[dict[str, Any]]:
        rows = [
            {
                "card": self.refs[f.card_id],
                "user": self.emails[f.user_id],
                "comment": f.comment,
                "created_at": stamp(f.created_at),
            }
            for f in Flag.objects.filter(card__in=list(self.refs), resolved_at__isnull=True)
        ]
        yield from sorted(rows, key=lambda r: (r["card"], r["created_at"] or "", r["user"]))

    def files(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "users.jsonl": list(self.users()),
            "groups.jsonl": list(self.groups()),
            "collections.jsonl": list(self.collections_rows()),
            "folders.jsonl": list(self.folder_rows()),
            "cards.jsonl": list(self.card_rows()),
            "favorites.jsonl": list(self.favorite_rows()),
            "flags.jsonl": list(self.flag_rows()),
        }


def jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows)


def write_export(
    path: Path,
    *,
    user: User | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write the export to `path`: a .zip file, or else a directory. Returns row counts."""
    files = Exporter(user).files()
    counts = {name.removesuffix(".jsonl"): len(rows) for name, rows in files.items()}
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "exported_at": stamp(timezone.now()),
        "counts": counts,
    }
    contents = {"manifest.json": json.dumps(manifest, indent=2) + "\n"}
    for name, rows in files.items():
        contents[name] = jsonl(rows)
        if progress is not None:
            progress(name)
    if path.suffix.lower() == ".zip":
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in contents.items():
                archive.writestr(name, text)
        path.write_bytes(buffer.getvalue())
    else:
        path.mkdir(parents=True, exist_ok=True)
        for name, text in contents.items():
            (path / name).write_text(text, encoding="utf-8")
    return counts
