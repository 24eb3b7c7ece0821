"""Surveys and NPS: the arithmetic by hand, one answer per survey, anonymity of comments."""

from __future__ import annotations

import math

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tests.conftest import make_user
from verity.learning import enrolment, surveys
from verity.learning.models import (
    Enrollment,
    EnrollmentState,
    Program,
    Step,
    StepKind,
    StepProgress,
    SurveyQuestion,
    SurveyQuestionKind,
    SurveyResponse,
)

# ---------------------------------------------------------------- NPS arithmetic


def test_all_promoters_is_100_with_an_interval_below_100():
    result = surveys.nps([9, 10] * 5, min_n=5)
    assert (result.value, result.n, result.promoters, result.passives, result.detractors) == (
        100.0,
        10,
        10,
        0,
        0,
    )
    # By hand: n' = 13, p' = 10.75/13, d' = 0.75/13, nps' = 10/13,
    # var = (11.5/13 - (10/13)^2) / 13, half-width = 1.959964 * sqrt(var).
    centre = 10 / 13
    half = 1.959964 * math.sqrt((11.5 / 13 - centre**2) / 13)
    assert result.ci_low == pytest.approx(100 * (centre - half), abs=1e-3)
    assert result.ci_low == pytest.approx(47.50, abs=0.01)
    assert result.ci_low < 100
    assert result.ci_high == 100.0  # clipped


def test_all_detractors_is_minus_100():
    result = surveys.nps([0, 3, 6, 6, 5, 1], min_n=5)
    assert result.value == -100.0
    assert result.detractors == 6
    assert result.ci_low == -100.0
    assert -100 < result.ci_high < 0


def test_mixed_answers():
    # 5 promoters, 3 passives, 2 detractors: 50% - 20% = 30.
    result = surveys.nps([9, 10, 10, 9, 9, 7, 8, 8, 0, 6], min_n=5)
    assert (result.value, result.promoters, result.passives, result.detractors) == (30.0, 5, 3, 2)
    centre = (5.75 - 2.75) / 13
    half = 1.959964 * math.sqrt(((5.75 + 2.75) / 13 - centre**2) / 13)
    assert result.ci_low == pytest.approx(100 * (centre - half), abs=1e-3)
    assert result.ci_high == pytest.approx(100 * (centre + half), abs=1e-3)
    assert result.ci_low < 30 < result.ci_high


def test_below_the_minimum_n_only_n_is_given():
    result = surveys.nps([10, 10, 10, 10], min_n=5)
    assert result.n == 4
    assert (result.value, result.ci_low, result.ci_high, result.promoters) == (
        None,
        None,
        None,
        None,
    )
    assert surveys.nps([10, 10, 10, 10, 0], min_n=5).value == 60.0  # n == min n is shown
    assert surveys.nps([], min_n=0).value is None


def test_nps_refuses_answers_outside_0_to_10():
    with pytest.raises(ValueError):
        surveys.nps([11], min_n=1)


# ---------------------------------------------------------------- answering


def _completed(program: Program, user) -> Enrollment:
    enrollment = Enrollment.objects.get(program=program, user=user)
    for step in enrolment.learner_steps(enrollment):
        enrolment.complete_step(enrollment=enrollment, step=step)
    enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.COMPLETED
    return enrollment


def test_end_survey_once_and_only_after_completion(make_program, rep):
    program = make_program(shared=["lesson"], audience_users=[rep], launch=True)
    rating = SurveyQuestion.objects.create(program=program, text="Pace?")
    enrollment = Enrollment.objects.get(program=program, user=rep)
    with pytest.raises(ValidationError, match="completed the program"):
        surveys.survey_submit(enrollment=enrollment, recommend=9, comment="", answers={})

    enrollment = _completed(program, rep)
    response = surveys.survey_submit(
        enrollment=enrollment, recommend=9, comment=" Useful ", answers={str(rating.pk): "4"}
    )
    assert (response.recommend, response.comment, response.answers) == (
        9,
        "Useful",
        {str(rating.pk): 4},
    )
    with pytest.raises(ValidationError, match="already answered"):
        surveys.survey_submit(enrollment=enrollment, recommend=2, comment="", answers={})
    assert SurveyResponse.objects.count() == 1


@pytest.mark.parametrize("recommend", [-1, 11, True, "9", 7.5])
def test_recommend_is_a_whole_number_0_to_10(make_program, rep, recommend):
    program = make_program(shared=["lesson"], audience_users=[rep], launch=True)
    enrollment = _completed(program, rep)
    with pytest.raises(ValidationError, match="0 to 10"):
        surveys.survey_submit(enrollment=enrollment, recommend=recommend, comment="", answers={})
    assert not SurveyResponse.objects.exists()


