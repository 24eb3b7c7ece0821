"""Practice tasks: the learner hands in text or a link, their manager scores it on the rubric."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from verity.learning import practice
from verity.learning.models import (
    Enrollment,
    EnrollmentState,
    PracticeState,
    PracticeSubmission,
    Step,
    StepKind,
    StepProgress,
)

RUBRIC = ["Clear opening", "Handles the objection"]


def _task(make_program, users, rubric=RUBRIC) -> tuple[Step, list[Enrollment]]:
    program = make_program(
        shared=[{"kind": StepKind.PRACTICE, "rubric": list(rubric), "body": "Record a pitch."}],
        audience_users=users,
        launch=True,
    )
    step = Step.objects.get(track__program=program)
    return step, [Enrollment.objects.get(program=program, user=u) for u in users]


def test_clean_rubric():
    assert practice.clean_rubric(["  Clear  opening ", "", "Tone"]) == ["Clear opening", "Tone"]
    assert practice.clean_rubric(["a", "b", "c", "d", "e"]) == ["a", "b", "c", "d", "e"]
    with pytest.raises(ValidationError, match="at least one"):
        practice.clean_rubric(["", "  "])
    with pytest.raises(ValidationError, match="at most 5"):
        practice.clean_rubric(["a", "b", "c", "d", "e", "f"])
    with pytest.raises(ValidationError, match="same text"):
        practice.clean_rubric(["Tone", "tone"])


def test_submit_needs_text_or_a_valid_link(make_program, rep):
    step, (enrollment,) = _task(make_program, [rep])
    with pytest.raises(ValidationError, match="Write your answer"):
        practice.practice_submit(enrollment=enrollment, step=step, text="  ", link="")
    with pytest.raises(ValidationError):
        practice.practice_submit(enrollment=enrollment, step=step, link="javascript:alert(1)")
    link_only = practice.practice_submit(
        enrollment=enrollment, step=step, link="https://example.com/pitch"
    )
    assert link_only.state == PracticeState.SUBMITTED
    enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.IN_PROGRESS


def test_resubmitting_replaces_the_submission_waiting_for_review(make_program, rep):
    step, (enrollment,) = _task(make_program, [rep])
    first = practice.practice_submit(enrollment=enrollment, step=step, text="Draft")
    second = practice.practice_submit(enrollment=enrollment, step=step, text="Better")
    assert second.pk == first.pk
    assert PracticeSubmission.objects.get().text == "Better"


@pytest.mark.parametrize("who", ["outsider", "rep2", "rep", "enablement"])
def test_only_the_learners_manager_reviews(make_program, request, rep, manager, who):
    step, (enrollment,) = _task(make_program, [rep])
    submission = practice.practice_submit(enrollment=enrollment, step=step, text="My pitch")
    with pytest.raises(PermissionDenied):
        practice.practice_review(
            reviewer=request.getfixturevalue(who), submission=submission, scores=[5, 5]
        )
    submission.refresh_from_db()
    assert submission.state == PracticeState.SUBMITTED
    assert list(practice.pending_reviews(manager)) == [submission]
    assert not practice.pending_reviews(request.getfixturevalue(who)).exists()


def test_review_completes_the_step_with_the_rubric_score(make_program, rep, manager):
    step, (enrollment,) = _task(make_program, [rep])
    submission = practice.practice_submit(enrollment=enrollment, step=step, text="My pitch")
    reviewed = practice.practice_review(
        reviewer=manager, submission=submission, scores=[4, 5], feedback=" Good close. "
    )
    assert reviewed.state == PracticeState.REVIEWED
    assert (reviewed.reviewer, reviewed.scores, reviewed.feedback) == (
        manager,
        [4, 5],
        "Good close.",
    )
    progress = StepProgress.objects.get(enrollment=enrollment, step=step)
    assert progress.completed_at is not None
    assert progress.score == pytest.approx(90.0)  # mean 4.5 of 5
    enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.COMPLETED
    assert not practice.pending_reviews(manager).exists()

    with pytest.raises(ValidationError, match="already been reviewed"):
        practice.practice_review(reviewer=manager, submission=submission, scores=[1, 1])
    with pytest.raises(ValidationError, match="already reviewed"):
        practice.practice_submit(enrollment=enrollment, step=step, text="Again")


@pytest.mark.parametrize("scores", [[5], [5, 5, 5], [0, 5], [6, 5], [True, 5], [4.5, 5]])
def test_review_scores_are_validated(make_program, rep, manager, scores):
    step, (enrollment,) = _task(make_program, [rep])
    submission = practice.practice_submit(enrollment=enrollment, step=step, text="My pitch")
    with pytest.raises(ValidationError):
        practice.practice_review(reviewer=manager, submission=submission, scores=scores)
    assert not StepProgress.objects.filter(completed_at__isnull=False).exists()
    submission.refresh_from_db()
    assert submission.state == PracticeState.SUBMITTED


def test_learner_without_a_manager_is_reviewed_by_the_enablement_team(
    make_program, outsider, manager, enablement
):
    step, (enrollment,) = _task(make_program, [outsider], rubric=[])
    submission = practice.practice_submit(enrollment=enrollment, step=step, text="Done")
    assert list(practice.pending_reviews(enablement)) == [submission]
    assert not practice.pending_reviews(manager).exists()
    with pytest.raises(PermissionDenied):
        practice.practice_review(reviewer=manager, submission=submission, scores=[3])
    # No rubric: one overall score.
    practice.practice_review(reviewer=enablement, submission=submission, scores=[3])
    assert StepProgress.objects.get(enrollment=enrollment).score == pytest.approx(60.0)


def test_nobody_reviews_their_own_task(make_program, enablement, admin):
    # The enablement person has no manager and may manage the program: still not their own.
    step, (enrollment,) = _task(make_program, [enablement])
    submission = practice.practice_submit(enrollment=enrollment, step=step, text="Mine")
    assert not practice.pending_reviews(enablement).exists()
    with pytest.raises(PermissionDenied):
        practice.practice_review(reviewer=enablement, submission=submission, scores=[5, 5])
    practice.practice_review(reviewer=admin, submission=submission, scores=[5, 5])
