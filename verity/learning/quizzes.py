"""Quizzes: building the questions (for the program builder) and taking them (for learners).

Building: `question_add`, `question_update`, `question_delete`, `questions_reorder`. They do
not check who calls them: the builder's views check `access.can_manage_program` first, as
every view does.

Taking: `attempt_start` fixes the order the learner sees (shuffled per attempt when the step
asks for it) and `attempt_submit` scores against that attempt. A passed quiz completes its
step through `enrolment.complete_step`, which owns the enrolment's state; a failed attempt
only raises the best score kept on the step's progress.

Reports: `question_difficulty` (which questions are not landing) and `quiz_results` (each
learner's best score, attempts and whether they passed).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from verity.accounts import access
from verity.learning.enrolment import complete_step, open_step, quiz_score_of
from verity.learning.models import (
    Choice,
    Enrollment,
    EnrollmentState,
    Question,
    QuestionKind,
    QuizAnswer,
    QuizAttempt,
    Step,
    StepKind,
    StepProgress,
    TrackRole,
)

if TYPE_CHECKING:
    from verity.accounts.access import AnyUser

MAX_CHOICES = 10
MAX_QUESTION_LENGTH = 2000


# ---------------------------------------------------------------- shared checks


def clean_learner_step(enrollment: Enrollment, step: Step, kind: str) -> None:
    """Refuse a step that is not of `kind`, not on this learner's tracks, or an enrolment
    that cannot be worked on yet (still waiting for the manager) or any more (history).
    The same rules (and messages) as `enrolment.complete_step`, checked before anything is
    written here."""
    if step.kind != kind:
        raise ValidationError(
            _("Step “%(step)s” is of the wrong kind: expected “%(kind)s”.")
            % {"step": step.title, "kind": StepKind(kind).label}
        )
    track = step.track
    if track.program_id != enrollment.program_id or track.role not in (
        TrackRole.SHARED,
        enrollment.track_role,
    ):
        raise ValidationError(_("This step is not part of your training."))
    if enrollment.superseded:
        raise ValidationError(_("This enrolment has been replaced by a newer one."))
    if enrollment.state == EnrollmentState.WAITING:
        raise ValidationError(_("This training starts once your manager has completed it."))


# ---------------------------------------------------------------- building


def _clean_question(
    step: Step, kind: str, text: str, choices: Sequence[tuple[str, bool]]
) -> tuple[str, list[tuple[str, bool]]]:
    """The question's cleaned text and choices, or a ValidationError saying what is wrong."""
    if step.kind != StepKind.QUIZ:
        raise ValidationError(_("Questions can only be added to a quiz step."))
    if kind not in QuestionKind.values:
        raise ValidationError({"kind": _("Choose single choice, multiple choice or true/false.")})
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write the question.")})
    if len(text) > MAX_QUESTION_LENGTH:
        raise ValidationError(
            {
                "text": _("The question is longer than %(max)s characters.")
                % {"max": MAX_QUESTION_LENGTH}
            }
        )

    if kind == QuestionKind.TRUE_FALSE:
        return text, _true_false_choices(choices)

    cleaned = [(" ".join(str(t).split()), bool(c)) for t, c in choices]
    cleaned = [(t, c) for t, c in cleaned if t]  # the builder sends empty rows: skip them
    if len(cleaned) < 2:
        raise ValidationError({"choices": _("Give at least two answers to choose from.")})
    if len(cleaned) > MAX_CHOICES:
        raise ValidationError(
            {"choices": _("A question can have at most %(max)s answers.") % {"max": MAX_CHOICES}}
        )
    if any(len(t) > 500 for t, _c in cleaned):
        raise ValidationError({"choices": _("An answer is longer than 500 characters.")})
    texts = [t.casefold() for t, _c in cleaned]
    if len(set(texts)) != len(texts):
        raise ValidationError({"choices": _("Two answers have the same text.")})
    correct = sum(1 for _t, c in cleaned if c)
    if kind == QuestionKind.SINGLE and correct != 1:
        raise ValidationError(
            {"choices": _("A single-choice question needs exactly one correct answer.")}
        )
    if kind == QuestionKind.MULTIPLE and correct < 1:
        raise ValidationError(
            {"choices": _("A multiple-choice question needs at least one correct answer.")}
        )
    return text, cleaned


