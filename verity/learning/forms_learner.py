"""Forms for the learner's and the manager's pages: taking a quiz, handing in a practice task,
answering a survey, reviewing a practice task. They only parse what the browser sends; the
rules (scoring, once-only, who may review) live in the services they feed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from verity.learning.models import (
    Choice,
    Question,
    QuestionKind,
    QuizAttempt,
    SurveyQuestion,
    SurveyQuestionKind,
)
from verity.learning.surveys import MAX_TEXT_LENGTH

RECOMMEND_CHOICES = [(str(n), str(n)) for n in range(11)]
RATING_CHOICES = [(str(n), str(n)) for n in range(1, 6)]


def question_field_name(question_id: int) -> str:
    return f"q{question_id}"


class QuizForm(forms.Form):
    """One field per question of the attempt, in the order the attempt stored (questions and
    answers shuffled once, at the start): radio buttons for single choice and true/false,
    checkboxes for multiple choice."""

    def __init__(self, *args: Any, attempt: QuizAttempt, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        question_ids = [int(entry[0]) for entry in attempt.order]
        questions = {
            q.pk: q for q in Question.objects.filter(pk__in=question_ids, step_id=attempt.step_id)
        }
        choices = {c.pk: c for c in Choice.objects.filter(question_id__in=list(questions))}
        self.questions: list[tuple[Question, str]] = []
        for raw_qid, raw_choice_ids in attempt.order:
            question = questions.get(int(raw_qid))
            if question is None:  # deleted by the builder while the attempt was open
                continue
            options = [
                (str(cid), choices[int(cid)].text) for cid in raw_choice_ids if int(cid) in choices
            ]
            name = question_field_name(question.pk)
            label = f"{len(self.questions) + 1}. {question.text}"
            field: forms.Field
            if question.kind == QuestionKind.MULTIPLE:
                field = forms.MultipleChoiceField(
                    label=label,
                    choices=options,
                    widget=forms.CheckboxSelectMultiple,
                    help_text=_("Choose every right answer."),
                    error_messages={"required": _("Choose at least one answer.")},
                )
            else:
                field = forms.ChoiceField(
                    label=label,
                    choices=options,
                    widget=forms.RadioSelect,
                    error_messages={"required": _("Choose an answer.")},
                )
            self.fields[name] = field
            self.questions.append((question, name))

    def question_fields(self) -> list[tuple[Question, forms.BoundField]]:
        return [(question, self[name]) for question, name in self.questions]

    def answers(self) -> dict[int, list[int]]:
        """The cleaned answers in the shape `quizzes.attempt_submit` takes."""
        result: dict[int, list[int]] = {}
        for question, name in self.questions:
            value = self.cleaned_data.get(name)
            if value in (None, "", []):
                continue
            values = value if isinstance(value, list) else [value]
            result[question.pk] = [int(v) for v in values]
        return result


class PracticeForm(forms.Form):
    text = forms.CharField(
        label=_("Your answer"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    link = forms.URLField(
        label=_("Or a link"),
        required=False,
        assume_scheme="https",
        help_text=_("A recording, a document or a slide deck."),
    )


class SurveyForm(forms.Form):
    """The 0-10 recommend question, a comment and the survey's own questions (optional)."""

    recommend = forms.TypedChoiceField(
        label=_("How likely are you to recommend this training to a colleague?"),
        choices=RECOMMEND_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a number from 0 to 10.")},
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=MAX_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What worked, what was missing? Shown without your name."),
    )

    def __init__(self, *args: Any, questions: Sequence[SurveyQuestion] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.custom: list[tuple[SurveyQuestion, str]] = []
        for question in questions:
            name = f"sq{question.pk}"
            if question.kind == SurveyQuestionKind.RATING:
                self.fields[name] = forms.ChoiceField(
                    label=question.text,
                    choices=RATING_CHOICES,
                    widget=forms.RadioSelect,
                    required=False,
                    help_text=_("1 = poor, 5 = excellent"),
                )
            else:
                self.fields[name] = forms.CharField(
                    label=question.text,
                    required=False,
                    max_length=MAX_TEXT_LENGTH,
                    widget=forms.Textarea(attrs={"rows": 3}),
                )
            self.custom.append((question, name))

    def custom_fields(self) -> list[tuple[SurveyQuestion, forms.BoundField]]:
        return [(question, self[name]) for question, name in self.custom]

    def answers(self) -> dict[str, str]:
        return {
            str(question.pk): self.cleaned_data.get(name) or ""
            for question, name in self.custom
            if self.cleaned_data.get(name)
        }


class ReviewForm(forms.Form):
    """One 1-5 score per rubric criterion (fields score_0, score_1, ...) and feedback."""

    feedback = forms.CharField(
        label=_("Feedback"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("The learner sees it with the scores."),
    )

    def __init__(self, *args: Any, criteria: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        # Scores first, then the feedback: the order a reviewer works in.
        feedback = self.fields.pop("feedback")
        for index, criterion in enumerate(self.criteria):
            self.fields[f"score_{index}"] = forms.TypedChoiceField(
                label=criterion,
                choices=RATING_CHOICES,
                coerce=int,
                widget=forms.RadioSelect,
                error_messages={"required": _("Give a score from 1 to 5.")},
            )
        self.fields["feedback"] = feedback

    def scores(self) -> list[int]:
        return [int(self.cleaned_data[f"score_{i}"]) for i in range(len(self.criteria))]

    def score_fields(self) -> list[forms.BoundField]:
        return [self[f"score_{i}"] for i in range(len(self.criteria))]
