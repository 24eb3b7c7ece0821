"""Forms for the program builder: they parse and show errors; verity.learning.builder decides."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from verity.accounts import access
from verity.accounts.models import Group, JobFunction, User
from verity.knowledge.models import Card
from verity.learning.models import (
    Program,
    ProgramKind,
    QuestionKind,
    Step,
    StepKind,
    SurveyQuestionKind,
    TrackRole,
)
from verity.learning.practice import MAX_CRITERIA
from verity.learning.quizzes import MAX_CHOICES, true_false

DUE_NONE, DUE_DAYS, DUE_DATE = "none", "days", "date"
# Empty answer rows the quiz editor offers; more appear after saving when they are used.
CHOICE_ROWS = 4


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def person_label(user: User) -> str:
    name = user.display_name
    return name if name == user.email else f"{name} ({user.email})"


class PersonChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return person_label(obj)


class PeopleChoiceField(forms.ModelMultipleChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return person_label(obj)


class ProgramForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    goal = forms.CharField(
        label=_("Goal"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What learners can do after the program, in a sentence or two."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=ProgramKind.choices)
    owner = PersonChoiceField(label=_("Owner"), queryset=User.objects.none())
    audience_functions = forms.MultipleChoiceField(
        label=_("Job functions"),
        required=False,
        choices=JobFunction.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    audience_groups = forms.ModelMultipleChoiceField(
        label=_("Groups"),
        required=False,
        queryset=Group.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    audience_users = PeopleChoiceField(
        label=_("People"),
        required=False,
        queryset=User.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("Hold Ctrl (⌘ on a Mac) to choose several."),
    )
    audience_new_hires = forms.BooleanField(
        label=_("Enrol new hires on their hire date"), required=False
    )
    due_rule = forms.ChoiceField(
        label=_("Due"),
        choices=[
            (DUE_NONE, _("No due date")),
            (DUE_DAYS, _("A number of days after enrolment")),
            (DUE_DATE, _("On a fixed date")),
        ],
        initial=DUE_NONE,
        widget=forms.RadioSelect,
    )
    due_days = forms.IntegerField(label=_("Days after enrolment"), required=False, min_value=1)
    due_date = forms.DateField(label=_("Due date"), required=False, widget=DateInput())
    recertify_months = forms.IntegerField(
        label=_("Recertify every (months)"),
        required=False,
        min_value=1,
        help_text=_("Empty: the certificate does not expire."),
    )
    leaders_first = forms.BooleanField(
        label=_("Leaders first"),
        required=False,
        help_text=_(
            "Managers of the audience are enrolled first; each report starts when their "
            "manager has completed the program."
        ),
    )
    release_date = forms.DateField(
        label=_("Release everyone on"),
        required=False,
        widget=DateInput(),
        help_text=_("Optional: reports still waiting for their manager start on this date."),
    )
    end_survey = forms.BooleanField(
        label=_("Survey at the end"),
        required=False,
        initial=True,
        help_text=_("How likely learners are to recommend the training, and a comment."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = User.objects.filter(is_active=True).order_by("name", "email")
        self.fields["owner"].queryset = people  # type: ignore[attr-defined]
        self.fields["audience_users"].queryset = people  # type: ignore[attr-defined]
        self.fields["audience_groups"].queryset = Group.objects.order_by("name")  # type: ignore[attr-defined]

    @staticmethod
    def initial_for(program: Program) -> dict[str, Any]:
        due_rule = DUE_NONE
        if program.due_days is not None:
            due_rule = DUE_DAYS
        elif program.due_date is not None:
            due_rule = DUE_DATE
        return {
            "name": program.name,
            "goal": program.goal,
            "kind": program.kind,
            "owner": program.owner_id,
            "audience_functions": list(program.audience_functions),
            "audience_groups": list(program.audience_groups.values_list("pk", flat=True)),
            "audience_users": list(program.audience_users.values_list("pk", flat=True)),
            "audience_new_hires": program.audience_new_hires,
            "due_rule": due_rule,
            "due_days": program.due_days,
            "due_date": program.due_date,
            "recertify_months": program.recertify_months,
            "leaders_first": program.leaders_first,
            "release_date": program.release_date,
            "end_survey": program.end_survey,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # The radio decides which due field counts; the other one is ignored, not an error.
        rule = data.get("due_rule")
        if rule == DUE_DAYS:
            data["due_date"] = None
            if data.get("due_days") is None and "due_days" not in self.errors:
                self.add_error("due_days", _("Give the number of days."))
        elif rule == DUE_DATE:
            data["due_days"] = None
            if data.get("due_date") is None and "due_date" not in self.errors:
                self.add_error("due_date", _("Give the date."))
        else:
            data["due_days"] = data["due_date"] = None
        return data

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {name: data[name] for name in self.fields if name != "due_rule"}


class TrackForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Role"), choices=[c for c in TrackRole.choices if c[0] != TrackRole.SHARED]
    )


def _rubric_rows(data: Any) -> list[str]:
    if data is None or not hasattr(data, "getlist"):
        return []
    return [str(c) for c in data.getlist("rubric")][: MAX_CRITERIA + 1]


class StepForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=StepKind.choices)
    title = forms.CharField(label=_("Title"), max_length=300, required=False)
    required = forms.BooleanField(label=_("Required"), required=False, initial=True)
    card = forms.IntegerField(required=False, widget=forms.HiddenInput)
    body = forms.CharField(
        label=_("Text (Markdown)"), required=False, widget=forms.Textarea(attrs={"rows": 8})
    )
    video_url = forms.CharField(label=_("Video link"), required=False, max_length=200)
    pass_mark = forms.IntegerField(label=_("Pass mark (%)"), required=False, initial=80)
    max_attempts = forms.IntegerField(
        label=_("Attempts allowed"), required=False, help_text=_("Empty: unlimited")
    )
    shuffle = forms.BooleanField(
        label=_("Randomise question and answer order"), required=False, initial=True
    )

    def __init__(self, *args: Any, user: User, step: Step | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.step = step
        if step is not None:
            # The kind of an existing step does not change.
            self.fields["kind"].required = False
            self.fields["kind"].disabled = True
            self.initial.setdefault("kind", step.kind)
        self.rubric_rows = (
            _rubric_rows(self.data)
            if self.is_bound
            else list(step.rubric if step is not None else [])
        )

    @staticmethod
    def initial_for(step: Step) -> dict[str, Any]:
        return {
            "kind": step.kind,
            "title": step.title,
            "required": step.required,
            "card": step.card_id,
            "body": step.body,
            "video_url": step.video_url,
            "pass_mark": step.pass_mark,
            "max_attempts": step.max_attempts,
            "shuffle": step.shuffle,
        }

    def clean_card(self) -> Card | None:
        pk = self.cleaned_data.get("card")
        if pk is None:
            return None
        if self.step is not None and self.step.card_id == pk:
            return self.step.card
        # Only a card the builder can read; the service says so when it is missing.
        return access.cards_for(self.user).filter(pk=pk).first()

    def rubric_inputs(self) -> list[str]:
        """The criteria inputs to show: what is there plus empty rows, five at most."""
        rows = [r for r in self.rubric_rows if r.strip()]
        return (rows + [""] * MAX_CRITERIA)[:MAX_CRITERIA]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data.get("title") or "",
            "required": bool(data.get("required")),
            "card": data.get("card"),
            "body": data.get("body") or "",
            "video_url": data.get("video_url") or "",
            "pass_mark": 80 if data.get("pass_mark") is None else data["pass_mark"],
            "max_attempts": data.get("max_attempts"),
            "shuffle": bool(data.get("shuffle")),
            "rubric": self.rubric_rows,
        }


class QuestionForm(forms.Form):
    """A quiz question with its answers. Answers arrive as parallel lists: `choice` (texts)
    and `correct` (the indexes of the correct ones); true/false uses `answer`."""

    kind = forms.ChoiceField(label=_("Kind"), choices=QuestionKind.choices)
    text = forms.CharField(label=_("Question"), widget=forms.Textarea(attrs={"rows": 3}))
    explanation = forms.CharField(
        label=_("Explanation"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown after answering: why the right answer is right."),
    )
    answer = forms.ChoiceField(
        label=_("The statement is"),
        required=False,
        choices=[("true", _("True")), ("false", _("False"))],
        widget=forms.RadioSelect,
    )

    def __init__(
        self, *args: Any, choices: list[tuple[str, bool]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound and hasattr(self.data, "getlist"):
            texts = [str(t) for t in self.data.getlist("choice")][:MAX_CHOICES]
            marked = set(self.data.getlist("correct"))
            self.choice_rows = [(t, str(i) in marked) for i, t in enumerate(texts)]
        else:
            self.choice_rows = list(choices or [])

    def rows(self) -> list[tuple[int, str, bool]]:
        """The answer inputs to show: the current answers plus empty rows."""
        filled = [(t, c) for t, c in self.choice_rows if t.strip()]
        blank = max(CHOICE_ROWS - len(filled), 1)
        rows = (filled + [("", False)] * blank)[:MAX_CHOICES]
        return [(i, t, c) for i, (t, c) in enumerate(rows)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == QuestionKind.TRUE_FALSE and not data.get("answer"):
            self.add_error("answer", _("Say whether the statement is true or false."))
        return data

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        if data["kind"] == QuestionKind.TRUE_FALSE:
            choices = true_false(data["answer"] == "true")
        else:
            choices = self.choice_rows
        return {
            "kind": data["kind"],
            "text": data["text"],
            "explanation": data.get("explanation") or "",
            "choices": choices,
        }


class SurveyQuestionForm(forms.Form):
    text = forms.CharField(label=_("Question"), max_length=500)
    kind = forms.ChoiceField(
        label=_("Answer"), choices=SurveyQuestionKind.choices, initial=SurveyQuestionKind.RATING
    )


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError next to the fields it names (else on the form)."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            target = (
                field if field in form.fields and not form.fields[field].widget.is_hidden else None
            )
            for message in messages:
                form.add_error(target, message)
    else:
        for message in error.messages:
            form.add_error(None, message)
