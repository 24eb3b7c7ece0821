"""Writes for the program builder: programs, their tracks and steps, and the custom survey
questions. Every function is keyword-only, runs in one transaction and checks access through
verity.accounts.access (`can_build_programs` to create, `can_manage_program` to change).

A launched program's structure can still change: a step added later is simply a new step
for everyone (completed enrolments stay completed), and a step learners have already worked
on cannot be deleted, so their history stays meaningful (make it optional instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils.translation import gettext as _
from typing_extensions import Unpack  # in typing from 3.12

from verity.accounts import access
from verity.accounts.models import Group, JobFunction, User
from verity.knowledge.models import Card
from verity.learning import enrolment, practice, quizzes
from verity.learning.models import (
    Enrollment,
    Program,
    ProgramKind,
    ProgramStatus,
    Question,
    Step,
    StepKind,
    SurveyQuestion,
    SurveyQuestionKind,
    Track,
    TrackRole,
)
from verity.lib.markdown import render_markdown

MAX_NAME_LENGTH = 200
MAX_TITLE_LENGTH = 300
MAX_SURVEY_QUESTIONS = 10
# Audience job functions: every function can be targeted (enablement onboards its own too).
AUDIENCE_FUNCTIONS = set(JobFunction.values)


def _require_manage(user: User, program: Program) -> None:
    if not access.can_manage_program(user, program):
        raise PermissionDenied


# ---------------------------------------------------------------- programs


def _clean_program(
    *,
    name: str,
    kind: str,
    owner: User,
    audience_functions: Iterable[str],
    due_days: int | None,
    due_date: date | None,
    recertify_months: int | None,
    leaders_first: bool,
    release_date: date | None,
) -> tuple[str, list[str]]:
    """The cleaned name and job functions, or a ValidationError naming the wrong fields."""
    errors: dict[str, str] = {}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = _("Give the program a name.")
    elif len(name) > MAX_NAME_LENGTH:
        errors["name"] = _("The name is longer than %(max)s characters.") % {"max": MAX_NAME_LENGTH}
    if kind not in ProgramKind.values:
        errors["kind"] = _("Choose what kind of program this is.")
    if not owner.is_active:
        errors["owner"] = _("The owner must be an active person.")
    functions = list(dict.fromkeys(str(f) for f in audience_functions))
    if any(f not in AUDIENCE_FUNCTIONS for f in functions):
        errors["audience_functions"] = _("Choose job functions from the list.")
    if due_days is not None and due_date is not None:
        errors["due_days"] = _(
            "Choose one due rule: days after enrolment or a fixed date, not both."
        )
    if due_days is not None and due_days < 1:
        errors["due_days"] = _("Give at least one day.")
    if recertify_months is not None and recertify_months < 1:
        errors["recertify_months"] = _("Give at least one month, or leave it empty.")
    if release_date is not None and not leaders_first:
        errors["release_date"] = _("A release date only applies when leaders go first.")
    if errors:
        raise ValidationError(errors)
    return name, functions


class ProgramSettings(TypedDict, total=False):
    """A program's settings besides its name and kind (see the Program model)."""

    goal: str
    owner: User | None  # None: the creator (on create) or unchanged (on update)
    audience_functions: Iterable[str]
    audience_groups: Iterable[Group]
    audience_users: Iterable[User]
    audience_new_hires: bool
    due_days: int | None
    due_date: date | None
    recertify_months: int | None
    leaders_first: bool
    release_date: date | None
    end_survey: bool


# What a setting left out means, on create and on update alike (a form sends them all).
DEFAULT_SETTINGS: ProgramSettings = {
    "goal": "",
    "owner": None,
    "audience_functions": (),
    "audience_groups": (),
    "audience_users": (),
    "audience_new_hires": False,
    "due_days": None,
    "due_date": None,
    "recertify_months": None,
    "leaders_first": False,
    "release_date": None,
    "end_survey": True,
}


SETTING_FIELDS = [
    "name", "kind", "goal", "owner", "audience_functions", "audience_new_hires", "due_days",
    "due_date", "recertify_months", "leaders_first", "release_date", "end_survey",
]  # fmt: skip


