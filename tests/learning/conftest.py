"""The learning cast and a small program factory, shared by the learning tests.

People: `admin` (site admin), `enablement` (builds programs), `manager` (leadership) with two
reports `rep` (sales) and `rep2` (customer success), and an `outsider` (no manager, no reports).
`make_program(...)` builds a draft program with a shared track and optional role tracks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import pytest

from tests.conftest import make_user
from verity.accounts.models import JobFunction, SiteRole, User
from verity.knowledge import services as knowledge
from verity.knowledge.models import Card, Collection
from verity.learning import enrolment
from verity.learning.models import Program, Step, StepKind, Track, TrackRole

StepSpec = str | dict[str, Any]


@pytest.fixture
def admin(db: None) -> User:
    return make_user("admin@example.com", site_role=SiteRole.ADMIN, is_staff=True)


@pytest.fixture
def enablement(db: None) -> User:
    return make_user("enablement@example.com", job_function=JobFunction.ENABLEMENT)


@pytest.fixture
def manager(db: None) -> User:
    return make_user("manager@example.com", job_function=JobFunction.LEADERSHIP)


@pytest.fixture
def rep(manager: User) -> User:
    return make_user("rep@example.com", job_function=JobFunction.SALES, manager=manager)


@pytest.fixture
def rep2(manager: User) -> User:
    return make_user("rep2@example.com", job_function=JobFunction.SUCCESS, manager=manager)


@pytest.fixture
def outsider(db: None) -> User:
    return make_user("outsider@example.com")


@pytest.fixture
def collection(admin: User) -> Collection:
    return knowledge.collection_create(user=admin, name="Enablement")


@pytest.fixture
def card(admin: User, collection: Collection) -> Card:
    return knowledge.card_create(
        user=admin,
        collection=collection,
        title="Our product in one page",
        content="Verity keeps answers verified.",
    )


@pytest.fixture
def make_card(admin: User, collection: Collection) -> Callable[..., Card]:
    def make(title: str = "Another card", content: str = "Text.") -> Card:
        return knowledge.card_create(
            user=admin, collection=collection, title=title, content=content
        )

    return make


def _add_steps(track: Track, specs: Sequence[StepSpec], card: Card) -> None:
    for position, spec in enumerate(specs):
        fields: dict[str, Any] = {"kind": spec} if isinstance(spec, str) else dict(spec)
        kind = fields.setdefault("kind", StepKind.LESSON)
        fields.setdefault("title", f"{track.get_role_display()} {kind} {position + 1}")
        if kind == StepKind.CARD:
            fields.setdefault("card", card)
        Step.objects.create(track=track, position=fields.pop("position", position), **fields)


@pytest.fixture
def make_program(enablement: User, card: Card) -> Callable[..., Program]:
    """make_program(shared=["card", "lesson"], tracks={"sales": ["quiz"]}, audience_users=[rep],
    launch=True, now=..., **program fields). A step is a kind or a dict of Step fields;
    card steps read `card` unless given one. Returns the program (launched if asked)."""

    def make(
        *,
        shared: Sequence[StepSpec] = ("card", "lesson"),
        tracks: dict[str, Sequence[StepSpec]] | None = None,
        audience_users: Iterable[User] = (),
        audience_groups: Iterable[Any] = (),
        launch: bool = False,
        now: datetime | None = None,
        **fields: Any,
    ) -> Program:
        fields.setdefault("name", "Onboarding")
        fields.setdefault("owner", enablement)
        program = Program.objects.create(**fields)
        program.audience_users.set(list(audience_users))
        program.audience_groups.set(list(audience_groups))
        _add_steps(Track.objects.create(program=program, role=TrackRole.SHARED), shared, card)
        for role, specs in (tracks or {}).items():
            _add_steps(Track.objects.create(program=program, role=role), specs, card)
        if launch:
            enrolment.program_launch(user=enablement, program=program, now=now)
            program.refresh_from_db()
        return program

    return make
