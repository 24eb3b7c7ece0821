"""The only door to protected rows.

Every page, list, search, API response and export reaches cards and collections through
these functions, so the permission rule lives in one place and is enforced inside the
query (never by filtering a page afterwards). A row the user cannot read is a 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from typing_extensions import TypeIs  # pydantic's dependency; in typing from 3.13

from verity.accounts.models import Group, JobFunction, User
from verity.knowledge.models import (
    ROLE_RANK,
    AccessRole,
    Card,
    Collection,
    Folder,
)
from verity.learning.models import Enrollment, Program

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    AnyUser = User | AnonymousUser
else:
    AnyUser = Any


@dataclass(frozen=True)
class Grants:
    """What one user holds: collection id → strongest role, and the groups they belong to."""

    roles: dict[int, str]
    group_ids: frozenset[int]

    def collection_ids(self, role: str) -> list[int]:
        wanted = ROLE_RANK[AccessRole(role)]
        return [cid for cid, held in self.roles.items() if ROLE_RANK[AccessRole(held)] >= wanted]


# Grants are read once per request (two small queries) instead of joining group membership
# into every query. Outside a request (commands, workers, tests) nothing is cached, so a
# change of access is always seen; inside one, services that change access call forget().
_request_grants: ContextVar[dict[int, Grants] | None] = ContextVar("verity_grants", default=None)


@contextmanager
def grants_cache() -> Iterator[None]:
    """Read each user's grants once inside the block (a request, or one search that asks
    several times); inside an outer block, that block's cache serves."""
    if _request_grants.get() is not None:
        yield
        return
    token = _request_grants.set({})
    try:
        yield
    finally:
        _request_grants.reset(token)


def forget() -> None:
    """Drop cached grants after access changed in the middle of a request."""
    cache = _request_grants.get()
    if cache is not None:
        cache.clear()


def grants_of(user: User) -> Grants:
    cache = _request_grants.get()
    if cache is not None and user.pk in cache:
        return cache[user.pk]
    roles: dict[int, str] = {}
    group_ids: set[int] = set()
    # One query: each of the user's groups, joined with its grants (if any).
    rows = Group.objects.filter(members=user).values_list(
        "pk", "collection_access__collection_id", "collection_access__role"
    )
    for group_id, collection_id, role in rows:
        group_ids.add(group_id)
        if collection_id is None:
            continue
        held = roles.get(collection_id)
        if held is None or ROLE_RANK[AccessRole(role)] > ROLE_RANK[AccessRole(held)]:
            roles[collection_id] = role
    grants = Grants(roles=roles, group_ids=frozenset(group_ids))
    if cache is not None:
        cache[user.pk] = grants
    return grants


def _is_member(user: AnyUser) -> TypeIs[User]:
    """A signed-in, active person (anonymous visitors and deactivated accounts see nothing)."""
    return bool(user.is_authenticated and user.is_active)


def collections_for(user: AnyUser, role: str = AccessRole.READ) -> QuerySet[Collection]:
    """Collections where `user` holds at least `role` (admins hold curate everywhere)."""
    if not _is_member(user):
        return Collection.objects.none()
    if user.is_site_admin:
        return Collection.objects.all()
    return Collection.objects.filter(pk__in=grants_of(user).collection_ids(role))


def readable_collection_ids(user: AnyUser) -> list[int] | None:
    """Ids of the collections `user` can read; None means every collection (admins). For
    code that filters outside SQL, such as the in-memory vector index."""
    if not _is_member(user):
        return []
    if user.is_site_admin:
        return None
    return grants_of(user).collection_ids(AccessRole.READ)


def cards_for(
    user: AnyUser, role: str = AccessRole.READ, include_archived: bool = False
) -> QuerySet[Card]:
    """Cards in collections where `user` holds at least `role`."""
    if not _is_member(user):
        return Card.objects.none()
    cards = Card.objects.all()
    if not user.is_site_admin:
        cards = cards.filter(collection_id__in=grants_of(user).collection_ids(role))
    if not include_archived:
        cards = cards.filter(archived_at__isnull=True)
    return cards


def folders_for(user: AnyUser, role: str = AccessRole.READ) -> QuerySet[Folder]:
    return Folder.objects.filter(collection__in=collections_for(user, role).values("pk"))


def collection_role(user: AnyUser, collection: Collection) -> str | None:
    """The strongest role `user` holds on `collection`, or None."""
    if not _is_member(user):
        return None
    if user.is_site_admin:
        return AccessRole.CURATE
    return grants_of(user).roles.get(collection.pk)


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
    try:
        card = (
            cards_for(user, include_archived=include_archived)
            .select_related(
                "collection", "owner", "verifier_user", "verifier_group", "last_verified_by"
            )
            .get(pk=card_pk)
        )
    except Card.DoesNotExist:
        raise Http404("No such card") from None
    if role != AccessRole.READ and not has_role(user, card.collection, role):
        raise PermissionDenied
    return card


def is_verifier(user: AnyUser, card: Card) -> bool:
    """The verifier is a person or every member of a group."""
    if not _is_member(user):
        return False
    if card.verifier_user_id is not None:
        return bool(card.verifier_user_id == user.pk)
    if card.verifier_group_id is not None:
        return card.verifier_group_id in grants_of(user).group_ids
    return False


def can_verify(user: AnyUser, card: Card) -> bool:
    """Verifiers verify their cards; curators of the collection may verify on their behalf."""
    return is_verifier(user, card) or has_role(user, card.collection, AccessRole.CURATE)


