"""The daily learning job: sync, release, recertification, reminders and overdue digests,
each email sent once."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail
from django.utils import timezone

from tests.conftest import make_user
from verity.accounts.models import JobFunction
from verity.core import jobs as core_jobs
from verity.learning import enrolment, jobs
from verity.learning.models import Enrollment, EnrollmentState


def test_daily_job_is_registered():
    assert "learning.daily" in {p.name for p in core_jobs._periodic}


def test_reminder_once_before_the_due_date(make_program, rep, rep2, settings, mailoutbox):
    settings.VERITY_LEARNING_REMINDER_DAYS = 3
    now = timezone.now()
    program = make_program(audience_users=[rep, rep2], due_days=10, launch=True, now=now)
    rep2.language = "ru"
    rep2.save()

    jobs.daily(now + timedelta(days=6))  # four days left: too early
    assert mailoutbox == []

    jobs.daily(now + timedelta(days=8))
    assert {m.to[0] for m in mailoutbox} == {rep.email, rep2.email}
    english = next(m for m in mailoutbox if m.to == [rep.email])
    assert program.name in english.subject and "Due soon" in english.subject
    assert "/learning/" in english.body
    russian = next(m for m in mailoutbox if m.to == [rep2.email])
    assert "Здравствуйте" in russian.body
    assert Enrollment.objects.filter(reminded_at__isnull=True).count() == 0

    jobs.daily(now + timedelta(days=9))
    assert len(mailoutbox) == 2


def test_no_reminder_for_completed_waiting_or_undated(
    make_program, manager, rep, rep2, outsider, mailoutbox
):
    now = timezone.now()
    dated = make_program(
        audience_users=[rep, rep2], due_days=2, leaders_first=True, launch=True, now=now
    )
    make_program(name="Undated", audience_users=[outsider], launch=True, now=now)
    lead = Enrollment.objects.get(program=dated, user=manager)
    for step in enrolment.learner_steps(lead):
        enrolment.complete_step(enrollment=lead, step=step, now=now)
    # The reports were released just now, due in two days; the manager is done.
    jobs.send_reminders(now + timedelta(hours=1))
    assert {m.to[0] for m in mailoutbox} == {rep.email, rep2.email}


def test_overdue_digest_one_email_per_manager_once(
    make_program, manager, rep, rep2, outsider, mailoutbox
):
    other_lead = make_user("lead2@example.com", job_function=JobFunction.LEADERSHIP)
    theirs = make_user("theirs@example.com", job_function=JobFunction.SUPPORT, manager=other_lead)
    now = timezone.now()
    first = make_program(
        name="Security basics",
        audience_users=[rep, rep2, theirs, outsider],
        due_days=1,
        launch=True,
        now=now,
    )
    make_program(name="Pricing", audience_users=[rep], due_days=1, launch=True, now=now)
    done = Enrollment.objects.get(program=first, user=rep2)
    for step in enrolment.learner_steps(done):
        enrolment.complete_step(enrollment=done, step=step, now=now)

    sent = jobs.send_overdue_digests(now + timedelta(days=2))
    assert sent == 2
    by_recipient = {m.to[0]: m for m in mailoutbox}
    assert set(by_recipient) == {manager.email, other_lead.email}  # outsider has no manager
    body = by_recipient[manager.email].body
    assert "Security basics" in body and "Pricing" in body
    assert rep.display_name in body and rep2.display_name not in body  # rep2 finished
    assert "2" in by_recipient[manager.email].subject

    assert jobs.send_overdue_digests(now + timedelta(days=3)) == 0
    assert len(mailoutbox) == 2
    assert not Enrollment.objects.filter(user=rep, overdue_notified_at__isnull=True).exists()


def test_emails_in_the_recipients_language(make_program, manager, rep, mailoutbox):
    manager.language = "ru"
    manager.save()
    now = timezone.now()
    make_program(audience_users=[rep], due_days=1, launch=True, now=now)
    jobs.send_overdue_digests(now + timedelta(days=2))
    (message,) = mailoutbox
    assert message.to == [manager.email]
    assert "Здравствуйте" in message.body and rep.display_name in message.body


def test_daily_releases_syncs_and_renews(
    make_program, manager, rep, rep2, django_capture_on_commit_callbacks, mailoutbox
):
    now = timezone.now()
    program = make_program(
        audience_users=[rep],
        leaders_first=True,
        release_date=timezone.localdate(now) + timedelta(days=2),
        recertify_months=1,
        launch=True,
        now=now,
    )
    lead = Enrollment.objects.get(program=program, user=manager)
    for step in enrolment.learner_steps(lead):
        enrolment.complete_step(enrollment=lead, step=step, now=now)
    program.audience_users.add(rep2)
    with django_capture_on_commit_callbacks(execute=True):
        jobs.daily(now + timedelta(days=1))
    # rep was released by the manager's completion; rep2 is new and their manager is done.
    assert Enrollment.objects.get(program=program, user=rep2).state == EnrollmentState.NOT_STARTED

    with django_capture_on_commit_callbacks(execute=True):
        jobs.daily(now + timedelta(days=40))
    renewed = Enrollment.objects.get(program=program, user=manager, superseded=False)
    assert renewed.cycle == 2
    assert [m.to for m in mailoutbox] == [[manager.email]]
    assert len(mail.outbox) == 1
