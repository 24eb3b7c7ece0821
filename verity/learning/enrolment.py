"""Writes for enrolments: who is enrolled in a program, when they are released, and what they
have done. Every function runs in one transaction; the ones a person triggers take `user`
and check access through verity.accounts.access.

Leaders first: managers of the audience are enrolled and released at once; their reports
wait (state WAITING, waiting_on = manager) until the manager completes the program or the
program's release date is reached, whichever comes first.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from verity.accounts import access
from verity.accounts.models import User
from verity.core import jobs
from verity.learning.models import (
    Enrollment,
    EnrollmentReason,
    EnrollmentState,
    Program,
    ProgramStatus,
    Step,
    StepKind,
    StepProgress,
    Track,
    TrackRole,
)

# Time on a step counts at most this long per visit: a tab left open overnight is not study.
MAX_STEP_VISIT = timedelta(minutes=30)


# --- Dates -----------------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus calendar months, clamped to the month's last day (Jan 31 + 1 = Feb 28/29)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def end_of_day(day: date) -> datetime:
    """The last moment of `day` in the site's time zone."""
    return timezone.make_aware(datetime.combine(day, time.max), timezone.get_default_timezone())


def due_at_for(program: Program, released_at: datetime) -> datetime | None:
    """The due rule applied to an enrolment released at `released_at`."""
    if program.due_days is not None:
        return released_at + timedelta(days=program.due_days)
    if program.due_date is not None:
        return end_of_day(program.due_date)
    return None


# --- Audience and tracks -----------------------------------------------------------------------


def audience_of(program: Program, now: datetime | None = None) -> QuerySet[User]:
    """Active people matching any of the program's audience rules."""
    moment = now or timezone.now()
    today = timezone.localdate(moment)
    rule = Q(pk__in=[])  # matches nobody: the rules below widen it
    if program.audience_functions:
        rule |= Q(job_function__in=list(program.audience_functions))
    if program.pk is not None:
        rule |= Q(pk__in=program.audience_users.values("pk")) | Q(
            pk__in=User.objects.filter(member_groups__programs=program).values("pk")
        )
    if program.audience_new_hires:
        # New hires from the launch on, each once their hire date has come.
        launched = timezone.localdate(program.launched_at) if program.launched_at else today
        rule |= Q(hire_date__gte=launched, hire_date__lte=today)
    return User.objects.filter(rule, is_active=True)


def track_role_for(program: Program, user: User) -> str:
    """The role track `user` follows after the shared one, or "" when the program has none
    for their job function."""
    if user.job_function not in TrackRole.values:  # enablement, other: shared track only
        return ""
    if Track.objects.filter(program=program, role=user.job_function).exists():
        return str(user.job_function)
    return ""


def learner_steps(enrollment: Enrollment) -> list[Step]:
    """The learner's steps: the shared track in order, then their role track."""
    roles = [TrackRole.SHARED.value]
    if enrollment.track_role:
        roles.append(enrollment.track_role)
    steps = Step.objects.filter(
        track__program_id=enrollment.program_id, track__role__in=roles
    ).select_related("track", "card")
    return sorted(steps, key=lambda s: (not s.track.is_shared, s.position, s.pk))


def current_enrollment(program: Program, user: User) -> Enrollment | None:
    """The enrolment of this certification cycle (older cycles are superseded history)."""
    return Enrollment.objects.filter(program=program, user=user, superseded=False).first()


# --- Enrolling and releasing ---------------------------------------------------------------------


def _enrol(
    program: Program,
    user: User,
    now: datetime,
    *,
    reason: str,
    waiting_on: User | None = None,
    track_role: str | None = None,
) -> Enrollment:
    last_cycle = Enrollment.objects.filter(program=program, user=user).aggregate(c=Max("cycle"))
    waiting = waiting_on is not None
    return Enrollment.objects.create(
        program=program,
        user=user,
        cycle=(last_cycle["c"] or 0) + 1,
        reason=reason,
        track_role=track_role_for(program, user) if track_role is None else track_role,
        state=EnrollmentState.WAITING if waiting else EnrollmentState.NOT_STARTED,
        waiting_on=waiting_on,
        enrolled_at=now,
        released_at=None if waiting else now,
        due_at=None if waiting else due_at_for(program, now),
    )


