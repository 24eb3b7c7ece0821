"""Loads the Northwind Cloud demo: people, groups, collections with access and folders,
~150 cards (about 30 in Russian) with a realistic mix of verification states, versions,
flags and favourites. Deterministic: a fixed random seed, dates relative to today."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from verity.accounts import access
from verity.accounts import services as account_services
from verity.accounts.models import Group, User
from verity.core.demo.analytics import load_analytics
from verity.core.demo.generate import generated_cards
from verity.core.demo.programs import load_programs
from verity.core.demo.searches import load_search_history
from verity.core.models import Job
from verity.knowledge import services
from verity.knowledge.models import AccessRole, Card, CardVersion, Collection, Flag
from verity.knowledge.transfer.importer import FolderMaker, validate, write_card
from verity.knowledge.transfer.readers import markdown_record
from verity.knowledge.transfer.records import CardRecord, ImportReport

HERE = Path(__file__).resolve().parent
DOMAIN = "@northwind.example"
SEED = 20261127
CURATOR = "priya.raman"
SECOND_CURATOR = "tom.becker"
# Where each folder of cards/ goes.
COLLECTION_DIRS = {
    "sales-playbook": "Sales Playbook",
    "customer-success": "Customer Success",
    "support-runbooks": "Support Runbooks",
    "company-handbook": "Company Handbook",
}
STATE_WEIGHTS = [
    ("verified", 68),
    ("expired", 12),
    ("flagged", 6),
    ("unverified", 7),
    ("edited", 7),
]


@dataclass
class DemoSummary:
    users: int = 0
    groups: int = 0
    collections: int = 0
    cards: int = 0
    states: dict[str, int] = field(default_factory=dict)
    searches: int = 0
    programs: int = 0
    opportunities: int = 0  # synthetic CRM data for the analytics (verity.core.demo.analytics)


def company() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((HERE / "company.yaml").read_text(encoding="utf-8"))
    return data


def email_of(handle: str) -> str:
    return handle if "@" in handle else f"{handle}{DOMAIN}"


def demo_admin_email() -> str:
    return str(company()["users"][0]["email"])


def is_loaded() -> bool:
    return User.objects.filter(email=demo_admin_email()).exists()


def logins() -> list[tuple[str, str, str]]:
    """(email, password, role) for the demo's key people."""
    data = company()
    return [(u["email"], data["password"], u["login"]) for u in data["users"] if u.get("login")]


def card_records() -> list[dict[str, Any]]:
    """Every demo card as an import record: generated ones, then the hand-written files."""
    records = generated_cards()
    for folder, collection in COLLECTION_DIRS.items():
        for file in sorted((HERE / "cards" / folder).glob("*.md")):
            record = markdown_record(file.name, file.read_text(encoding="utf-8"), file.stem, [])
            data = {key: getattr(record, key) for key in CardRecord.KEYS}
            data.update(record.extra)
            data["collection"] = collection
            data["external_id"] = f"demo:{folder}/{file.stem}"
            data.setdefault("lang", "en")
            records.append(data)
    return records


