"""The demo's enablement programs: onboarding with learners at every stage, a leaders-first
launch with some teams released and others waiting, a compliance program with lapsed
certifications, and survey answers that give a real NPS."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from verity.accounts import access
from verity.accounts.models import User
from verity.core.demo.programs import ProgramLoader
from verity.core.models import Job
from verity.learning import selectors, surveys
from verity.learning.enrolment import add_months, learner_steps
from verity.learning.models import (
    Enrollment,
    EnrollmentReason,
    EnrollmentState,
    PracticeState,
    PracticeSubmission,
    Program,
    ProgramKind,
    QuizAttempt,
    Step,
    StepKind,
    StepProgress,
    SurveyResponse,
    TrackRole,
)
from verity.learning.practice import pending_reviews
from verity.search.backends import get_backend

CYRILLIC = re.compile("[\\u0400-\\u04ff]")
ONBOARDING = "New-hire onboarding"
LAUNCH = "Launch: Northwind Forecasting"
COMPLIANCE = "Security and data protection essentials"


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Load the demo once for the module (it takes a while), then clean up."""
    with django_db_blocker.unblock():
        call_command("demo", "load", "--once", stdout=StringIO())
        yield
        call_command("flush", "--noinput", verbosity=0)
        get_backend().clear()


def person(handle: str) -> User:
    return User.objects.get(email=f"{handle}@northwind.example")


def enrollment_of(program: Program, handle: str) -> Enrollment:
    return Enrollment.objects.get(program=program, user=person(handle), superseded=False)


def test_programs_and_their_tracks(demo, db):
    onboarding = Program.objects.get(name=ONBOARDING)
    assert onboarding.kind == ProgramKind.ONBOARDING and onboarding.status == "active"
    assert onboarding.owner == person("priya.raman") and onboarding.due_days == 30
    assert set(onboarding.audience_functions) == {"sales", "success", "support"}
    assert onboarding.audience_new_hires
    assert set(onboarding.tracks.values_list("role", flat=True)) == {
        TrackRole.SHARED,
        TrackRole.SALES,
        TrackRole.SUCCESS,
        TrackRole.SUPPORT,
        TrackRole.LEADERSHIP,
    }
    shared = onboarding.tracks.get(role=TrackRole.SHARED).steps.all()
    kinds = Counter(s.kind for s in shared)
    assert 4 <= kinds[StepKind.CARD] <= 6
    assert kinds[StepKind.QUIZ] == 1
    lesson = shared.get(kind=StepKind.LESSON, required=True)
    # A summary in Russian for the Russian-speaking team, optional.
    russian = shared.get(kind=StepKind.LESSON, required=False)
    assert CYRILLIC.search(russian.title) and "<strong>" in russian.body_html
    assert lesson.video_url.startswith("https://") and "<h2>" in lesson.body_html
    quiz = shared.get(kind=StepKind.QUIZ)
    assert 5 <= quiz.questions.count() <= 6
    assert set(quiz.questions.values_list("kind", flat=True)) == {
        "single",
        "multiple",
        "true_false",
    }
    assert all(q.explanation for q in quiz.questions.all())
    assert not shared.get(kind=StepKind.SURVEY).required
    # Every role track has cards and a role quiz; Sales also has a practice task to review.
    for track in onboarding.tracks.exclude(role=TrackRole.SHARED):
        steps = track.steps.all()
        assert 2 <= steps.filter(kind=StepKind.CARD, required=True).count() <= 4, track
        assert steps.filter(kind=StepKind.QUIZ).exists(), track
    task = Step.objects.get(track__program=onboarding, kind=StepKind.PRACTICE)
    assert task.track.role == TrackRole.SALES and len(task.rubric) == 3

    launch = Program.objects.get(name=LAUNCH)
    assert launch.kind == ProgramKind.LAUNCH and launch.leaders_first
    assert launch.due_days == 21 and launch.recertify_months == 12
    days_to_release = (launch.release_date - timezone.localdate()).days
    assert 8 <= days_to_release <= 12
    launch_steps = Step.objects.filter(track__program=launch)
    assert launch_steps.filter(kind=StepKind.QUIZ).count() == 1
    titles = [s.card.title for s in launch_steps.filter(kind=StepKind.CARD)]
    assert any("Forecasting" in t for t in titles) and 2 <= len(titles) <= 3

    compliance = Program.objects.get(name=COMPLIANCE)
    assert compliance.kind == ProgramKind.COMPLIANCE and compliance.recertify_months == 12


