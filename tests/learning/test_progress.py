"""Progress through steps: opening, completing, time spent, quizzes keep the best score."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.conftest import make_user
from verity.learning import enrolment, selectors
from verity.learning.models import Enrollment, EnrollmentState, StepKind, StepProgress


def _enrollment(program, user) -> Enrollment:
    return Enrollment.objects.get(program=program, user=user, superseded=False)


def test_open_then_complete_moves_through_states_and_counts_time(make_program, rep):
    now = timezone.now()
    program = make_program(shared=["card", "lesson"], audience_users=[rep], launch=True, now=now)
    enrollment = _enrollment(program, rep)
    assert enrollment.state == EnrollmentState.NOT_STARTED
    card_step, lesson = enrolment.learner_steps(enrollment)

    enrolment.open_step(enrollment, card_step, now + timedelta(minutes=1))
    enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.IN_PROGRESS
    assert enrollment.started_at == now + timedelta(minutes=1)

    progress = enrolment.complete_step(
        enrollment=enrollment, step=card_step, now=now + timedelta(minutes=6)
    )
    assert progress.completed_at == now + timedelta(minutes=6)
    assert progress.card_version == card_step.card.version
    assert progress.time_spent_seconds == 300

    # A tab left open for hours counts at most 30 minutes.
    enrolment.open_step(enrollment, lesson, now + timedelta(minutes=10))
    enrolment.complete_step(enrollment=enrollment, step=lesson, now=now + timedelta(hours=5))
    enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.COMPLETED
    assert enrollment.completed_at == now + timedelta(hours=5)
    assert enrollment.time_spent_seconds == 300 + 30 * 60


def test_repeated_completion_does_not_count_the_same_minutes_twice(make_program, rep):
    now = timezone.now()
    program = make_program(shared=["lesson", "lesson"], audience_users=[rep], launch=True, now=now)
    enrollment = _enrollment(program, rep)
    first, _second = enrolment.learner_steps(enrollment)
    enrolment.open_step(enrollment, first, now)
    enrolment.complete_step(enrollment=enrollment, step=first, now=now + timedelta(minutes=2))
    # A second click a minute later (no new visit) adds nothing.
    enrolment.complete_step(enrollment=enrollment, step=first, now=now + timedelta(minutes=3))
    enrollment.refresh_from_db()
    assert enrollment.time_spent_seconds == 120
    assert enrollment.state == EnrollmentState.IN_PROGRESS


def test_quiz_counts_only_when_passed_and_keeps_the_best_score(make_program, rep):
    program = make_program(shared=["quiz", "quiz"], audience_users=[rep], launch=True)
    enrollment = _enrollment(program, rep)
    quiz1, quiz2 = enrolment.learner_steps(enrollment)

    progress = enrolment.complete_step(enrollment=enrollment, step=quiz1, score=40, passed=False)
    assert progress.completed_at is None
    enrollment.refresh_from_db()
    assert enrollment.score == 40
    assert enrollment.state == EnrollmentState.IN_PROGRESS

    enrolment.complete_step(enrollment=enrollment, step=quiz1, score=90, passed=True)
    progress = enrolment.complete_step(enrollment=enrollment, step=quiz1, score=60, passed=False)
    assert progress.score == 90 and progress.passed is True and progress.completed_at is not None

    enrolment.complete_step(enrollment=enrollment, step=quiz2, score=80, passed=True)
    enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.COMPLETED
    assert enrollment.score == pytest.approx(85)


def test_optional_steps_are_not_needed_to_complete(make_program, rep):
    program = make_program(
        shared=["lesson", {"kind": StepKind.LESSON, "required": False}],
        audience_users=[rep],
        launch=True,
    )
    enrollment = _enrollment(program, rep)
    required, _optional = enrolment.learner_steps(enrollment)
    enrolment.complete_step(enrollment=enrollment, step=required)
    # The caller's object is brought up to date too.
    assert enrollment.state == EnrollmentState.COMPLETED


def test_a_step_outside_the_learners_tracks_is_refused(make_program, rep, rep2):
    # rep (sales) follows shared + sales; the success track's step is not theirs.
    program = make_program(
        shared=["lesson"],
        tracks={"sales": ["lesson"], "success": ["lesson"]},
        audience_users=[rep, rep2],
        launch=True,
    )
    enrollment = _enrollment(program, rep)
    success_step = program.tracks.get(role="success").steps.get()
    with pytest.raises(ValidationError):
        enrolment.complete_step(enrollment=enrollment, step=success_step)
    assert not StepProgress.objects.filter(step=success_step).exists()


def test_enrollment_progress_counts_required_steps_and_next_step(make_program, rep):
    program = make_program(
        shared=["card", "lesson", {"kind": "lesson", "required": False}],
        audience_users=[rep],
        launch=True,
    )
    enrollment = _enrollment(program, rep)
    card_step, lesson, _optional = enrolment.learner_steps(enrollment)
    progress = selectors.enrollment_progress(enrollment)
    assert (progress.done, progress.required, progress.percent) == (0, 2, 0)
    assert progress.next_step == card_step

    enrolment.complete_step(enrollment=enrollment, step=card_step)
    progress = selectors.enrollment_progress(enrollment)
    assert (progress.done, progress.required, progress.percent) == (1, 2, 50)
    assert progress.next_step == lesson


def test_my_learning_sorts_each_enrolment_into_one_section(make_program, manager, rep, settings):
    settings.VERITY_LEARNING_REMINDER_DAYS = 3
    now = timezone.now()
    make_program(name="Later", audience_users=[rep], due_days=30, launch=True, now=now)
    make_program(name="Soon", audience_users=[rep], due_days=2, launch=True, now=now)
    make_program(
        name="Late", audience_users=[rep], due_days=1, launch=True, now=now - timedelta(days=5)
    )
    started = make_program(name="Started", audience_users=[rep], launch=True, now=now)
    make_program(name="Waiting", audience_users=[rep], leaders_first=True, launch=True)
    done = make_program(name="Done", audience_users=[rep], recertify_months=12, launch=True)
    make_program(name="Draft", audience_users=[rep])
    enrolment.open_step(
        _enrollment(started, rep), enrolment.learner_steps(_enrollment(started, rep))[0]
    )
    finished = _enrollment(done, rep)
    for step in enrolment.learner_steps(finished):
        enrolment.complete_step(enrollment=finished, step=step)

    mine = selectors.my_learning(rep, now)
    names = {
        section: [row.program.name for row in getattr(mine, section)]
        for section in ("overdue", "due_soon", "in_progress", "not_started", "waiting", "completed")
    }
    assert names == {
        "overdue": ["Late"],
        "due_soon": ["Soon"],
        "in_progress": ["Started"],
        "not_started": ["Later"],
        "waiting": ["Waiting"],
        "completed": ["Done"],
    }
    assert [c.program for c in mine.certificates] == [done]
    assert mine.overdue[0].overdue and not mine.due_soon[0].overdue
    assert not mine.is_empty
    assert selectors.my_learning(manager, now).waiting == []


def test_team_overview_lists_direct_reports_only(make_program, manager, rep, rep2, db):
    skip_level = make_user("skip@example.com", manager=rep)
    now = timezone.now()
    program = make_program(
        shared=["quiz", "lesson"],
        audience_users=[rep, rep2, skip_level],
        due_days=1,
        launch=True,
        now=now - timedelta(days=3),
    )
    enrollment = _enrollment(program, rep)
    quiz = enrolment.learner_steps(enrollment)[0]
    enrolment.complete_step(enrollment=enrollment, step=quiz, score=75, passed=True)

    team = selectors.team_overview(manager, now)
    assert [member.user for member in team] == [rep, rep2]
    rep_row = team[0].rows[0]
    assert rep_row.enrollment.score == 75
    assert (rep_row.progress.done, rep_row.progress.required) == (1, 2)
    assert rep_row.overdue and team[0].overdue_count == 1
    assert team[1].rows[0].progress.done == 0


def test_reopening_a_finished_step_days_later_adds_no_time(make_program, rep):
    """The visit ends with the completion: re-reading a card two days later counts only
    the minutes of the new visit, not the days in between."""
    now = timezone.now()
    program = make_program(shared=["card", "lesson"], audience_users=[rep], launch=True, now=now)
    enrollment = _enrollment(program, rep)
    card_step, _lesson = enrolment.learner_steps(enrollment)
    enrolment.open_step(enrollment, card_step, now)
    enrolment.complete_step(enrollment=enrollment, step=card_step, now=now + timedelta(minutes=4))

    later = now + timedelta(days=2)
    enrolment.open_step(enrollment, card_step, later)
    progress = enrolment.complete_step(
        enrollment=enrollment, step=card_step, now=later + timedelta(minutes=2)
    )
    assert progress.time_spent_seconds == 6 * 60
    enrollment.refresh_from_db()
    assert enrollment.time_spent_seconds == 6 * 60
