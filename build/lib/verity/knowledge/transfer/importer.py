"""Validate card records against the database, then write them through the knowledge
services (so versions, sanitising and the search index stay right).

Every record is checked before anything is written. With problems and no `skip_invalid`,
nothing is written; otherwise the good records are imported in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q

from verity.accounts import access
from verity.accounts.models import Group, User
from verity.knowledge import services
from verity.knowledge.models import (
    DEFAULT_VERIFICATION_INTERVAL,
    VERIFICATION_INTERVALS,
    AccessRole,
    Card,
    Collection,
    Folder,
)
from verity.knowledge.transfer.records import (
    ABSENT,
    CardRecord,
    ImportFailed,
    ImportReport,
    Problem,
)

Progress = Callable[[int, int], None]


def message_of(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


def parse_folder_path(value: Any) -> list[str] | None:
    """ "Pricing/Discounts" or ["Pricing", "Discounts"] → ["Pricing", "Discounts"]."""
    if isinstance(value, str):
        parts = [" ".join(p.split()) for p in value.split("/")]
    elif isinstance(value, list) and all(isinstance(p, str) for p in value):
        parts = [" ".join(p.split()) for p in value]
    else:
        return None
    parts = [p for p in parts if p]
    return parts or None


def parse_interval(value: Any) -> int | None:
    """None / 0 / "never" mean never; otherwise one of the allowed day counts."""
    if value is None or (isinstance(value, str) and value.strip().lower() in {"", "never", "0"}):
        return None
    if isinstance(value, bool):
        raise ValueError
    days = int(value) if isinstance(value, int | str) else None
    if days is None or (days != 0 and days not in VERIFICATION_INTERVALS):
        raise ValueError
    return days or None


@dataclass
class CleanCard:
    record: CardRecord
    collection: Collection
    title: str
    content: Any  # str or ABSENT
    tags: Any  # list[str] or ABSENT
    external_id: str | None
    verifier_user: Any  # User | None | ABSENT
    verifier_group: Any  # Group | None | ABSENT
    interval: Any  # int | None | ABSENT
    folder_paths: Any  # list[list[str]] or ABSENT
    existing: Card | None


class Resolver:
    """Looks names up once and remembers them."""

    def __init__(self) -> None:
        self.collections: dict[str, Collection | None] = {}
        self.verifiers: dict[tuple[str, str], User | Group | None] = {}

    def collection(self, name: str) -> Collection | None:
        key = name.strip().lower()
        if key not in self.collections:
            self.collections[key] = Collection.objects.filter(
                Q(slug__iexact=key) | Q(name__iexact=name.strip())
            ).first()
        return self.collections[key]

    def verifier(self, value: str, kind: str | None = None) -> User | Group | None:
        value = value.strip()
        kind = kind or ("user" if "@" in value else "group")
        key = (kind, value.lower())
        if key not in self.verifiers:
            if kind == "user":
                self.verifiers[key] = User.objects.filter(
                    email__iexact=value, is_active=True
                ).first()
            else:
                self.verifiers[key] = Group.objects.filter(name__iexact=value).first()
        return self.verifiers[key]


def find_folder(collection: Collection, path: Sequence[str]) -> Folder | None:
    parent: Folder | None = None
    for name in path:
        parent = Folder.objects.filter(collection=collection, parent=parent, name=name).first()
        if parent is None:
            return None
    return parent


def validate(
    records: Sequence[CardRecord],
    *,
    user: User,
    collection: Collection | None = None,
    default_collection: str | None = None,
    resolver: Resolver | None = None,
) -> tuple[list[CleanCard], list[Problem]]:
    """Check every record; return the good ones and a problem for each bad one."""
    resolver = resolver or Resolver()
    good: list[CleanCard] = []
    problems: list[Problem] = []
    seen_ids: dict[str, str] = {}
    for record in records:
        reasons: list[str] = []
        where = record.where

        title = ""
        if record.title is ABSENT or record.title is None or not str(record.title).strip():
            reasons.append("missing title")
        else:
            try:
                title = services.clean_title(str(record.title))
            except ValidationError as exc:
                reasons.append(message_of(exc))

        content: Any = ABSENT
        if record.content is not ABSENT:
            if record.content is not None and not isinstance(record.content, str):
                reasons.append("content must be text")
            else:
                content = record.content or ""

        target = collection
        if target is None:
            name = record.collection if record.collection is not ABSENT else default_collection
            if not name or not isinstance(name, str):
                reasons.append("no collection (give one in the record or with --collection)")
            else:
                target = resolver.collection(name)
                if target is None:
                    reasons.append(f"unknown collection “{name}”")
        if target is not None and not access.has_role(user, target, AccessRole.AUTHOR):
            reasons.append(f"{user.email} may not author cards in collection “{target.name}”")

        external_id: str | None = None
        existing: Card | None = None
        if record.external_id not in (ABSENT, None, ""):
            external_id = str(record.external_id).strip()
            if external_id in seen_ids:
                reasons.append(
                    f"duplicate external_id “{external_id}” (also at {seen_ids[external_id]})"
                )
            seen_ids.setdefault(external_id, where)
            existing = (
                Card.objects.select_related("collection").filter(external_id=external_id).first()
            )
            if existing is not None and not access.has_role(
                user, existing.collection, AccessRole.AUTHOR
            ):
                reasons.append(
                    f"external_id “{external_id}” belongs to a card in"
                    f" “{existing.collection.name}”, which you may not edit"
                )

        verifier_user: Any = ABSENT
        verifier_group: Any = ABSENT
        if record.verifier not in (ABSENT, None, ""):
            if not isinstance(record.verifier, str):
                reasons.append("verifier must be an email or a group name")
            else:
                found = resolver.verifier(record.verifier, record.extra.get("verifier_type"))
                if found is None:
                    reasons.append(f"unknown verifier “{record.verifier}”")
                elif isinstance(found, User):
                    verifier_user, verifier_group = found, None
                else:
                    verifier_user, verifier_group = None, found

        interval: Any = ABSENT
        if record.verification_interval_days is not ABSENT:
            try:
                interval = parse_interval(record.verification_interval_days)
            except (TypeError, ValueError):
                allowed = ", ".join(str(d) for d in VERIFICATION_INTERVALS)
                reasons.append(
                    f"bad verification interval “{record.verification_interval_days}”"
                    f" (use {allowed}, or null for never)"
                )

        tags: Any = ABSENT
        if record.tags is not ABSENT:
            raw = record.tags or []
            if isinstance(raw, str):
                raw = raw.split(",")
            if not isinstance(raw, list):
                reasons.append("tags must be a list")
            else:
                try:
                    tags = services.clean_tags(str(t) for t in raw)
                except ValidationError as exc:
                    reasons.append(message_of(exc))

        folder_paths: Any = ABSENT
        if record.folders is not ABSENT:
            raw_folders = record.folders or []
            if isinstance(raw_folders, str):
                raw_folders = [raw_folders]
            paths = (
                [parse_folder_path(f) for f in raw_folders]
                if isinstance(raw_folders, list)
                else [None]
            )
            if any(p is None for p in paths):
                reasons.append("folders must be a list of paths like “Pricing/Discounts”")
            else:
                folder_paths = paths
                if target is not None and not access.has_role(user, target, AccessRole.CURATE):
                    for path in paths:
                        assert path is not None
                        if find_folder(target, path) is None:
                            reasons.append(
                                f"folder “{'/'.join(path)}” does not exist and only curators"
                                " may create folders"
                            )

        if reasons:
            problems.append(Problem(where, "; ".join(reasons)))
            continue
        assert target is not None
        good.append(
            CleanCard(
                record=record,
                collection=target,
                title=title,
                content=content,
                tags=tags,
                external_id=external_id,
                verifier_user=verifier_user,
                verifier_group=verifier_group,
                interval=interval,
                folder_paths=folder_paths,
                existing=existing,
            )
        )
    return good, problems


class FolderMaker:
    """Finds folders by path, creating the missing ones through the services."""

    def __init__(self, user: User, report: ImportReport) -> None:
        self.user = user
        self.report = report
        self.cache: dict[tuple[int, tuple[str, ...]], Folder] = {}

    def get(self, collection: Collection, path: Sequence[str]) -> Folder:
        key = (collection.pk, tuple(path))
        if key in self.cache:
            return self.cache[key]
        parent = self.get(collection, path[:-1]) if len(path) > 1 else None
        folder = Folder.objects.filter(collection=collection, parent=parent, name=path[-1]).first()
        if folder is None:
            folder = services.folder_create(
                user=self.user, collection=collection, name=path[-1], parent=parent
            )
            self.report.folders_created += 1
        self.cache[key] = folder
        return folder


def write_card(clean: CleanCard, *, user: User, folders: FolderMaker) -> tuple[str, Card]:
    """Create or update one card; returns ('created' | 'updated' | 'unchanged', card)."""
    folder_ids: Any = ABSENT
    if clean.folder_paths is not ABSENT:
        folder_ids = [folders.get(clean.collection, p).pk for p in clean.folder_paths]
    if clean.existing is None:
        card = services.card_create(
            user=user,
            collection=clean.collection,
            title=clean.title,
            content="" if clean.content is ABSENT else clean.content,
            tags=[] if clean.tags is ABSENT else clean.tags,
            folder_ids=[] if folder_ids is ABSENT else folder_ids,
            verifier_user=None if clean.verifier_user is ABSENT else clean.verifier_user,
            verifier_group=None if clean.verifier_group is ABSENT else clean.verifier_group,
            verification_interval_days=(
                DEFAULT_VERIFICATION_INTERVAL if clean.interval is ABSENT else clean.interval
            ),
            external_id=clean.external_id,
        )
        return "created", card
    before = clean.existing.version
    changes: dict[str, Any] = {"title": clean.title}
    if clean.collection.pk != clean.existing.collection_id:
        changes["collection"] = clean.collection
    for name, value in (
        ("content", clean.content),
        ("tags", clean.tags),
        ("folder_ids", folder_ids),
        ("verification_interval_days", clean.interval),
    ):
        if value is not ABSENT:
            changes[name] = value
    if clean.verifier_user is not ABSENT:
        changes["verifier_user"] = clean.verifier_user
        changes["verifier_group"] = clean.verifier_group
    card = services.card_update(
        user=user, card=clean.existing, expected_version=None, note="Import", **changes
    )
    return ("updated" if card.version != before else "unchanged"), card


def import_cards(
    records: Sequence[CardRecord],
    *,
    user: User,
    collection: Collection | None = None,
    default_collection: str | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    extra_folders: Sequence[Sequence[str]] = (),
) -> ImportReport:
    """Validate every record, then import them all in one transaction.

    Raises ImportFailed (nothing written) when a record is bad and `skip_invalid` is False.
    `extra_folders` are folder paths to create even when no card lands in them."""
    report = ImportReport()
    good, problems = validate(
        records, user=user, collection=collection, default_collection=default_collection
    )
    report.problems.extend(problems)
    if problems and not skip_invalid:
        raise ImportFailed(problems)
    report.skipped = len(problems)
    with transaction.atomic():
        folders = FolderMaker(user, report)
        target = collection or (
            Resolver().collection(default_collection) if default_collection else None
        )
        if target is not None and access.has_role(user, target, AccessRole.CURATE):
            for path in extra_folders:
                folders.get(target, list(path))
        for done, clean in enumerate(good, start=1):
            try:
                # A savepoint per card, so a card the services refuse can be skipped alone.
                with transaction.atomic():
                    outcome, _ = write_card(clean, user=user, folders=folders)
            except (ValidationError, PermissionDenied) as exc:
                reason = (
                    message_of(exc) if isinstance(exc, ValidationError) else "permission denied"
                )
                problem = Problem(clean.record.where, reason)
                report.problems.append(problem)
                if not skip_invalid:
                    raise ImportFailed(report.problems) from None
                report.skipped += 1
                continue
            setattr(report, outcome, getattr(report, outcome) + 1)
            if progress is not None:
                progress(done, len(good))
    return report
