"""Surveys and internal NPS.

A survey is the built-in 0-10 "how likely are you to recommend this training to a colleague",
a free-text comment and the program's (or step's) custom questions. Each enrolment answers
each survey once. Results are anonymous below a minimum number of answers (small groups
make answers easy to attribute) and show names only to site admins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import NormalDist
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from verity.accounts import access
from verity.accounts.access import AnyUser
from verity.accounts.models import User
from verity.learning.enrolment import complete_step
from verity.learning.models import (
    Enrollment,
    EnrollmentState,
    Program,
    Step,
    StepKind,
    SurveyQuestion,
    SurveyQuestionKind,
    SurveyResponse,
)
from verity.learning.quizzes import clean_learner_step

MAX_TEXT_LENGTH = 2000


def nps_min_n() -> int:
    return int(getattr(settings, "VERITY_NPS_MIN_N", 5))


# ---------------------------------------------------------------- answering


def _clean_recommend(recommend: Any) -> int:
    if isinstance(recommend, bool) or not isinstance(recommend, int) or not 0 <= recommend <= 10:
        raise ValidationError({"recommend": _("Choose a number from 0 to 10.")})
    return recommend


def _clean_custom_answers(
    questions: Sequence[SurveyQuestion], answers: Mapping[Any, Any]
) -> dict[str, int | str]:
    """Answers keyed by survey question id. Custom questions may be skipped; an answer to a
    question that is not on this survey is refused."""
    by_id = {q.pk: q for q in questions}
    cleaned: dict[str, int | str] = {}
    for raw_id, value in answers.items():
        try:
            question = by_id[int(raw_id)]
        except (KeyError, TypeError, ValueError):
            raise ValidationError(
                {"answers": _("Question %(id)s is not part of this survey.") % {"id": raw_id}}
            ) from None
        if question.kind == SurveyQuestionKind.RATING:
            if value is None or value == "":
                continue
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
                raise ValidationError(
                    {
                        "answers": _("“%(question)s”: choose a rating from 1 to 5.")
                        % {"question": question.text}
                    }
                )
            cleaned[str(question.pk)] = value
        else:
            text = str(value or "").strip()
            if not text:
                continue
            if len(text) > MAX_TEXT_LENGTH:
                raise ValidationError(
                    {
                        "answers": _(
                            "“%(question)s”: the answer is longer than %(max)s characters."
                        )
                        % {"question": question.text, "max": MAX_TEXT_LENGTH}
                    }
                )
            cleaned[str(question.pk)] = text
    return cleaned


@transaction.atomic
def survey_submit(
    *,
    enrollment: Enrollment,
    step: Step | None = None,
    recommend: int,
    comment: str = "",
    answers: Mapping[Any, Any] | None = None,
    now: datetime | None = None,
) -> SurveyResponse:
    """Answer the program's end survey (`step` None) or a survey step, once per enrolment.
    The end survey opens when the enrolment is completed; a survey step is completed by
    answering it."""

    now = now or timezone.now()
    enrollment = (
        Enrollment.objects.select_for_update().select_related("program").get(pk=enrollment.pk)
    )
    program = enrollment.program
    if step is not None:
        clean_learner_step(enrollment, step, StepKind.SURVEY)
        questions = list(SurveyQuestion.objects.filter(program=program, step=step))
    else:
        if not program.end_survey:
            raise ValidationError(_("This program has no survey at the end."))
        if enrollment.state != EnrollmentState.COMPLETED:
            raise ValidationError(_("The survey opens when you have completed the program."))
        questions = list(SurveyQuestion.objects.filter(program=program, step__isnull=True))

    recommend = _clean_recommend(recommend)
    comment = (comment or "").strip()
    if len(comment) > MAX_TEXT_LENGTH:
        raise ValidationError(
            {
                "comment": _("The comment is longer than %(max)s characters.")
                % {"max": MAX_TEXT_LENGTH}
            }
        )
    cleaned = _clean_custom_answers(questions, answers or {})

    already = SurveyResponse.objects.filter(enrollment=enrollment, step=step)
    if already.exists():
        raise ValidationError(_("You have already answered this survey."))
    try:
        # The unique constraints catch a double submit racing past the check above.
        with transaction.atomic():
            response = SurveyResponse.objects.create(
                enrollment=enrollment,
                step=step,
                recommend=recommend,
                comment=comment,
                answers=cleaned,
                submitted_at=now,
            )
    except IntegrityError:
        raise ValidationError(_("You have already answered this survey.")) from None
    if step is not None:
        complete_step(enrollment=enrollment, step=step, now=now)
    return response


# ---------------------------------------------------------------- NPS


@dataclass(frozen=True)
class NpsResult:
    """Net promoter score on -100..100 with its 95% confidence interval. Below the minimum
    n only `n` is given: the value, the counts and the interval are None, because with a
    handful of answers they tell who answered what."""

    value: float | None
    n: int
    promoters: int | None
    passives: int | None
    detractors: int | None
    ci_low: float | None
    ci_high: float | None


def nps(scores: Sequence[int], min_n: int) -> NpsResult:
    """NPS = % promoters (9-10) minus % detractors (0-6), with a 95% interval.

    The interval is the adjusted-Wald interval for NPS (Rocks, "Confidence intervals for net
    promoter scores", 2016): add 3 to n and 0.75 to both the promoter and the detractor
    counts, then nps' = p' - d', variance = (p' + d' - nps'^2) / n', interval = nps' ± z·√var
    with z the normal 97.5% quantile, clipped to [-100, 100]. The plain Wald interval uses
    the raw shares and collapses to a single point when everyone answers 9-10 (or 0-6) —
    claiming certainty from, say, six answers; the adjustment keeps the interval honest at
    the extremes and small n, where internal surveys live. The interval is centred on the
    adjusted estimate, so it is not symmetric around `value`."""
    values = list(scores)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 10:
            raise ValueError(f"NPS answers are whole numbers 0-10, got {v!r}")
    n = len(values)
    if n == 0 or n < min_n:
        return NpsResult(None, n, None, None, None, None, None)
    promoters = sum(1 for v in values if v >= 9)
    detractors = sum(1 for v in values if v <= 6)
    passives = n - promoters - detractors
    value = 100 * (promoters - detractors) / n

    n_adj = n + 3
    p_adj = (promoters + 0.75) / n_adj
    d_adj = (detractors + 0.75) / n_adj
    centre = p_adj - d_adj
    half = NormalDist().inv_cdf(0.975) * math.sqrt((p_adj + d_adj - centre**2) / n_adj)
    return NpsResult(
        value=value,
        n=n,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        ci_low=max(-100.0, 100 * (centre - half)),
        ci_high=min(100.0, 100 * (centre + half)),
    )


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class SurveyComment:
    text: str
    # Only for viewers who may see respondents (site admins); None for everyone else.
    respondent: User | None = None
    submitted_at: datetime | None = None


@dataclass(frozen=True)
class QuestionResult:
    question: SurveyQuestion
    n: int
    # Rating questions: the mean 1-5, None when fewer than the minimum n rated it.
    average: float | None = None
    # Text questions: the answers, under the same rules as comments.
    texts: list[SurveyComment] = field(default_factory=list)


@dataclass(frozen=True)
class SurveyResults:
    nps: NpsResult
    min_n: int
    questions: list[QuestionResult]
    comments: list[SurveyComment]
    # True when there are too few answers to show comments and per-question results.
    hidden: bool
    names_shown: bool


def program_survey_results(program: Program, viewer: AnyUser) -> SurveyResults:
    """The end survey's results for the program report: NPS, rating averages and text
    answers per custom question, comments.

    Anonymity: below the minimum n nothing but n is shown (comments, averages and text
    answers included). Names are shown to site admins only; everyone else gets the texts
    in alphabetical order with no dates, so the order cannot be matched against who finished
    when."""
    access.require(access.can_manage_program(viewer, program))
    min_n = nps_min_n()
    responses = list(
        SurveyResponse.objects.filter(enrollment__program=program, step__isnull=True)
        .select_related("enrollment__user")
        .order_by("-submitted_at", "-pk")
    )
    result = nps([r.recommend for r in responses], min_n)
    hidden = len(responses) < min_n or len(responses) == 0
    names = access.can_see_respondents(viewer)

    def comment_list(items: list[tuple[str, SurveyResponse]]) -> list[SurveyComment]:
        if hidden:
            return []
        if names:
            return [SurveyComment(t, r.enrollment.user, r.submitted_at) for t, r in items]
        return sorted((SurveyComment(t) for t, _r in items), key=lambda c: c.text.casefold())

    questions = []
    for question in SurveyQuestion.objects.filter(program=program, step__isnull=True):
        key = str(question.pk)
        given = [(r.answers[key], r) for r in responses if key in (r.answers or {})]
        if question.kind == SurveyQuestionKind.RATING:
            ratings = [int(v) for v, _r in given]
            # Per question too: a rating most people skipped would point at the few who gave it.
            shown = len(ratings) >= min_n and len(ratings) > 0 and not hidden
            average = sum(ratings) / len(ratings) if shown else None
            questions.append(QuestionResult(question, len(ratings), average=average))
        else:
            texts = comment_list([(str(v), r) for v, r in given])
            questions.append(QuestionResult(question, len(given), texts=texts))

    comments = comment_list([(r.comment, r) for r in responses if r.comment])
    return SurveyResults(
        nps=result,
        min_n=min_n,
        questions=questions,
        comments=comments,
        hidden=hidden,
        names_shown=names,
    )
