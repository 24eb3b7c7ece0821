"""Background jobs of enablement programs: the daily run that keeps audiences in sync, releases
waiting learners, renews lapsed certifications, and sends reminders and overdue digests."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation

from verity.accounts.models import User
from verity.core.jobs import job, periodic
from verity.learning import enrolment
from verity.learning.models import Enrollment, EnrollmentState, Program, ProgramStatus

OPEN_STATES = (EnrollmentState.NOT_STARTED, EnrollmentState.IN_PROGRESS)


def _send(user: User, subject_template: str, body_template: str, context: dict) -> None:
    language = user.language or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {"user": user, "site_url": settings.SITE_URL, **context}
        subject = render_to_string(subject_template, context).strip()
        body = render_to_string(body_template, context)
    send_mail(subject, body, None, [user.email])


def _path(name: str, fallback: str) -> str:
    # The learner pages are built separately; until their routes exist, link to the section.
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


def send_reminders(now: datetime | None = None) -> int:
    """One reminder per enrolment due within VERITY_LEARNING_REMINDER_DAYS and not finished
    (a new certification cycle is a new enrolment, so it is reminded again)."""
    moment = now or timezone.now()
    window = moment + timedelta(days=settings.VERITY_LEARNING_REMINDER_DAYS)
    due = (
        Enrollment.objects.filter(
            state__in=OPEN_STATES,
            superseded=False,
            program__status=ProgramStatus.ACTIVE,
            user__is_active=True,
            reminded_at__isnull=True,
            due_at__gt=moment,
            due_at__lte=window,
        )
        .select_related("program", "user")
        .order_by("pk")
    )
    sent = 0
    for enrollment in due:
        # Mark first, in its own transaction, so a failure mid-run never emails anyone twice.
        with transaction.atomic():
            marked = Enrollment.objects.filter(pk=enrollment.pk, reminded_at__isnull=True).update(
                reminded_at=moment
            )
        if not marked:
            continue
        _send(
            enrollment.user,
            "learning/email/reminder_subject.txt",
            "learning/email/reminder_body.txt",
            {
                "enrollment": enrollment,
                "program": enrollment.program,
                "link": _path("my_learning", "/learning/"),
            },
        )
        sent += 1
    return sent


def send_overdue_digests(now: datetime | None = None) -> int:
    """One email per manager listing their reports' overdue enrolments not yet reported."""
    moment = now or timezone.now()
    overdue = (
        Enrollment.objects.filter(
            state__in=OPEN_STATES,
            superseded=False,
            program__status=ProgramStatus.ACTIVE,
            user__is_active=True,
            user__manager__is_active=True,
            overdue_notified_at__isnull=True,
            due_at__lt=moment,
        )
        .select_related("program", "user__manager")
        .order_by("user__name", "user__email", "due_at")
    )
    by_manager: dict[User, list[Enrollment]] = defaultdict(list)
    for enrollment in overdue:
        manager = enrollment.user.manager
        assert manager is not None  # filtered above
        by_manager[manager].append(enrollment)
    for manager, enrollments in by_manager.items():
        with transaction.atomic():
            Enrollment.objects.filter(pk__in=[e.pk for e in enrollments]).update(
                overdue_notified_at=moment
            )
        _send(
            manager,
            "learning/email/overdue_subject.txt",
            "learning/email/overdue_body.txt",
            {"enrollments": enrollments, "link": _path("my_team", "/learning/team/")},
        )
    return len(by_manager)


@job("learning.notify_recertification")
def notify_recertification(enrollment_id: int) -> None:
    enrollment = (
        Enrollment.objects.select_related("program", "user").filter(pk=enrollment_id).first()
    )
    if enrollment is None or not enrollment.user.is_active:
        return
    _send(
        enrollment.user,
        "learning/email/recertify_subject.txt",
        "learning/email/recertify_body.txt",
        {
            "enrollment": enrollment,
            "program": enrollment.program,
            "link": _path("my_learning", "/learning/"),
        },
    )


@periodic("learning.daily", every=timedelta(days=1))
def daily(now: datetime | None = None) -> None:
    moment = now or timezone.now()
    # New hires and people who joined a group since yesterday.
    for program in Program.objects.filter(status=ProgramStatus.ACTIVE):
        enrolment.sync_audience(program, moment)
    enrolment.release_due(moment)
    enrolment.lapse_certifications(moment)
    send_reminders(moment)
    send_overdue_digests(moment)
