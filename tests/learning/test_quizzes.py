"""Quizzes: building questions, scoring, pass mark, attempts, randomised order, reports."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from verity.learning import quizzes
from verity.learning.models import (
    Enrollment,
    EnrollmentState,
    Question,
    QuestionKind,
    QuizAnswer,
    QuizAttempt,
    Step,
    StepKind,
    StepProgress,
)
from verity.learning.quizzes import true_false


def _enrollment(program, user) -> Enrollment:
    return Enrollment.objects.get(program=program, user=user, superseded=False)


def _quiz(make_program, users, **step_fields) -> tuple[Step, list[Enrollment]]:
    """A launched program whose only step is a quiz (so passing it completes the program)."""
    step_fields.setdefault("shuffle", False)
    program = make_program(
        shared=[{"kind": StepKind.QUIZ, **step_fields}], audience_users=users, launch=True
    )
    step = Step.objects.get(track__program=program)
    return step, [_enrollment(program, u) for u in users]


def _right(question: Question) -> list[int]:
    return [c.pk for c in question.choices.all() if c.correct]


def _wrong(question: Question) -> list[int]:
    return [next(c.pk for c in question.choices.all() if not c.correct)]


def _single(step: Step, text: str = "Capital of France?") -> Question:
    return quizzes.question_add(
        step, QuestionKind.SINGLE, text, "Paris it is.", [("Paris", True), ("Lyon", False)]
    )


# ---------------------------------------------------------------- building


def test_true_false_gets_its_two_answers_in_the_site_language(make_program, rep):
    step, _ = _quiz(make_program, [rep])
    question = quizzes.question_add(
        step, QuestionKind.TRUE_FALSE, "The sky is green.", "", true_false(False)
    )
    assert [(c.text, c.correct) for c in question.choices.all()] == [
        ("True", False),
        ("False", True),
    ]
    # Whatever texts the caller sends, the two answers are True and False.
    other = quizzes.question_add(
        step, QuestionKind.TRUE_FALSE, "Water is wet.", "", [("Yes", True), ("No", False)]
    )
    assert [c.text for c in other.choices.all()] == ["True", "False"]
    assert other.position == question.position + 1


@pytest.mark.parametrize(
    ("kind", "choices", "message"),
    [
        (QuestionKind.SINGLE, [("A", True), ("B", True)], "exactly one correct"),
        (QuestionKind.SINGLE, [("A", False), ("B", False)], "exactly one correct"),
        (QuestionKind.MULTIPLE, [("A", True)], "at least two"),
        (QuestionKind.MULTIPLE, [("A", False), ("B", False)], "at least one correct"),
        (QuestionKind.TRUE_FALSE, [("True", True), ("False", True)], "exactly one correct"),
        (QuestionKind.SINGLE, [("A", True), ("a ", False)], "same text"),
        ("essay", [("A", True), ("B", False)], "Choose single"),
    ],
)
def test_question_validation(make_program, rep, kind, choices, message):
    step, _ = _quiz(make_program, [rep])
    with pytest.raises(ValidationError, match=message):
        quizzes.question_add(step, kind, "Question?", "", choices)
    assert not Question.objects.filter(step=step).exists()


def test_question_needs_text_and_a_quiz_step(make_program, rep):
    step, _ = _quiz(make_program, [rep])
    with pytest.raises(ValidationError, match="Write the question"):
        quizzes.question_add(step, QuestionKind.SINGLE, "  ", "", [("A", True), ("B", False)])
    lesson = Step.objects.create(track=step.track, kind=StepKind.LESSON, title="Lesson")
    with pytest.raises(ValidationError, match="only be added to a quiz"):
        quizzes.question_add(lesson, QuestionKind.SINGLE, "Q?", "", [("A", True), ("B", False)])


def test_update_keeps_unchanged_answers_and_reorder_and_delete(make_program, rep):
    step, _ = _quiz(make_program, [rep])
    first = _single(step, "One?")
    second = _single(step, "Two?")
    paris = first.choices.get(text="Paris")
    quizzes.question_update(
        first,
        text="One, edited?",
        explanation="",
        choices=[("Paris", False), ("Lyon", False), ("Nice", True)],
    )
    first.refresh_from_db()
    assert first.text == "One, edited?"
    assert first.choices.get(text="Paris").pk == paris.pk  # same row, new flag
    assert _right(first) == [first.choices.get(text="Nice").pk]

    with pytest.raises(ValidationError):
        quizzes.questions_reorder(step, [second.pk])  # must list every question
    quizzes.questions_reorder(step, [second.pk, first.pk])
    assert list(step.questions.values_list("pk", flat=True)) == [second.pk, first.pk]

    quizzes.question_delete(second)
    assert list(step.questions.values_list("position", flat=True)) == [0]


# ---------------------------------------------------------------- scoring


def test_a_passed_quiz_completes_the_step_and_the_program(make_program, rep):
    step, (enrollment,) = _quiz(make_program, [rep])
    question = _single(step)
    attempt = quizzes.attempt_start(enrollment=enrollment, step=step)
    enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.IN_PROGRESS

    attempt = quizzes.attempt_submit(attempt=attempt, answers={question.pk: _right(question)})
    assert (attempt.score, attempt.passed) == (100.0, True)
    progress = StepProgress.objects.get(enrollment=enrollment, step=step)
    assert progress.completed_at is not None and progress.passed is True
    assert progress.score == 100.0
    enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.COMPLETED
    assert enrollment.score == 100.0


def test_scoring_single_multiple_and_true_false(make_program, rep):
    step, (enrollment,) = _quiz(make_program, [rep], pass_mark=100)
    single = _single(step)
    multiple = quizzes.question_add(
        step,
        QuestionKind.MULTIPLE,
        "Which are verified?",
        "",
        [("A", True), ("B", True), ("C", False)],
    )
    tf = quizzes.question_add(step, QuestionKind.TRUE_FALSE, "Cards expire.", "", true_false(True))
    a, b, c = (ch.pk for ch in multiple.choices.all())

    def score(multiple_answer: list[int], tf_answer: list[int]) -> float | None:
        attempt = quizzes.attempt_start(enrollment=enrollment, step=step)
        done = quizzes.attempt_submit(
            attempt=attempt,
            answers={single.pk: _right(single), multiple.pk: multiple_answer, tf.pk: tf_answer},
        )
        return done.score

    # A partial selection is wrong; so is a superset; true/false: "True" is the answer here.
    assert score([a], _right(tf)) == pytest.approx(200 / 3)
    assert score([a, b, c], _right(tf)) == pytest.approx(200 / 3)
    assert score([a, b], _wrong(tf)) == pytest.approx(200 / 3)
    answers = QuizAnswer.objects.filter(attempt__enrollment=enrollment, question=multiple)
    assert [x.correct for x in answers.order_by("attempt__number")] == [False, False, True]

    progress = StepProgress.objects.get(enrollment=enrollment, step=step)
    assert progress.passed is False
    assert progress.completed_at is None
    assert progress.score == pytest.approx(200 / 3)  # the best failed score is kept

    assert score([b, a], _right(tf)) == 100.0
    progress.refresh_from_db()
    assert progress.passed is True and progress.completed_at is not None


def test_unanswered_is_wrong_and_is_stored(make_program, rep):
    step, (enrollment,) = _quiz(make_program, [rep])
    one, two = _single(step, "One?"), _single(step, "Two?")
    attempt = quizzes.attempt_start(enrollment=enrollment, step=step)
    attempt = quizzes.attempt_submit(attempt=attempt, answers={one.pk: _right(one)})
    assert attempt.score == 50.0
    blank = QuizAnswer.objects.get(attempt=attempt, question=two)
    assert blank.choice_ids == [] and blank.correct is False


@pytest.mark.parametrize(("right", "passed"), [(4, True), (3, False)])
def test_score_equal_to_the_pass_mark_passes(make_program, rep, right, passed):
    step, (enrollment,) = _quiz(make_program, [rep], pass_mark=80)
    questions = [_single(step, f"Q{i}?") for i in range(5)]
    answers = {q.pk: (_right(q) if i < right else _wrong(q)) for i, q in enumerate(questions)}
    attempt = quizzes.attempt_start(enrollment=enrollment, step=step)
    attempt = quizzes.attempt_submit(attempt=attempt, answers=answers)
    assert attempt.score == right * 20
    assert attempt.passed is passed
    enrollment.refresh_from_db()
    assert (enrollment.state == EnrollmentState.COMPLETED) is passed


def test_unknown_ids_are_refused_and_nothing_is_scored(make_program, rep):
    step, (enrollment,) = _quiz(make_program, [rep])
    question = _single(step)
    other_step, _ = _quiz(make_program, [rep])
    foreign = _single(other_step)
    attempt = quizzes.attempt_start(enrollment=enrollment, step=step)
    with pytest.raises(ValidationError, match="not part of this attempt"):
        quizzes.attempt_submit(attempt=attempt, answers={foreign.pk: _right(foreign)})
    with pytest.raises(ValidationError, match="does not belong"):
        quizzes.attempt_submit(attempt=attempt, answers={question.pk: _right(foreign)})
    attempt.refresh_from_db()
    assert attempt.submitted_at is None
    assert not QuizAnswer.objects.filter(attempt=attempt).exists()


def test_an_attempt_cannot_be_submitted_twice(make_program, rep):
    step, (enrollment,) = _quiz(make_program, [rep], pass_mark=100)
    question = _single(step)
    attempt = quizzes.attempt_start(enrollment=enrollment, step=step)
    quizzes.attempt_submit(attempt=attempt, answers={question.pk: _wrong(question)})
    with pytest.raises(ValidationError, match="already been submitted"):
        quizzes.attempt_submit(attempt=attempt, answers={question.pk: _right(question)})
    attempt.refresh_from_db()
    assert attempt.passed is False


# ---------------------------------------------------------------- attempts


def test_attempt_limit_last_allowed_attempt_works_next_is_refused(make_program, rep):
    step, (enrollment,) = _quiz(make_program, [rep], max_attempts=2)
    question = _single(step)
    assert quizzes.attempts_left(enrollment, step) == 2

    first = quizzes.attempt_start(enrollment=enrollment, step=step)
    # Starting again before submitting reuses the open attempt: it costs nothing.
    assert quizzes.attempt_start(enrollment=enrollment, step=step).pk == first.pk
    quizzes.attempt_submit(attempt=first, answers={question.pk: _wrong(question)})
    assert quizzes.attempts_left(enrollment, step) == 1

    last = quizzes.attempt_start(enrollment=enrollment, step=step)
    assert last.number == 2
    quizzes.attempt_submit(attempt=last, answers={question.pk: _wrong(question)})
    assert quizzes.attempts_left(enrollment, step) == 0

    with pytest.raises(ValidationError, match="used all 2 attempts"):
        quizzes.attempt_start(enrollment=enrollment, step=step)
    assert QuizAttempt.objects.filter(enrollment=enrollment).count() == 2


def test_the_last_allowed_attempt_can_pass(make_program, rep):
    step, (enrollment,) = _quiz(make_program, [rep], max_attempts=2)
    question = _single(step)
    quizzes.attempt_submit(
        attempt=quizzes.attempt_start(enrollment=enrollment, step=step),
        answers={question.pk: _wrong(question)},
    )
    passed = quizzes.attempt_submit(
        attempt=quizzes.attempt_start(enrollment=enrollment, step=step),
        answers={question.pk: _right(question)},
    )
    assert passed.passed is True
    enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.COMPLETED


def test_a_passed_quiz_cannot_be_started_again(make_program, rep):
    step, (enrollment,) = _quiz(make_program, [rep])
    question = _single(step)
    quizzes.attempt_submit(
        attempt=quizzes.attempt_start(enrollment=enrollment, step=step),
        answers={question.pk: _right(question)},
    )
    with pytest.raises(ValidationError, match="already passed"):
        quizzes.attempt_start(enrollment=enrollment, step=step)


def test_quiz_without_questions_or_outside_the_learners_tracks(make_program, rep, rep2):
    step, (enrollment,) = _quiz(make_program, [rep])
    with pytest.raises(ValidationError, match="no questions"):
        quizzes.attempt_start(enrollment=enrollment, step=step)
    other_step, _ = _quiz(make_program, [rep2])
    _single(other_step)
    with pytest.raises(ValidationError, match="not part of your training"):
        quizzes.attempt_start(enrollment=enrollment, step=other_step)


def test_a_waiting_enrolment_cannot_start(make_program, manager, rep):
    program = make_program(
        shared=[{"kind": StepKind.QUIZ}], audience_users=[rep], leaders_first=True, launch=True
    )
    step = Step.objects.get(track__program=program)
    _single(step)
    waiting = _enrollment(program, rep)
    assert waiting.state == EnrollmentState.WAITING
    with pytest.raises(ValidationError, match="manager"):
        quizzes.attempt_start(enrollment=waiting, step=step)


# ---------------------------------------------------------------- randomised order


def test_shuffled_order_is_stored_per_attempt_and_scored_by_id(make_program, rep):
    step, (enrollment,) = _quiz(make_program, [rep], shuffle=True, pass_mark=100)
    questions = [
        quizzes.question_add(
            step,
            QuestionKind.SINGLE,
            f"Q{i}?",
            "",
            [(f"right {i}", True), (f"w1 {i}", False), (f"w2 {i}", False), (f"w3 {i}", False)],
        )
        for i in range(6)
    ]
    canonical = [[q.pk, [c.pk for c in q.choices.all()]] for q in questions]

    first = quizzes.attempt_start(enrollment=enrollment, step=step, rng=random.Random(1))
    assert first.order != canonical
    assert [e[0] for e in first.order] != [e[0] for e in canonical]
    assert sorted(e[0] for e in first.order) == sorted(q.pk for q in questions)
    # Every question's answers are shuffled as well, within the question.
    by_question = dict(canonical)
    assert any(choices != by_question[q] for q, choices in first.order)
    assert all(sorted(choices) == sorted(by_question[q]) for q, choices in first.order)
    first.refresh_from_db()  # stored, not just returned
    assert [e[0] for e in first.order] != [e[0] for e in canonical]

    quizzes.attempt_submit(attempt=first, answers={})
    second = quizzes.attempt_start(enrollment=enrollment, step=step, rng=random.Random(2))
    assert second.order != first.order

    # The learner answers in the shuffled order they saw: scoring goes by ids.
    answers = {q: _right(Question.objects.get(pk=q)) for q, _choices in second.order}
    assert quizzes.attempt_submit(attempt=second, answers=answers).score == 100.0


def test_without_shuffle_the_builders_order_is_kept(make_program, rep):
    step, (enrollment,) = _quiz(make_program, [rep], shuffle=False)
    questions = [_single(step, f"Q{i}?") for i in range(4)]
    attempt = quizzes.attempt_start(enrollment=enrollment, step=step, rng=random.Random(1))
    assert attempt.order == [[q.pk, [c.pk for c in q.choices.all()]] for q in questions]


# ---------------------------------------------------------------- reports


def _take(enrollment: Enrollment, step: Step, right: dict[Question, bool], now) -> QuizAttempt:
    attempt = quizzes.attempt_start(enrollment=enrollment, step=step, now=now)
    answers = {q.pk: (_right(q) if ok else _wrong(q)) for q, ok in right.items()}
    return quizzes.attempt_submit(attempt=attempt, answers=answers, now=now)


def test_question_difficulty_on_a_hand_made_set(make_program, rep, rep2, manager):
    step, (e_rep, e_rep2, e_manager) = _quiz(make_program, [rep, rep2, manager], pass_mark=100)
    q1, q2 = _single(step, "One?"), _single(step, "Two?")
    now = timezone.now()
    _take(e_rep, step, {q1: True, q2: False}, now)
    _take(e_rep, step, {q1: True, q2: True}, now + timedelta(minutes=5))
    _take(e_rep2, step, {q1: False, q2: False}, now)
    _take(e_manager, step, {q1: True, q2: True}, now)
    # An attempt started but never submitted counts nowhere.
    quizzes.attempt_start(enrollment=e_rep2, step=step)

    d1, d2 = quizzes.question_difficulty(step)
    assert d1.question == q1 and d2.question == q2
    # First attempts: rep 1st, rep2, manager.
    assert (d1.first_answered, d1.first_right) == (3, 2)
    assert d1.first_share_right == pytest.approx(2 / 3)
    assert (d2.first_answered, d2.first_right) == (3, 1)
    assert d2.first_share_right == pytest.approx(1 / 3)
    # All attempts: rep's retry added.
    assert (d1.answered, d1.right, d1.share_right) == (4, 3, 0.75)
    assert (d2.answered, d2.right, d2.share_right) == (4, 2, 0.5)


def test_question_difficulty_without_answers(make_program, rep):
    step, _ = _quiz(make_program, [rep])
    _single(step)
    (only,) = quizzes.question_difficulty(step)
    assert (only.answered, only.share_right, only.first_share_right) == (0, None, None)


def test_quiz_results_per_learner_and_who_sees_them(make_program, rep, rep2, manager, outsider):
    step, (e_rep, e_rep2, _e_out) = _quiz(make_program, [rep, rep2, outsider], pass_mark=100)
    q1, q2 = _single(step, "One?"), _single(step, "Two?")
    now = timezone.now()
    _take(e_rep, step, {q1: True, q2: False}, now)
    _take(e_rep, step, {q1: True, q2: True}, now)
    _take(e_rep2, step, {q1: False, q2: False}, now)

    results = {r.enrollment.user: r for r in quizzes.quiz_results(step)}
    assert set(results) == {rep, rep2}  # the outsider took no attempt
    assert (results[rep].best_score, results[rep].attempts, results[rep].passed) == (
        100.0,
        2,
        True,
    )
    assert (results[rep2].best_score, results[rep2].attempts, results[rep2].passed) == (
        0.0,
        1,
        False,
    )

    assert [r.enrollment.user for r in quizzes.quiz_results(step, viewer=rep)] == [rep]
    assert {r.enrollment.user for r in quizzes.quiz_results(step, viewer=manager)} == {rep, rep2}
    assert quizzes.quiz_results(step, viewer=outsider) == []


def test_a_failed_quiz_still_gives_the_learner_a_score(make_program, rep):
    """The enrolment's score is the mean of the best score on each quiz taken, passed or
    not, so reports see the learners who are struggling too."""
    step, (enrollment,) = _quiz(make_program, [rep])
    one, two = _single(step, "One?"), _single(step, "Two?")
    attempt = quizzes.attempt_start(enrollment=enrollment, step=step)
    quizzes.attempt_submit(attempt=attempt, answers={one.pk: _right(one), two.pk: _wrong(two)})
    enrollment.refresh_from_db()
    assert enrollment.score == 50.0
    assert enrollment.state != EnrollmentState.COMPLETED