def can_see_search_insights(user: AnyUser) -> bool:
    """Search insights (what people look for and do not find) are for the people who can fix
    the gaps: site admins and anyone curating at least one collection."""
    if not _is_member(user):
        return False
    if user.is_site_admin:
        return True
    return any(role == AccessRole.CURATE for role in grants_of(user).roles.values())


def require(condition: bool) -> None:
    if not condition:
        raise PermissionDenied


def require_site_admin(user: AnyUser) -> None:
    require(bool(user.is_authenticated and user.is_site_admin))


# --- Enablement programs -------------------------------------------------------------------
# Programs are built and reported on by the enablement team (site admins and people whose job
# function is enablement) and by each program's owner. Learners see their own progress;
# managers see their direct reports'. Survey answers are shown without names to everyone but
# site admins.


def can_build_programs(user: AnyUser) -> bool:
    """May create programs (and so see the program list and the builder)."""
    if not _is_member(user):
        return False
    return user.is_site_admin or user.job_function == JobFunction.ENABLEMENT


def can_manage_program(user: AnyUser, program: Program) -> bool:
    """May edit the program, enrol and release people, and read its full report."""
    if not _is_member(user):
        return False
    return can_build_programs(user) or program.owner_id == user.pk


def programs_for(user: AnyUser) -> QuerySet[Program]:
    """Programs `user` may open: all for the enablement team; otherwise the ones they own,
    are enrolled in, or whose learners include one of their direct reports."""
    if not _is_member(user):
        return Program.objects.none()
    if can_build_programs(user):
        return Program.objects.all()
    return Program.objects.filter(
        Q(owner=user)
        | Q(pk__in=Enrollment.objects.filter(user=user).values("program_id"))
        | Q(pk__in=Enrollment.objects.filter(user__manager=user).values("program_id"))
    ).distinct()


def get_program_for(user: AnyUser, pk: Any, manage: bool = False) -> Program:
    """The program, or 404 if `user` may not open it, or 403 if `manage` is asked and missing."""
    try:
        program_pk = int(pk)
    except (TypeError, ValueError):
        raise Http404("No such program") from None
    program = programs_for(user).filter(pk=program_pk).select_related("owner").first()
    if program is None:
        raise Http404("No such program")
    if manage and not can_manage_program(user, program):
        raise PermissionDenied
    return program


def enrollments_visible_to(user: AnyUser, program: Program | None = None) -> QuerySet[Enrollment]:
    """Enrolments whose progress and scores `user` may see: every one in programs they
    manage; otherwise their own and their direct reports'."""
    enrollments = Enrollment.objects.all()
    if program is not None:
        enrollments = enrollments.filter(program=program)
    if not _is_member(user):
        return enrollments.none()
    if can_build_programs(user):
        return enrollments
    return enrollments.filter(Q(user=user) | Q(user__manager=user) | Q(program__owner=user))


def can_see_enrollment(user: AnyUser, enrollment: Enrollment) -> bool:
    return enrollments_visible_to(user).filter(pk=enrollment.pk).exists()


def can_review_practice(user: AnyUser, enrollment: Enrollment) -> bool:
    """A practice task is scored by the learner's manager (or the program's managers when
    the learner has no manager)."""
    if not _is_member(user):
        return False
    learner_manager_id = enrollment.user.manager_id
    if learner_manager_id is not None:
        return bool(learner_manager_id == user.pk) or user.is_site_admin
    return can_manage_program(user, enrollment.program)


def can_see_respondents(user: AnyUser) -> bool:
    """Who wrote which survey answer: site admins only."""
    return bool(_is_member(user) and user.is_site_admin)


# --- Impact analytics ----------------------------------------------------------------------
# Company-wide numbers (team overview, program impact, ROI) are for site admins, the
# enablement team and leadership. Everyone sees their own scorecard; managers see the
# scorecards of everyone below them. Only site admins import data and change definitions.


def can_see_analytics(user: AnyUser) -> bool:
    if not _is_member(user):
        return False
    return user.is_site_admin or user.job_function in (
        JobFunction.ENABLEMENT,
        JobFunction.LEADERSHIP,
    )


def can_manage_analytics(user: AnyUser) -> bool:
    """May import CRM and HR data and edit metric definitions."""
    return bool(_is_member(user) and user.is_site_admin)


def reports_below(user: User) -> set[int]:
    """Ids of everyone below `user` in the org chart (direct and indirect reports)."""
    found: set[int] = set()
    frontier = {user.pk}
    while frontier:
        below = (
            set(User.objects.filter(manager_id__in=frontier).values_list("pk", flat=True))
            - found
            - {user.pk}
        )
        found |= below
        frontier = below
    return found


def scorecard_people_for(user: AnyUser) -> set[int] | None:
    """Whose rep scorecards `user` may open: None means everyone's."""
    if not _is_member(user):
        return set()
    if can_see_analytics(user):
        return None
    return reports_below(user) | {user.pk}


def can_see_scorecard(user: AnyUser, person: User) -> bool:
    allowed = scorecard_people_for(user)
    return allowed is None or person.pk in allowed


def get_scorecard_person_for(user: AnyUser, pk: Any) -> User:
    """The person whose scorecard `user` asks for, or 404 (unknown or not theirs to see)."""
    try:
        person_pk = int(pk)
    except (TypeError, ValueError):
        raise Http404("No such person") from None
    person = User.objects.filter(pk=person_pk).first()
    if person is None or not can_see_scorecard(user, person):
        raise Http404("No such person")
    return person
