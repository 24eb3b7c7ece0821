"""Two years of synthetic CRM and HR data for the Northwind Cloud demo.

About forty generated reps join the demo's own Sales, Customer Success and Support people
(who get teams, deals and quotas too, so their own scorecards are not empty): about sixty
reps, ~20,000 opportunities, hires and leavers, monthly quotas and stage history. It is
labelled synthetic everywhere a person could mistake it for real: the generated people have
`@synthetic.northwind.example` addresses, every account name ends in "(synthetic)", and the
import history shows runs from the source "demo" named "synthetic demo data"
(`synthetic.is_demo_data()`; the pages show `synthetic.SYNTHETIC_NOTICE`).

One effect is planted for the program impact views to find: reps hired after the launch of
*New-hire onboarding* who completed it reach their first closed-won deal sooner (median about
75 days against 110). The demo's own people keep the completions the programs loader gave
them; the generated reps' enrolments are written here, completed or still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from verity.accounts import access
from verity.accounts.models import Group, User
from verity.analytics import synthetic
from verity.learning.models import Enrollment, Program

DOMAIN = "@northwind.example"
ONBOARDING = "New-hire onboarding"
SEED = 20261127 + 3
SYNTHETIC_REPS = 42  # with the demo's own 23 customer-facing people: about 65 reps
OPPORTUNITIES = 20_000
ID_PREFIX = "NW"
# Each front-line manager's team; their reports (and the new reps of the team) join it.
MANAGER_TEAMS = {
    "jordan.price": "Sales East",
    "irina.volkova": "Sales West",
    "rachel.kim": "Customer Success",
    "hannah.schultz": "Support",
}
# The group whose cards a rep of each job function reads (their onboarding track needs it).
FUNCTION_GROUPS = {"sales": "Sales", "success": "Customer Success", "support": "Support"}


@dataclass
class AnalyticsSummary:
    reps: int = 0
    opportunities: int = 0
    truth: synthetic.Truth | None = None


def is_loaded() -> bool:
    return synthetic.is_demo_data()


def _offset(today: date, moment: date | datetime | None) -> float | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        local = timezone.localtime(moment)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return (local.date() - today).days + (local - midnight).total_seconds() / 86400
    return float((moment - today).days)


def _teams(people: list[User]) -> dict[int, str]:
    """The team of each demo person: their own if they lead one, else their manager's."""
    by_handle = {u.email.removesuffix(DOMAIN): u for u in people}
    lead = {by_handle[h].pk: team for h, team in MANAGER_TEAMS.items() if h in by_handle}
    teams = {}
    for person in people:
        team = lead.get(person.pk) or lead.get(person.manager_id or 0)
        if team:
            teams[person.pk] = team
    return teams


def existing_people(
    today: date, program: Program | None
) -> tuple[list[synthetic.Person], dict[str, int]]:
    """The demo's own customer-facing people as planned reps (with their onboarding
    completion), and the team → manager id map for the generated reps."""
    people = list(
        User.objects.filter(
            email__endswith=DOMAIN, job_function__in=list(FUNCTION_GROUPS)
        ).order_by("email")
    )
    teams = _teams(people)
    completed: dict[int, datetime] = {}
    if program is not None:
        for user_id, completed_at in Enrollment.objects.filter(
            program=program, completed_at__isnull=False
        ).values_list("user_id", "completed_at"):
            if completed_at is not None:
                completed[user_id] = min(completed_at, completed.get(user_id, completed_at))
    planned = []
    for person in people:
        if person.pk not in teams or person.hire_date is None:
            continue
        User.objects.filter(pk=person.pk).update(team=teams[person.pk])
        planned.append(
            synthetic.Person(
                index=0,
                email=person.email,
                name=person.name,
                team=teams[person.pk],
                job_function=person.job_function,
                hire=int((person.hire_date - today).days),
                user_id=person.pk,
                completed=person.pk in completed,
                completed_at=_offset(today, completed.get(person.pk)),
            )
        )
    by_handle = {u.email.removesuffix(DOMAIN): u.pk for u in people}
    managers = {team: by_handle[h] for h, team in MANAGER_TEAMS.items() if h in by_handle}
    return planned, managers


def load_analytics(*, seed: int = SEED) -> AnalyticsSummary:
    """Write the demo's synthetic CRM and HR data once (nothing when it is already there)."""
    if is_loaded():
        return AnalyticsSummary()
    today = timezone.localdate()
    program = Program.objects.filter(name=ONBOARDING, launched_at__isnull=False).first()
    with transaction.atomic():
        existing, managers = existing_people(today, program)
        truth = synthetic.generate(
            seed=seed,
            reps=SYNTHETIC_REPS,
            opportunities=OPPORTUNITIES,
            years=2,
            as_of=today,
            program=program,
            existing=existing,
            managers=managers,
            id_prefix=ID_PREFIX,
            label=synthetic.DEMO_FILE_NAME,
            source=synthetic.DEMO_SOURCE,
        )
        # The new reps still employed read their team's cards, like their colleagues.
        existing_ids = {p.user_id for p in existing}
        new_active = User.objects.filter(
            pk__in=[pk for pk in truth.rep_ids if pk not in existing_ids], is_active=True
        )
        groups = {g.name: g for g in Group.objects.filter(name__in=FUNCTION_GROUPS.values())}
        through = Group.members.through
        through.objects.bulk_create(
            [
                through(group_id=groups[FUNCTION_GROUPS[u.job_function]].pk, user_id=u.pk)
                for u in new_active
                if FUNCTION_GROUPS.get(u.job_function) in groups
            ],
            ignore_conflicts=True,
        )
        access.forget()  # memberships changed behind the services' back
    return AnalyticsSummary(reps=len(truth.rep_ids), opportunities=truth.opportunities, truth=truth)
