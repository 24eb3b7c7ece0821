"""Reads for the learning pages: a learner's progress and certificates, a manager's team,
and the program views (who waits on whom, who caught up with changed cards).

These return data, not permissions: callers pass objects they already checked through
verity.accounts.access (a learner's own enrolments, a manager's reports, a managed program).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from verity.accounts.models import User
from verity.knowledge.models import Card
from verity.learning.enrolment import learner_steps
from verity.learning.models import (
    Enrollment,
    EnrollmentState,
    Program,
    ProgramStatus,
    Step,
    StepKind,
    StepProgress,
)

# "Due soon" on My learning: the same window as the reminder email.


def _due_soon_window() -> timedelta:
    return timedelta(days=settings.VERITY_LEARNING_REMINDER_DAYS)


# --- One enrolment -------------------------------------------------------------------------------


@dataclass
class Progress:
    done: int  # required steps done
    required: int
    next_step: Step | None  # the first step (in order) not done yet
    reread: list[Step]  # steps done on a card that has changed since
    steps: list[Step]
    done_ids: set[int]

    @property
    def percent(self) -> int:
        if not self.required:
            return 100
        return round(100 * self.done / self.required)


def enrollment_progress(
    enrollment: Enrollment,
    steps: list[Step] | None = None,
    progress_rows: list[StepProgress] | None = None,
) -> Progress:
    """Done / required counts, the next step and the steps to re-read. `steps` and
    `progress_rows` may be passed when the caller loaded them for many enrolments."""
    if steps is None:
        steps = learner_steps(enrollment)
    if progress_rows is None:
        progress_rows = list(StepProgress.objects.filter(enrollment=enrollment))
    done_ids = {p.step_id for p in progress_rows if p.completed_at is not None}
    reread_ids = {p.step_id for p in progress_rows if p.needs_reread}
    required = [s for s in steps if s.required]
    return Progress(
        done=sum(1 for s in required if s.pk in done_ids),
        required=len(required),
        next_step=next((s for s in steps if s.pk not in done_ids), None),
        reread=[s for s in steps if s.pk in reread_ids],
        steps=steps,
        done_ids=done_ids,
    )


@dataclass
class EnrollmentRow:
    """An enrolment as shown in lists: its derived state and progress."""

    enrollment: Enrollment
    state: str  # display state: overdue is derived from the due date
    progress: Progress

    @property
    def program(self) -> Program:
        return self.enrollment.program

    @property
    def overdue(self) -> bool:
        return self.state == EnrollmentState.OVERDUE


def _rows(enrollments: QuerySet[Enrollment], now: datetime) -> list[EnrollmentRow]:
    """Rows for many enrolments in a few queries (steps are shared per program and track)."""
    enrollments_list = list(enrollments.select_related("program", "user", "waiting_on"))
    progress_by_enrollment: dict[int, list[StepProgress]] = defaultdict(list)
    for row in StepProgress.objects.filter(enrollment__in=[e.pk for e in enrollments_list]):
        progress_by_enrollment[row.enrollment_id].append(row)
    steps_cache: dict[tuple[int, str], list[Step]] = {}
    rows = []
    for enrollment in enrollments_list:
        key = (enrollment.program_id, enrollment.track_role)
        if key not in steps_cache:
            steps_cache[key] = learner_steps(enrollment)
        rows.append(
            EnrollmentRow(
                enrollment=enrollment,
                state=enrollment.display_state(now),
                progress=enrollment_progress(
                    enrollment, steps_cache[key], progress_by_enrollment[enrollment.pk]
                ),
            )
        )
    return rows


def current_enrollments_of(user: User) -> QuerySet[Enrollment]:
    """This cycle's enrolments in programs that run (or ran: completed ones stay visible)."""
    return (
        Enrollment.objects.filter(user=user, superseded=False)
        .exclude(program__status=ProgramStatus.DRAFT)
        .exclude(Q(program__status=ProgramStatus.ARCHIVED) & ~Q(state=EnrollmentState.COMPLETED))
        .order_by(F("due_at").asc(nulls_last=True), "enrolled_at", "pk")
    )


# --- Certificates --------------------------------------------------------------------------------


@dataclass
class Certificate:
    program: Program
    enrollment: Enrollment
    completed_at: datetime
    expires_at: datetime | None
    valid: bool


def certificates_of(user: User, now: datetime | None = None) -> list[Certificate]:
    """The latest completion of each program with recertification. A lapsed one (superseded
    by the next cycle, or past its expiry) is shown as expired until completed again."""
    moment = now or timezone.now()
    completed = (
        Enrollment.objects.filter(
            user=user,
            state=EnrollmentState.COMPLETED,
            completed_at__isnull=False,
            program__recertify_months__isnull=False,
        )
        .select_related("program")
        .order_by("program_id", "-cycle")
    )
    latest: dict[int, Enrollment] = {}
    for enrollment in completed:
        latest.setdefault(enrollment.program_id, enrollment)
    certificates = [
        Certificate(
            program=e.program,
            enrollment=e,
            completed_at=e.completed_at,  # type: ignore[arg-type]  # filtered not null
            expires_at=e.expires_at,
            valid=not e.superseded and (e.expires_at is None or e.expires_at > moment),
        )
        for e in latest.values()
    ]
    return sorted(certificates, key=lambda c: (not c.valid, c.program.name))


# --- My learning ---------------------------------------------------------------------------------


