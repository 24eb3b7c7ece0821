"""My team and practice reviews: a manager sees each direct report's programs, progress,
scores and what is overdue, reviews their practice tasks and can join their training.
Someone without reports gets a 404 on My team; only the learner's reviewer opens a review."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.conftest import make_user
from verity.accounts.models import User
from verity.learning import enrolment, practice
from verity.learning.models import (
    Enrollment,
    EnrollmentReason,
    PracticeState,
    PracticeSubmission,
    Program,
    Step,
    StepProgress,
)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def program(make_program: Callable[..., Program], rep: User, rep2: User) -> Program:
    return make_program(
        name="Objection handling",
        shared=[
            "lesson",
            {
                "kind": "practice",
                "title": "Handle a price objection",
                "rubric": ["Empathy", "Facts"],
            },
        ],
        audience_users=[rep, rep2],
        due_days=14,
        launch=True,
    )


@pytest.fixture
def submission(program: Program, rep: User) -> PracticeSubmission:
    enrollment = Enrollment.objects.get(program=program, user=rep)
    step = Step.objects.get(track__program=program, kind="practice")
    return practice.practice_submit(
        enrollment=enrollment, step=step, text="I would ask what they compare us with."
    )


@pytest.mark.parametrize("language", ["en", "ru"])
def test_team_pages_render_in_both_languages(
    program: Program, submission: PracticeSubmission, manager: User, language: str
) -> None:
    client = client_for(manager)
    for url in (reverse("my_team"), reverse("practice_review", args=[submission.pk])):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert f'<html lang="{language}">' in page
        if language == "ru":
            assert "Перейти к содержимому" in page


def test_people_without_reports_get_404(program: Program, rep: User, outsider: User) -> None:
    for person in (rep, outsider):
        client = client_for(person)
        assert client.get(reverse("my_team")).status_code == 404
        assert client.post(reverse("learning_team_join", args=[program.pk])).status_code == 404


def test_team_shows_each_report_with_state_progress_score_and_overdue(
    program: Program, manager: User, rep: User, rep2: User
) -> None:
    late = Enrollment.objects.get(program=program, user=rep2)
    Enrollment.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(days=2))
    Enrollment.objects.filter(program=program, user=rep).update(score=88.0)
    page = client_for(manager).get(reverse("my_team")).content.decode()
    assert "Rep" in page and "Rep2" in page
    assert page.count("Objection handling") >= 2
    assert "2 days overdue" in page and "is-overdue" in page and "1 overdue" in page
    assert "score 88%" in page and "0 of 2 required steps" in page
    assert "Not started" in page


def test_pending_review_is_listed_and_only_the_manager_reviews(
    submission: PracticeSubmission,
    manager: User,
    rep: User,
    rep2: User,
    outsider: User,
    enablement: User,
) -> None:
    review_url = reverse("practice_review", args=[submission.pk])
    page = client_for(manager).get(reverse("my_team")).content.decode()
    assert "Handle a price objection" in page and review_url in page

    # The learner, a colleague, an outsider and the enablement team (the learner has a
    # manager) may not review it: for them it does not exist.
    for person in (rep, rep2, outsider, enablement):
        client = client_for(person)
        assert client.get(review_url).status_code == 404, person
        assert client.post(review_url, {"score_0": "5", "score_1": "5"}).status_code == 404
    submission.refresh_from_db()
    assert submission.state == PracticeState.SUBMITTED

    client = client_for(manager)
    page = client.get(review_url).content.decode()
    assert "Empathy" in page and "Facts" in page and "compare us with" in page
    assert len([1 for v in range(1, 6) if f'name="score_0" value="{v}"' in page]) == 5

    response = client.post(review_url, {"score_0": "4"})  # a criterion left out
    assert response.status_code == 200 and "Give a score from 1 to 5." in response.content.decode()

    response = client.post(review_url, {"score_0": "4", "score_1": "2", "feedback": "Add numbers."})
    assert response.status_code == 302
    submission.refresh_from_db()
    assert submission.state == PracticeState.REVIEWED and submission.scores == [4, 2]
    assert submission.reviewer == manager
    progress = StepProgress.objects.get(enrollment=submission.enrollment, step=submission.step)
    assert progress.completed_at is not None and progress.score == pytest.approx(60.0)
    assert client.post(review_url, {"score_0": "1", "score_1": "1"}).status_code == 409
    assert "4/5" in client.get(review_url).content.decode()
    assert review_url not in client.get(reverse("my_team")).content.decode()

    # The learner sees the scores and feedback on the step.
    step_page = (
        client_for(rep)
        .get(reverse("learning_step", args=[submission.enrollment_id, submission.step_id]))
        .content.decode()
    )
    assert "Add numbers." in step_page and "2/5" in step_page and "Hand in" not in step_page


def test_manager_joins_their_teams_training(program: Program, manager: User) -> None:
    client = client_for(manager)
    join_url = reverse("learning_team_join", args=[program.pk])
    page = client.get(reverse("my_team")).content.decode()
    assert "Join this training" in page and join_url in page

    response = client.post(join_url)
    mine = Enrollment.objects.get(program=program, user=manager)
    assert mine.reason == EnrollmentReason.JOINED
    assert response["Location"] == reverse("learning_enrollment", args=[mine.pk])
    page = client.get(reverse("my_team")).content.decode()
    assert "Join this training" not in page and "Your progress" in page
    client.post(join_url)  # joining twice keeps one enrolment
    assert Enrollment.objects.filter(program=program, user=manager).count() == 1


def test_manager_cannot_join_a_program_none_of_their_reports_takes(
    make_program: Callable[..., Program], manager: User, outsider: User, rep: User
) -> None:
    other = make_program(name="Not for the team", audience_users=[outsider], launch=True)
    assert (
        client_for(manager).post(reverse("learning_team_join", args=[other.pk])).status_code == 404
    )
    assert not Enrollment.objects.filter(program=other, user=manager).exists()


def test_manager_sees_progress_on_my_team_not_the_step_pages(
    program: Program, manager: User, rep: User
) -> None:
    enrollment = Enrollment.objects.get(program=program, user=rep)
    step = Step.objects.get(track__program=program, kind="lesson")
    client = client_for(manager)
    assert client.get(reverse("learning_enrollment", args=[enrollment.pk])).status_code == 404
    assert client.get(reverse("learning_step", args=[enrollment.pk, step.pk])).status_code == 404
    page = client.get(reverse("my_team")).content.decode()
    assert reverse("learning_enrollment", args=[enrollment.pk]) not in page


def test_my_team_queries_do_not_grow_with_the_team(
    program: Program, manager: User, rep: User, rep2: User
) -> None:
    client = client_for(manager)
    client.get(reverse("my_team"))  # warm up (session, language)
    with CaptureQueriesContext(connection) as two:
        assert client.get(reverse("my_team")).status_code == 200
    newcomers = [
        make_user(f"new{i}@example.com", job_function="sales", manager=manager) for i in range(3)
    ]
    program.audience_users.add(*newcomers)
    enrolment.sync_audience(program)
    with CaptureQueriesContext(connection) as five:
        page = client.get(reverse("my_team"))
    assert page.content.decode().count("Objection handling") >= 5
    assert len(five) == len(two)
