"""Practice tasks: the learner submits text or a link, their manager scores it on the step's
rubric (one score 1-5 per criterion). The review completes the step, so a practice task is
done when the manager has looked at it, not when the learner has typed something."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from verity.accounts import access
from verity.accounts.models import User
from verity.learning.enrolment import complete_step, open_step
from verity.learning.models import (
    Enrollment,
    PracticeState,
    PracticeSubmission,
    Step,
    StepKind,
)
from verity.learning.quizzes import clean_learner_step

MAX_CRITERIA = 5
MAX_CRITERION_LENGTH = 200
MAX_ANSWER_LENGTH = 20000


def clean_rubric(criteria: Sequence[str]) -> list[str]:
    """One to five criteria, each a short non-empty line. Blank rows (the builder's empty
    inputs) are dropped before counting."""
    cleaned = [" ".join(str(c).split()) for c in criteria]
    cleaned = [c for c in cleaned if c]
    if not cleaned:
        raise ValidationError({"rubric": _("Add at least one criterion to score the task on.")})
    if len(cleaned) > MAX_CRITERIA:
        raise ValidationError(
            {"rubric": _("A rubric has at most %(max)s criteria.") % {"max": MAX_CRITERIA}}
        )
    if any(len(c) > MAX_CRITERION_LENGTH for c in cleaned):
        raise ValidationError(
            {
                "rubric": _("A criterion is longer than %(max)s characters.")
                % {"max": MAX_CRITERION_LENGTH}
            }
        )
    if len({c.casefold() for c in cleaned}) != len(cleaned):
        raise ValidationError({"rubric": _("Two criteria have the same text.")})
    return cleaned


def rubric_of(step: Step) -> list[str]:
    """The criteria the task is scored on; a task built without a rubric gets one overall
    score so it can still be reviewed."""
    return list(step.rubric) or [_("Overall")]


@transaction.atomic
def practice_submit(
    *,
    enrollment: Enrollment,
    step: Step,
    text: str = "",
    link: str = "",
    now: datetime | None = None,
) -> PracticeSubmission:
    """Hand in the task. A submission still waiting for review is replaced (the learner may
    improve it until the manager looks at it); a reviewed task cannot be handed in again."""

    now = now or timezone.now()
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    clean_learner_step(enrollment, step, StepKind.PRACTICE)
    text = (text or "").strip()
    link = (link or "").strip()
    if not text and not link:
        raise ValidationError(_("Write your answer or give a link to it."))
    if len(text) > MAX_ANSWER_LENGTH:
        raise ValidationError(
            {
                "text": _("The answer is longer than %(max)s characters.")
                % {"max": MAX_ANSWER_LENGTH}
            }
        )
    if link:
        try:
            URLValidator(schemes=["http", "https"])(link)
        except ValidationError:
            raise ValidationError(
                {"link": _("Enter a full link starting with https://.")}
            ) from None

    submissions = PracticeSubmission.objects.filter(enrollment=enrollment, step=step)
    if submissions.filter(state=PracticeState.REVIEWED).exists():
        raise ValidationError(_("Your manager has already reviewed this task."))
    submission = submissions.filter(state=PracticeState.SUBMITTED).first()
    if submission is None:
        submission = PracticeSubmission.objects.create(
            enrollment=enrollment, step=step, text=text, link=link, submitted_at=now
        )
        open_step(enrollment=enrollment, step=step, now=now)
    else:
        submission.text, submission.link, submission.submitted_at = text, link, now
        submission.save(update_fields=["text", "link", "submitted_at"])
    return submission


@transaction.atomic
def practice_review(
    *,
    reviewer: User,
    submission: PracticeSubmission,
    scores: Sequence[int],
    feedback: str = "",
    now: datetime | None = None,
) -> PracticeSubmission:
    """Score a submission: one whole number 1-5 per rubric criterion, in the rubric's order.
    Completes the step with score = mean / 5 * 100 (all fives = 100, all ones = 20)."""

    now = now or timezone.now()
    submission = (
        PracticeSubmission.objects.select_for_update()
        .select_related("step", "enrollment__user", "enrollment__program")
        .get(pk=submission.pk)
    )
    enrollment = submission.enrollment
    # Nobody scores their own work, whatever else they may do in the program.
    if enrollment.user_id == reviewer.pk or not access.can_review_practice(reviewer, enrollment):
        raise PermissionDenied
    if submission.state != PracticeState.SUBMITTED:
        raise ValidationError(_("This task has already been reviewed."))

    criteria = rubric_of(submission.step)
    values = list(scores)
    if len(values) != len(criteria):
        raise ValidationError(
            {
                "scores": ngettext(
                    "Give one score for the %(count)s criterion.",
                    "Give one score for each of the %(count)s criteria.",
                    len(criteria),
                )
                % {"count": len(criteria)}
            }
        )
    if any(isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 5 for v in values):
        raise ValidationError({"scores": _("Each score is a whole number from 1 to 5.")})

    submission.state = PracticeState.REVIEWED
    submission.reviewer = reviewer
    submission.reviewed_at = now
    submission.scores = values
    submission.feedback = (feedback or "").strip()
    submission.save(update_fields=["state", "reviewer", "reviewed_at", "scores", "feedback"])
    score = sum(values) / len(values) / 5 * 100
    progress = complete_step(enrollment=enrollment, step=submission.step, now=now, score=score)
    if progress.score is None:
        # complete_step keeps scores for quizzes only; the report shows the rubric score too.
        progress.score = score
        progress.save(update_fields=["score"])
    return submission


def pending_reviews(manager: User) -> QuerySet[PracticeSubmission]:
    """Submissions waiting for `manager`: their direct reports' and, for learners without a
    manager, those in programs `manager` manages (the same rule as
    `access.can_review_practice`). Oldest first: they have waited longest."""
    if not manager.is_authenticated or not manager.is_active:
        return PracticeSubmission.objects.none()
    mine = Q(enrollment__user__manager=manager)
    if access.can_build_programs(manager):
        mine |= Q(enrollment__user__manager__isnull=True)
    else:
        mine |= Q(enrollment__user__manager__isnull=True, enrollment__program__owner=manager)
    return (
        PracticeSubmission.objects.filter(
            mine, state=PracticeState.SUBMITTED, enrollment__superseded=False
        )
        .exclude(enrollment__user=manager)
        .select_related("enrollment__user", "enrollment__program", "step")
        .order_by("submitted_at", "pk")
    )