def _release(enrollment: Enrollment, now: datetime) -> None:
    enrollment.state = EnrollmentState.NOT_STARTED
    enrollment.released_at = now
    enrollment.due_at = due_at_for(enrollment.program, now)
    enrollment.save(update_fields=["state", "released_at", "due_at"])


def _release_date_reached(program: Program, now: datetime) -> bool:
    return program.release_date is not None and timezone.localdate(now) >= program.release_date


@transaction.atomic
def sync_audience(program: Program, now: datetime | None = None) -> list[Enrollment]:
    """Enrol everyone in the audience (and, leaders first, their managers) who has no current
    enrolment. Safe to run again: people already enrolled are left alone. Returns the new
    enrolments."""
    moment = now or timezone.now()
    if program.status != ProgramStatus.ACTIVE:
        return []
    audience = list(audience_of(program, moment))
    audience_ids = {person.pk for person in audience}
    current = {
        e.user_id: e
        for e in Enrollment.objects.filter(program=program, superseded=False).select_related(
            "program"
        )
    }
    created: list[Enrollment] = []

    managers_of_audience: set[int] = set()
    if program.leaders_first:
        managers_of_audience = {p.manager_id for p in audience if p.manager_id is not None}
        leaders = User.objects.filter(pk__in=managers_of_audience, is_active=True)
        for leader in leaders:
            if leader.pk not in current:
                reason = (
                    EnrollmentReason.AUDIENCE
                    if leader.pk in audience_ids
                    else EnrollmentReason.LEADER
                )
                enrollment = _enrol(program, leader, moment, reason=reason)
                current[leader.pk] = enrollment
                created.append(enrollment)

    released_anyway = _release_date_reached(program, moment)
    for person in audience:
        if person.pk in current:
            continue
        waiting_on = None
        manager_enrollment = current.get(person.manager_id) if person.manager_id else None
        if (
            program.leaders_first
            and manager_enrollment is not None
            and person.pk not in managers_of_audience
            and manager_enrollment.state != EnrollmentState.COMPLETED
            and not released_anyway
        ):
            waiting_on = manager_enrollment.user
        enrollment = _enrol(
            program, person, moment, reason=EnrollmentReason.AUDIENCE, waiting_on=waiting_on
        )
        current[person.pk] = enrollment
        created.append(enrollment)
    return created


@transaction.atomic
def release_due(now: datetime | None = None, program: Program | None = None) -> int:
    """Release every waiting enrolment whose program's release date has come, and those with
    nobody left to wait for (leaders first switched off, the manager deactivated or deleted).
    Returns how many were released."""
    moment = now or timezone.now()
    waiting = Enrollment.objects.filter(
        Q(program__release_date__lte=timezone.localdate(moment))
        | Q(program__leaders_first=False)
        | Q(waiting_on__isnull=True)
        | Q(waiting_on__is_active=False),
        state=EnrollmentState.WAITING,
        superseded=False,
        program__status=ProgramStatus.ACTIVE,
    ).select_related("program")
    if program is not None:
        waiting = waiting.filter(program=program)
    count = 0
    for enrollment in waiting:
        _release(enrollment, moment)
        count += 1
    return count


def _release_reports(enrollment: Enrollment, now: datetime) -> int:
    """Leaders first: the learner completed, so the reports waiting on them may start."""
    waiting = Enrollment.objects.filter(
        program_id=enrollment.program_id,
        state=EnrollmentState.WAITING,
        superseded=False,
        waiting_on_id=enrollment.user_id,
    ).select_related("program")
    count = 0
    for report in waiting:
        _release(report, now)
        count += 1
    return count