def test_onboarding_has_learners_at_every_stage(demo, db):
    program = Program.objects.get(name=ONBOARDING)
    now = timezone.now()
    current = Enrollment.objects.filter(program=program, superseded=False).select_related("user")
    states = Counter(e.display_state(now) for e in current)
    for state in (
        EnrollmentState.NOT_STARTED,
        EnrollmentState.IN_PROGRESS,
        EnrollmentState.COMPLETED,
        EnrollmentState.OVERDUE,
    ):
        assert states[state] >= 1, state
    # Most of the (tenured) audience has completed.
    assert states[EnrollmentState.COMPLETED] > sum(states.values()) / 2
    # Recent hires are the ones still at it.
    ethan = enrollment_of(program, "ethan.brooks")
    assert ethan.display_state(now) == EnrollmentState.IN_PROGRESS
    assert now < ethan.due_at < now + timedelta(days=10)
    assert enrollment_of(program, "lucy.fischer").display_state(now) == EnrollmentState.OVERDUE
    # Each person follows the track of their job function.
    assert enrollment_of(program, "ben.walker").track_role == TrackRole.SUPPORT
    assert enrollment_of(program, "chloe.nguyen").track_role == TrackRole.SUCCESS
    assert enrollment_of(program, "grace.liu").track_role == TrackRole.LEADERSHIP
    assert enrollment_of(program, "marcus.hale").state == EnrollmentState.NOT_STARTED


def test_dates_are_real_history(demo, db):
    """Enrolled on the first day (or at launch), then started, then completed — in that
    order, all in the past, and the due date follows the program's rule."""
    now = timezone.now()
    program = Program.objects.get(name=ONBOARDING)
    for e in Enrollment.objects.filter(program=program).select_related("user"):
        assert e.enrolled_at >= max(e.user.date_joined, program.launched_at)
        assert e.due_at == e.released_at + timedelta(days=30)
        if e.started_at:
            assert e.enrolled_at <= e.started_at < now
        if e.completed_at:
            assert e.started_at <= e.completed_at < now
    # Completions are spread over the months, not stamped at load time.
    days = {e.completed_at.date() for e in Enrollment.objects.filter(completed_at__isnull=False)}
    assert len(days) >= 20
    assert not StepProgress.objects.filter(completed_at__gt=now).exists()
    assert not QuizAttempt.objects.filter(submitted_at__gt=now).exists()
    assert not SurveyResponse.objects.filter(submitted_at__gt=now).exists()
    # Time spent is what the services counted between opening and finishing steps.
    completed = Enrollment.objects.filter(program=program, state=EnrollmentState.COMPLETED)
    assert all(e.time_spent_seconds > 10 * 60 for e in completed)