def _apply_settings(program: Program, name: str, kind: str, given: ProgramSettings) -> None:
    """Clean and store the settings on `program` (saved, audience included)."""
    settings: ProgramSettings = {**DEFAULT_SETTINGS, **given}
    owner = settings["owner"] or program.owner
    name, functions = _clean_program(
        name=name,
        kind=kind,
        owner=owner,
        audience_functions=settings["audience_functions"],
        due_days=settings["due_days"],
        due_date=settings["due_date"],
        recertify_months=settings["recertify_months"],
        leaders_first=settings["leaders_first"],
        release_date=settings["release_date"],
    )
    program.name, program.kind, program.owner = name, kind, owner
    program.goal = (settings["goal"] or "").strip()
    program.audience_functions = functions
    program.audience_new_hires = settings["audience_new_hires"]
    program.due_days, program.due_date = settings["due_days"], settings["due_date"]
    program.recertify_months = settings["recertify_months"]
    program.leaders_first = settings["leaders_first"]
    program.release_date = settings["release_date"]
    program.end_survey = settings["end_survey"]
    if program.pk is None:
        program.save()
    else:  # only the settings: a launch saved at the same moment keeps its status
        program.save(update_fields=[*SETTING_FIELDS, "updated_at"])
    program.audience_groups.set(list(settings["audience_groups"]))
    program.audience_users.set(list(settings["audience_users"]))


@transaction.atomic
def program_create(
    *, user: User, name: str, kind: str, **settings: Unpack[ProgramSettings]
) -> Program:
    """A draft program with its shared track (every learner follows it first)."""
    if not access.can_build_programs(user):
        raise PermissionDenied
    program = Program(owner=user)
    _apply_settings(program, name, kind, settings)
    Track.objects.create(program=program, role=TrackRole.SHARED)
    return program


@transaction.atomic
def program_update(
    *, user: User, program: Program, name: str, kind: str, **settings: Unpack[ProgramSettings]
) -> Program:
    """Change the settings. On an active program, people newly in the audience are enrolled
    at once; people who left it keep their enrolment (their history stays)."""
    _require_manage(user, program)
    _apply_settings(program, name, kind, settings)
    if program.status == ProgramStatus.ACTIVE:
        enrolment.sync_audience(program)
    return program


@transaction.atomic
def program_launch(*, user: User, program: Program) -> Program:
    """Draft → active: check the program is ready, then let enrolment enrol the audience."""
    _require_manage(user, program)
    if program.status == ProgramStatus.DRAFT and not enrolment.audience_of(program).exists():
        raise ValidationError(
            _("Nobody is in the audience yet: choose job functions, groups or people first.")
        )
    return enrolment.program_launch(user=user, program=program)


# ---------------------------------------------------------------- tracks


@transaction.atomic
def track_add(*, user: User, program: Program, role: str) -> Track:
    """A role track. On an active program, learners of that job function who had no role
    track now follow this one (their shared progress is untouched)."""
    _require_manage(user, program)
    if role == TrackRole.SHARED or role not in TrackRole.values:
        raise ValidationError({"role": _("Choose a role for the track.")})
    if program.tracks.filter(role=role).exists():
        raise ValidationError(
            {
                "role": _("This program already has a %(role)s track.")
                % {"role": TrackRole(role).label}
            }
        )
    track = Track.objects.create(program=program, role=role)
    Enrollment.objects.filter(
        program=program, superseded=False, track_role="", user__job_function=role
    ).update(track_role=role)
    return track


def _has_learner_history(steps: QuerySet[Step]) -> bool:
    return (
        steps.filter(progress__isnull=False).exists()
        or steps.filter(attempts__isnull=False).exists()
        or steps.filter(submissions__isnull=False).exists()
        or steps.filter(survey_responses__isnull=False).exists()
    )


@transaction.atomic
def track_remove(*, user: User, track: Track) -> None:
    _require_manage(user, track.program)
    if track.is_shared:
        raise ValidationError(_("The shared track cannot be removed."))
    if _has_learner_history(track.steps.all()):
        raise ValidationError(
            _(
                "Learners have already worked on this track: make its steps optional instead "
                "of removing it."
            )
        )
    Enrollment.objects.filter(program=track.program_id, track_role=track.role).update(track_role="")
    track.delete()


# ---------------------------------------------------------------- steps

_http_url = URLValidator(schemes=["http", "https"])