@transaction.atomic
def program_launch(*, user: User, program: Program, now: datetime | None = None) -> Program:
    """Assign a draft program: it becomes active and its audience is enrolled."""
    if not access.can_manage_program(user, program):
        raise PermissionDenied
    if program.status != ProgramStatus.DRAFT:
        raise ValidationError(_("Only a draft program can be launched."))
    if not Step.objects.filter(track__program=program).exists():
        raise ValidationError(_("Add at least one step before launching the program."))
    moment = now or timezone.now()
    program.status = ProgramStatus.ACTIVE
    program.launched_at = moment
    program.save(update_fields=["status", "launched_at", "updated_at"])
    sync_audience(program, moment)
    release_due(moment, program=program)
    return program


@transaction.atomic
def program_archive(*, user: User, program: Program) -> Program:
    """Close a program: nobody new is enrolled, reminders stop, the history stays."""
    if not access.can_manage_program(user, program):
        raise PermissionDenied
    program.status = ProgramStatus.ARCHIVED
    program.save(update_fields=["status", "updated_at"])
    return program


@transaction.atomic
def join_team_training(
    *, manager: User, program: Program, now: datetime | None = None
) -> Enrollment:
    """A manager takes the training one of their reports is enrolled in."""
    moment = now or timezone.now()
    if program.status != ProgramStatus.ACTIVE:
        raise ValidationError(_("This program is not running."))
    if not Enrollment.objects.filter(
        program=program, user__manager=manager, superseded=False
    ).exists():
        raise PermissionDenied
    existing = current_enrollment(program, manager)
    if existing is not None:
        return existing
    return _enrol(program, manager, moment, reason=EnrollmentReason.JOINED)


# --- Progress ----------------------------------------------------------------------------------


def _count_time(progress: StepProgress, enrollment: Enrollment, now: datetime) -> None:
    """Add the time since the step was opened (capped) and start counting again from now,
    so calling this twice never counts the same minutes twice."""
    if progress.opened_at is None or now <= progress.opened_at:
        return
    seconds = int(min(now - progress.opened_at, MAX_STEP_VISIT).total_seconds())
    progress.time_spent_seconds += seconds
    enrollment.time_spent_seconds += seconds
    progress.opened_at = now


def _check_learnable(enrollment: Enrollment, step: Step) -> None:
    if enrollment.superseded:
        raise ValidationError(_("This enrolment has been replaced by a newer one."))
    if enrollment.state == EnrollmentState.WAITING:
        raise ValidationError(_("This training starts once your manager has completed it."))
    if step.pk not in {s.pk for s in learner_steps(enrollment)}:
        raise ValidationError(_("This step is not part of your training."))


def _locked(enrollment: Enrollment) -> Enrollment:
    """The row, locked for this transaction: two steps finished at once must not both decide
    the enrolment is still in progress (or both release the reports)."""
    return Enrollment.objects.select_for_update().select_related("program").get(pk=enrollment.pk)


def _start(enrollment: Enrollment, now: datetime) -> None:
    if enrollment.started_at is None:
        enrollment.started_at = now
    if enrollment.state == EnrollmentState.NOT_STARTED:
        enrollment.state = EnrollmentState.IN_PROGRESS


@transaction.atomic
def open_step(enrollment: Enrollment, step: Step, now: datetime | None = None) -> StepProgress:
    """The learner opened a step: the enrolment is started and the visit's clock runs."""
    moment = now or timezone.now()
    given = enrollment
    enrollment = _locked(enrollment)
    _check_learnable(enrollment, step)
    progress, _created = StepProgress.objects.get_or_create(enrollment=enrollment, step=step)
    # A step left open elsewhere: count that visit before starting a new one.
    _count_time(progress, enrollment, moment)
    progress.opened_at = moment
    progress.save()
    _start(enrollment, moment)
    enrollment.save(update_fields=["started_at", "state", "time_spent_seconds"])
    given.refresh_from_db()
    return progress


def quiz_score_of(enrollment: Enrollment) -> float | None:
    """The enrolment's score: the mean of the learner's best score on each quiz taken,
    passed or not."""
    scores = [
        p.score
        for p in StepProgress.objects.filter(
            enrollment=enrollment, step__kind=StepKind.QUIZ, score__isnull=False
        )
        if p.score is not None
    ]
    return sum(scores) / len(scores) if scores else None


