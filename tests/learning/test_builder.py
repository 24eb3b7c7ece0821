"""The builder's services: who may build, what a program and its steps must satisfy, ordering,
and what may still change once a program is launched."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from verity.accounts.models import Group, JobFunction, User
from verity.knowledge import services as knowledge
from verity.knowledge.models import Card, Collection
from verity.learning import builder, enrolment
from verity.learning.models import (
    Enrollment,
    Program,
    ProgramStatus,
    QuestionKind,
    Step,
    StepKind,
    SurveyQuestion,
    Track,
    TrackRole,
)
from verity.learning.quizzes import true_false


@pytest.fixture
def readable(admin: User, enablement: User, collection: Collection) -> Collection:
    """Give the enablement user read access to the fixture collection."""
    team = Group.objects.create(name="Enablement team")
    team.members.add(enablement)
    knowledge.collection_grant(user=admin, collection=collection, group=team, role="read")
    return collection


@pytest.fixture
def program(enablement: User) -> Program:
    return builder.program_create(user=enablement, name="Onboarding", kind="onboarding")


def shared(program: Program) -> Track:
    return program.tracks.get(role=TrackRole.SHARED)


def errors_of(excinfo: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# ---------------------------------------------------------------- programs


def test_create_makes_a_draft_with_a_shared_track(enablement: User, rep: User) -> None:
    program = builder.program_create(
        user=enablement,
        name="  New   hires ",
        kind="onboarding",
        audience_functions=["sales", "sales"],
        audience_users=[rep],
        due_days=14,
    )
    assert program.name == "New hires"
    assert program.status == ProgramStatus.DRAFT
    assert program.owner == enablement
    assert program.audience_functions == ["sales"]
    assert list(program.audience_users.all()) == [rep]
    assert [t.role for t in program.tracks.all()] == [TrackRole.SHARED]


@pytest.mark.parametrize("who", ["rep", "manager", "outsider"])
def test_only_the_enablement_team_creates_programs(
    who: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        builder.program_create(user=user, name="Mine", kind="skills")
    assert not Program.objects.exists()


def test_admin_creates_programs(admin: User) -> None:
    assert builder.program_create(user=admin, name="Compliance", kind="compliance").pk


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "   "}, "name"),
        ({"kind": "party"}, "kind"),
        ({"audience_functions": ["astronaut"]}, "audience_functions"),
        ({"due_days": 10, "due_date": date(2030, 1, 1)}, "due_days"),
        ({"due_days": 0}, "due_days"),
        ({"recertify_months": 0}, "recertify_months"),
        ({"release_date": date(2030, 1, 1)}, "release_date"),  # leaders first is off
    ],
)
def test_program_validation(enablement: User, fields: dict, field: str) -> None:
    values = {"name": "Launch", "kind": "launch", **fields}
    with pytest.raises(ValidationError) as excinfo:
        builder.program_create(user=enablement, **values)
    assert field in errors_of(excinfo)
    assert not Program.objects.exists()


def test_release_date_with_leaders_first(enablement: User) -> None:
    program = builder.program_create(
        user=enablement,
        name="Launch",
        kind="launch",
        leaders_first=True,
        release_date=date(2030, 1, 1),
    )
    assert program.release_date == date(2030, 1, 1)


def test_owner_who_is_not_enablement_manages_their_program(
    enablement: User, manager: User, rep: User
) -> None:
    program = builder.program_create(user=enablement, name="Team", kind="skills", owner=manager)
    builder.program_update(user=manager, program=program, name="Team skills", kind="skills")
    assert Program.objects.get().name == "Team skills"
    with pytest.raises(PermissionDenied):
        builder.program_update(user=rep, program=program, name="Hacked", kind="skills")


def test_launch_needs_an_audience(enablement: User, program: Program, rep: User) -> None:
    builder.step_add(user=enablement, track=shared(program), kind="lesson", title="Hi", body="x")
    with pytest.raises(ValidationError, match="audience"):
        builder.program_launch(user=enablement, program=program)
    assert Program.objects.get().status == ProgramStatus.DRAFT

    program.audience_users.set([rep])
    builder.program_launch(user=enablement, program=program)
    program.refresh_from_db()
    assert program.status == ProgramStatus.ACTIVE
    assert Enrollment.objects.filter(program=program, user=rep).exists()


def test_launch_is_refused_to_learners(enablement: User, program: Program, rep: User) -> None:
    program.audience_users.set([rep])
    builder.step_add(user=enablement, track=shared(program), kind="lesson", title="Hi", body="x")
    with pytest.raises(PermissionDenied):
        builder.program_launch(user=rep, program=program)


def test_update_of_an_active_program_enrols_new_audience(
    enablement: User, make_program: Callable[..., Program], rep: User, rep2: User
) -> None:
    program = make_program(shared=["lesson"], audience_users=[rep], launch=True)
    builder.program_update(
        user=enablement,
        program=program,
        name=program.name,
        kind=program.kind,
        audience_users=[rep, rep2],
    )
    assert set(
        Enrollment.objects.filter(program=program).values_list("user__email", flat=True)
    ) == {
        rep.email,
        rep2.email,
    }


# ---------------------------------------------------------------- tracks


def test_track_add_and_its_rules(enablement: User, program: Program) -> None:
    track = builder.track_add(user=enablement, program=program, role="sales")
    assert track.role == TrackRole.SALES
    for role in ("sales", "shared", "astronaut"):
        with pytest.raises(ValidationError):
            builder.track_add(user=enablement, program=program, role=role)
    with pytest.raises(ValidationError):
        builder.track_remove(user=enablement, track=shared(program))
    builder.track_remove(user=enablement, track=track)
    assert list(program.tracks.values_list("role", flat=True)) == [TrackRole.SHARED]


def test_track_added_after_launch_reaches_learners_of_that_function(
    enablement: User, make_program: Callable[..., Program], rep: User, rep2: User
) -> None:
    program = make_program(shared=["lesson"], audience_users=[rep, rep2], launch=True)
    assert Enrollment.objects.get(user=rep).track_role == ""
    track = builder.track_add(user=enablement, program=program, role=JobFunction.SALES)
    step = builder.step_add(user=enablement, track=track, kind="lesson", title="Pitch", body="x")
    enrollment = Enrollment.objects.get(user=rep)
    assert enrollment.track_role == JobFunction.SALES
    assert step in enrolment.learner_steps(enrollment)
    # Customer success has no track: rep2 still follows the shared one only.
    assert step not in enrolment.learner_steps(Enrollment.objects.get(user=rep2))


# ---------------------------------------------------------------- steps


def test_card_step_needs_a_card_the_builder_can_read(
    enablement: User, program: Program, card: Card
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        builder.step_add(user=enablement, track=shared(program), kind="card", card=card)
    assert "card" in errors_of(excinfo)
    with pytest.raises(ValidationError):
        builder.step_add(user=enablement, track=shared(program), kind="card", card=None)
    assert not Step.objects.exists()


def test_card_step_title_defaults_to_the_card(
    enablement: User, program: Program, card: Card, readable: Collection
) -> None:
    step = builder.step_add(user=enablement, track=shared(program), kind="card", card=card)
    assert step.title == card.title
    assert step.card == card
    assert step.required


def test_archived_card_cannot_be_added(
    admin: User, enablement: User, program: Program, card: Card, readable: Collection
) -> None:
    knowledge.card_archive(user=admin, card=card)
    with pytest.raises(ValidationError):
        builder.step_add(user=enablement, track=shared(program), kind="card", card=card)


def test_lesson_needs_text_or_video(enablement: User, program: Program) -> None:
    track = shared(program)
    with pytest.raises(ValidationError) as excinfo:
        builder.step_add(user=enablement, track=track, kind="lesson", title="Empty")
    assert "body" in errors_of(excinfo)
    video = builder.step_add(
        user=enablement, track=track, kind="lesson", title="Video", video_url="https://v.example/1"
    )
    assert video.video_url == "https://v.example/1"


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://files.example/v.mp4", "not a link", "//v.example/x"]
)
def test_video_link_must_be_http(enablement: User, program: Program, url: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        builder.step_add(
            user=enablement, track=shared(program), kind="lesson", title="V", video_url=url
        )
    assert "video_url" in errors_of(excinfo)


def test_lesson_markdown_is_rendered_and_sanitised(enablement: User, program: Program) -> None:
    step = builder.step_add(
        user=enablement,
        track=shared(program),
        kind="lesson",
        title="Basics",
        body="# Welcome\n\n**Read** this.<script>alert(1)</script>",
    )
    assert "<h1>Welcome</h1>" in step.body_html
    assert "<strong>Read</strong>" in step.body_html
    assert "<script" not in step.body_html


def test_practice_task_and_rubric(enablement: User, program: Program) -> None:
    track = shared(program)
    with pytest.raises(ValidationError) as excinfo:
        builder.step_add(user=enablement, track=track, kind="practice", title="Pitch")
    assert "body" in errors_of(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        builder.step_add(
            user=enablement,
            track=track,
            kind="practice",
            title="Pitch",
            body="Record a pitch.",
            rubric=[f"Criterion {i}" for i in range(6)],
        )
    assert "rubric" in errors_of(excinfo)
    step = builder.step_add(
        user=enablement,
        track=track,
        kind="practice",
        title="Pitch",
        body="Record a pitch.",
        rubric=["Clarity", "", "  Discovery   questions "],
    )
    assert step.rubric == ["Clarity", "Discovery questions"]
    assert step.body_html.startswith("<p>Record")


def test_quiz_settings_are_checked(enablement: User, program: Program) -> None:
    track = shared(program)
    with pytest.raises(ValidationError) as excinfo:
        builder.step_add(user=enablement, track=track, kind="quiz", title="Q", pass_mark=0)
    assert "pass_mark" in errors_of(excinfo)
    with pytest.raises(ValidationError) as excinfo:
        builder.step_add(user=enablement, track=track, kind="quiz", title="Q", max_attempts=0)
    assert "max_attempts" in errors_of(excinfo)
    quiz = builder.step_add(
        user=enablement, track=track, kind="quiz", title="Q", pass_mark=70, max_attempts=3
    )
    assert (quiz.pass_mark, quiz.max_attempts) == (70, 3)


def test_step_update_keeps_the_kind_and_checks_again(enablement: User, program: Program) -> None:
    step = builder.step_add(
        user=enablement, track=shared(program), kind="lesson", title="A", body="text"
    )
    builder.step_update(user=enablement, step=step, title="B", body="**new**", required=False)
    step.refresh_from_db()
    assert (step.kind, step.title, step.required) == (StepKind.LESSON, "B", False)
    assert "<strong>new</strong>" in step.body_html
    with pytest.raises(ValidationError):
        builder.step_update(user=enablement, step=step, title="B", body="")


def test_learners_cannot_change_steps(
    enablement: User, program: Program, rep: User, manager: User
) -> None:
    step = builder.step_add(
        user=enablement, track=shared(program), kind="lesson", title="A", body="x"
    )
    for user in (rep, manager):
        with pytest.raises(PermissionDenied):
            builder.step_add(user=user, track=shared(program), kind="lesson", title="B", body="x")
        with pytest.raises(PermissionDenied):
            builder.step_delete(user=user, step=step)
        with pytest.raises(PermissionDenied):
            builder.step_move(user=user, step=step, direction="down")


def _titles(track: Track) -> list[str]:
    return list(track.steps.order_by("position", "pk").values_list("title", flat=True))


def _three(enablement: User, program: Program) -> list[Step]:
    return [
        builder.step_add(user=enablement, track=shared(program), kind="lesson", title=t, body="x")
        for t in ("one", "two", "three")
    ]


def test_steps_reorder(enablement: User, program: Program) -> None:
    one, two, three = _three(enablement, program)
    builder.steps_reorder(
        user=enablement, track=shared(program), step_ids=[three.pk, one.pk, two.pk]
    )
    assert _titles(shared(program)) == ["three", "one", "two"]
    for wrong in ([one.pk, two.pk], [one.pk, one.pk, two.pk, three.pk], [one.pk, two.pk, 999999]):
        with pytest.raises(ValidationError):
            builder.steps_reorder(user=enablement, track=shared(program), step_ids=wrong)
    assert _titles(shared(program)) == ["three", "one", "two"]


def test_step_move_up_and_down(enablement: User, program: Program) -> None:
    one, two, three = _three(enablement, program)
    builder.step_move(user=enablement, step=three, direction="up")
    assert _titles(shared(program)) == ["one", "three", "two"]
    builder.step_move(user=enablement, step=one, direction="up")  # already first: no change
    builder.step_move(user=enablement, step=one, direction="down")
    assert _titles(shared(program)) == ["three", "one", "two"]
    builder.step_move(user=enablement, step=two, direction="down")  # already last
    assert _titles(shared(program)) == ["three", "one", "two"]


def test_step_delete_renumbers(enablement: User, program: Program) -> None:
    _first, two, _last = _three(enablement, program)
    builder.step_delete(user=enablement, step=two)
    assert list(shared(program).steps.values_list("title", "position")) == [
        ("one", 0),
        ("three", 1),
    ]


def test_launched_program_keeps_changing_but_keeps_history(
    enablement: User, make_program: Callable[..., Program], rep: User
) -> None:
    program = make_program(shared=["lesson"], audience_users=[rep], launch=True)
    track = shared(program)
    worked_on = track.steps.get()
    enrollment = Enrollment.objects.get(user=rep)
    enrolment.open_step(enrollment, worked_on)

    added = builder.step_add(user=enablement, track=track, kind="lesson", title="Later", body="x")
    assert added in enrolment.learner_steps(enrollment)
    with pytest.raises(ValidationError, match="optional"):
        builder.step_delete(user=enablement, step=worked_on)
    builder.step_update(
        user=enablement, step=worked_on, title="Now optional", body="x", required=False
    )
    builder.step_delete(user=enablement, step=added)  # nobody opened it yet
    assert list(track.steps.values_list("title", flat=True)) == ["Now optional"]


# ---------------------------------------------------------------- quiz and survey questions


def test_quiz_questions_through_the_builder(enablement: User, program: Program, rep: User) -> None:
    quiz = builder.step_add(user=enablement, track=shared(program), kind="quiz", title="Q")
    first = builder.quiz_question_add(
        user=enablement,
        step=quiz,
        kind=QuestionKind.TRUE_FALSE,
        text="Sky is blue",
        choices=true_false(True),
    )
    second = builder.quiz_question_add(
        user=enablement,
        step=quiz,
        kind=QuestionKind.SINGLE,
        text="Pick one",
        choices=[("A", True), ("B", False)],
    )
    builder.quiz_question_move(user=enablement, question=second, direction="up")
    assert list(quiz.questions.values_list("pk", flat=True)) == [second.pk, first.pk]
    with pytest.raises(PermissionDenied):
        builder.quiz_question_add(
            user=rep,
            step=quiz,
            kind=QuestionKind.SINGLE,
            text="x",
            choices=[("A", True), ("B", False)],
        )
    with pytest.raises(PermissionDenied):
        builder.quiz_question_delete(user=rep, question=first)
    lesson = builder.step_add(
        user=enablement, track=shared(program), kind="lesson", title="L", body="x"
    )
    with pytest.raises(ValidationError):
        builder.quiz_question_add(
            user=enablement,
            step=lesson,
            kind=QuestionKind.SINGLE,
            text="x",
            choices=[("A", True), ("B", False)],
        )
    builder.quiz_question_delete(user=enablement, question=second)
    assert list(quiz.questions.all()) == [first]


def test_survey_questions(enablement: User, program: Program, rep: User) -> None:
    end = builder.survey_question_add(user=enablement, program=program, text="Useful?")
    assert end.step is None and end.kind == "rating"
    survey = builder.step_add(user=enablement, track=shared(program), kind="survey", title="Mid")
    on_step = builder.survey_question_add(
        user=enablement, program=program, step=survey, text="What was missing?", kind="text"
    )
    assert on_step.step == survey
    lesson = builder.step_add(
        user=enablement, track=shared(program), kind="lesson", title="L", body="x"
    )
    with pytest.raises(ValidationError):
        builder.survey_question_add(user=enablement, program=program, step=lesson, text="No")
    with pytest.raises(ValidationError):
        builder.survey_question_add(user=enablement, program=program, text="  ")
    with pytest.raises(PermissionDenied):
        builder.survey_question_add(user=rep, program=program, text="Mine")
    builder.survey_question_delete(user=enablement, question=end)
    assert list(SurveyQuestion.objects.all()) == [on_step]
