"""Reading a full Verity export back: people, groups, collections with their access,
folders in order, cards with their whole history, favourites and open flags.

Cards, folders, collections, groups and people are written through the services. What no
service can write because it is history — past versions, who verified when, timestamps,
open flags as they were — is copied onto the rows the services created."""

from __future__ import annotations

import json
import zipfile
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.dateparse import parse_date, parse_datetime

from verity.accounts import services as account_services
from verity.accounts.models import Group, SiteRole, User
from verity.knowledge import services
from verity.knowledge.models import (
    Card,
    CardFolder,
    CardVersion,
    Collection,
    CollectionAccess,
    Flag,
    Folder,
)
from verity.knowledge.transfer.export import FILES, FORMAT
from verity.knowledge.transfer.importer import (
    FolderMaker,
    Progress,
    Resolver,
    message_of,
    parse_folder_path,
    validate,
    write_card,
)
from verity.knowledge.transfer.records import (
    CardRecord,
    ImportFailed,
    ImportReport,
    Problem,
)
from verity.search.services import index_card

Rows = list[tuple[str, dict[str, Any]]]


def read_bundle(path: Path) -> tuple[dict[str, Rows], list[Problem]]:
    """The export's files as (where, row) pairs, and any line that is not valid JSON."""
    texts: dict[str, str] = {}
    if path.is_dir():
        for name in ("manifest.json", *FILES):
            if (path / name).exists():
                texts[name] = (path / name).read_text(encoding="utf-8-sig")
    else:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = info.filename.rsplit("/", 1)[-1]
                if name in ("manifest.json", *FILES):
                    texts[name] = archive.read(info).decode("utf-8-sig")
    problems: list[Problem] = []
    try:
        manifest = json.loads(texts.get("manifest.json", "{}"))
    except json.JSONDecodeError:
        manifest = {}
    if manifest.get("format") != FORMAT:
        problems.append(Problem("manifest.json", f"not a {FORMAT} manifest"))
    bundle: dict[str, Rows] = {}
    for name in FILES:
        rows: Rows = []
        for number, line in enumerate(texts.get(name, "").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{name} line {number}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(Problem(where, f"bad JSON ({exc.msg} at column {exc.colno})"))
                continue
            if not isinstance(row, dict):
                problems.append(Problem(where, "bad JSON (each line must be an object)"))
                continue
            rows.append((where, row))
        bundle[name] = rows
    return bundle, problems


def _when(value: Any) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) and value else None