def _all_required_done(enrollment: Enrollment) -> bool:
    required = [s.pk for s in learner_steps(enrollment) if s.required]
    done = set(
        StepProgress.objects.filter(
            enrollment=enrollment, step_id__in=required, completed_at__isnull=False
        ).values_list("step_id", flat=True)
    )
    return all(pk in done for pk in required)


@transaction.atomic
def complete_step(
    *,
    enrollment: Enrollment,
    step: Step,
    now: datetime | None = None,
    score: float | None = None,
    passed: bool | None = None,
) -> StepProgress:
    """Record that the learner finished a step (read the card, took the quiz, ...).

    Quizzes keep the best score and count as done only once an attempt passed. A card step
    stores the card version acknowledged, which also clears "updated — re-read". When every
    required step is done the enrolment is completed: score, certification expiry and, leaders
    first, the reports waiting on this learner are released.
    """
    moment = now or timezone.now()
    given = enrollment
    enrollment = _locked(enrollment)
    _check_learnable(enrollment, step)
    progress, _created = StepProgress.objects.get_or_create(enrollment=enrollment, step=step)
    _count_time(progress, enrollment, moment)
    progress.opened_at = None  # the visit ends here: reopening later starts a new one

    done = True
    if step.kind == StepKind.QUIZ:
        if score is not None:
            progress.score = score if progress.score is None else max(progress.score, score)
        if passed is not None:
            progress.passed = bool(progress.passed) or passed
        done = bool(progress.passed)
    if step.kind == StepKind.CARD and step.card is not None:
        step.card.refresh_from_db(fields=["version"])
        if progress.needs_reread:
            progress.completed_at = moment  # acknowledged again: this is the new reading
        progress.card_version = step.card.version
        progress.needs_reread = False
    if done and progress.completed_at is None:
        progress.completed_at = moment
    progress.save()

    _start(enrollment, moment)
    if step.kind == StepKind.QUIZ:
        enrollment.score = quiz_score_of(enrollment)
    newly_completed = enrollment.state != EnrollmentState.COMPLETED and _all_required_done(
        enrollment
    )
    if newly_completed:
        enrollment.state = EnrollmentState.COMPLETED
        enrollment.completed_at = moment
        enrollment.score = quiz_score_of(enrollment)
        months = enrollment.program.recertify_months
        enrollment.expires_at = add_months(moment, months) if months else None
    enrollment.save()
    if newly_completed:
        _release_reports(enrollment, moment)
    given.refresh_from_db()
    return progress


# --- Certification -------------------------------------------------------------------------------


def lapsed_enrollments(now: datetime) -> QuerySet[Enrollment]:
    return Enrollment.objects.filter(
        state=EnrollmentState.COMPLETED,
        superseded=False,
        expires_at__isnull=False,
        expires_at__lte=now,
    ).select_related("program", "user")


@transaction.atomic
def lapse_certifications(now: datetime | None = None) -> list[Enrollment]:
    """Certifications past their expiry: the completed row becomes history and the learner
    starts the next cycle (same track). Returns the new enrolments; archived programs and
    people who left only lose the certificate."""
    moment = now or timezone.now()
    created: list[Enrollment] = []
    for old in lapsed_enrollments(moment):
        old.superseded = True
        old.save(update_fields=["superseded"])
        program = old.program
        if program.status != ProgramStatus.ACTIVE or not old.user.is_active:
            continue
        new = _enrol(
            program,
            old.user,
            moment,
            reason=EnrollmentReason.RECERTIFICATION,
            track_role=old.track_role,
        )
        if new.due_at is not None and new.due_at < moment:
            # A fixed due date meant for the first round has passed: no due date this cycle.
            new.due_at = None
            new.save(update_fields=["due_at"])
        jobs.enqueue("learning.notify_recertification", enrollment_id=new.pk)
        created.append(new)
    return created


# --- Living content ------------------------------------------------------------------------------


def mark_card_changed(card_id: int, version: int) -> int:
    """Everyone who acknowledged an older version of the card is asked to re-read it."""
    return StepProgress.objects.filter(
        step__card_id=card_id,
        step__kind=StepKind.CARD,
        completed_at__isnull=False,
        card_version__lt=version,
        needs_reread=False,
    ).update(needs_reread=True)