def test_custom_answers_are_validated(make_program, rep, rep2):
    program = make_program(shared=["lesson"], audience_users=[rep], launch=True)
    other = make_program(shared=["lesson"], audience_users=[rep2])
    rating = SurveyQuestion.objects.create(program=program, text="Pace?")
    text = SurveyQuestion.objects.create(
        program=program, text="What was missing?", kind=SurveyQuestionKind.TEXT
    )
    foreign = SurveyQuestion.objects.create(program=other, text="Elsewhere?")
    enrollment = _completed(program, rep)
    for answers in (
        {rating.pk: 6},
        {rating.pk: 0},
        {text.pk: "x" * 2001},
        {foreign.pk: 3},
        {"nope": 3},
    ):
        with pytest.raises(ValidationError):
            surveys.survey_submit(enrollment=enrollment, recommend=8, comment="", answers=answers)
    assert not SurveyResponse.objects.exists()
    response = surveys.survey_submit(
        enrollment=enrollment,
        recommend=8,
        comment="",
        answers={rating.pk: 5, text.pk: "x" * 2000},
    )
    assert response.answers == {str(rating.pk): 5, str(text.pk): "x" * 2000}


def test_a_survey_step_is_completed_by_answering_it(make_program, rep):
    program = make_program(shared=["lesson", "survey"], audience_users=[rep], launch=True)
    enrollment = Enrollment.objects.get(program=program, user=rep)
    lesson, survey_step = enrolment.learner_steps(enrollment)
    question = SurveyQuestion.objects.create(program=program, step=survey_step, text="Clear?")
    enrolment.complete_step(enrollment=enrollment, step=lesson)

    surveys.survey_submit(
        enrollment=enrollment, step=survey_step, recommend=10, answers={question.pk: 5}
    )
    assert StepProgress.objects.get(enrollment=enrollment, step=survey_step).completed_at
    enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.COMPLETED
    with pytest.raises(ValidationError, match="already answered"):
        surveys.survey_submit(enrollment=enrollment, step=survey_step, recommend=3)
    # The step's survey and the end survey are separate surveys.
    surveys.survey_submit(enrollment=enrollment, recommend=7)
    assert SurveyResponse.objects.filter(enrollment=enrollment).count() == 2


def test_survey_step_must_be_a_survey(make_program, rep):
    program = make_program(shared=["lesson"], audience_users=[rep], launch=True)
    enrollment = Enrollment.objects.get(program=program, user=rep)
    lesson = Step.objects.get(track__program=program)
    assert lesson.kind == StepKind.LESSON
    with pytest.raises(ValidationError):
        surveys.survey_submit(enrollment=enrollment, step=lesson, recommend=9)


# ---------------------------------------------------------------- results and anonymity


def _program_with_answers(make_program, answers: list[tuple[int, str]]) -> Program:
    learners = [make_user(f"learner{i}@example.com") for i in range(len(answers))]
    program = make_program(shared=["lesson"], audience_users=learners, launch=True)
    rating = SurveyQuestion.objects.create(program=program, text="Pace?")
    for (recommend, comment), learner in zip(answers, learners, strict=True):
        surveys.survey_submit(
            enrollment=_completed(program, learner),
            recommend=recommend,
            comment=comment,
            answers={rating.pk: 4 if recommend >= 7 else 2},
        )
    return program


ANSWERS = [(10, "Zesty examples"), (9, "Great pace"), (8, ""), (3, "Too long"), (10, "")]


def test_results_for_the_enablement_team_have_no_names(make_program, enablement, settings):
    settings.VERITY_NPS_MIN_N = 5
    program = _program_with_answers(make_program, ANSWERS)
    results = surveys.program_survey_results(program, enablement)
    assert (results.nps.value, results.nps.n) == (40.0, 5)  # 3 promoters, 1 detractor
    assert results.names_shown is False and results.hidden is False
    assert [c.text for c in results.comments] == ["Great pace", "Too long", "Zesty examples"]
    assert all(c.respondent is None and c.submitted_at is None for c in results.comments)
    (pace,) = results.questions
    assert (pace.n, pace.average) == (5, pytest.approx((4 + 4 + 4 + 2 + 4) / 5))


def test_admins_see_who_wrote_what(make_program, admin, settings):
    settings.VERITY_NPS_MIN_N = 5
    program = _program_with_answers(make_program, ANSWERS)
    results = surveys.program_survey_results(program, admin)
    assert results.names_shown is True
    by_text = {c.text: c.respondent.email for c in results.comments}
    assert by_text == {
        "Zesty examples": "learner0@example.com",
        "Great pace": "learner1@example.com",
        "Too long": "learner3@example.com",
    }


def test_below_the_minimum_n_comments_and_averages_are_hidden(
    make_program, admin, enablement, settings
):
    settings.VERITY_NPS_MIN_N = 5
    program = _program_with_answers(make_program, ANSWERS[:4])
    for viewer in (enablement, admin):
        results = surveys.program_survey_results(program, viewer)
        assert results.hidden is True
        assert (results.nps.value, results.nps.n, results.nps.ci_low) == (None, 4, None)
        assert results.comments == []
        assert results.questions[0].average is None


def test_the_minimum_n_comes_from_settings(make_program, enablement, settings):
    settings.VERITY_NPS_MIN_N = 3
    program = _program_with_answers(make_program, ANSWERS[:3])
    results = surveys.program_survey_results(program, enablement)
    assert results.nps.value == pytest.approx(100 * 2 / 3)
    assert len(results.comments) == 2


def test_learners_and_outsiders_cannot_read_results(make_program, rep, manager, outsider):
    program = _program_with_answers(make_program, ANSWERS)
    for viewer in (rep, manager, outsider):
        with pytest.raises(PermissionDenied):
            surveys.program_survey_results(program, viewer)
