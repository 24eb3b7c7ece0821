"""The learner's pages: My learning, the path, each kind of step, the quiz flow, surveys.

Every page renders for its learner in English and Russian; nobody else — another learner,
the learner's manager, an outsider — can open the learner's enrolment, steps, results or
survey (404). The quiz, card acknowledgement and re-read flows are driven through the views.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD
from verity.accounts.models import User
from verity.knowledge import services as knowledge
from verity.knowledge.models import Card
from verity.learning import enrolment, practice, quizzes
from verity.learning.models import (
    Enrollment,
    EnrollmentState,
    PracticeSubmission,
    Program,
    QuestionKind,
    QuizAttempt,
    Step,
    StepProgress,
    SurveyQuestion,
    SurveyQuestionKind,
    SurveyResponse,
)
from verity.learning.views_learner import due_text, video_embed_url


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def step_of(program: Program, kind: str) -> Step:
    return Step.objects.get(track__program=program, kind=kind)


@pytest.fixture
def course(make_program: Callable[..., Program], rep: User) -> Program:
    """Card, lesson and a two-question quiz (one attempt shy of a limit of 2) for everyone,
    then a practice task and a survey step for sales; `rep` (sales) is enrolled."""
    program = make_program(
        name="Sales onboarding",
        goal="Sell the product with confidence.",
        shared=[
            "card",
            {"kind": "lesson", "title": "Welcome", "body_html": "<p>Hello learners</p>"},
            {"kind": "quiz", "title": "Check", "max_attempts": 2, "pass_mark": 100},
        ],
        tracks={
            "sales": [
                {"kind": "practice", "title": "Pitch", "rubric": ["Clarity", "Value"]},
                {"kind": "survey", "title": "Pulse", "required": False},
            ]
        },
        audience_users=[rep],
        due_days=10,
        launch=True,
    )
    quiz = step_of(program, "quiz")
    quizzes.question_add(
        quiz,
        QuestionKind.SINGLE,
        "What is verified?",
        "Verified cards are checked by their verifier.",
        [("A checked card", True), ("Any card", False)],
    )
    quizzes.question_add(
        quiz,
        QuestionKind.MULTIPLE,
        "Which are step kinds?",
        "Both are.",
        [("Quiz", True), ("Lesson", True), ("Spreadsheet", False)],
    )
    return program


@pytest.fixture
def mine(course: Program, rep: User) -> Enrollment:
    return Enrollment.objects.get(program=course, user=rep)


def answers_for(attempt: QuizAttempt, right: bool) -> dict[str, list[str]]:
    """POST data answering every question of the attempt right (or all wrong)."""
    data: dict[str, list[str]] = {}
    for question_id, choice_ids in attempt.order:
        question = attempt.step.questions.get(pk=question_id)
        correct = [str(c.pk) for c in question.choices.filter(correct=right)]
        data[f"q{question_id}"] = (
            correct[:1] if question.kind != "multiple" or not right else correct
        )
        assert set(map(int, data[f"q{question_id}"])) <= set(choice_ids)
    return data


# ---------------------------------------------------------------- rendering


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_learner_page_renders_in_both_languages(
    course: Program, mine: Enrollment, rep: User, language: str
) -> None:
    client = client_for(rep)
    quiz = step_of(course, "quiz")
    attempt = quizzes.attempt_start(enrollment=mine, step=quiz)
    quizzes.attempt_submit(attempt=attempt, answers={})
    urls = [
        reverse("my_learning"),
        reverse("learning_enrollment", args=[mine.pk]),
        *(reverse("learning_step", args=[mine.pk, s.pk]) for s in enrolment.learner_steps(mine)),
        reverse("learning_quiz_result", args=[mine.pk, quiz.pk, attempt.pk]),
        reverse("learning_survey", args=[mine.pk]),
    ]
    for url in urls:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert f'<html lang="{language}">' in page, url
        if language == "ru":
            assert "Перейти к содержимому" in page


def test_my_learning_shows_sections_progress_due_and_score(
    course: Program, mine: Enrollment, rep: User
) -> None:
    client = client_for(rep)
    page = client.get(reverse("my_learning")).content.decode()
    assert "Sales onboarding" in page and "Onboarding" in page
    assert "Not started" in page and "due in 10 days" in page
    assert "0 of 4 required steps" in page  # the optional survey step is not counted

    card_step = step_of(course, "card")
    client.post(reverse("learning_step_done", args=[mine.pk, card_step.pk]))
    Enrollment.objects.filter(pk=mine.pk).update(
        due_at=timezone.now() - timedelta(days=3), score=75.0
    )
    page = client.get(reverse("my_learning")).content.decode()
    assert 'id="overdue"' in page and "3 days overdue" in page
    assert "1 of 4 required steps" in page and "score 75%" in page


def test_my_learning_empty_state_explains_what_will_appear(outsider: User) -> None:
    page = client_for(outsider).get(reverse("my_learning")).content.decode()
    assert "Nothing to learn yet" in page
    assert "enrol-row" not in page


def test_waiting_enrolment_says_who_goes_first_and_offers_no_steps(
    make_program: Callable[..., Program], rep: User, manager: User
) -> None:
    program = make_program(
        name="Launch: Atlas",
        audience_users=[rep],
        leaders_first=True,
        release_date=timezone.localdate() + timedelta(days=14),
        launch=True,
    )
    waiting = Enrollment.objects.get(program=program, user=rep)
    assert waiting.state == EnrollmentState.WAITING
    client = client_for(rep)
    listing = client.get(reverse("my_learning")).content.decode()
    assert "Waiting for your manager" in listing and "Waiting for Manager to complete" in listing

    page = client.get(reverse("learning_enrollment", args=[waiting.pk])).content.decode()
    assert "Waiting for Manager to complete it first (or until" in page
    step = enrolment.learner_steps(waiting)[0]
    assert reverse("learning_step", args=[waiting.pk, step.pk]) not in page
    assert "path-next" not in page  # nothing is "next" before the training starts
    response = client.get(reverse("learning_step", args=[waiting.pk, step.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("learning_enrollment", args=[waiting.pk])
    assert not StepProgress.objects.filter(enrollment=waiting).exists()


def test_path_shows_tracks_statuses_goal_and_continue(
    course: Program, mine: Enrollment, rep: User
) -> None:
    client = client_for(rep)
    steps = enrolment.learner_steps(mine)
    page = client.get(reverse("learning_enrollment", args=[mine.pk])).content.decode()
    assert "Sell the product with confidence." in page
    assert "Shared track" in page and "Sales track" in page
    assert ">Start<" in page and "optional" in page
    assert page.index("Check") < page.index("Pitch")  # shared first, then the role track

    client.post(reverse("learning_step_done", args=[mine.pk, steps[0].pk]))
    page = client.get(reverse("learning_enrollment", args=[mine.pk])).content.decode()
    assert "Continue" in page
    assert f'href="{reverse("learning_step", args=[mine.pk, steps[1].pk])}">Continue' in page


# ---------------------------------------------------------------- access


def test_nobody_else_opens_a_learners_enrolment_steps_or_survey(
    course: Program,
    mine: Enrollment,
    rep: User,
    rep2: User,
    manager: User,
    outsider: User,
    enablement: User,
) -> None:
    quiz = step_of(course, "quiz")
    attempt = quizzes.attempt_start(enrollment=mine, step=quiz)
    card_step = step_of(course, "card")
    gets = [
        reverse("learning_enrollment", args=[mine.pk]),
        reverse("learning_step", args=[mine.pk, card_step.pk]),
        reverse("learning_step", args=[mine.pk, quiz.pk]),
        reverse("learning_quiz_result", args=[mine.pk, quiz.pk, attempt.pk]),
        reverse("learning_survey", args=[mine.pk]),
    ]
    posts = [
        reverse("learning_step_done", args=[mine.pk, card_step.pk]),
        reverse("learning_quiz_start", args=[mine.pk, quiz.pk]),
        reverse("learning_quiz_submit", args=[mine.pk, quiz.pk, attempt.pk]),
        reverse("learning_survey", args=[mine.pk]),
    ]
    # The manager follows progress on My team, the enablement team on the report.
    for person in (rep2, manager, outsider, enablement):
        client = client_for(person)
        for url in gets:
            assert client.get(url).status_code == 404, (person, url)
        for url in posts:
            assert client.post(url).status_code == 404, (person, url)
    assert not StepProgress.objects.filter(enrollment=mine, completed_at__isnull=False).exists()
    attempt.refresh_from_db()
    assert attempt.submitted_at is None


def test_steps_of_another_track_or_program_are_404(
    course: Program, mine: Enrollment, rep: User, make_program: Callable[..., Program]
) -> None:
    other = make_program(name="Other", tracks={"support": ["lesson"]}, launch=False)
    client = client_for(rep)
    for step in Step.objects.filter(track__program=other):
        assert client.get(reverse("learning_step", args=[mine.pk, step.pk])).status_code == 404


def test_anonymous_is_sent_to_sign_in(mine: Enrollment) -> None:
    response = Client().get(reverse("learning_enrollment", args=[mine.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


# ---------------------------------------------------------------- cards and re-reading


def test_card_step_shows_text_trust_and_records_the_version_read(
    course: Program, mine: Enrollment, rep: User, card: Card, admin: User
) -> None:
    client = client_for(rep)
    step = step_of(course, "card")
    url = reverse("learning_step", args=[mine.pk, step.pk])
    page = client.get(url).content.decode()
    # rep cannot read the collection, yet the program shows the card's text (not its page).
    assert "Verity keeps answers verified." in page
    assert 'class="badge' in page and "I have read this" in page
    assert reverse("card_detail", args=[card.pk]) not in page
    assert StepProgress.objects.get(enrollment=mine, step=step).opened_at is not None

    response = client.post(reverse("learning_step_done", args=[mine.pk, step.pk]))
    assert response.status_code == 302
    progress = StepProgress.objects.get(enrollment=mine, step=step)
    assert progress.completed_at is not None and progress.card_version == card.version

    knowledge.card_update(user=admin, card=card, expected_version=card.version, content="New.")
    card.refresh_from_db()
    listing = client.get(reverse("my_learning")).content.decode()
    assert "Updated — re-read" in listing and url in listing
    page = client.get(url).content.decode()
    assert "updated — re-read" in page and "New." in page
    assert f"You read version {card.version - 1}" in page

    client.post(reverse("learning_step_done", args=[mine.pk, step.pk]))
    progress.refresh_from_db()
    assert not progress.needs_reread and progress.card_version == card.version
    listing = client.get(reverse("my_learning")).content.decode()
    assert "Updated — re-read" not in listing


def test_card_page_link_only_for_those_who_can_read_the_card(
    course: Program, admin: User, card: Card
) -> None:
    # Admins read every collection: as a learner they get the link to the card page too.
    course.audience_users.add(admin)
    enrolment.sync_audience(course)
    enrollment = Enrollment.objects.get(program=course, user=admin)
    step = step_of(course, "card")
    page = client_for(admin).get(reverse("learning_step", args=[enrollment.pk, step.pk]))
    assert reverse("card_detail", args=[card.pk]) in page.content.decode()


def test_lesson_embeds_youtube_and_marks_done(course: Program, mine: Enrollment, rep: User) -> None:
    lesson = step_of(course, "lesson")
    lesson.video_url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    lesson.save()
    client = client_for(rep)
    page = client.get(reverse("learning_step", args=[mine.pk, lesson.pk])).content.decode()
    assert '<iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"' in page
    assert "Hello learners" in page

    lesson.video_url = "https://videos.example.com/intro.mp4"
    lesson.save()
    page = client.get(reverse("learning_step", args=[mine.pk, lesson.pk])).content.decode()
    assert "<iframe" not in page and 'href="https://videos.example.com/intro.mp4"' in page

    client.post(reverse("learning_step_done", args=[mine.pk, lesson.pk]))
    assert StepProgress.objects.get(enrollment=mine, step=lesson).completed_at is not None


@pytest.mark.parametrize(
    ("url", "embed"),
    [
        ("https://youtu.be/dQw4w9WgXcQ", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"),
        (
            "https://m.youtube.com/watch?v=dQw4w9WgXcQ&t=5",
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        ),
        ("https://vimeo.com/76979871", "https://player.vimeo.com/video/76979871"),
        ("https://player.vimeo.com/video/76979871", "https://player.vimeo.com/video/76979871"),
        ('https://www.youtube.com/watch?v=bad"id', None),
        ("https://evil.example.com/youtube.com/watch?v=dQw4w9WgXcQ", None),
        ("javascript:alert(1)", None),
        ("https://youtu.be/dQw4w9WgXcQ%0A", None),
        ("https://vimeo.com/channels/staffpicks", None),
    ],
)
def test_only_youtube_and_vimeo_are_embedded(url: str, embed: str | None) -> None:
    assert video_embed_url(url) == embed


def test_due_text_words() -> None:
    now = timezone.now()
    assert due_text(now + timedelta(days=3), now) == "due in 3 days"
    assert due_text(now - timedelta(days=3), now) == "3 days overdue"
    assert due_text(None, now) == ""


def test_previous_and_next_navigation(course: Program, mine: Enrollment, rep: User) -> None:
    steps = enrolment.learner_steps(mine)
    page = client_for(rep).get(reverse("learning_step", args=[mine.pk, steps[1].pk]))
    html = page.content.decode()
    assert f'rel="prev" href="{reverse("learning_step", args=[mine.pk, steps[0].pk])}"' in html
    assert f'rel="next" href="{reverse("learning_step", args=[mine.pk, steps[2].pk])}"' in html
    assert "Step 2 of 5" in html


# ---------------------------------------------------------------- quizzes


def test_quiz_flow_start_submit_result_and_attempt_limit(
    course: Program, mine: Enrollment, rep: User
) -> None:
    client = client_for(rep)
    quiz = step_of(course, "quiz")
    step_url = reverse("learning_step", args=[mine.pk, quiz.pk])
    page = client.get(step_url).content.decode()
    assert "Start the quiz" in page and "0 of 2 used" in page

    client.post(reverse("learning_quiz_start", args=[mine.pk, quiz.pk]))
    attempt = QuizAttempt.objects.get(enrollment=mine, step=quiz)
    page = client.get(step_url).content.decode()
    assert 'type="radio"' in page and 'type="checkbox"' in page
    # Questions in the order stored on the attempt.
    texts = [quiz.questions.get(pk=qid).text for qid, _c in attempt.order]
    assert page.index(texts[0]) < page.index(texts[1])

    # Nothing chosen: the form says so and nothing is scored.
    response = client.post(reverse("learning_quiz_submit", args=[mine.pk, quiz.pk, attempt.pk]))
    assert response.status_code == 200 and "Choose an answer." in response.content.decode()
    attempt.refresh_from_db()
    assert attempt.submitted_at is None

    response = client.post(
        reverse("learning_quiz_submit", args=[mine.pk, quiz.pk, attempt.pk]),
        answers_for(attempt, right=False),
    )
    result_url = reverse("learning_quiz_result", args=[mine.pk, quiz.pk, attempt.pk])
    assert response.status_code == 302 and response["Location"] == result_url
    result = client.get(result_url).content.decode()
    assert "Not passed" in result and "1 attempt left" in result and "Try again" in result
    assert "Wrong" in result and "Verified cards are checked by their verifier." in result
    assert "(correct)" not in result  # not revealed while a retry is possible

    client.post(reverse("learning_quiz_start", args=[mine.pk, quiz.pk]))
    second = QuizAttempt.objects.get(enrollment=mine, step=quiz, number=2)
    client.post(
        reverse("learning_quiz_submit", args=[mine.pk, quiz.pk, second.pk]),
        answers_for(second, right=False),
    )
    result = client.get(
        reverse("learning_quiz_result", args=[mine.pk, quiz.pk, second.pk])
    ).content.decode()
    assert "Try again" not in result and "(correct)" in result
    response = client.post(reverse("learning_quiz_start", args=[mine.pk, quiz.pk]), follow=True)
    assert "You have used all 2 attempts at this quiz." in response.content.decode()
    assert QuizAttempt.objects.filter(enrollment=mine, step=quiz).count() == 2


def test_passing_the_quiz_completes_the_step(course: Program, mine: Enrollment, rep: User) -> None:
    client = client_for(rep)
    quiz = step_of(course, "quiz")
    client.post(reverse("learning_quiz_start", args=[mine.pk, quiz.pk]))
    attempt = QuizAttempt.objects.get(enrollment=mine, step=quiz)
    client.post(
        reverse("learning_quiz_submit", args=[mine.pk, quiz.pk, attempt.pk]),
        answers_for(attempt, right=True),
    )
    result = client.get(
        reverse("learning_quiz_result", args=[mine.pk, quiz.pk, attempt.pk])
    ).content.decode()
    assert "Passed" in result and "100%" in result and "Try again" not in result
    progress = StepProgress.objects.get(enrollment=mine, step=quiz)
    assert progress.passed and progress.completed_at is not None
    # Submitting the same attempt again only leads back to its result.
    again = client.post(
        reverse("learning_quiz_submit", args=[mine.pk, quiz.pk, attempt.pk]),
        answers_for(attempt, right=False),
    )
    assert again.status_code == 302
    attempt.refresh_from_db()
    assert attempt.score == 100.0


def test_quiz_shows_the_shuffled_order_of_the_attempt(
    course: Program, mine: Enrollment, rep: User
) -> None:
    quiz = step_of(course, "quiz")
    attempt = quizzes.attempt_start(enrollment=mine, step=quiz, rng=random.Random(3))
    page = client_for(rep).get(reverse("learning_step", args=[mine.pk, quiz.pk])).content.decode()
    shown = [int(v) for v in re.findall(r'name="q\d+" value="(\d+)"', page)]
    assert shown == [c for _q, choices in attempt.order for c in choices]


# ---------------------------------------------------------------- practice and surveys


def test_practice_hand_in_then_waits_for_the_manager(
    course: Program, mine: Enrollment, rep: User
) -> None:
    client = client_for(rep)
    task = step_of(course, "practice")
    url = reverse("learning_practice_submit", args=[mine.pk, task.pk])
    response = client.post(url, {"text": "", "link": ""})
    assert response.status_code == 200 and "Write your answer" in response.content.decode()
    client.post(url, {"text": "My pitch", "link": ""})
    page = client.get(reverse("learning_step", args=[mine.pk, task.pk])).content.decode()
    assert "Waiting for Manager" in page and "Clarity" in page and "My pitch" in page
    path = client.get(reverse("learning_enrollment", args=[mine.pk])).content.decode()
    assert "waiting for review" in path


def test_survey_step_has_eleven_choices_and_completes_once(
    course: Program, mine: Enrollment, rep: User
) -> None:
    client = client_for(rep)
    step = step_of(course, "survey")
    own = SurveyQuestion.objects.create(
        program=course, step=step, text="Was it useful?", kind=SurveyQuestionKind.RATING
    )
    page = client.get(reverse("learning_step", args=[mine.pk, step.pk])).content.decode()
    assert len(re.findall(r'name="recommend" value="\d+"', page)) == 11
    assert "not likely" in page and "very likely" in page and "Was it useful?" in page

    url = reverse("learning_step_survey", args=[mine.pk, step.pk])
    client.post(url, {"recommend": "9", "comment": "Good", f"sq{own.pk}": "4"})
    response = SurveyResponse.objects.get(enrollment=mine, step=step)
    assert (response.recommend, response.answers) == (9, {str(own.pk): 4})
    assert StepProgress.objects.get(enrollment=mine, step=step).completed_at is not None
    client.post(url, {"recommend": "2"})
    assert SurveyResponse.objects.filter(enrollment=mine).count() == 1


def test_end_survey_opens_on_completion_and_is_answered_once(
    make_program: Callable[..., Program], rep: User
) -> None:
    program = make_program(shared=["lesson"], audience_users=[rep], launch=True)
    enrollment = Enrollment.objects.get(program=program, user=rep)
    client = client_for(rep)
    survey_url = reverse("learning_survey", args=[enrollment.pk])
    assert "opens when you have completed" in client.get(survey_url).content.decode()
    assert client.post(survey_url, {"recommend": "10"}).status_code == 409

    lesson = step_of(program, "lesson")
    response = client.post(reverse("learning_step_done", args=[enrollment.pk, lesson.pk]))
    assert response["Location"] == survey_url  # completing offers the survey
    path = client.get(reverse("learning_enrollment", args=[enrollment.pk])).content.decode()
    assert "Answer the survey" in path
    assert survey_url in client.get(reverse("my_learning")).content.decode()

    assert client.post(survey_url, {"recommend": "10", "comment": "Great"}).status_code == 302
    assert client.post(survey_url, {"recommend": "0"}).status_code == 409
    assert list(SurveyResponse.objects.values_list("recommend", flat=True)) == [10]
    path = client.get(reverse("learning_enrollment", args=[enrollment.pk])).content.decode()
    assert "Answer the survey" not in path
    assert survey_url not in client.get(reverse("my_learning")).content.decode()


def test_certificates_show_valid_until(make_program: Callable[..., Program], rep: User) -> None:
    program = make_program(
        name="Compliance",
        shared=["lesson"],
        audience_users=[rep],
        recertify_months=12,
        launch=True,
    )
    enrollment = Enrollment.objects.get(program=program, user=rep)
    enrolment.complete_step(enrollment=enrollment, step=step_of(program, "lesson"))
    page = client_for(rep).get(reverse("my_learning")).content.decode()
    assert 'id="certificates"' in page and "valid until" in page


# ---------------------------------------------------------------- browser journey

SHOTS = os.environ.get("VERITY_SHOTS", "")
SIZES = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def shoot(page: Any, name: str) -> None:
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    for label, size in SIZES.items():
        page.set_viewport_size(size)
        # From the top: a full-page shot of a scrolled page paints the sticky bar mid-page.
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=f"{SHOTS}/{name}-{label}.png", full_page=True)
    page.set_viewport_size(SIZES["laptop"])


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/login/?next=/learning/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/learning/")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_browser_learner_reads_takes_the_quiz_and_manager_sees_it(
    page: Any,
    live_server: Any,
    make_program: Callable[..., Program],
    make_card: Callable[..., Card],
    rep: User,
    rep2: User,
    manager: User,
) -> None:
    from playwright.sync_api import expect

    pricing = make_card(
        "Pricing and discounts",
        "## List prices\n\nTeam: **$12** per seat a month; Business: **$24**.\n\n"
        "## Discounts\n\n- Up to 10% for annual prepay, approved by the account executive.\n"
        "- 10-20% needs the sales manager.\n- Above 20%: the deal desk.\n\n"
        "> Never promise a discount before the customer has seen the value.",
    )
    course = make_program(
        name="New-hire onboarding",
        goal="Know the product, the prices and how we talk to customers.",
        shared=[
            {"kind": "card", "card": pricing, "title": "Pricing and discounts"},
            {"kind": "lesson", "title": "Welcome to Northwind", "body_html": "<p>Hello!</p>"},
            {"kind": "quiz", "title": "Pricing check", "pass_mark": 50, "shuffle": False},
        ],
        tracks={"sales": [{"kind": "practice", "title": "Pitch the Business plan"}]},
        audience_users=[rep, rep2],
        due_days=3,
        launch=True,
    )
    quiz = step_of(course, "quiz")
    quizzes.question_add(
        quiz,
        QuestionKind.SINGLE,
        "Who approves a 15% discount?",
        "10-20% needs the sales manager.",
        [("The account executive", False), ("The sales manager", True), ("The deal desk", False)],
    )
    quizzes.question_add(
        quiz,
        QuestionKind.MULTIPLE,
        "Which plans have a per-seat price?",
        "Both Team and Business are priced per seat.",
        [("Team", True), ("Business", True), ("Enterprise", False)],
    )
    make_program(
        name="Security awareness",
        kind="compliance",
        shared=["lesson"],
        audience_users=[rep],
        due_days=30,
        launch=True,
    )
    make_program(
        name="Launch: Atlas analytics",
        kind="launch",
        shared=["lesson"],
        audience_users=[rep],
        leaders_first=True,
        release_date=timezone.localdate() + timedelta(days=10),
        launch=True,
    )
    late = Enrollment.objects.get(program=course, user=rep2)
    Enrollment.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(days=2))

    base = live_server.url
    page.set_viewport_size(SIZES["laptop"])
    sign_in(page, base, rep.email)
    expect(page.get_by_role("heading", name="My learning", level=1)).to_be_visible()
    expect(page.get_by_text("Waiting for Manager to complete it first")).to_be_visible()
    shoot(page, "my-learning")

    page.get_by_role("link", name="New-hire onboarding").first.click()
    page.get_by_role("link", name="Start", exact=True).click()
    expect(page.get_by_role("heading", name="Pricing and discounts", level=1)).to_be_visible()
    expect(page.get_by_text("Never promise a discount")).to_be_visible()
    shoot(page, "card-step")
    page.get_by_role("button", name="I have read this").click()
    expect(page.get_by_role("heading", name="Welcome to Northwind")).to_be_visible()
    page.get_by_role("button", name="Mark as done").click()
    expect(page.get_by_role("heading", name="Pricing check", level=1)).to_be_visible()
    page.get_by_role("button", name="Start the quiz").click()
    expect(page.get_by_text("Who approves a 15% discount?")).to_be_visible()
    page.get_by_label("The sales manager").check()
    page.get_by_label("Team", exact=True).check()
    shoot(page, "quiz-question")
    page.get_by_role("button", name="Submit answers").click()
    expect(page.locator(".quiz-verdict")).to_have_text("✓ Passed")
    expect(page.get_by_text("Both Team and Business are priced per seat.")).to_be_visible()
    shoot(page, "quiz-result")
    enrollment = Enrollment.objects.get(program=course, user=rep)
    assert (
        StepProgress.objects.filter(enrollment=enrollment, completed_at__isnull=False).count() == 3
    )

    page.get_by_role("link", name="Next step").click()
    page.get_by_label("Your answer").fill("Business pays for itself: the deal desk saves a day.")
    page.get_by_role("button", name="Hand in").click()
    expect(page.get_by_text("Waiting for Manager's review.")).to_be_visible()
    shoot(page, "practice-step")
    page.get_by_role("link", name="New-hire onboarding").first.click()
    expect(page.get_by_text("Sales track")).to_be_visible()
    shoot(page, "path")

    page.context.clear_cookies()
    sign_in(page, base, manager.email)
    page.goto(f"{base}/learning/team/")
    expect(page.get_by_role("heading", name="My team", level=1)).to_be_visible()
    expect(page.get_by_text("2 days overdue")).to_be_visible()
    expect(
        page.get_by_role("button", name="Join this training — New-hire onboarding")
    ).to_be_visible()
    shoot(page, "my-team")
    page.get_by_role("link", name="Review Pitch the Business plan — Rep").click()
    page.locator("label[for=id_score_0_3]").click()
    page.get_by_label("Feedback").fill("Good: now add a customer example.")
    shoot(page, "review")
    page.get_by_role("button", name="Save review").click()
    expect(page.get_by_text("Good: now add a customer example.")).to_be_visible()
    submission = PracticeSubmission.objects.get(enrollment=enrollment)
    assert submission.scores == [4]


AXE = Path(__file__).parent.parent / "e2e" / "vendor" / "axe-4.10.2.min.js"


def axe_violations(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_learner_and_team_pages_have_no_serious_axe_violations(
    browser: Any,
    live_server: Any,
    course: Program,
    mine: Enrollment,
    rep: User,
    rep2: User,
    manager: User,
    scheme: str,
) -> None:
    quiz = step_of(course, "quiz")
    done = quizzes.attempt_start(enrollment=mine, step=quiz)
    quizzes.attempt_submit(attempt=done, answers={})
    quizzes.attempt_start(enrollment=mine, step=quiz)  # open: the page shows the questions
    task = step_of(course, "practice")
    submission = practice.practice_submit(enrollment=mine, step=task, text="My pitch")
    Enrollment.objects.filter(user=rep2).update(due_at=timezone.now() - timedelta(days=1))

    def pages_for(user: User, urls: list[str]) -> list[str]:
        client = Client()
        client.force_login(user)
        context = browser.new_context(viewport={"width": 1280, "height": 800}, color_scheme=scheme)
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        page = context.new_page()
        found = []
        for url in urls:
            page.goto(f"{live_server.url}{url}")
            found += [f"{url}: {v}" for v in axe_violations(page)]
        context.close()
        return found

    learner_urls = [
        reverse("my_learning"),
        reverse("learning_enrollment", args=[mine.pk]),
        *(reverse("learning_step", args=[mine.pk, s.pk]) for s in enrolment.learner_steps(mine)),
        reverse("learning_quiz_result", args=[mine.pk, quiz.pk, done.pk]),
    ]
    team_urls = [reverse("my_team"), reverse("practice_review", args=[submission.pk])]
    assert pages_for(rep, learner_urls) + pages_for(manager, team_urls) == []