class Loader:
    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.now = timezone.now()
        self.data = company()
        self.users: dict[str, User] = {}
        self.summary = DemoSummary()
        self.flag_ids: list[int] = []
        self.roles: dict[tuple[int, int, str], bool] = {}

    def has_role(self, person: User, collection: Collection, role: str) -> bool:
        key = (person.pk, collection.pk, role)
        if key not in self.roles:
            self.roles[key] = access.has_role(person, collection, role)
        return self.roles[key]

    def user(self, handle: str) -> User:
        return self.users[email_of(handle)]

    # ------------------------------------------------------------ people and structure

    def people(self) -> None:
        # One hash for everyone: hashing ~30 passwords one by one would take most of the budget.
        hashed = make_password(self.data["password"])
        for row in self.data["users"]:
            manager = self.user(row["manager"]) if row.get("manager") else None
            person = account_services.user_create(
                actor=None,
                email=row["email"],
                name=row["name"],
                job_function=row["job_function"],
                site_role=row.get("site_role", "member"),
                manager=manager,
                hire_date=(self.now - timedelta(days=row["hired_days_ago"])).date(),
            )
            User.objects.filter(pk=person.pk).update(
                password=hashed,
                language=row.get("language", ""),
                date_joined=self.now - timedelta(days=row["hired_days_ago"]),
            )
            self.users[person.email] = person
        self.admin = self.users[self.data["users"][0]["email"]]
        for row in self.data["groups"]:
            group = account_services.group_create(
                actor=self.admin, name=row["name"], description=row["description"]
            )
            for handle in row["members"]:
                account_services.group_set_member(
                    actor=self.admin, group=group, user=self.user(handle), member=True
                )
        self.summary.users, self.summary.groups = len(self.users), len(self.data["groups"])

    def collections(self, folders: FolderMaker) -> None:
        for row in self.data["collections"]:
            collection = services.collection_create(
                user=self.admin, name=row["name"], description=row["description"]
            )
            for group_name, role in row["access"].items():
                services.collection_grant(
                    user=self.admin,
                    collection=collection,
                    group=Group.objects.get(name=group_name),
                    role=role,
                )
            for path in row["folders"]:
                folders.get(collection, path.split("/"))
        self.summary.collections = len(self.data["collections"])

    # ------------------------------------------------------------ cards

    def creator_for(self, card_collection: Collection, verifier: str) -> User:
        """The verifier writes the card when they may author there; else an SME of the team."""
        if "@" in verifier:
            person = self.users[verifier]
            if self.has_role(person, card_collection, AccessRole.AUTHOR):
                return person
        else:
            members = [
                m
                for m in Group.objects.get(name=verifier).members.order_by("email")
                if self.has_role(m, card_collection, AccessRole.AUTHOR)
            ]
            if members:
                return self.rng.choice(members)
        return self.user(CURATOR)

    def verifier_person(self, card: Card) -> User:
        if card.verifier_user is not None:
            return card.verifier_user
        assert card.verifier_group is not None
        return card.verifier_group.members.order_by("email").first() or self.user(CURATOR)

    def cards(self, folders: FolderMaker) -> None:
        raw = card_records()
        records = [CardRecord.from_mapping(str(r["external_id"]), r) for r in raw]
        good, problems = validate(records, user=self.user(CURATOR))
        if problems:  # the demo data is ours: a problem here is a bug in the data files
            raise ValueError("; ".join(str(p) for p in problems))
        for clean in good:
            extra = clean.record.extra
            creator = self.creator_for(clean.collection, str(clean.record.verifier))
            edits: list[str] = list(extra.get("demo_edits") or [])
            final_content = clean.content
            blocks = final_content.rstrip("\n").split("\n\n")
            if edits and len(blocks) > len(edits):
                # Version 1 lacks the last blocks; each edit adds one back (readable diffs).
                clean.content = "\n\n".join(blocks[: len(blocks) - len(edits)]) + "\n"
            _, card = write_card(clean, user=creator, folders=folders)
            for n, note in enumerate(edits, start=1):
                content = "\n\n".join(blocks[: len(blocks) - len(edits) + n]) + "\n"
                if n == len(edits):
                    content = final_content
                card = services.card_update(
                    user=creator, card=card, expected_version=None, content=content, note=note
                )
            state = extra.get("demo_state") or self.pick_state()
            if state == "expired" and card.verification_interval_days is None:
                state = "verified"
            self.apply_state(card, state, extra.get("lang", "en"), extra.get("demo_flag"))
            self.summary.states[state] = self.summary.states.get(state, 0) + 1
            self.summary.cards += 1

    def pick_state(self) -> str:
        states, weights = zip(*STATE_WEIGHTS, strict=True)
        return self.rng.choices(states, weights=weights)[0]

    def days_ago(self, low: float, high: float) -> datetime:
        return self.now - timedelta(
            days=self.rng.uniform(low, high), minutes=self.rng.randint(0, 600)
        )

    def apply_state(self, card: Card, state: str, lang: str, flag_comment: str | None) -> None:
        """Verify, flag or edit through the services, then move the dates into the past so
        the base looks lived-in (a fresh install would otherwise be verified "just now")."""
        interval = card.verification_interval_days or 365
        verified_at: datetime | None = None
        if state != "unverified":
            services.card_verify(user=self.verifier_person(card), card=card)
            if state == "expired":
                verified_at = self.days_ago(interval + 1, interval + 40)
            else:
                verified_at = self.days_ago(1, interval * 0.85)
        if state == "flagged":
            reader = self.reader_of(card)
            comment = flag_comment or self.rng.choice(self.data["flag_comments"][lang])
            flag = services.card_flag(user=reader, card=card, comment=comment)
            self.flag_ids.append(flag.pk)
            Flag.objects.filter(pk=flag.pk).update(created_at=self.days_ago(0.2, 6))
        if state == "edited":
            editor = self.user(SECOND_CURATOR)
            addition = "\n" + self.data["curator_edit"][lang] + "\n"
            card = services.card_update(
                user=editor,
                card=card,
                expected_version=None,
                content=card.content + addition,
                note="Small correction",
            )
        self.backdate(card, state, verified_at)

    def reader_of(self, card: Card) -> User:
        readers = [
            u
            for u in self.users.values()
            if u.site_role != "admin"
            and u.pk != card.verifier_user_id
            and self.has_role(u, card.collection, AccessRole.READ)
            and not self.has_role(u, card.collection, AccessRole.AUTHOR)
        ]
        return self.rng.choice(sorted(readers, key=lambda u: u.email))

    def backdate(self, card: Card, state: str, verified_at: datetime | None) -> None:
        card.refresh_from_db()
        versions = list(CardVersion.objects.filter(card=card).order_by("number"))
        if verified_at is None:  # new, never verified
            created = self.days_ago(1, 20)
            latest = self.now
        else:
            created = verified_at - timedelta(days=self.rng.uniform(5, 240))
            latest = verified_at
        span = (latest - created).total_seconds()
        # Edits made after the verification (by a non-verifier) are recent.
        late = 1 if state == "edited" else 0
        early = versions[: len(versions) - late]
        for i, version in enumerate(early):
            when = created + timedelta(seconds=span * i / max(len(early), 1))
            CardVersion.objects.filter(pk=version.pk).update(created_at=when)
        last_edit = created + timedelta(seconds=span * (len(early) - 1) / max(len(early), 1))
        fields: dict[str, Any] = {"created_at": created, "updated_at": last_edit}
        if late:
            when = self.days_ago(0.5, 9)
            CardVersion.objects.filter(pk=versions[-1].pk).update(created_at=when)
            fields.update(updated_at=when, needs_verification_since=when)
        if verified_at is not None:
            fields["last_verified_at"] = verified_at
            due = (
                verified_at + timedelta(days=card.verification_interval_days)
                if card.verification_interval_days
                else None
            )
            fields["next_verification_at"] = due
            if state == "expired":
                fields["needs_verification_since"] = due
        if state == "flagged":
            fields["needs_verification_since"] = Flag.objects.get(pk=self.flag_ids[-1]).created_at
        Card.objects.filter(pk=card.pk).update(**fields)

    def favourites(self) -> None:
        for person in sorted(self.users.values(), key=lambda u: u.email):
            readable = list(access.cards_for(person).order_by("pk").values_list("pk", flat=True))
            for pk in self.rng.sample(readable, min(len(readable), self.rng.randint(2, 5))):
                services.favorite_set(user=person, card=Card(pk=pk), on=True)

    def load(self) -> DemoSummary:
        with transaction.atomic():
            self.people()
            folders = FolderMaker(self.user(CURATOR), ImportReport())
            self.collections(folders)
            self.cards(folders)
            services.expire_overdue_cards(self.now)
            # The expiry job stamps "now"; the cards really fell due on their due dates.
            for card in Card.objects.filter(verification_reason="expired"):
                Card.objects.filter(pk=card.pk).update(
                    needs_verification_since=card.next_verification_at
                )
            self.favourites()
            # Last: the searches run against the cards as they now stand.
            self.summary.searches = load_search_history(
                users=list(self.users.values()),
                curator=self.user(CURATOR),
                now=self.now,
                seed=SEED + 1,
            )
            # Then the training built on those cards, with learners at every stage.
            self.summary.programs = load_programs(
                users=list(self.users.values()), now=self.now, seed=SEED + 2
            ).programs
            # Last, the synthetic CRM and HR data: it reads who completed the onboarding.
            self.summary.opportunities = load_analytics().opportunities
        # The demo's flags are history: nobody needs their notification emails today.
        for job in Job.objects.filter(name="knowledge.notify_flag", state=Job.State.QUEUED):
            if job.payload.get("flag_id") in self.flag_ids:
                job.delete()
        return self.summary


def load_demo() -> DemoSummary:
    return Loader().load()