def test_launch_waits_on_managers_who_have_not_completed(demo, db):
    program = Program.objects.get(name=LAUNCH)
    enrollments = Enrollment.objects.filter(program=program, superseded=False).select_related(
        "user", "waiting_on"
    )
    waiting = [e for e in enrollments if e.state == EnrollmentState.WAITING]
    released = [e for e in enrollments if e.waiting_on_id and e.state != EnrollmentState.WAITING]
    assert len(waiting) >= 3 and len(released) >= 3
    for e in waiting:
        manager = enrollment_of(program, e.waiting_on.email.split("@")[0])
        assert manager.state != EnrollmentState.COMPLETED
        assert e.released_at is None and e.due_at is None
    for e in released:
        manager = enrollment_of(program, e.waiting_on.email.split("@")[0])
        assert manager.state == EnrollmentState.COMPLETED
        # Released by the service the moment their manager completed.
        assert e.released_at == manager.completed_at
        assert e.due_at == e.released_at + timedelta(days=21)
    assert {e.waiting_on.email for e in released} == {"jordan.price@northwind.example"}
    assert {e.waiting_on.email for e in waiting} == {
        "irina.volkova@northwind.example",
        "rachel.kim@northwind.example",
    }
    # Leaders were enrolled first: the VP and director too, though not in the audience.
    assert enrollment_of(program, "marcus.hale").reason == EnrollmentReason.LEADER
    # Released reports are at every stage of their own.
    states = Counter(e.state for e in released)
    assert states[EnrollmentState.COMPLETED] and states[EnrollmentState.IN_PROGRESS]
    assert states[EnrollmentState.NOT_STARTED]
    # The program page's "waiting on whom".
    groups = {g.manager.email: len(g.reports) for g in selectors.waiting_on_whom(program)}
    assert groups == {
        "irina.volkova@northwind.example": 3,
        "rachel.kim@northwind.example": 4,
    }
    # Completed launch training is a certificate for a year.
    jordan = enrollment_of(program, "jordan.price")
    assert jordan.expires_at == add_months(jordan.completed_at, 12)
    assert jordan.expires_at > timezone.now() + timedelta(days=300)


def test_surveys_give_a_realistic_nps(demo, db):
    curator = person("priya.raman")
    onboarding = Program.objects.get(name=ONBOARDING)
    results = surveys.program_survey_results(onboarding, curator)
    assert results.nps.value is not None and results.nps.n >= 12
    assert 25 <= results.nps.value <= 50
    assert results.nps.detractors >= 1 and results.nps.passives >= 1
    texts = [c.text for c in results.comments]
    assert any(CYRILLIC.search(t) for t in texts) and any(not CYRILLIC.search(t) for t in texts)
    # Comments come from people who answered in their language.
    for response in SurveyResponse.objects.exclude(comment="").select_related("enrollment__user"):
        is_russian = bool(CYRILLIC.search(response.comment))
        assert is_russian == (response.enrollment.user.language == "ru")
    rating = next(q for q in results.questions if q.question.kind == "rating")
    assert rating.average is not None and 1 <= rating.average <= 5
    launch = surveys.program_survey_results(Program.objects.get(name=LAUNCH), curator)
    assert launch.nps.n >= 5 and launch.nps.value is not None
    # Every answer is from someone who completed (end survey) or reached the step.
    for response in SurveyResponse.objects.filter(step__isnull=True).select_related("enrollment"):
        assert response.enrollment.state == EnrollmentState.COMPLETED
        assert response.submitted_at >= response.enrollment.completed_at


def test_a_changed_card_asks_readers_to_reread(demo, db):
    program = Program.objects.get(name=ONBOARDING)
    stale = StepProgress.objects.filter(step__track__program=program, needs_reread=True)
    assert stale.count() >= 5
    step = stale.first().step
    assert step.card.title.startswith("Company overview")
    assert "Northwind Forecasting" in step.card.content
    assert all(p.card_version < step.card.version for p in stale)
    counts = {c.step.pk: c for c in selectors.reread_counts(program)}[step.pk]
    assert counts.needs_reread >= 5 and counts.caught_up >= 3
    # Completed enrolments stay completed; the update is a re-read, not a reset.
    assert stale.filter(enrollment__state=EnrollmentState.COMPLETED).exists()
    assert (
        not StepProgress.objects.filter(
            step__track__program=program, step__kind=StepKind.CARD, needs_reread=True
        )
        .exclude(step=step)
        .exists()
    )