@dataclass
class MyLearning:
    overdue: list[EnrollmentRow] = field(default_factory=list)
    due_soon: list[EnrollmentRow] = field(default_factory=list)
    in_progress: list[EnrollmentRow] = field(default_factory=list)
    not_started: list[EnrollmentRow] = field(default_factory=list)
    waiting: list[EnrollmentRow] = field(default_factory=list)
    completed: list[EnrollmentRow] = field(default_factory=list)
    certificates: list[Certificate] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not any(
            (
                self.overdue,
                self.due_soon,
                self.in_progress,
                self.not_started,
                self.waiting,
                self.completed,
            )
        )


def my_learning(user: User, now: datetime | None = None) -> MyLearning:
    """A learner's enrolments sorted into the sections of "My learning" (each enrolment is in
    exactly one: overdue, due soon, in progress, not started, waiting, completed)."""
    moment = now or timezone.now()
    result = MyLearning(certificates=certificates_of(user, moment))
    soon = moment + _due_soon_window()
    for row in _rows(current_enrollments_of(user), moment):
        enrollment = row.enrollment
        if row.state == EnrollmentState.OVERDUE:
            result.overdue.append(row)
        elif row.state == EnrollmentState.WAITING:
            result.waiting.append(row)
        elif row.state == EnrollmentState.COMPLETED:
            result.completed.append(row)
        elif enrollment.due_at is not None and enrollment.due_at <= soon:
            result.due_soon.append(row)
        elif row.state == EnrollmentState.IN_PROGRESS:
            result.in_progress.append(row)
        else:
            result.not_started.append(row)
    result.completed.sort(key=lambda r: r.enrollment.completed_at or moment, reverse=True)
    return result


# --- My team -------------------------------------------------------------------------------------


@dataclass
class TeamMember:
    user: User
    rows: list[EnrollmentRow]

    @property
    def overdue_count(self) -> int:
        return sum(1 for row in self.rows if row.overdue)


def team_overview(manager: User, now: datetime | None = None) -> list[TeamMember]:
    """Each active direct report with their current enrolments, progress, score and whether
    they are overdue."""
    moment = now or timezone.now()
    reports = list(User.objects.filter(manager=manager, is_active=True))
    enrollments = (
        Enrollment.objects.filter(user__in=reports, superseded=False)
        .exclude(program__status=ProgramStatus.DRAFT)
        .order_by(F("due_at").asc(nulls_last=True), "pk")
    )
    by_user: dict[int, list[EnrollmentRow]] = defaultdict(list)
    for row in _rows(enrollments, moment):
        by_user[row.enrollment.user_id].append(row)
    return [TeamMember(user=person, rows=by_user[person.pk]) for person in reports]


# --- Program views -------------------------------------------------------------------------------


class WaitingGroup(NamedTuple):
    manager: User
    enrollment: Enrollment | None  # the manager's own enrolment (None if they left it)
    reports: list[User]


def waiting_on_whom(program: Program) -> list[WaitingGroup]:
    """Leaders first: each manager with the reports still waiting for them to complete."""
    waiting = (
        Enrollment.objects.filter(program=program, state=EnrollmentState.WAITING, superseded=False)
        .exclude(waiting_on=None)
        .select_related("user", "waiting_on")
        .order_by("user__name", "user__email")
    )
    reports: dict[int, list[User]] = defaultdict(list)
    managers: dict[int, User] = {}
    for enrollment in waiting:
        manager = enrollment.waiting_on
        assert manager is not None  # excluded above
        managers[manager.pk] = manager
        reports[manager.pk].append(enrollment.user)
    own = {
        e.user_id: e
        for e in Enrollment.objects.filter(
            program=program, user_id__in=list(managers), superseded=False
        )
    }
    groups = [WaitingGroup(managers[pk], own.get(pk), reports[pk]) for pk in managers]
    return sorted(groups, key=lambda g: (g.manager.display_name.lower(), g.manager.pk))


class RereadCount(NamedTuple):
    step: Step
    completed: int  # learners who acknowledged the card (any version)
    needs_reread: int  # ... whose version is older than the card's
    caught_up: int  # ... who acknowledged the current version


def reread_counts(program: Program) -> list[RereadCount]:
    """Per card step: how many learners completed it and how many caught up since the card
    last changed."""
    steps = (
        Step.objects.filter(track__program=program, kind=StepKind.CARD)
        .select_related("track", "card")
        .annotate(
            n_completed=Count(
                "progress",
                filter=Q(
                    progress__completed_at__isnull=False,
                    progress__enrollment__superseded=False,
                ),
            ),
            n_reread=Count(
                "progress",
                filter=Q(
                    progress__completed_at__isnull=False,
                    progress__needs_reread=True,
                    progress__enrollment__superseded=False,
                ),
            ),
        )
    )
    ordered = sorted(steps, key=lambda s: (not s.track.is_shared, s.track.role, s.position, s.pk))
    counts = []
    for step in ordered:
        completed: int = step.n_completed  # type: ignore[attr-defined]  # annotated above
        stale: int = step.n_reread  # type: ignore[attr-defined]
        counts.append(RereadCount(step, completed, stale, completed - stale))
    return counts


def programs_using_card(card: Card) -> QuerySet[Program]:
    """Draft and active programs with a step on this card (archiving it would break them)."""
    return (
        Program.objects.filter(
            status__in=[ProgramStatus.DRAFT, ProgramStatus.ACTIVE], tracks__steps__card=card
        )
        .distinct()
        .order_by("name")
    )
