"""Programs, enrolments, quizzes and surveys over the API: the shapes, who sees what (a learner
their own, a manager their reports', the enablement team everything, an outsider nothing) and
a learner's quiz from start to score."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from tests.conftest import Cast
from verity.accounts.models import User
from verity.learning import enrolment, quizzes
from verity.learning.models import (
    Enrollment,
    EnrollmentState,
    Program,
    Question,
    Step,
    StepKind,
    Track,
    TrackRole,
)


@dataclass
class Setup:
    program: Program
    card_step: Step
    lesson: Step
    quiz: Step
    sales_lesson: Step
    q1: Question
    q2: Question


def make_setup(cast: Cast, now: datetime | None = None, **fields: Any) -> Setup:
    """A launched program owned by the curator (enablement): shared track card, lesson, quiz
    (two single-choice questions, pass mark 50, two attempts); a sales track with one lesson.
    Audience: manager, author and sales_reader (the manager's reports), support_reader."""
    fields.setdefault("name", "Onboarding")
    program = Program.objects.create(owner=cast.curator, **fields)
    program.audience_users.set([cast.manager, cast.author, cast.sales_reader, cast.support_reader])
    shared = Track.objects.create(program=program, role=TrackRole.SHARED)
    sales = Track.objects.create(program=program, role=TrackRole.SALES)
    card_step = Step.objects.create(
        track=shared, position=0, kind=StepKind.CARD, title="Read discounts", card=cast.sales_card
    )
    lesson = Step.objects.create(track=shared, position=1, kind=StepKind.LESSON, title="Welcome")
    quiz = Step.objects.create(
        track=shared,
        position=2,
        kind=StepKind.QUIZ,
        title="Check",
        pass_mark=50,
        max_attempts=2,
        shuffle=False,
    )
    q1 = quizzes.question_add(
        quiz, "single", "Max discount?", "15%.", [("15%", True), ("50%", False)]
    )
    q2 = quizzes.question_add(
        quiz, "true_false", "Ask the deal desk?", "", quizzes.true_false(True)
    )
    sales_lesson = Step.objects.create(
        track=sales, position=0, kind=StepKind.LESSON, title="Sales basics"
    )
    enrolment.program_launch(user=cast.curator, program=program, now=now)
    program.refresh_from_db()
    return Setup(program, card_step, lesson, quiz, sales_lesson, q1, q2)


def right_answers(setup: Setup) -> dict[str, list[int]]:
    return {str(q.pk): [c.pk for c in q.choices.all() if c.correct] for q in (setup.q1, setup.q2)}


def wrong_answers(setup: Setup) -> dict[str, list[int]]:
    return {
        str(q.pk): [c.pk for c in q.choices.all() if not c.correct] for q in (setup.q1, setup.q2)
    }


def enrollment_of(setup: Setup, user: Any) -> Enrollment:
    return Enrollment.objects.get(program=setup.program, user=user, superseded=False)


def finish(setup: Setup, user: Any, now: datetime | None = None) -> Enrollment:
    """Complete every step of `user`'s enrolment through the services."""
    enrollment = enrollment_of(setup, user)
    for step in enrolment.learner_steps(enrollment):
        if step.kind == StepKind.QUIZ:
            attempt = quizzes.attempt_start(enrollment=enrollment, step=step, now=now)
            answers = {int(k): v for k, v in right_answers(setup).items()}
            quizzes.attempt_submit(attempt=attempt, answers=answers, now=now)
        else:
            enrolment.complete_step(enrollment=enrollment, step=step, now=now)
    enrollment.refresh_from_db()
    return enrollment


@pytest.fixture
def setup(cast: Cast) -> Setup:
    return make_setup(cast)


# ---------------------------------------------------------------- programs


PROGRAM_KEYS = {
    "id",
    "name",
    "goal",
    "kind",
    "status",
    "leaders_first",
    "release_date",
    "owner",
    "due_days",
    "due_date",
    "recertify_months",
    "end_survey",
    "launched_at",
    "created_at",
    "tracks",
}


def test_program_list_shape_and_who_sees_it(api: Any, cast: Cast, setup: Setup) -> None:
    Program.objects.create(owner=cast.curator, name="Draft nobody is in")
    response = api("curator").get("/programs")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    item = next(p for p in body["items"] if p["id"] == setup.program.pk)
    assert set(item) == PROGRAM_KEYS
    assert item["owner"] == {"id": cast.curator.pk, "name": cast.curator.display_name}
    assert item["status"] == "active"
    assert item["kind"] == "onboarding"
    assert item["leaders_first"] is False
    assert item["tracks"] == [
        {"id": setup.card_step.track_id, "role": "shared", "steps": 3},
        {"id": setup.sales_lesson.track_id, "role": "sales", "steps": 1},
    ]

    # Learners and managers see the program they (or their reports) are in, not the draft.
    for who in ("sales_reader", "manager", "support_reader"):
        ids = [p["id"] for p in api(who).get("/programs").json()["items"]]
        assert ids == [setup.program.pk], who
    assert api("outsider").get("/programs").json() == {"items": [], "count": 0}

    page = api("curator").get("/programs", limit=1, offset=1).json()
    assert page["count"] == 2 and len(page["items"]) == 1


def test_program_detail_has_ordered_steps_and_hides_unreadable_cards(
    api: Any, cast: Cast, setup: Setup
) -> None:
    body = api("sales_reader").get(f"/programs/{setup.program.pk}").json()
    assert set(body) >= PROGRAM_KEYS
    assert body["audience_users"] == sorted(
        u.pk for u in (cast.manager, cast.author, cast.sales_reader, cast.support_reader)
    )
    shared, sales = body["track_details"]
    assert shared["role"] == "shared" and sales["role"] == "sales"
    assert [s["title"] for s in shared["steps"]] == ["Read discounts", "Welcome", "Check"]
    card_step, lesson, quiz = shared["steps"]
    assert card_step["card"] == {
        "id": cast.sales_card.pk,
        "title": "Discount approval rules",
        "verification_state": cast.sales_card.verification_state,
    }
    assert card_step["quiz"] is None and lesson["card"] is None
    assert quiz["quiz"] == {"pass_mark": 50, "max_attempts": 2, "shuffle": False, "questions": 2}

    # Support cannot read the sales collection: the step is listed, the card is not named.
    hidden = api("support_reader").get(f"/programs/{setup.program.pk}").json()
    assert hidden["track_details"][0]["steps"][0]["card"] is None
    assert "Discount approval rules" not in str(hidden)


def test_outsider_gets_404_on_everything_of_a_program(api: Any, setup: Setup) -> None:
    pk = setup.program.pk
    for path in (
        f"/programs/{pk}",
        f"/programs/{pk}/enrollments",
        f"/programs/{pk}/report",
        f"/programs/{pk}/quiz-results",
        f"/programs/{pk}/survey-results",
    ):
        response = api("outsider").get(path)
        assert response.status_code == 404, path
        assert response.json()["detail"]
    assert api("outsider").get("/programs/999999").status_code == 404
    assert api("outsider").get("/me/enrollments").json() == {"items": [], "count": 0}


def test_unauthenticated_is_401(anon: Any, setup: Setup) -> None:
    assert anon.get("/programs").status_code == 401
    assert anon.get("/xapi/statements").status_code == 401


def test_create_update_and_launch_a_program(api: Any, cast: Cast) -> None:
    created = api("curator").post(
        "/programs",
        {
            "name": "  Launch:   Forecasting ",
            "kind": "launch",
            "audience_functions": ["sales"],
            "leaders_first": True,
            "due_days": 14,
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["name"] == "Launch: Forecasting"
    assert body["status"] == "draft"
    assert body["owner"]["id"] == cast.curator.pk
    assert body["tracks"] == [{"id": body["tracks"][0]["id"], "role": "shared", "steps": 0}]
    pk = body["id"]

    # Only the fields sent change; a due date and due days together are refused by name.
    patched = api("curator").patch(f"/programs/{pk}", {"goal": "Sell the new thing"}).json()
    assert patched["goal"] == "Sell the new thing" and patched["due_days"] == 14
    assert patched["leaders_first"] is True and patched["audience_functions"] == ["sales"]
    both = api("curator").patch(f"/programs/{pk}", {"due_date": "2030-01-01"})
    assert both.status_code == 422
    assert both.json()["errors"][0]["field"] == "due_days"
    switched = api("curator").patch(f"/programs/{pk}", {"due_days": None, "due_date": "2030-01-01"})
    assert switched.status_code == 200
    assert switched.json()["due_date"] == "2030-01-01" and switched.json()["due_days"] is None
    assert api("curator").patch(f"/programs/{pk}", {"name": None}).status_code == 422

    # Nothing to learn yet: launching is refused.
    refused = api("curator").post(f"/programs/{pk}/launch")
    assert refused.status_code == 422
    program = Program.objects.get(pk=pk)
    Step.objects.create(track=program.tracks.get(), kind=StepKind.LESSON, title="Why")
    launched = api("curator").post(f"/programs/{pk}/launch")
    assert launched.status_code == 200
    assert launched.json()["status"] == "active"
    # Leaders first: the manager is enrolled and released, their sales reports wait.
    states = {
        e.user_id: e.state for e in Enrollment.objects.filter(program_id=pk, superseded=False)
    }
    assert states[cast.manager.pk] == EnrollmentState.NOT_STARTED
    assert states[cast.sales_reader.pk] == EnrollmentState.WAITING
    assert api("curator").post(f"/programs/{pk}/launch").status_code == 422  # not a draft


def test_program_writes_need_a_program_manager(api: Any, cast: Cast, setup: Setup) -> None:
    pk = setup.program.pk
    assert api("sales_reader").post("/programs", {"name": "Mine"}).status_code == 403
    assert api("manager").patch(f"/programs/{pk}", {"name": "Ours"}).status_code == 403
    assert api("manager").post(f"/programs/{pk}/launch").status_code == 403
    assert api("outsider").patch(f"/programs/{pk}", {"name": "Ours"}).status_code == 404
    # An unknown person in the audience is a field error.
    response = api("curator").post("/programs", {"name": "X", "audience_users": [999999]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "audience_users"
    assert Program.objects.count() == 1


# ---------------------------------------------------------------- enrolments

ENROLLMENT_KEYS = {
    "id",
    "program",
    "user",
    "track",
    "state",
    "reason",
    "waiting_on",
    "enrolled_at",
    "released_at",
    "started_at",
    "due_at",
    "completed_at",
    "expires_at",
    "score",
    "time_spent_seconds",
    "cycle",
    "superseded",
    "progress",
}


def test_enrollments_shape_and_visibility(api: Any, cast: Cast, setup: Setup) -> None:
    path = f"/programs/{setup.program.pk}/enrollments"
    everyone = api("curator").get(path).json()
    assert everyone["count"] == 4
    row = next(r for r in everyone["items"] if r["user"]["id"] == cast.sales_reader.pk)
    assert set(row) == ENROLLMENT_KEYS
    assert row["user"] == {
        "id": cast.sales_reader.pk,
        "email": "sales@example.com",
        "name": cast.sales_reader.display_name,
        "manager": cast.manager.pk,
    }
    assert row["track"] == "sales"
    assert row["state"] == "not_started"
    assert row["progress"] == {"done": 0, "required": 4, "percent": 0}
    support = next(r for r in everyone["items"] if r["user"]["id"] == cast.support_reader.pk)
    assert support["track"] == "" and support["progress"]["required"] == 3

    def users(who: str) -> set[int]:
        return {r["user"]["id"] for r in api(who).get(path).json()["items"]}

    assert users("sales_reader") == {cast.sales_reader.pk}
    assert users("support_reader") == {cast.support_reader.pk}
    assert users("manager") == {cast.manager.pk, cast.author.pk, cast.sales_reader.pk}
    assert users("admin") == users("curator")


def test_enrollment_state_filter_and_overdue(api: Any, cast: Cast, setup: Setup) -> None:
    path = f"/programs/{setup.program.pk}/enrollments"
    late = enrollment_of(setup, cast.author)
    late.due_at = datetime(2020, 1, 1, tzinfo=late.enrolled_at.tzinfo)
    late.save(update_fields=["due_at"])
    finish(setup, cast.sales_reader)

    def ids(state: str) -> set[int]:
        return {r["user"]["id"] for r in api("curator").get(path, state=state).json()["items"]}

    assert ids("overdue") == {cast.author.pk}
    assert ids("completed") == {cast.sales_reader.pk}
    assert ids("not_started") == {cast.manager.pk, cast.support_reader.pk}
    assert api("curator").get(path, state="lost").status_code == 422
    row = api("author").get(path).json()["items"][0]
    assert row["state"] == "overdue"


def test_my_enrollments_with_next_step(api: Any, cast: Cast, setup: Setup) -> None:
    response = api("sales_reader").get("/me/enrollments")
    assert response.status_code == 200
    (mine,) = response.json()["items"]
    assert set(mine) >= ENROLLMENT_KEYS
    assert mine["program_name"] == "Onboarding"
    assert mine["next_step"] == {
        "id": setup.card_step.pk,
        "kind": "card",
        "title": "Read discounts",
    }
    assert mine["reread"] == []
    # The manager's list holds their own enrolment only, not their reports'.
    (managers,) = api("manager").get("/me/enrollments").json()["items"]
    assert managers["user"]["id"] == cast.manager.pk


def test_completing_steps_is_for_the_learner_only(api: Any, cast: Cast, setup: Setup) -> None:
    enrollment = enrollment_of(setup, cast.sales_reader)
    path = f"/enrollments/{enrollment.pk}/steps/{setup.card_step.pk}/complete"
    # The manager, the enablement team and an outsider cannot act for the learner.
    for who in ("manager", "curator", "outsider", "author"):
        assert api(who).post(path).status_code == 404, who
    done = api("sales_reader").post(path)
    assert done.status_code == 200
    assert done.json()["state"] == "in_progress"
    assert done.json()["progress"]["done"] == 1
    assert done.json()["next_step"]["id"] == setup.lesson.pk
    # A quiz is not "marked as done"; a step of another track is not found.
    quiz = api("sales_reader").post(f"/enrollments/{enrollment.pk}/steps/{setup.quiz.pk}/complete")
    assert quiz.status_code == 422
    other = enrollment_of(setup, cast.support_reader)
    sales_only = f"/enrollments/{other.pk}/steps/{setup.sales_lesson.pk}/complete"
    assert api("support_reader").post(sales_only).status_code == 404


def test_a_learners_quiz_through_the_api(api: Any, cast: Cast, setup: Setup) -> None:
    enrollment = enrollment_of(setup, cast.sales_reader)
    learner = api("sales_reader")
    start = learner.post(f"/enrollments/{enrollment.pk}/steps/{setup.quiz.pk}/attempts")
    assert start.status_code == 201, start.json()
    attempt = start.json()
    assert attempt["number"] == 1 and attempt["score"] is None and attempt["attempts_left"] == 2
    assert [q["id"] for q in attempt["questions"]] == [setup.q1.pk, setup.q2.pk]
    assert [c["text"] for c in attempt["questions"][0]["choices"]] == ["15%", "50%"]
    assert "correct" not in str(attempt["questions"])  # the answers are not given away

    # Nobody else may submit the learner's attempt.
    submit = f"/attempts/{attempt['id']}/submit"
    assert api("manager").post(submit, {"answers": right_answers(setup)}).status_code == 404

    # One right of two: 50 meets the pass mark of 50.
    answers = right_answers(setup)
    answers[str(setup.q2.pk)] = wrong_answers(setup)[str(setup.q2.pk)]
    scored = learner.post(submit, {"answers": answers})
    assert scored.status_code == 200, scored.json()
    result = scored.json()
    assert result["score"] == 50.0 and result["passed"] is True
    assert result["attempts_left"] == 1
    assert result["outcomes"] == [
        {"id": setup.q1.pk, "correct": True, "explanation": "15%."},
        {"id": setup.q2.pk, "correct": False, "explanation": ""},
    ]
    again = learner.post(submit, {"answers": answers})
    assert again.status_code == 422  # already submitted

    (mine,) = learner.get("/me/enrollments").json()["items"]
    assert mine["score"] == 50.0 and mine["progress"]["done"] == 1
    # Passed: no new attempt.
    assert (
        learner.post(f"/enrollments/{enrollment.pk}/steps/{setup.quiz.pk}/attempts").status_code
        == 422
    )


def test_quiz_attempt_limit_and_bad_answers(api: Any, cast: Cast, setup: Setup) -> None:
    enrollment = enrollment_of(setup, cast.author)
    learner = api("author")
    start = f"/enrollments/{enrollment.pk}/steps/{setup.quiz.pk}/attempts"
    first = learner.post(start).json()
    bogus = learner.post(f"/attempts/{first['id']}/submit", {"answers": {"999999": [1]}})
    assert bogus.status_code == 422
    bad_key = learner.post(f"/attempts/{first['id']}/submit", {"answers": {"one": [1]}})
    assert bad_key.status_code == 422
    for _ in range(2):
        attempt = learner.post(start).json()
        failed = learner.post(
            f"/attempts/{attempt['id']}/submit", {"answers": wrong_answers(setup)}
        )
        assert failed.json()["score"] == 0.0 and failed.json()["passed"] is False
    assert failed.json()["attempts_left"] == 0
    used_up = learner.post(start)
    assert used_up.status_code == 422
    assert "2" in used_up.json()["detail"]


def test_waiting_learner_cannot_start(api: Any, cast: Cast) -> None:
    setup = make_setup(cast, leaders_first=True)
    waiting = enrollment_of(setup, cast.sales_reader)
    assert waiting.state == EnrollmentState.WAITING
    response = api("sales_reader").post(
        f"/enrollments/{waiting.pk}/steps/{setup.card_step.pk}/complete"
    )
    assert response.status_code == 422
    rows = api("manager").get(f"/programs/{setup.program.pk}/enrollments").json()["items"]
    row = next(r for r in rows if r["user"]["id"] == cast.sales_reader.pk)
    assert row["state"] == "waiting" and row["waiting_on"] == cast.manager.pk
    assert row["released_at"] is None
    finish(setup, cast.manager)
    rows = api("manager").get(f"/programs/{setup.program.pk}/enrollments").json()["items"]
    row = next(r for r in rows if r["user"]["id"] == cast.sales_reader.pk)
    assert row["state"] == "not_started" and row["released_at"] is not None


# ---------------------------------------------------------------- report and results


def test_report_shape_and_nps_below_minimum(api: Any, cast: Cast, setup: Setup) -> None:
    finish(setup, cast.sales_reader)
    response = api("curator").get(f"/programs/{setup.program.pk}/report")
    assert response.status_code == 200
    report = response.json()
    assert report["enrolled"] == 4 and report["completed"] == 1
    assert report["completion_rate"] == 0.25
    assert report["funnel"] == {
        "waiting": 0,
        "not_started": 3,
        "in_progress": 0,
        "overdue": 0,
        "completed": 1,
    }
    assert set(report["nps"]) >= {"value", "n", "ci_low", "ci_high"}
    assert report["nps"]["n"] == 0 and report["nps"]["value"] is None
    (quiz,) = report["quizzes"]
    assert quiz["step"]["id"] == setup.quiz.pk
    assert [q["right"] for q in quiz["questions"]] == [1, 1]
    assert report["scores"]["n"] == 1 and report["scores"]["mean"] == 100.0

    for who in ("manager", "sales_reader"):
        assert api(who).get(f"/programs/{setup.program.pk}/report").status_code == 403


def test_survey_and_results_are_anonymous_to_non_admins(
    api: Any, cast: Cast, setup: Setup, settings: Any
) -> None:
    settings.VERITY_NPS_MIN_N = 2
    learners = (cast.sales_reader, cast.author, cast.support_reader)
    for user in learners:
        finish(setup, user)
    early = enrollment_of(setup, cast.manager)
    closed = api("manager").post(f"/enrollments/{early.pk}/survey", {"recommend": 9})
    assert closed.status_code == 422  # not completed yet

    for user, (score, comment) in zip(
        learners, [(10, "Great"), (9, "Useful"), (3, "Too long")], strict=True
    ):
        who = {cast.sales_reader: "sales_reader", cast.author: "author"}.get(user, "support_reader")
        enrollment = enrollment_of(setup, user)
        # Only the learner answers their own survey.
        if who == "sales_reader":
            assert (
                api("manager")
                .post(f"/enrollments/{enrollment.pk}/survey", {"recommend": 0})
                .status_code
                == 404
            )
        response = api(who).post(
            f"/enrollments/{enrollment.pk}/survey", {"recommend": score, "comment": comment}
        )
        assert response.status_code == 201, response.json()
        assert response.json()["recommend"] == score
    twice = api("author").post(
        f"/enrollments/{enrollment_of(setup, cast.author).pk}/survey", {"recommend": 5}
    )
    assert twice.status_code == 422
    out_of_range = api("author").post(
        f"/enrollments/{enrollment_of(setup, cast.author).pk}/survey", {"recommend": 11}
    )
    assert out_of_range.status_code == 422

    path = f"/programs/{setup.program.pk}/survey-results"
    results = api("curator").get(path).json()
    # 2 promoters, 1 detractor of 3: (2 - 1) / 3.
    assert results["nps"]["n"] == 3
    assert results["nps"]["value"] == pytest.approx(100 / 3)
    assert results["names_shown"] is False
    assert results["comments"] == [
        {"text": t, "respondent": None, "submitted_at": None}
        for t in ("Great", "Too long", "Useful")
    ]
    named = api("admin").get(path).json()
    assert named["names_shown"] is True
    assert {c["respondent"]["email"] for c in named["comments"]} == {
        "sales@example.com",
        "author@example.com",
        "support@example.com",
    }
    assert api("manager").get(path).status_code == 403

    report = api("curator").get(f"/programs/{setup.program.pk}/report").json()
    assert report["nps"]["value"] == pytest.approx(100 / 3)
    assert report["nps"]["ci_low"] < report["nps"]["ci_high"]


def test_quiz_results_for_program_managers(api: Any, cast: Cast, setup: Setup) -> None:
    finish(setup, cast.sales_reader)
    response = api("curator").get(f"/programs/{setup.program.pk}/quiz-results")
    assert response.status_code == 200
    (quiz,) = response.json()
    assert quiz["step"] == {"id": setup.quiz.pk, "kind": "quiz", "title": "Check"}
    assert quiz["pass_mark"] == 50
    (row,) = quiz["results"]
    assert row["user"]["id"] == cast.sales_reader.pk
    assert row["best_score"] == 100.0 and row["attempts"] == 1 and row["passed"] is True
    assert [q["id"] for q in quiz["questions"]] == [setup.q1.pk, setup.q2.pk]
    assert quiz["questions"][0]["share_right"] == 1.0
    assert api("manager").get(f"/programs/{setup.program.pk}/quiz-results").status_code == 403


def test_lists_cost_the_same_queries_for_more_learners(
    api: Any, cast: Cast, setup: Setup, django_assert_max_num_queries: Any
) -> None:
    from tests.conftest import make_user

    curator = api("curator")
    path = f"/programs/{setup.program.pk}/enrollments"
    curator.get(path)  # warm up: the token's first use writes last_used_at
    finish(setup, cast.sales_reader)
    with django_assert_max_num_queries(12) as few:
        assert curator.get(path).json()["count"] == 4
        before = len(curator.get("/xapi/statements").json()["statements"])
    baseline = len(few.captured_queries)
    for i in range(6):
        user = make_user(f"extra{i}@example.com", manager=cast.manager)
        setup.program.audience_users.add(user)
    enrolment.sync_audience(setup.program)
    for i in range(6):
        finish(setup, User.objects.get(email=f"extra{i}@example.com"))
    with django_assert_max_num_queries(baseline) as more:
        assert curator.get(path).json()["count"] == 10
        assert len(curator.get("/xapi/statements").json()["statements"]) == before + 6 * 6
    assert len(more.captured_queries) == baseline
