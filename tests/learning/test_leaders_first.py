"""Leaders first: managers are enrolled and released first; their reports wait until the
manager completes or the release date comes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.conftest import make_user
from verity.accounts.models import JobFunction
from verity.learning import enrolment, selectors
from verity.learning.models import Enrollment, EnrollmentReason, EnrollmentState


def _get(program, user) -> Enrollment:
    return Enrollment.objects.get(program=program, user=user, superseded=False)


def _finish(enrollment: Enrollment, now=None) -> None:
    for step in enrolment.learner_steps(enrollment):
        enrolment.complete_step(enrollment=enrollment, step=step, now=now)


def test_managers_enrolled_first_and_reports_wait(make_program, manager, rep, rep2, outsider):
    program = make_program(
        audience_users=[rep, rep2, outsider], leaders_first=True, due_days=14, launch=True
    )
    lead = _get(program, manager)
    assert lead.reason == EnrollmentReason.LEADER
    assert lead.state == EnrollmentState.NOT_STARTED and lead.released_at is not None
    assert lead.due_at is not None

    for report in (rep, rep2):
        waiting = _get(program, report)
        assert waiting.state == EnrollmentState.WAITING
        assert waiting.waiting_on == manager
        assert waiting.released_at is None and waiting.due_at is None
    # No manager: nothing to wait for.
    assert _get(program, outsider).state == EnrollmentState.NOT_STARTED

    groups = selectors.waiting_on_whom(program)
    assert len(groups) == 1
    who, manager_enrollment, reports = groups[0]
    assert who == manager and manager_enrollment == lead
    assert set(reports) == {rep, rep2}


def test_manager_completing_releases_their_reports(make_program, manager, rep, rep2):
    now = timezone.now()
    program = make_program(
        audience_users=[rep, rep2], leaders_first=True, due_days=10, launch=True, now=now
    )
    lead = _get(program, manager)
    done_at = now + timedelta(days=2)
    steps = enrolment.learner_steps(lead)
    enrolment.complete_step(enrollment=lead, step=steps[0], now=done_at)
    assert _get(program, rep).state == EnrollmentState.WAITING  # half done is not done

    enrolment.complete_step(enrollment=lead, step=steps[1], now=done_at)
    for report in (rep, rep2):
        released = _get(program, report)
        assert released.state == EnrollmentState.NOT_STARTED
        assert released.released_at == done_at
        # The due rule counts from the release, not the enrolment.
        assert released.due_at == done_at + timedelta(days=10)
        assert released.waiting_on == manager  # kept for the record
    assert selectors.waiting_on_whom(program) == []


def test_release_date_releases_those_still_waiting(make_program, manager, rep):
    now = timezone.now()
    release_day = timezone.localdate(now) + timedelta(days=5)
    program = make_program(
        audience_users=[rep], leaders_first=True, release_date=release_day, launch=True, now=now
    )
    assert enrolment.release_due(now + timedelta(days=4)) == 0
    assert _get(program, rep).state == EnrollmentState.WAITING

    assert enrolment.release_due(now + timedelta(days=5)) == 1
    released = _get(program, rep)
    assert released.state == EnrollmentState.NOT_STARTED
    assert released.released_at == now + timedelta(days=5)
    assert enrolment.release_due(now + timedelta(days=6)) == 0
    # The manager has not completed: their own enrolment is untouched.
    assert _get(program, manager).state == EnrollmentState.NOT_STARTED


def test_release_date_already_past_at_launch_releases_everyone(make_program, manager, rep):
    yesterday = timezone.localdate() - timedelta(days=1)
    program = make_program(
        audience_users=[rep], leaders_first=True, release_date=yesterday, launch=True
    )
    assert _get(program, rep).state == EnrollmentState.NOT_STARTED
    assert _get(program, manager).state == EnrollmentState.NOT_STARTED


def test_manager_with_no_reports_in_the_audience(make_program, manager, rep, db):
    # A second leader whose report is not in the audience is not enrolled at all;
    # a leader who is in the audience without reports there is an ordinary learner.
    other_lead = make_user("lead2@example.com", job_function=JobFunction.LEADERSHIP)
    make_user("theirs@example.com", job_function=JobFunction.SALES, manager=other_lead)
    lonely_lead = make_user("lonely@example.com", job_function=JobFunction.LEADERSHIP)
    program = make_program(audience_users=[rep, lonely_lead], leaders_first=True, launch=True)
    assert not Enrollment.objects.filter(program=program, user=other_lead).exists()
    lonely = _get(program, lonely_lead)
    assert lonely.state == EnrollmentState.NOT_STARTED
    assert lonely.reason == EnrollmentReason.AUDIENCE
    assert _get(program, rep).waiting_on == manager


def test_multi_level_managers(make_program, db):
    vp = make_user("vp@example.com", job_function=JobFunction.LEADERSHIP)
    director = make_user("dir@example.com", job_function=JobFunction.LEADERSHIP, manager=vp)
    rep = make_user("rep@example.com", job_function=JobFunction.SALES, manager=director)
    program = make_program(audience_users=[director, rep], leaders_first=True, launch=True)
    # The VP manages someone in the audience: enrolled as a leader and released.
    assert _get(program, vp).reason == EnrollmentReason.LEADER
    assert _get(program, vp).state == EnrollmentState.NOT_STARTED
    # The director is a manager of the audience too: released at once, not waiting on the VP.
    director_enrollment = _get(program, director)
    assert director_enrollment.reason == EnrollmentReason.AUDIENCE
    assert director_enrollment.state == EnrollmentState.NOT_STARTED
    # The rep waits on their direct manager, and only they release them.
    assert _get(program, rep).waiting_on == director
    _finish(_get(program, vp))
    assert _get(program, rep).state == EnrollmentState.WAITING
    _finish(director_enrollment)
    assert _get(program, rep).state == EnrollmentState.NOT_STARTED


def test_a_newcomer_whose_manager_already_completed_starts_at_once(
    make_program, manager, rep, rep2
):
    program = make_program(audience_users=[rep], leaders_first=True, launch=True)
    _finish(_get(program, manager))
    program.audience_users.add(rep2)
    (new,) = enrolment.sync_audience(program)
    assert new.user == rep2 and new.state == EnrollmentState.NOT_STARTED


def test_a_newcomer_whose_manager_is_still_learning_waits(make_program, manager, rep, rep2):
    program = make_program(audience_users=[rep], leaders_first=True, launch=True)
    program.audience_users.add(rep2)
    (new,) = enrolment.sync_audience(program)
    assert new.state == EnrollmentState.WAITING and new.waiting_on == manager


def test_without_leaders_first_nobody_waits_and_managers_are_not_added(make_program, manager, rep):
    program = make_program(audience_users=[rep], launch=True)
    assert _get(program, rep).state == EnrollmentState.NOT_STARTED
    assert not Enrollment.objects.filter(program=program, user=manager).exists()


def test_waiting_learners_cannot_make_progress(make_program, manager, rep):
    program = make_program(audience_users=[rep], leaders_first=True, launch=True)
    waiting = _get(program, rep)
    with pytest.raises(ValidationError):
        enrolment.complete_step(enrollment=waiting, step=enrolment.learner_steps(waiting)[0])
    with pytest.raises(ValidationError):
        enrolment.open_step(waiting, enrolment.learner_steps(waiting)[0])


def test_nobody_left_to_wait_for_releases_at_the_next_run(make_program, manager, rep, rep2):
    program = make_program(audience_users=[rep, rep2], leaders_first=True, launch=True)
    assert enrolment.release_due() == 0
    manager.is_active = False
    manager.save()
    assert enrolment.release_due() == 2
    assert _get(program, rep).state == EnrollmentState.NOT_STARTED


def test_switching_leaders_first_off_releases_the_waiting(make_program, manager, rep):
    program = make_program(audience_users=[rep], leaders_first=True, launch=True)
    program.leaders_first = False
    program.save()
    assert enrolment.release_due() == 1
    assert _get(program, rep).state == EnrollmentState.NOT_STARTED