class Restorer:
    def __init__(self, actor: User | None, report: ImportReport, skip_invalid: bool) -> None:
        self.actor = actor
        self.report = report
        self.skip_invalid = skip_invalid
        self.users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self.collections: dict[str, Collection] = {}
        self.cards: dict[str, Card] = {}

    def problem(self, where: str, reason: str) -> None:
        self.report.problems.append(Problem(where, reason))

    def user(self, email: Any) -> User | None:
        if not isinstance(email, str) or not email:
            return None
        key = email.lower()
        if key not in self.users:
            found = User.objects.filter(email__iexact=key).first()
            if found is None:
                return None
            self.users[key] = found
        return self.users[key]

    # ------------------------------------------------------------ people

    def restore_users(self, rows: Rows) -> None:
        for where, row in rows:
            email = str(row.get("email") or "")
            if self.user(email) is not None:
                continue
            try:
                with transaction.atomic():
                    created = account_services.user_create(
                        actor=None,  # restoring is the operator's act; passwords are not exported
                        email=email,
                        name=str(row.get("name") or ""),
                        job_function=row.get("job_function") or "other",
                        site_role=row.get("site_role") or SiteRole.MEMBER,
                        hire_date=parse_date(row["hire_date"]) if row.get("hire_date") else None,
                    )
            except ValidationError as exc:
                self.problem(where, message_of(exc))
                continue
            self.users[created.email] = created
            self.report.counts["users_created"] = self.report.counts.get("users_created", 0) + 1
        if self.actor is None:
            self.actor = (
                User.objects.filter(site_role=SiteRole.ADMIN, is_active=True).order_by("pk").first()
            )
        if self.actor is None:
            self.problem("users.jsonl", "no site admin to import as (give --as EMAIL)")
            return
        for where, row in rows:
            person = self.user(row.get("email"))
            if person is None:
                continue
            changes: dict[str, Any] = {
                "name": str(row.get("name") or ""),
                "job_function": row.get("job_function") or "other",
                "hire_date": parse_date(row["hire_date"]) if row.get("hire_date") else None,
                "language": row.get("language") or "",
            }
            if person.pk != self.actor.pk:  # never lock out the person importing
                changes["site_role"] = row.get("site_role") or SiteRole.MEMBER
                changes["is_active"] = bool(row.get("is_active", True))
            manager_email = row.get("manager")
            manager = self.user(manager_email)
            if manager_email and manager is None:
                self.problem(where, f"unknown manager “{manager_email}”")
            changes["manager"] = manager
            if any(getattr(person, k) != v for k, v in changes.items()):
                try:
                    with transaction.atomic():
                        account_services.user_update(actor=self.actor, user=person, **changes)
                except ValidationError as exc:
                    self.problem(where, message_of(exc))
            joined = _when(row.get("date_joined"))
            if joined is not None:
                User.objects.filter(pk=person.pk).update(date_joined=joined)

    def restore_groups(self, rows: Rows) -> None:
        assert self.actor is not None
        for where, row in rows:
            name = str(row.get("name") or "")
            group = Group.objects.filter(name__iexact=name).first()
            try:
                with transaction.atomic():
                    if group is None:
                        group = account_services.group_create(
                            actor=self.actor, name=name, description=row.get("description") or ""
                        )
                    elif group.description != (row.get("description") or ""):
                        account_services.group_update(
                            actor=self.actor, group=group, description=row.get("description") or ""
                        )
            except ValidationError as exc:
                self.problem(where, message_of(exc))
                continue
            self.groups[name.lower()] = group
            wanted = []
            for email in row.get("members") or []:
                member = self.user(email)
                if member is None:
                    self.problem(where, f"unknown member “{email}”")
                else:
                    wanted.append(member)
            current = set(group.members.values_list("pk", flat=True))
            for member in wanted:
                if member.pk not in current:
                    account_services.group_set_member(
                        actor=self.actor, group=group, user=member, member=True
                    )
            for stale in group.members.exclude(pk__in=[m.pk for m in wanted]):
                account_services.group_set_member(
                    actor=self.actor, group=group, user=stale, member=False
                )

    def restore_collections(self, rows: Rows) -> None:
        assert self.actor is not None
        for where, row in rows:
            name, slug = str(row.get("name") or ""), str(row.get("slug") or "")
            collection = (
                Collection.objects.filter(slug=slug).first()
                or Collection.objects.filter(name__iexact=name).first()
            )
            try:
                with transaction.atomic():
                    if collection is None:
                        collection = services.collection_create(
                            user=self.actor, name=name, description=row.get("description") or ""
                        )
                    elif collection.description != (row.get("description") or ""):
                        services.collection_update(
                            user=self.actor,
                            collection=collection,
                            description=row.get("description") or "",
                        )
            except ValidationError as exc:
                self.problem(where, message_of(exc))
                continue
            self.collections[slug or collection.slug] = collection
            granted = set()
            for grant in row.get("access") or []:
                group = (
                    self.groups.get(str(grant.get("group", "")).lower())
                    or Group.objects.filter(name__iexact=str(grant.get("group", ""))).first()
                )
                if group is None:
                    self.problem(where, f"unknown group “{grant.get('group')}”")
                    continue
                try:
                    services.collection_grant(
                        user=self.actor, collection=collection, group=group, role=grant.get("role")
                    )
                except ValidationError as exc:
                    self.problem(where, message_of(exc))
                granted.add(group.pk)
            for stale in (
                CollectionAccess.objects.filter(collection=collection)
                .exclude(group__in=granted)
                .select_related("group")
            ):
                services.collection_grant(
                    user=self.actor, collection=collection, group=stale.group, role=None
                )

    # ------------------------------------------------------------ folders

    def restore_folders(self, rows: Rows, folders: FolderMaker) -> None:
        order: dict[tuple[int, int | None], list[int]] = defaultdict(list)
        for where, row in rows:
            collection = self.collections.get(str(row.get("collection")))
            path = parse_folder_path(row.get("path"))
            if collection is None or path is None:
                self.problem(where, "unknown collection or bad folder path")
                continue
            folder = folders.get(collection, path)
            if row.get("external_id") and folder.external_id != row["external_id"]:
                Folder.objects.filter(pk=folder.pk).update(external_id=row["external_id"])
            order[(collection.pk, folder.parent_id)].append(folder.pk)
        assert self.actor is not None
        for (collection_id, parent_id), ids in order.items():
            others = Folder.objects.filter(
                collection_id=collection_id, parent_id=parent_id
            ).exclude(pk__in=ids)
            services.folder_reorder(
                user=self.actor,
                collection=Collection.objects.get(pk=collection_id),
                folder_ids=[*ids, *others.values_list("pk", flat=True)],
            )

    def order_folder_cards(self, rows: Rows, folders: FolderMaker) -> None:
        assert self.actor is not None
        for _where, row in rows:
            collection = self.collections.get(str(row.get("collection")))
            path = parse_folder_path(row.get("path"))
            if collection is None or path is None:
                continue
            folder = folders.get(collection, path)
            wanted = [self.cards[r].pk for r in row.get("cards") or [] if r in self.cards]
            held = set(CardFolder.objects.filter(folder=folder).values_list("card_id", flat=True))
            rest = [c for c in held if c not in wanted]
            if set(wanted) <= held:
                services.folder_cards_reorder(
                    user=self.actor, folder=folder, card_ids=[*wanted, *sorted(rest)]
                )

    # ------------------------------------------------------------ cards

    def copy_history(self, card: Card, row: dict[str, Any], folders: FolderMaker) -> None:
        """A card created by this restore gets its exported history and verification record."""
        versions = []
        for v in row.get("versions") or []:
            collection = self.collections.get(str(v.get("collection"))) or card.collection
            folder_ids = []
            for raw in v.get("folders") or []:
                path = parse_folder_path(raw)
                if path:
                    folder_ids.append(folders.get(collection, path).pk)
            verifier_user = verifier_group = None
            if v.get("verifier"):
                if v.get("verifier_type") == "group":
                    verifier_group = self.groups.get(str(v["verifier"]).lower())
                else:
                    verifier_user = self.user(v["verifier"])
            versions.append(
                CardVersion(
                    card=card,
                    number=int(v["number"]),
                    title=v.get("title") or "",
                    content=v.get("content") or "",
                    tags=list(v.get("tags") or []),
                    folder_ids=sorted(folder_ids),
                    collection_id_at_version=collection.pk,
                    verifier_user_id_at_version=getattr(verifier_user, "pk", None),
                    verifier_group_id_at_version=getattr(verifier_group, "pk", None),
                    verification_interval_days=v.get("verification_interval_days"),
                    changed_fields=list(v.get("changed_fields") or []),
                    note=v.get("note") or "",
                    author=self.user(v.get("author")),
                    created_at=_when(v.get("created_at")) or card.created_at,
                )
            )
        if versions:
            CardVersion.objects.filter(card=card).delete()
            CardVersion.objects.bulk_create(versions)
        verification = row.get("verification") or {}
        fields: dict[str, Any] = {
            "version": int(row.get("version") or card.version),
            "created_at": _when(row.get("created_at")) or card.created_at,
            "updated_at": _when(row.get("updated_at")) or card.updated_at,
            "updated_by": self.user(row.get("updated_by")),
            "last_verified_at": _when(verification.get("last_verified_at")),
            "last_verified_by": self.user(verification.get("last_verified_by")),
            "next_verification_at": _when(verification.get("next_verification_at")),
            "needs_verification_since": _when(verification.get("needs_verification_since")),
        }
        owner = self.user(row.get("owner"))
        if owner is not None:
            fields["owner"] = owner
        if verification.get("state"):
            fields["verification_state"] = verification["state"]
            fields["verification_reason"] = verification.get("reason") or ""
        if row.get("archived_at"):
            assert self.actor is not None
            services.card_archive(user=self.actor, card=card)
            fields["archived_at"] = _when(row["archived_at"])
        Card.objects.filter(pk=card.pk).update(**fields)
        card.refresh_from_db()
        index_card(card)  # the search index sees the final state and dates

    def restore_cards(self, rows: Rows, folders: FolderMaker, progress: Progress | None) -> None:
        assert self.actor is not None
        resolver = Resolver()
        for slug, collection in self.collections.items():
            resolver.collections[slug.lower()] = collection
        records = [CardRecord.from_mapping(where, row) for where, row in rows]
        good, problems = validate(records, user=self.actor, resolver=resolver)
        self.report.problems.extend(problems)
        self.report.skipped += len(problems)
        for done, clean in enumerate(good, start=1):
            row = clean.record.extra
            if clean.existing is None and clean.external_id is None:
                # No external id to match on: the same title in the same collection is the card.
                same = list(
                    Card.objects.filter(
                        collection=clean.collection, title=clean.title, external_id__isnull=True
                    )[:2]
                )
                if len(same) == 1:
                    clean.existing = same[0]
            try:
                with transaction.atomic():
                    outcome, card = write_card(clean, user=self.actor, folders=folders)
                    if outcome == "created":
                        self.copy_history(card, row, folders)
            except ValidationError as exc:
                self.problem(clean.record.where, message_of(exc))
                self.report.skipped += 1
                continue
            setattr(self.report, outcome, getattr(self.report, outcome) + 1)
            self.cards[str(row.get("ref") or clean.external_id)] = card
            if progress is not None:
                progress(done, len(good))

    def restore_favorites(self, rows: Rows) -> None:
        for where, row in rows:
            person, card = self.user(row.get("user")), self.cards.get(str(row.get("card")))
            if person is None or card is None:
                self.problem(where, "unknown user or card")
                continue
            try:
                services.favorite_set(user=person, card=card, on=True)
            except Http404:
                self.report.notes.append(f"{where}: {person.email} can no longer read the card")

    def restore_flags(self, rows: Rows) -> None:
        for where, row in rows:
            person, card = self.user(row.get("user")), self.cards.get(str(row.get("card")))
            if person is None or card is None:
                self.problem(where, "unknown user or card")
                continue
            comment = str(row.get("comment") or "")
            if Flag.objects.filter(
                card=card, user=person, comment=comment, resolved_at=None
            ).exists():
                continue
            # Written as it was: the card's state is already restored, and the verifier was
            # notified when the flag was first raised.
            flag = Flag.objects.create(card=card, user=person, comment=comment)
            when = _when(row.get("created_at"))
            if when is not None:
                Flag.objects.filter(pk=flag.pk).update(created_at=when)