def test_quizzes_and_practice_have_history(demo, db):
    onboarding = Program.objects.get(name=ONBOARDING)
    attempts = QuizAttempt.objects.filter(enrollment__program=onboarding)
    failed_first = attempts.filter(number=1, passed=False)
    assert failed_first.count() >= 3
    for attempt in failed_first:
        assert attempt.score < attempt.step.pass_mark
        assert (
            attempts.filter(
                enrollment=attempt.enrollment, step=attempt.step, number__gt=1, passed=True
            ).exists()
            or attempt.enrollment.state != EnrollmentState.COMPLETED
        )
    assert not attempts.filter(submitted_at__isnull=True).exists()
    # Practice: reviewed by the learner's own manager, one still waiting for review.
    submissions = PracticeSubmission.objects.filter(enrollment__program=onboarding)
    reviewed = submissions.filter(state=PracticeState.REVIEWED).select_related(
        "enrollment__user", "reviewer"
    )
    assert reviewed.count() >= 5
    for submission in reviewed:
        assert submission.reviewer == submission.enrollment.user.manager
        assert len(submission.scores) == 3 and submission.reviewed_at > submission.submitted_at
    waiting = submissions.get(state=PracticeState.SUBMITTED)
    assert waiting.enrollment.user == person("ethan.brooks")
    assert waiting in list(pending_reviews(person("jordan.price")))
    assert waiting not in list(pending_reviews(person("irina.volkova")))


def test_compliance_lapsed_and_re_enrolled(demo, db):
    program = Program.objects.get(name=COMPLIANCE)
    old = Enrollment.objects.filter(program=program, superseded=True)
    assert old.count() >= 5
    for e in old:
        new = Enrollment.objects.get(program=program, user=e.user, cycle=e.cycle + 1)
        assert new.reason == EnrollmentReason.RECERTIFICATION
        # The new cycle began when the certification expired, about 12 months after.
        assert new.enrolled_at == e.expires_at
        assert timedelta(days=360) < e.expires_at - e.completed_at < timedelta(days=370)
    states = Counter(
        Enrollment.objects.get(program=program, user=e.user, cycle=e.cycle + 1).display_state()
        for e in old
    )
    assert states[EnrollmentState.COMPLETED] and states[EnrollmentState.OVERDUE]
    # Someone who has not recertified yet holds an expired certificate.
    mei = [c for c in selectors.certificates_of(person("mei.lin")) if c.program == program]
    assert mei and not mei[0].valid
    sam = [c for c in selectors.certificates_of(person("sam.okafor")) if c.program == program]
    assert sam and sam[0].valid and sam[0].enrollment.cycle == 2
    # The lapse emails are history: nothing queued for the worker's first start.
    assert not Job.objects.filter(
        name="learning.notify_recertification", state=Job.State.QUEUED
    ).exists()


def test_learners_only_get_cards_they_can_read(demo, db):
    # People who have left (the analytics demo's leavers) cannot sign in or read anything:
    # their enrolments are history.
    current = Enrollment.objects.filter(superseded=False, user__is_active=True)
    assert current.exists()
    for enrollment in current.select_related("user"):
        readable = set(access.cards_for(enrollment.user).values_list("pk", flat=True))
        for step in learner_steps(enrollment):
            if step.kind == StepKind.CARD:
                assert step.card_id in readable, (enrollment.user.email, step.title)


def test_no_old_reminders_waiting_for_the_worker(demo, db):
    """Reminders and overdue digests for dates long past were sent back then."""
    now = timezone.now()
    overdue = Enrollment.objects.filter(
        superseded=False,
        state__in=[EnrollmentState.NOT_STARTED, EnrollmentState.IN_PROGRESS],
        due_at__lt=now,
    )
    assert overdue.exists()
    assert not overdue.filter(overdue_notified_at__isnull=True).exists()


def test_loading_again_duplicates_nothing(demo, db):
    before = (
        Program.objects.count(),
        Enrollment.objects.count(),
        StepProgress.objects.count(),
        SurveyResponse.objects.count(),
    )
    call_command("demo", "load", "--once", stdout=StringIO())
    # The programs part on its own skips programs that are already there.
    users = list(User.objects.filter(email__endswith="@northwind.example"))
    summary = ProgramLoader(users=users, now=timezone.now(), seed=1).load()
    assert summary.programs == 0
    after = (
        Program.objects.count(),
        Enrollment.objects.count(),
        StepProgress.objects.count(),
        SurveyResponse.objects.count(),
    )
    assert after == before
    assert Program.objects.filter(name=ONBOARDING).count() == 1