def _clean_step(
    *,
    user: User,
    kind: str,
    title: str,
    card: Card | None,
    body: str,
    video_url: str,
    pass_mark: int,
    max_attempts: int | None,
    rubric: Sequence[str],
    current_card_id: int | None = None,
) -> dict[str, Any]:
    """The step's cleaned fields, or a ValidationError naming the wrong fields."""
    errors: dict[str, Any] = {}
    if kind not in StepKind.values:
        raise ValidationError({"kind": _("Choose what kind of step this is.")})
    title = " ".join((title or "").split())
    body = (body or "").strip()
    video_url = (video_url or "").strip()
    fields: dict[str, Any] = {"card": None, "body": "", "video_url": "", "rubric": []}

    if kind == StepKind.CARD:
        # The builder must be able to read the card now; a card already on the step may stay
        # even if the builder lost access since (they are not shown more than its title).
        readable = card is not None and (
            card.pk == current_card_id or access.cards_for(user).filter(pk=card.pk).exists()
        )
        if not readable:
            errors["card"] = _("Choose a card you can read.")
        else:
            fields["card"] = card
            title = title or (card.title if card is not None else "")
    if kind in (StepKind.LESSON, StepKind.PRACTICE, StepKind.SURVEY):
        fields["body"] = body
    if kind == StepKind.LESSON:
        fields["video_url"] = video_url
        if not body and not video_url:
            errors["body"] = _("Write the lesson or give a video link.")
    if kind == StepKind.PRACTICE and not body:
        errors["body"] = _("Describe the task the learner should do.")
    if video_url and kind == StepKind.LESSON:
        try:
            _http_url(video_url)
        except ValidationError:
            errors["video_url"] = _("Give a web link starting with http:// or https://.")
    if kind == StepKind.QUIZ:
        if not 0 < pass_mark <= 100:
            errors["pass_mark"] = _("The pass mark is a percentage from 1 to 100.")
        if max_attempts is not None and max_attempts < 1:
            errors["max_attempts"] = _("Allow at least one attempt, or leave it empty.")
    if kind == StepKind.PRACTICE and any(str(c).strip() for c in rubric):
        try:
            fields["rubric"] = practice.clean_rubric(rubric)
        except ValidationError as error:
            errors.update(error.message_dict)
    if not title:
        errors["title"] = _("Give the step a title.")
    elif len(title) > MAX_TITLE_LENGTH:
        errors["title"] = _("The title is longer than %(max)s characters.") % {
            "max": MAX_TITLE_LENGTH
        }
    if errors:
        raise ValidationError(errors)
    fields["title"] = title
    fields["body_html"] = render_markdown(fields["body"]) if fields["body"] else ""
    return fields


@transaction.atomic
def step_add(
    *,
    user: User,
    track: Track,
    kind: str,
    title: str = "",
    required: bool = True,
    card: Card | None = None,
    body: str = "",
    video_url: str = "",
    pass_mark: int = 80,
    max_attempts: int | None = None,
    shuffle: bool = True,
    rubric: Sequence[str] = (),
) -> Step:
    """A new step at the end of the track. A card step's title defaults to the card's."""
    _require_manage(user, track.program)
    fields = _clean_step(
        user=user,
        kind=kind,
        title=title,
        card=card,
        body=body,
        video_url=video_url,
        pass_mark=pass_mark,
        max_attempts=max_attempts,
        rubric=rubric,
    )
    last = track.steps.aggregate(m=Max("position"))["m"]
    return Step.objects.create(
        track=track,
        position=0 if last is None else last + 1,
        kind=kind,
        required=required,
        pass_mark=pass_mark,
        max_attempts=max_attempts,
        shuffle=shuffle,
        **fields,
    )


@transaction.atomic
def step_update(
    *,
    user: User,
    step: Step,
    title: str,
    required: bool = True,
    card: Card | None = None,
    body: str = "",
    video_url: str = "",
    pass_mark: int = 80,
    max_attempts: int | None = None,
    shuffle: bool = True,
    rubric: Sequence[str] = (),
) -> Step:
    """Change a step (its kind stays: a quiz's questions or a task's submissions would not
    fit another kind)."""
    _require_manage(user, step.track.program)
    fields = _clean_step(
        user=user,
        kind=step.kind,
        title=title,
        card=card,
        body=body,
        video_url=video_url,
        pass_mark=pass_mark,
        max_attempts=max_attempts,
        rubric=rubric,
        current_card_id=step.card_id,
    )
    for name, value in fields.items():
        setattr(step, name, value)
    step.required = required
    if step.kind == StepKind.QUIZ:
        step.pass_mark, step.max_attempts, step.shuffle = pass_mark, max_attempts, shuffle
    step.save(update_fields=[*fields, "required", "pass_mark", "max_attempts", "shuffle"])
    return step


def _renumber(track: Track) -> None:
    for position, step in enumerate(track.steps.order_by("position", "pk")):
        if step.position != position:
            Step.objects.filter(pk=step.pk).update(position=position)