def restore(
    path: Path,
    *,
    user: User | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Read a full export back. `user` (a site admin) acts; None picks the first site admin,
    who may come from the export itself when the database is empty."""
    if user is not None and not user.is_site_admin:
        raise ImportFailed([Problem(str(path), f"{user.email} is not a site admin")])
    report = ImportReport()
    bundle, problems = read_bundle(path)
    report.problems.extend(problems)
    if problems and not skip_invalid:
        raise ImportFailed(report.problems)
    with transaction.atomic():
        restorer = Restorer(user, report, skip_invalid)
        restorer.restore_users(bundle["users.jsonl"])
        if restorer.actor is None:
            raise ImportFailed(report.problems)
        restorer.restore_groups(bundle["groups.jsonl"])
        restorer.restore_collections(bundle["collections.jsonl"])
        folders = FolderMaker(restorer.actor, report)
        restorer.restore_folders(bundle["folders.jsonl"], folders)
        restorer.restore_cards(bundle["cards.jsonl"], folders, progress)
        restorer.order_folder_cards(bundle["folders.jsonl"], folders)
        restorer.restore_favorites(bundle["favorites.jsonl"])
        restorer.restore_flags(bundle["flags.jsonl"])
        if report.problems and not skip_invalid:
            raise ImportFailed(report.problems)  # rolls the whole restore back
    return report
