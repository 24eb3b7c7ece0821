"""Certifications expire after recertify_months; a lapse starts the next cycle."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from verity.learning import enrolment, selectors
from verity.learning.models import Enrollment, EnrollmentReason, EnrollmentState, TrackRole

UTC = ZoneInfo("UTC")


def _finish(enrollment: Enrollment, now: datetime) -> None:
    for step in enrolment.learner_steps(enrollment):
        enrolment.complete_step(enrollment=enrollment, step=step, now=now)
    enrollment.refresh_from_db()


def test_completion_sets_expiry_in_calendar_months(make_program, rep):
    start = datetime(2027, 1, 10, 12, tzinfo=UTC)
    program = make_program(audience_users=[rep], recertify_months=12, launch=True, now=start)
    enrollment = Enrollment.objects.get(program=program, user=rep)
    _finish(enrollment, datetime(2027, 1, 31, 9, tzinfo=UTC))
    assert enrollment.expires_at == datetime(2028, 1, 31, 9, tzinfo=UTC)

    (certificate,) = selectors.certificates_of(rep, datetime(2027, 6, 1, tzinfo=UTC))
    assert certificate.valid and certificate.expires_at == enrollment.expires_at


def test_no_recertification_no_expiry_and_no_certificate(make_program, rep):
    program = make_program(audience_users=[rep], launch=True)
    enrollment = Enrollment.objects.get(program=program, user=rep)
    _finish(enrollment, datetime(2027, 1, 31, tzinfo=UTC))
    assert enrollment.expires_at is None
    assert selectors.certificates_of(rep) == []
    assert enrolment.lapse_certifications(datetime(2040, 1, 1, tzinfo=UTC)) == []


def test_lapse_supersedes_and_starts_the_next_cycle(
    make_program, rep, django_capture_on_commit_callbacks, mailoutbox
):
    start = datetime(2027, 1, 10, tzinfo=UTC)
    program = make_program(
        audience_users=[rep],
        tracks={TrackRole.SALES: ["lesson"]},
        recertify_months=6,
        due_days=30,
        launch=True,
        now=start,
    )
    first = Enrollment.objects.get(program=program, user=rep)
    _finish(first, datetime(2027, 2, 1, tzinfo=UTC))
    assert enrolment.lapse_certifications(datetime(2027, 7, 31, tzinfo=UTC)) == []

    lapse_at = datetime(2027, 8, 2, tzinfo=UTC)
    with django_capture_on_commit_callbacks(execute=True):
        (second,) = enrolment.lapse_certifications(lapse_at)
    first.refresh_from_db()
    assert first.superseded and first.state == EnrollmentState.COMPLETED
    assert second.cycle == 2 and second.reason == EnrollmentReason.RECERTIFICATION
    assert second.track_role == TrackRole.SALES
    assert second.state == EnrollmentState.NOT_STARTED
    assert second.released_at == lapse_at and second.due_at == lapse_at + timedelta(days=30)
    assert [m.to for m in mailoutbox] == [[rep.email]]
    assert program.name in mailoutbox[0].subject

    # Only once: a second run finds nothing to lapse, and sync does not add a third cycle.
    assert enrolment.lapse_certifications(lapse_at + timedelta(days=1)) == []
    assert enrolment.sync_audience(program, lapse_at) == []
    assert Enrollment.objects.filter(program=program, user=rep).count() == 2

    (certificate,) = selectors.certificates_of(rep, lapse_at)
    assert not certificate.valid and certificate.enrollment == first

    # Completing the new cycle renews the certificate.
    _finish(second, datetime(2027, 8, 10, tzinfo=UTC))
    (certificate,) = selectors.certificates_of(rep, datetime(2027, 8, 11, tzinfo=UTC))
    assert certificate.valid and certificate.enrollment == second
    assert second.expires_at == datetime(2028, 2, 10, tzinfo=UTC)


def test_an_expired_certificate_shows_expired_before_the_daily_job(make_program, rep):
    program = make_program(audience_users=[rep], recertify_months=1, launch=True)
    enrollment = Enrollment.objects.get(program=program, user=rep)
    _finish(enrollment, datetime(2027, 1, 1, tzinfo=UTC))
    (certificate,) = selectors.certificates_of(rep, datetime(2027, 2, 2, tzinfo=UTC))
    assert not certificate.valid


def test_archived_program_lapses_without_a_new_cycle(make_program, rep, enablement):
    program = make_program(audience_users=[rep], recertify_months=1, launch=True)
    enrollment = Enrollment.objects.get(program=program, user=rep)
    _finish(enrollment, datetime(2027, 1, 1, tzinfo=UTC))
    enrolment.program_archive(user=enablement, program=program)
    assert enrolment.lapse_certifications(datetime(2027, 3, 1, tzinfo=UTC)) == []
    enrollment.refresh_from_db()
    assert enrollment.superseded
    assert Enrollment.objects.filter(program=program, user=rep).count() == 1
