"""The builder's pages: they render for the enablement team in both languages, refuse
learners and outsiders on every URL, reorder with and without htmx, pick only readable
cards from search, edit quizzes, and warn before archiving a card used in training."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from verity.accounts import access
from verity.accounts.models import Group, User
from verity.knowledge import services as knowledge
from verity.knowledge.models import Card, Collection
from verity.learning import builder
from verity.learning.models import (
    Enrollment,
    Program,
    ProgramStatus,
    Question,
    QuestionKind,
    Step,
    SurveyQuestion,
    TrackRole,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def team(admin: User, enablement: User, collection: Collection) -> Group:
    """The enablement user reads the fixture collection."""
    group = Group.objects.create(name="Enablement team")
    group.members.add(enablement)
    knowledge.collection_grant(user=admin, collection=collection, group=group, role="read")
    return group


@pytest.fixture
def built(
    enablement: User, make_program: Callable[..., Program], rep: User, team: Group
) -> Program:
    """A launched program with a card, a lesson and a quiz (with one question); `rep` is in it."""
    program = make_program(
        shared=["card", "lesson", {"kind": "quiz", "title": "Check"}],
        tracks={"sales": ["lesson"]},
        audience_users=[rep],
        launch=True,
    )
    quiz = Step.objects.get(track__program=program, kind="quiz")
    builder.quiz_question_add(
        user=enablement,
        step=quiz,
        kind=QuestionKind.SINGLE,
        text="Which is right?",
        choices=[("This", True), ("That", False)],
    )
    return program


def builder_urls(program: Program) -> list[tuple[str, str]]:
    """(method, url) for every builder URL on this program."""
    shared = program.tracks.get(role=TrackRole.SHARED)
    sales = program.tracks.get(role=TrackRole.SALES)
    step = shared.steps.first()
    assert step is not None
    quiz = Step.objects.get(track__program=program, kind="quiz")
    question = quiz.questions.get()
    sq = SurveyQuestion.objects.create(program=program, text="Useful?")
    return [
        ("get", reverse("program_list")),
        ("get", reverse("program_create")),
        ("post", reverse("program_create")),
        ("get", reverse("program_detail", args=[program.pk])),
        ("get", reverse("program_edit", args=[program.pk])),
        ("post", reverse("program_edit", args=[program.pk])),
        ("post", reverse("program_launch", args=[program.pk])),
        ("post", reverse("program_track_add", args=[program.pk])),
        ("post", reverse("program_track_remove", args=[program.pk, sales.pk])),
        ("post", reverse("program_step_add", args=[program.pk, shared.pk])),
        ("get", reverse("program_step_new", args=[program.pk, shared.pk])),
        ("get", reverse("program_card_picker", args=[program.pk, shared.pk]) + "?q=product"),
        ("get", reverse("program_step_edit", args=[program.pk, step.pk])),
        ("post", reverse("program_step_edit", args=[program.pk, step.pk])),
        ("post", reverse("program_step_delete", args=[program.pk, step.pk])),
        ("post", reverse("program_step_move", args=[program.pk, step.pk])),
        ("get", reverse("program_quiz", args=[program.pk, quiz.pk])),
        ("post", reverse("program_question_save", args=[program.pk, quiz.pk])),
        ("post", reverse("program_question_delete", args=[program.pk, quiz.pk, question.pk])),
        ("post", reverse("program_question_move", args=[program.pk, quiz.pk, question.pk])),
        ("post", reverse("program_survey_add", args=[program.pk])),
        ("post", reverse("program_survey_delete", args=[program.pk, sq.pk])),
    ]


@pytest.mark.parametrize("who", ["rep", "manager", "outsider"])
def test_learners_and_outsiders_are_refused_everywhere(
    who: str, built: Program, request: pytest.FixtureRequest
) -> None:
    """rep is enrolled and manager has a report in it: they may see the program exists
    (403); the outsider may not (404, or 403 on the pages that are not about one program)."""
    client = client_for(request.getfixturevalue(who))
    steps_before = Step.objects.count()
    for method, url in builder_urls(built):
        response = getattr(client, method)(url, {"direction": "up", "role": "support"})
        expected = (
            {403}
            if who != "outsider" or "/programs/new/" in url or url.endswith("/programs/")
            else {404}
        )
        assert response.status_code in expected, (method, url, response.status_code)
    assert Step.objects.count() == steps_before
    assert Program.objects.get().tracks.count() == 2


def test_anonymous_is_sent_to_sign_in(built: Program) -> None:
    response = Client().get(reverse("program_detail", args=[built.pk]))
    assert response.status_code == 302


def test_owner_who_is_not_enablement_opens_the_builder(built: Program, manager: User) -> None:
    built.owner = manager
    built.save(update_fields=["owner"])
    client = client_for(manager)
    assert client.get(reverse("program_detail", args=[built.pk])).status_code == 200
    assert client.get(reverse("program_list")).status_code == 403  # the list is the team's


@pytest.mark.parametrize("language", ["en", "ru"])
def test_pages_render_in_both_languages(built: Program, enablement: User, language: str) -> None:
    client = client_for(enablement)
    quiz = Step.objects.get(track__program=built, kind="quiz")
    practice = builder.step_add(
        user=enablement,
        track=built.tracks.get(role=TrackRole.SHARED),
        kind="practice",
        title="Pitch",
        body="Record it",
        rubric=["Clarity"],
    )
    pages = [
        reverse("program_list"),
        reverse("program_create"),
        reverse("program_detail", args=[built.pk]),
        reverse("program_edit", args=[built.pk]),
        reverse("program_quiz", args=[built.pk, quiz.pk]),
        reverse("program_step_edit", args=[built.pk, practice.pk]),
        reverse("program_step_new", args=[built.pk, practice.track_id]) + "?kind=quiz",
    ]
    for url in pages:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert f'<html lang="{language}">' in page
        if language == "ru":
            assert "Перейти к содержимому" in page
    detail = client.get(reverse("program_detail", args=[built.pk])).content.decode()
    assert (
        built.name in detail and "Which is right?" not in detail
    )  # questions are on the quiz page
    assert "Our product in one page" in detail and "caught up: 0 of 0" not in detail


def test_program_list_shows_counts(built: Program, enablement: User, rep: User) -> None:
    page = client_for(enablement).get(reverse("program_list")).content.decode()
    assert built.name in page
    assert "Active" in page
    assert 'data-label="Enrolled">1</td>' in page  # rep enrolled


def test_create_and_edit_through_the_form(enablement: User, rep: User) -> None:
    client = client_for(enablement)
    response = client.post(
        reverse("program_create"),
        {
            "name": "Launch: Atlas",
            "kind": "launch",
            "owner": enablement.pk,
            "audience_functions": ["sales"],
            "audience_users": [rep.pk],
            "due_rule": "days",
            "due_days": "10",
            "due_date": "2030-01-01",  # ignored: the radio says days
            "leaders_first": "on",
            "end_survey": "on",
        },
    )
    program = Program.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("program_detail", args=[program.pk])
    assert (program.due_days, program.due_date, program.leaders_first) == (10, None, True)
    assert program.audience_functions == ["sales"]

    response = client.post(
        reverse("program_edit", args=[program.pk]),
        {
            "name": "Launch: Atlas",
            "kind": "launch",
            "owner": enablement.pk,
            "due_rule": "none",
            "release_date": "2030-01-01",
        },
    )
    assert response.status_code == 200  # release date without leaders first
    assert "only applies when leaders go first" in response.content.decode()
    assert Program.objects.get().leaders_first is True  # nothing saved


def test_launch_from_the_page(
    enablement: User, make_program: Callable[..., Program], rep: User
) -> None:
    program = make_program(shared=["lesson"], audience_users=[rep])
    client = client_for(enablement)
    page = client.get(reverse("program_detail", args=[program.pk])).content.decode()
    assert "Launching enrols <strong>1 person</strong>" in page
    response = client.post(reverse("program_launch", args=[program.pk]), follow=True)
    assert Program.objects.get().status == ProgramStatus.ACTIVE
    assert Enrollment.objects.filter(user=rep).exists()
    assert "1 person enrolled" in response.content.decode()


def test_reorder_with_htmx_and_without(built: Program, enablement: User) -> None:
    client = client_for(enablement)
    shared = built.tracks.get(role=TrackRole.SHARED)
    first, second, third = shared.steps.order_by("position")
    url = reverse("program_step_move", args=[built.pk, third.pk])
    response = client.post(url, {"direction": "up"}, **HTMX)
    assert response.status_code == 200
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<section class="panel track"')
    assert fragment.index(third.title) < fragment.index(second.title)
    response = client.post(
        reverse("program_step_move", args=[built.pk, first.pk]), {"direction": "down"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"#track-{shared.pk}")
    assert list(shared.steps.order_by("position").values_list("pk", flat=True)) == [
        third.pk,
        first.pk,
        second.pk,
    ]


def test_step_from_another_program_is_404(
    built: Program, enablement: User, make_program: Callable[..., Program]
) -> None:
    other = make_program(name="Other", shared=["lesson"])
    step = Step.objects.get(track__program=other)
    response = client_for(enablement).post(reverse("program_step_delete", args=[built.pk, step.pk]))
    assert response.status_code == 404
    assert Step.objects.filter(pk=step.pk).exists()


def test_add_steps_from_the_forms(built: Program, enablement: User) -> None:
    client = client_for(enablement)
    shared = built.tracks.get(role=TrackRole.SHARED)
    url = reverse("program_step_add", args=[built.pk, shared.pk])
    response = client.post(url, {"kind": "lesson", "title": "Empty lesson", "required": "on"})
    assert response.status_code == 200  # the form again, with the error
    assert "Write the lesson or give a video link." in response.content.decode()
    response = client.post(url, {"kind": "quiz", "title": "Final quiz", "pass_mark": "75"})
    quiz = Step.objects.get(title="Final quiz")
    assert response["Location"] == reverse("program_quiz", args=[built.pk, quiz.pk])
    assert (quiz.pass_mark, quiz.required) == (75, False)  # unchecked box: optional
    response = client.post(
        url,
        {
            "kind": "practice",
            "title": "Pitch",
            "body": "Do it",
            "rubric": ["Clarity", "Energy", ""],
        },
    )
    assert Step.objects.get(title="Pitch").rubric == ["Clarity", "Energy"]


# ---------------------------------------------------------------- the card picker


@pytest.mark.parametrize("grants", list(itertools.product([False, True], repeat=3)))
def test_card_picker_lists_only_readable_cards(
    admin: User, enablement: User, make_program: Callable[..., Program], grants: tuple[bool, ...]
) -> None:
    """Three collections, each with a matching card, granted to the builder in every
    combination: the picker (and adding from it) never reaches a card they cannot read."""
    group = Group.objects.create(name="Builders")
    group.members.add(enablement)
    cards: list[Card] = []
    for index, granted in enumerate(grants):
        collection = knowledge.collection_create(user=admin, name=f"Collection {index}")
        cards.append(
            knowledge.card_create(
                user=admin,
                collection=collection,
                title=f"Pricing guide {index}",
                content="How we price the product.",
            )
        )
        if granted:
            knowledge.collection_grant(user=admin, collection=collection, group=group, role="read")
    access.forget()
    program = make_program(shared=["lesson"])
    shared = program.tracks.get(role=TrackRole.SHARED)
    client = client_for(enablement)
    page = client.get(
        reverse("program_card_picker", args=[program.pk, shared.pk]), {"q": "pricing"}, **HTMX
    ).content.decode()
    for card, granted in zip(cards, grants, strict=True):
        assert (card.title in page) == granted
        response = client.post(
            reverse("program_step_add", args=[program.pk, shared.pk]),
            {"kind": "card", "card": card.pk, "required": "on"},
            **HTMX,
        )
        assert response.status_code == 200
        assert Step.objects.filter(card=card).exists() == granted
        if not granted:
            assert "Choose a card you can read." in response.content.decode()


def test_card_picker_page_without_javascript(built: Program, enablement: User) -> None:
    shared = built.tracks.get(role=TrackRole.SHARED)
    response = client_for(enablement).get(
        reverse("program_card_picker", args=[built.pk, shared.pk]), {"q": "product"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" in page and "Our product in one page" in page
    assert "in this track" in page  # the fixture card is already a step


# ---------------------------------------------------------------- quiz editor


def test_quiz_editor_add_edit_move_delete(built: Program, enablement: User) -> None:
    client = client_for(enablement)
    quiz = Step.objects.get(track__program=built, kind="quiz")
    save = reverse("program_question_save", args=[built.pk, quiz.pk])
    # Two correct answers on a single-choice question: refused, what was typed stays.
    response = client.post(
        save,
        {
            "kind": "single",
            "text": "Capital of France?",
            "choice": ["Paris", "Lyon"],
            "correct": ["0", "1"],
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "exactly one correct answer" in page and 'value="Lyon"' in page
    assert quiz.questions.count() == 1

    response = client.post(
        save,
        {
            "kind": "single",
            "text": "Capital of France?",
            "choice": ["Paris", "Lyon", ""],
            "correct": ["0"],
            "explanation": "Paris.",
        },
    )
    assert response.status_code == 302
    added = quiz.questions.get(text="Capital of France?")
    assert [(c.text, c.correct) for c in added.choices.all()] == [("Paris", True), ("Lyon", False)]

    response = client.post(save, {"kind": "true_false", "text": "Water is wet", "answer": "true"})
    tf = quiz.questions.get(text="Water is wet")
    assert [c.correct for c in tf.choices.all()] == [True, False]

    edit_page = client.get(reverse("program_quiz", args=[built.pk, quiz.pk]), {"edit": added.pk})
    assert f'name="question" value="{added.pk}"' in edit_page.content.decode()
    client.post(
        save,
        {
            "question": added.pk,
            "kind": "multiple",
            "text": "Cities in France?",
            "choice": ["Paris", "Lyon", "Rome"],
            "correct": ["0", "1"],
        },
    )
    added.refresh_from_db()
    assert added.kind == QuestionKind.MULTIPLE and added.choices.filter(correct=True).count() == 2

    client.post(
        reverse("program_question_move", args=[built.pk, quiz.pk, tf.pk]), {"direction": "up"}
    )
    assert list(quiz.questions.values_list("pk", flat=True))[1] == tf.pk
    client.post(reverse("program_question_delete", args=[built.pk, quiz.pk, tf.pk]))
    assert not Question.objects.filter(pk=tf.pk).exists()


def test_quiz_editor_only_for_quiz_steps(built: Program, enablement: User) -> None:
    lesson = Step.objects.filter(track__program=built, kind="lesson").first()
    assert lesson is not None
    response = client_for(enablement).get(reverse("program_quiz", args=[built.pk, lesson.pk]))
    assert response.status_code == 403


# ---------------------------------------------------------------- archiving a card in use


def test_archiving_a_card_used_in_a_program_asks_first(
    built: Program, admin: User, card: Card
) -> None:
    client = client_for(admin)
    url = reverse("card_archive", args=[card.pk])
    response = client.post(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "This card is used in training" in page and built.name in page
    card.refresh_from_db()
    assert card.archived_at is None

    response = client.post(url, {"confirm": "1"})
    assert response.status_code == 302
    card.refresh_from_db()
    assert card.archived_at is not None


def test_archiving_an_unused_card_needs_no_confirmation(
    admin: User, make_card: Callable[..., Card]
) -> None:
    unused = make_card(title="Not in training")
    response = client_for(admin).post(reverse("card_archive", args=[unused.pk]))
    assert response.status_code == 302
    unused.refresh_from_db()
    assert unused.archived_at is not None


# ---------------------------------------------------------------- step edit and survey questions


def test_edit_a_step(built: Program, enablement: User) -> None:
    client = client_for(enablement)
    lesson = Step.objects.filter(track__program=built, kind="lesson").first()
    assert lesson is not None
    url = reverse("program_step_edit", args=[built.pk, lesson.pk])
    response = client.post(url, {"title": "Renamed", "video_url": "javascript:alert(1)"})
    assert response.status_code == 200
    assert "http:// or https://" in response.content.decode()
    response = client.post(url, {"title": "Renamed", "body": "Now with *text*", "kind": "quiz"})
    assert response.status_code == 302
    lesson.refresh_from_db()
    assert (lesson.title, lesson.kind, lesson.required) == ("Renamed", "lesson", False)
    assert "<em>text</em>" in lesson.body_html


def test_survey_questions_on_the_end_survey_and_a_step(built: Program, enablement: User) -> None:
    client = client_for(enablement)
    add = reverse("program_survey_add", args=[built.pk])
    response = client.post(add, {"text": "Was it useful?", "kind": "rating"})
    assert response["Location"].endswith("#end-survey")
    end = SurveyQuestion.objects.get(step=None)
    assert end.text == "Was it useful?"
    assert (
        "Was it useful?" in client.get(reverse("program_detail", args=[built.pk])).content.decode()
    )

    survey = builder.step_add(
        user=enablement, track=built.tracks.get(role=TrackRole.SHARED), kind="survey", title="Mid"
    )
    response = client.post(add, {"text": "What was missing?", "kind": "text", "step": survey.pk})
    assert response["Location"] == reverse("program_step_edit", args=[built.pk, survey.pk])
    page = client.get(response["Location"]).content.decode()
    assert "What was missing?" in page
    lesson = Step.objects.filter(track__program=built, kind="lesson").first()
    assert lesson is not None
    client.post(add, {"text": "Not here", "kind": "text", "step": lesson.pk})
    assert not SurveyQuestion.objects.filter(text="Not here").exists()

    client.post(reverse("program_survey_delete", args=[built.pk, end.pk]))
    assert list(SurveyQuestion.objects.values_list("text", flat=True)) == ["What was missing?"]