def _true_false_choices(choices: Sequence[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """True/false questions always have the two answers "True" then "False", written in the
    site's language (learners of either language see the same stored rows). The caller says
    which is correct with two (text, correct) pairs in that order; their texts are ignored."""
    if len(choices) != 2 or sum(1 for _t, c in choices if c) != 1:
        raise ValidationError(
            {"choices": _("A true/false question needs exactly one correct answer.")}
        )
    true_is_correct = bool(choices[0][1])
    with translation.override(settings.LANGUAGE_CODE):
        return [(_("True"), true_is_correct), (_("False"), not true_is_correct)]


def true_false(correct: bool) -> list[tuple[str, bool]]:
    """The `choices` argument for a true/false question whose answer is `correct`."""
    return [("True", correct), ("False", not correct)]


@transaction.atomic
def question_add(
    step: Step,
    kind: str,
    text: str,
    explanation: str = "",
    choices: Sequence[tuple[str, bool]] = (),
) -> Question:
    """Add a question at the end of the quiz. `choices` are (text, correct) pairs; for
    true/false use `true_false(answer)`."""
    text, cleaned = _clean_question(step, kind, text, choices)
    last = step.questions.aggregate(m=Max("position"))["m"]
    question = Question.objects.create(
        step=step,
        position=0 if last is None else last + 1,
        kind=kind,
        text=text,
        explanation=(explanation or "").strip(),
    )
    Choice.objects.bulk_create(
        Choice(question=question, position=i, text=t, correct=c) for i, (t, c) in enumerate(cleaned)
    )
    return question


@transaction.atomic
def question_update(
    question: Question,
    *,
    text: str,
    explanation: str = "",
    choices: Sequence[tuple[str, bool]],
    kind: str | None = None,
) -> Question:
    """Replace the question's text, explanation and answers (and kind when given).

    An answer whose text is unchanged keeps its row (and id), so open attempts and the
    answers already given to it stay meaningful; answers no longer listed are deleted."""
    kind = kind or question.kind
    text, cleaned = _clean_question(question.step, kind, text, choices)
    question.kind = kind
    question.text = text
    question.explanation = (explanation or "").strip()
    question.save(update_fields=["kind", "text", "explanation"])

    existing = {c.text.casefold(): c for c in question.choices.all()}
    keep: list[int] = []
    for position, (choice_text, correct) in enumerate(cleaned):
        choice = existing.pop(choice_text.casefold(), None)
        if choice is None:
            choice = Choice.objects.create(
                question=question, position=position, text=choice_text, correct=correct
            )
        else:
            choice.position, choice.text, choice.correct = position, choice_text, correct
            choice.save(update_fields=["position", "text", "correct"])
        keep.append(choice.pk)
    question.choices.exclude(pk__in=keep).delete()
    return question


@transaction.atomic
def question_delete(question: Question) -> None:
    """Delete the question; answers given to it go with it, scores already given stay."""
    step = question.step
    question.delete()
    for position, q in enumerate(step.questions.order_by("position", "pk")):
        if q.position != position:
            q.position = position
            q.save(update_fields=["position"])


@transaction.atomic
def questions_reorder(step: Step, question_ids: Sequence[int]) -> None:
    """Put the quiz's questions in the order given; every question must be listed once."""
    current = set(step.questions.values_list("pk", flat=True))
    ids = [int(q) for q in question_ids]
    if len(ids) != len(set(ids)) or set(ids) != current:
        raise ValidationError(_("The new order must list every question of this quiz once."))
    for position, pk in enumerate(ids):
        Question.objects.filter(pk=pk, step=step).update(position=position)


# ---------------------------------------------------------------- taking a quiz


def _submitted_attempts(enrollment: Enrollment, step: Step) -> QuerySet[QuizAttempt]:
    return QuizAttempt.objects.filter(enrollment=enrollment, step=step, submitted_at__isnull=False)


def attempts_left(enrollment: Enrollment, step: Step) -> int | None:
    """Attempts the learner may still submit; None when the quiz has no limit. An attempt
    that was started but not submitted does not count: it is reused by `attempt_start`."""
    if step.max_attempts is None:
        return None
    return max(0, step.max_attempts - _submitted_attempts(enrollment, step).count())


def _has_passed(enrollment: Enrollment, step: Step) -> bool:
    progress = StepProgress.objects.filter(enrollment=enrollment, step=step).first()
    if progress is not None and progress.passed:
        return True
    return _submitted_attempts(enrollment, step).filter(passed=True).exists()


@transaction.atomic
def attempt_start(
    *,
    enrollment: Enrollment,
    step: Step,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> QuizAttempt:
    """The learner's open attempt at this quiz, or a new one.

    The order the learner sees is fixed here and stored in `attempt.order` as
    [[question id, [choice ids]], ...]: shuffled with `rng` when the step asks for it, the
    builder's order otherwise. Scoring later uses this list, so a question added while the
    attempt is open is not held against the learner."""

    now = now or timezone.now()
    # Lock the enrolment so two tabs cannot both start (or both use up) the last attempt.
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    clean_learner_step(enrollment, step, StepKind.QUIZ)

    open_attempt = (
        QuizAttempt.objects.filter(enrollment=enrollment, step=step, submitted_at__isnull=True)
        .order_by("-number")
        .first()
    )
    if open_attempt is not None:
        return open_attempt
    if _has_passed(enrollment, step):
        raise ValidationError(_("You have already passed this quiz."))
    left = attempts_left(enrollment, step)
    if left == 0:
        raise ValidationError(
            ngettext(
                "You have used your %(count)s attempt at this quiz.",
                "You have used all %(count)s attempts at this quiz.",
                step.max_attempts or 0,
            )
            % {"count": step.max_attempts}
        )

    questions = list(step.questions.order_by("position", "pk").prefetch_related("choices"))
    if not questions:
        raise ValidationError(_("This quiz has no questions yet."))
    order: list[list[Any]] = [[q.pk, [c.pk for c in q.choices.all()]] for q in questions]
    if step.shuffle:
        rng = rng or random.SystemRandom()
        rng.shuffle(order)
        for entry in order:
            rng.shuffle(entry[1])

    last = QuizAttempt.objects.filter(enrollment=enrollment, step=step).aggregate(m=Max("number"))[
        "m"
    ]
    attempt = QuizAttempt.objects.create(
        enrollment=enrollment,
        step=step,
        number=(last or 0) + 1,
        order=order,
        started_at=now,
    )
    open_step(enrollment=enrollment, step=step, now=now)
    return attempt


def _clean_answers(answers: dict[Any, Any], shown: dict[int, set[int]]) -> dict[int, set[int]]:
    """Answers keyed by question id, each a set of choice ids; unknown ids are refused (a
    form that sends them is broken or tampered with, so nothing is scored)."""
    cleaned: dict[int, set[int]] = {}
    for raw_question, raw_choices in answers.items():
        try:
            question_id = int(raw_question)
            choice_ids = {int(c) for c in (raw_choices or [])}
        except (TypeError, ValueError):
            raise ValidationError(_("The answers could not be read.")) from None
        if question_id not in shown:
            raise ValidationError(
                _("Question %(id)s is not part of this attempt.") % {"id": question_id}
            )
        unknown = choice_ids - shown[question_id]
        if unknown:
            raise ValidationError(
                _("Answer %(id)s does not belong to question %(question)s.")
                % {"id": min(unknown), "question": question_id}
            )
        cleaned[question_id] = choice_ids
    return cleaned


@transaction.atomic
def attempt_submit(
    *, attempt: QuizAttempt, answers: dict[int, list[int]], now: datetime | None = None
) -> QuizAttempt:
    """Score the attempt: a question is right when the chosen answers are exactly the
    correct ones (a partly right multiple choice is wrong; an unanswered question is wrong).
    Score = % of the attempt's questions answered right; passed = score >= pass mark."""

    now = now or timezone.now()
    attempt = (
        QuizAttempt.objects.select_for_update()
        .select_related("step", "enrollment")
        .get(pk=attempt.pk)
    )
    if attempt.submitted_at is not None:
        raise ValidationError(_("This attempt has already been submitted."))
    step = attempt.step

    # The questions the learner saw that still exist (the builder may delete one meanwhile).
    questions = {
        q.pk: q
        for q in Question.objects.filter(
            step=step, pk__in=[e[0] for e in attempt.order]
        ).prefetch_related("choices")
    }
    shown = {
        int(qid): {c.pk for c in questions[int(qid)].choices.all()}
        for qid, _choices in attempt.order
        if int(qid) in questions
    }
    chosen = _clean_answers(answers, shown)

    right = 0
    rows = []
    for question_id in shown:
        correct_ids = {c.pk for c in questions[question_id].choices.all() if c.correct}
        picked = chosen.get(question_id, set())
        is_right = bool(correct_ids) and picked == correct_ids
        right += is_right
        rows.append(
            QuizAnswer(
                attempt=attempt,
                question_id=question_id,
                choice_ids=sorted(picked),
                correct=is_right,
            )
        )
    QuizAnswer.objects.bulk_create(rows)

    # 100 * right first, then divide: 4 of 5 is exactly 80.0, so a score equal to the pass
    # mark is not lost to floating point.
    score = (100 * right / len(shown)) if shown else 0.0
    attempt.score = score
    attempt.passed = score >= step.pass_mark
    attempt.submitted_at = now
    attempt.save(update_fields=["score", "passed", "submitted_at"])

    if attempt.passed:
        complete_step(enrollment=attempt.enrollment, step=step, now=now, score=score, passed=True)
    else:
        progress, _created = StepProgress.objects.select_for_update().get_or_create(
            enrollment=attempt.enrollment, step=step, defaults={"opened_at": attempt.started_at}
        )
        fields = []
        if progress.score is None or score > progress.score:
            progress.score = score
            fields.append("score")
        if progress.passed is None:
            progress.passed = False
            fields.append("passed")
        if fields:
            progress.save(update_fields=fields)
        enrollment = attempt.enrollment
        enrollment.score = quiz_score_of(enrollment)
        enrollment.save(update_fields=["score"])
    return attempt


# ---------------------------------------------------------------- reports


@dataclass(frozen=True)
class QuestionDifficulty:
    question: Question
    # Over each enrolment's first attempt only: what people know before retrying.
    first_answered: int
    first_right: int
    first_share_right: float | None
    # Over every submitted attempt: retries included.
    answered: int
    right: int
    share_right: float | None


def question_difficulty(step: Step) -> list[QuestionDifficulty]:
    """Per question, in the builder's order: how often it was answered and answered right.

    Two views, both over submitted attempts only: `first_*` counts each enrolment's first
    attempt (attempt number 1 — the honest measure of whether the content landed, before
    anyone learned the answers by retrying), the plain fields count every attempt. A
    question left blank counts as answered wrong. The shares are 0-1, None when nobody has
    answered."""
    questions = step.questions.order_by("position", "pk").annotate(
        n_all=Count("answers"),
        n_all_right=Count("answers", filter=Q(answers__correct=True)),
        n_first=Count("answers", filter=Q(answers__attempt__number=1)),
        n_first_right=Count("answers", filter=Q(answers__attempt__number=1, answers__correct=True)),
    )

    def share(right: int, answered: int) -> float | None:
        return right / answered if answered else None

    return [
        QuestionDifficulty(
            question=q,
            first_answered=q.n_first,  # type: ignore[attr-defined]
            first_right=q.n_first_right,  # type: ignore[attr-defined]
            first_share_right=share(q.n_first_right, q.n_first),  # type: ignore[attr-defined]
            answered=q.n_all,  # type: ignore[attr-defined]
            right=q.n_all_right,  # type: ignore[attr-defined]
            share_right=share(q.n_all_right, q.n_all),  # type: ignore[attr-defined]
        )
        for q in questions
    ]


@dataclass(frozen=True)
class QuizResult:
    enrollment: Enrollment
    best_score: float | None
    attempts: int
    passed: bool


def quiz_results(step: Step, viewer: AnyUser | None = None) -> list[QuizResult]:
    """Per enrolment that submitted at least one attempt: best score, submitted attempts,
    whether any attempt passed. With `viewer`, only the enrolments they may see
    (`access.enrollments_visible_to`): a learner their own, a manager their reports'."""
    enrollments = Enrollment.objects.filter(program_id=step.track.program_id)
    if viewer is not None:
        enrollments = access.enrollments_visible_to(viewer).filter(program_id=step.track.program_id)
    submitted = Q(quiz_attempts__step=step, quiz_attempts__submitted_at__isnull=False)
    rows = (
        enrollments.annotate(
            n_attempts=Count("quiz_attempts", filter=submitted),
            best=Max("quiz_attempts__score", filter=submitted),
            n_passed=Count("quiz_attempts", filter=submitted & Q(quiz_attempts__passed=True)),
        )
        .filter(n_attempts__gt=0)
        .select_related("user")
        .order_by("user__name", "user__email", "cycle")
    )
    return [
        QuizResult(
            enrollment=e,
            best_score=e.best,  # type: ignore[attr-defined]
            attempts=e.n_attempts,  # type: ignore[attr-defined]
            passed=e.n_passed > 0,  # type: ignore[attr-defined]
        )
        for e in rows
    ]