@transaction.atomic
def step_delete(*, user: User, step: Step) -> None:
    _require_manage(user, step.track.program)
    if _has_learner_history(Step.objects.filter(pk=step.pk)):
        raise ValidationError(
            _(
                "Learners have already worked on “%(step)s”: make it optional instead of "
                "deleting it."
            )
            % {"step": step.title}
        )
    track = step.track
    step.delete()
    _renumber(track)


@transaction.atomic
def steps_reorder(*, user: User, track: Track, step_ids: Sequence[int | str]) -> None:
    """Put the track's steps in the order given; every step must be listed once."""
    _require_manage(user, track.program)
    try:
        ids = [int(pk) for pk in step_ids]
    except (TypeError, ValueError):
        raise ValidationError(_("The new order must list every step of this track once.")) from None
    current = set(track.steps.values_list("pk", flat=True))
    if len(ids) != len(set(ids)) or set(ids) != current:
        raise ValidationError(_("The new order must list every step of this track once."))
    for position, pk in enumerate(ids):
        Step.objects.filter(pk=pk, track=track).update(position=position)


@transaction.atomic
def step_move(*, user: User, step: Step, direction: str) -> None:
    """Swap the step with its neighbour ("up" or "down"); at either end nothing changes."""
    if direction not in ("up", "down"):
        raise ValidationError(_("Move a step up or down."))
    ids = list(step.track.steps.order_by("position", "pk").values_list("pk", flat=True))
    index = ids.index(step.pk)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
    steps_reorder(user=user, track=step.track, step_ids=ids)


# ---------------------------------------------------------------- quiz questions
# The quiz helper's services check the questions; the access check is here, so the views
# reach them only through these.


def _require_quiz(user: User, step: Step) -> None:
    _require_manage(user, step.track.program)
    if step.kind != StepKind.QUIZ:
        raise ValidationError(_("Questions can only be added to a quiz step."))


def quiz_question_add(
    *,
    user: User,
    step: Step,
    kind: str,
    text: str,
    explanation: str = "",
    choices: Sequence[tuple[str, bool]] = (),
) -> Question:
    _require_quiz(user, step)
    return quizzes.question_add(step, kind, text, explanation, choices)


def quiz_question_update(
    *,
    user: User,
    question: Question,
    kind: str,
    text: str,
    explanation: str = "",
    choices: Sequence[tuple[str, bool]] = (),
) -> Question:
    _require_quiz(user, question.step)
    return quizzes.question_update(
        question, kind=kind, text=text, explanation=explanation, choices=choices
    )


def quiz_question_delete(*, user: User, question: Question) -> None:
    _require_quiz(user, question.step)
    quizzes.question_delete(question)


def quiz_question_move(*, user: User, question: Question, direction: str) -> None:
    step = question.step
    _require_quiz(user, step)
    if direction not in ("up", "down"):
        raise ValidationError(_("Move a question up or down."))
    ids = list(step.questions.order_by("position", "pk").values_list("pk", flat=True))
    index = ids.index(question.pk)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
    quizzes.questions_reorder(step, ids)


# ---------------------------------------------------------------- survey questions


@transaction.atomic
def survey_question_add(
    *,
    user: User,
    program: Program,
    text: str,
    kind: str = SurveyQuestionKind.RATING,
    step: Step | None = None,
) -> SurveyQuestion:
    """A custom question on the end survey (step None) or on a survey step, beside the
    built-in 0-10 recommend question and the comment."""
    _require_manage(user, program)
    if step is not None and (step.track.program_id != program.pk or step.kind != StepKind.SURVEY):
        raise ValidationError(_("Custom questions go on the end survey or on a survey step."))
    text = " ".join((text or "").split())
    if not text:
        raise ValidationError({"text": _("Write the question.")})
    if len(text) > 500:
        raise ValidationError({"text": _("The question is longer than 500 characters.")})
    if kind not in SurveyQuestionKind.values:
        raise ValidationError({"kind": _("Choose a rating or free text.")})
    siblings = SurveyQuestion.objects.filter(program=program, step=step)
    if siblings.count() >= MAX_SURVEY_QUESTIONS:
        raise ValidationError(
            _("A survey has at most %(max)s custom questions.") % {"max": MAX_SURVEY_QUESTIONS}
        )
    last = siblings.aggregate(m=Max("position"))["m"]
    return SurveyQuestion.objects.create(
        program=program,
        step=step,
        kind=kind,
        text=text,
        position=0 if last is None else last + 1,
    )


@transaction.atomic
def survey_question_delete(*, user: User, question: SurveyQuestion) -> None:
    """Answers already given keep their value in the responses (stored by question id)."""
    _require_manage(user, question.program)
    question.delete()
