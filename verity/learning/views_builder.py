"""The program builder (enablement): program list, settings form, the builder page with its
tracks and steps, the quiz editor. Views parse, check access (verity.accounts.access), call
verity.learning.builder and render; htmx requests get the fragment they swap, the same
forms work as plain POSTs without JavaScript."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from verity.accounts import access
from verity.accounts.models import User
from verity.learning import builder, enrolment, selectors
from verity.learning.forms import (
    ProgramForm,
    QuestionForm,
    StepForm,
    SurveyQuestionForm,
    TrackForm,
    add_service_errors,
)
from verity.learning.models import (
    EnrollmentState,
    Program,
    ProgramStatus,
    Question,
    Step,
    StepKind,
    SurveyQuestion,
    Track,
    TrackRole,
)
from verity.search.services import search_cards


class AuthedRequest(HttpRequest):
    user: User  # type: ignore[assignment]
    htmx: HtmxDetails


# Icons beside the kind's name (never the icon alone).
KIND_ICONS = {
    StepKind.CARD: "▤",
    StepKind.LESSON: "▶",
    StepKind.QUIZ: "?",
    StepKind.PRACTICE: "✎",
    StepKind.SURVEY: "☺",
}
PICKER_LIMIT = 8


def due_rule_text(program: Program) -> str:
    if program.due_days is not None:
        return ngettext(
            "%(days)d day after enrolment", "%(days)d days after enrolment", program.due_days
        ) % {"days": program.due_days}
    if program.due_date is not None:
        return _("by %(date)s") % {"date": formats.date_format(program.due_date)}
    return _("no due date")


def _manage(request: AuthedRequest, pk: int) -> Program:
    """The program the builder may change: 404 if they cannot open it, 403 if only a learner."""
    return access.get_program_for(request.user, pk, manage=True)


def _step_of(program: Program, step_pk: int) -> Step:
    return get_object_or_404(
        Step.objects.select_related("track__program", "card"), pk=step_pk, track__program=program
    )


def _track_of(program: Program, track_pk: int) -> Track:
    return get_object_or_404(Track.objects.select_related("program"), pk=track_pk, program=program)


def _detail_url(program: Program, anchor: str = "") -> str:
    url = reverse("program_detail", args=[program.pk])
    return f"{url}#{anchor}" if anchor else url


def _error_text(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(m for ms in error.message_dict.values() for m in ms)
    return " ".join(error.messages)


# ---------------------------------------------------------------- list and settings


@login_required
@require_GET
def program_list(request: AuthedRequest) -> HttpResponse:
    access.require(access.can_build_programs(request.user))
    current = Q(enrollments__superseded=False)
    programs = list(
        access.programs_for(request.user)
        .select_related("owner")
        .annotate(
            n_enrolled=Count("enrollments", filter=current, distinct=True),
            n_completed=Count(
                "enrollments",
                filter=current & Q(enrollments__state=EnrollmentState.COMPLETED),
                distinct=True,
            ),
        )
        .order_by("status", "-created_at")
    )
    for program in programs:
        program.due_text = due_rule_text(program)  # type: ignore[attr-defined]
    return render(request, "learning/builder/program_list.html", {"programs": programs})


def _program_form_page(
    request: AuthedRequest, form: ProgramForm, program: Program | None
) -> HttpResponse:
    return render(request, "learning/builder/program_form.html", {"form": form, "program": program})


@login_required
@require_http_methods(["GET", "POST"])
def program_create(request: AuthedRequest) -> HttpResponse:
    access.require(access.can_build_programs(request.user))
    if request.method != "POST":
        form = ProgramForm(initial={"owner": request.user.pk, "end_survey": True})
        return _program_form_page(request, form, None)
    form = ProgramForm(request.POST)
    if form.is_valid():
        try:
            program = builder.program_create(user=request.user, **form.service_kwargs())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Program created. Now add its steps."))
            return redirect("program_detail", pk=program.pk)
    return _program_form_page(request, form, None)


@login_required
@require_http_methods(["GET", "POST"])
def program_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    program = _manage(request, pk)
    if request.method != "POST":
        return _program_form_page(
            request, ProgramForm(initial=ProgramForm.initial_for(program)), program
        )
    form = ProgramForm(request.POST)
    if form.is_valid():
        try:
            builder.program_update(user=request.user, program=program, **form.service_kwargs())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("program_detail", pk=program.pk)
    return _program_form_page(request, form, program)


# ---------------------------------------------------------------- the builder page


def _tracks(program: Program) -> list[Track]:
    """The program's tracks (shared first) with their steps, each step with its kind icon
    and, once launched, its card's "caught up" counts."""
    steps = Step.objects.select_related(
        "card__collection", "card__last_verified_by", "card__verifier_user", "card__verifier_group"
    ).annotate(n_questions=Count("questions"))
    tracks = list(
        program.tracks.prefetch_related(
            Prefetch("steps", queryset=steps.order_by("position", "pk"))
        )
    )
    tracks.sort(key=lambda t: (not t.is_shared, t.role))
    counts = {}
    if program.status != ProgramStatus.DRAFT:
        counts = {r.step.pk: r for r in selectors.reread_counts(program)}
    for track in tracks:
        for step in track.steps.all():
            step.icon = KIND_ICONS.get(StepKind(step.kind), "•")  # type: ignore[attr-defined]
            step.counts = counts.get(step.pk)  # type: ignore[attr-defined]
    return tracks


STEP_KINDS = [(k.value, k.label, KIND_ICONS[k]) for k in StepKind]


def _track_context(track: Track, **extra: Any) -> dict[str, Any]:
    program = track.program
    fresh = next(t for t in _tracks(program) if t.pk == track.pk)
    return {"program": program, "track": fresh, "step_kinds": STEP_KINDS, **extra}


@login_required
@require_GET
def program_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    program = _manage(request, pk)
    tracks = _tracks(program)
    used_roles = {t.role for t in tracks}
    current = program.enrollments.filter(superseded=False)
    context: dict[str, Any] = {
        "program": program,
        "tracks": tracks,
        "due_text": due_rule_text(program),
        "step_kinds": STEP_KINDS,
        "free_roles": [
            (value, label)
            for value, label in TrackRole.choices
            if value != TrackRole.SHARED and value not in used_roles
        ],
        "end_questions": list(program.survey_questions.filter(step=None)),
        "survey_form": SurveyQuestionForm(),
        "audience": {
            "functions": [
                str(TrackRole(f).label) if f in TrackRole.values else f
                for f in program.audience_functions
            ],
            "groups": list(program.audience_groups.order_by("name")),
            "people": list(program.audience_users.order_by("name", "email")),
        },
    }
    if program.status == ProgramStatus.DRAFT:
        people = enrolment.audience_of(program)
        context["audience_count"] = people.count()
        if program.leaders_first:
            # Leaders first also enrols the audience's managers who are not in it themselves.
            context["leaders_count"] = (
                User.objects.filter(
                    pk__in=people.exclude(manager=None).values("manager_id"), is_active=True
                )
                .exclude(pk__in=people.values("pk"))
                .count()
            )
    else:
        context["n_enrolled"] = current.count()
        context["n_completed"] = current.filter(state=EnrollmentState.COMPLETED).count()
        context["waiting"] = selectors.waiting_on_whom(program)
    return render(request, "learning/builder/program_detail.html", context)


@login_required
@require_POST
def program_launch(request: AuthedRequest, pk: int) -> HttpResponse:
    program = _manage(request, pk)
    try:
        builder.program_launch(user=request.user, program=program)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        count = program.enrollments.filter(superseded=False).count()
        messages.success(
            request,
            ngettext(
                "Launched: %(count)d person enrolled.",
                "Launched: %(count)d people enrolled.",
                count,
            )
            % {"count": count},
        )
    return redirect("program_detail", pk=program.pk)


# ---------------------------------------------------------------- tracks and steps


def _track_response(
    request: AuthedRequest, track: Track, error: ValidationError | None = None, **extra: Any
) -> HttpResponse:
    """htmx: the track's fragment again; plain POST: back to the builder at the track."""
    if request.htmx:
        context = _track_context(track, **extra)
        if error is not None:
            context["track_error"] = _error_text(error)
        return render(request, "learning/builder/_track.html", context)
    if error is not None:
        messages.error(request, _error_text(error))
    return HttpResponseRedirect(_detail_url(track.program, f"track-{track.pk}"))


@login_required
@require_POST
def track_add(request: AuthedRequest, pk: int) -> HttpResponse:
    program = _manage(request, pk)
    form = TrackForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role for the track."))
        return redirect("program_detail", pk=program.pk)
    try:
        track = builder.track_add(
            user=request.user, program=program, role=form.cleaned_data["role"]
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect("program_detail", pk=program.pk)
    return HttpResponseRedirect(_detail_url(program, f"track-{track.pk}"))


@login_required
@require_POST
def track_remove(request: AuthedRequest, pk: int, track_pk: int) -> HttpResponse:
    program = _manage(request, pk)
    track = _track_of(program, track_pk)
    try:
        builder.track_remove(user=request.user, track=track)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    else:
        messages.success(request, _("Track removed."))
    return redirect("program_detail", pk=program.pk)


@login_required
@require_POST
def step_add(request: AuthedRequest, pk: int, track_pk: int) -> HttpResponse:
    """Add a step: from the card picker (htmx or plain POST) or from the full step form."""
    program = _manage(request, pk)
    track = _track_of(program, track_pk)
    form = StepForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            step = builder.step_add(
                user=request.user,
                track=track,
                kind=form.cleaned_data["kind"],
                **form.service_kwargs(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if request.htmx:
                return _track_response(request, track)
            if step.kind == StepKind.QUIZ:  # a quiz needs its questions next
                return redirect("program_quiz", pk=program.pk, step_pk=step.pk)
            return HttpResponseRedirect(_detail_url(program, f"step-{step.pk}"))
    if request.htmx or request.POST.get("kind") == StepKind.CARD:
        # The picker has no form to show errors in: say it on the track.
        texts = [str(e) for errors in form.errors.values() for e in errors]
        return _track_response(request, track, ValidationError(texts))
    return _step_form_page(request, program, track, form, None)


def _step_form_page(
    request: AuthedRequest, program: Program, track: Track, form: StepForm, step: Step | None
) -> HttpResponse:
    kind = step.kind if step else form.data.get("kind") or form.initial.get("kind")
    if kind not in StepKind.values:
        kind = StepKind.LESSON
    context: dict[str, Any] = {
        "program": program,
        "track": track,
        "form": form,
        "step": step,
        "kind": kind,
        "kind_icon": KIND_ICONS[StepKind(kind)],
        "kind_label": StepKind(kind).label,
    }
    if step is not None and step.kind == StepKind.SURVEY:
        context["survey_questions"] = list(step.survey_questions.all())
        context["survey_form"] = SurveyQuestionForm()
    return render(request, "learning/builder/step_form.html", context)


@login_required
@require_GET
def step_new(request: AuthedRequest, pk: int, track_pk: int) -> HttpResponse:
    """The full step form (for a kind picked from the track, or without JavaScript)."""
    program = _manage(request, pk)
    track = _track_of(program, track_pk)
    kind = request.GET.get("kind") or StepKind.LESSON
    if kind not in StepKind.values:
        kind = StepKind.LESSON
    initial = {
        "kind": kind,
        "title": request.GET.get("title", "")[:300],
        "required": True,
        "pass_mark": 80,
        "shuffle": True,
    }
    form = StepForm(initial=initial, user=request.user)
    return _step_form_page(request, program, track, form, None)


@login_required
@require_http_methods(["GET", "POST"])
def step_edit(request: AuthedRequest, pk: int, step_pk: int) -> HttpResponse:
    program = _manage(request, pk)
    step = _step_of(program, step_pk)
    if request.method != "POST":
        form = StepForm(initial=StepForm.initial_for(step), user=request.user, step=step)
        return _step_form_page(request, program, step.track, form, step)
    form = StepForm(request.POST, user=request.user, step=step)
    if form.is_valid():
        try:
            builder.step_update(user=request.user, step=step, **form.service_kwargs())
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Step saved."))
            return HttpResponseRedirect(_detail_url(program, f"step-{step.pk}"))
    return _step_form_page(request, program, step.track, form, step)


@login_required
@require_POST
def step_delete(request: AuthedRequest, pk: int, step_pk: int) -> HttpResponse:
    program = _manage(request, pk)
    step = _step_of(program, step_pk)
    track = step.track
    try:
        builder.step_delete(user=request.user, step=step)
    except ValidationError as error:
        return _track_response(request, track, error)
    return _track_response(request, track)


@login_required
@require_POST
def step_move(request: AuthedRequest, pk: int, step_pk: int) -> HttpResponse:
    program = _manage(request, pk)
    step = _step_of(program, step_pk)
    try:
        builder.step_move(user=request.user, step=step, direction=request.POST.get("direction", ""))
    except ValidationError as error:
        return _track_response(request, step.track, error)
    return _track_response(request, step.track)


@login_required
@require_GET
def card_picker(request: AuthedRequest, pk: int, track_pk: int) -> HttpResponse:
    """Cards to add as steps, found by search: only cards the builder can read (search_cards
    filters by the user's access inside the query)."""
    program = _manage(request, pk)
    track = _track_of(program, track_pk)
    query = request.GET.get("q", "").strip()[:200]
    results = []
    if query:
        results = search_cards(user=request.user, query=query, limit=PICKER_LIMIT).results
    in_track = set(track.steps.exclude(card=None).values_list("card_id", flat=True))
    context = {
        "program": program,
        "track": track,
        "query": query,
        "results": results,
        "in_track": in_track,
    }
    template = (
        "learning/builder/_card_results.html"
        if request.htmx
        else "learning/builder/card_picker.html"
    )
    return render(request, template, context)


# ---------------------------------------------------------------- quiz editor


def _quiz_step(program: Program, step_pk: int) -> Step:
    step = _step_of(program, step_pk)
    if step.kind != StepKind.QUIZ:
        raise PermissionDenied  # only quizzes have questions
    return step


def _quiz_page(
    request: AuthedRequest,
    program: Program,
    step: Step,
    form: QuestionForm | None = None,
    editing: Question | None = None,
    status: int = 200,
) -> HttpResponse:
    questions = list(step.questions.prefetch_related("choices"))
    context = {
        "program": program,
        "step": step,
        "questions": questions,
        "form": form or QuestionForm(initial={"kind": "single"}),
        "editing": editing,
    }
    return render(request, "learning/builder/quiz_editor.html", context, status=status)


@login_required
@require_GET
def quiz_editor(request: AuthedRequest, pk: int, step_pk: int) -> HttpResponse:
    program = _manage(request, pk)
    step = _quiz_step(program, step_pk)
    editing = None
    form = None
    edit_pk = request.GET.get("edit", "")
    if edit_pk.isdigit():
        editing = get_object_or_404(Question, pk=int(edit_pk), step=step)
        form = QuestionForm(
            initial={
                "kind": editing.kind,
                "text": editing.text,
                "explanation": editing.explanation,
                "answer": "true" if any(c.correct for c in editing.choices.all()[:1]) else "false",
            },
            choices=[(c.text, c.correct) for c in editing.choices.all()],
        )
    return _quiz_page(request, program, step, form, editing)


@login_required
@require_POST
def question_save(request: AuthedRequest, pk: int, step_pk: int) -> HttpResponse:
    """Add a question, or change one when `question` names it."""
    program = _manage(request, pk)
    step = _quiz_step(program, step_pk)
    editing = None
    question_pk = request.POST.get("question", "")
    if question_pk.isdigit():
        editing = get_object_or_404(Question, pk=int(question_pk), step=step)
    form = QuestionForm(request.POST)
    if form.is_valid():
        try:
            if editing is None:
                question = builder.quiz_question_add(
                    user=request.user, step=step, **form.service_kwargs()
                )
            else:
                question = builder.quiz_question_update(
                    user=request.user, question=editing, **form.service_kwargs()
                )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Question saved."))
            url = reverse("program_quiz", args=[program.pk, step.pk])
            return HttpResponseRedirect(f"{url}#question-{question.pk}")
    return _quiz_page(request, program, step, form, editing, status=422 if request.htmx else 200)


@login_required
@require_POST
def question_delete(
    request: AuthedRequest, pk: int, step_pk: int, question_pk: int
) -> HttpResponse:
    program = _manage(request, pk)
    step = _quiz_step(program, step_pk)
    question = get_object_or_404(Question, pk=question_pk, step=step)
    builder.quiz_question_delete(user=request.user, question=question)
    messages.success(request, _("Question deleted."))
    return redirect("program_quiz", pk=program.pk, step_pk=step.pk)


@login_required
@require_POST
def question_move(request: AuthedRequest, pk: int, step_pk: int, question_pk: int) -> HttpResponse:
    program = _manage(request, pk)
    step = _quiz_step(program, step_pk)
    question = get_object_or_404(Question, pk=question_pk, step=step)
    try:
        builder.quiz_question_move(
            user=request.user, question=question, direction=request.POST.get("direction", "")
        )
    except ValidationError as error:
        messages.error(request, _error_text(error))
    url = reverse("program_quiz", args=[program.pk, step.pk])
    return HttpResponseRedirect(f"{url}#question-{question.pk}")


# ---------------------------------------------------------------- survey questions


@login_required
@require_POST
def survey_question_add(request: AuthedRequest, pk: int) -> HttpResponse:
    """A custom question on the end survey, or on a survey step when `step` names one."""
    program = _manage(request, pk)
    step = None
    step_pk = request.POST.get("step", "")
    if step_pk.isdigit():
        step = _step_of(program, int(step_pk))
    form = SurveyQuestionForm(request.POST)
    if form.is_valid():
        try:
            builder.survey_question_add(
                user=request.user,
                program=program,
                step=step,
                text=form.cleaned_data["text"],
                kind=form.cleaned_data["kind"],
            )
        except ValidationError as error:
            messages.error(request, _error_text(error))
    else:
        messages.error(request, _("Write the question."))
    if step is not None:
        return redirect("program_step_edit", pk=program.pk, step_pk=step.pk)
    return HttpResponseRedirect(_detail_url(program, "end-survey"))


@login_required
@require_POST
def survey_question_delete(request: AuthedRequest, pk: int, question_pk: int) -> HttpResponse:
    program = _manage(request, pk)
    question = get_object_or_404(SurveyQuestion, pk=question_pk, program=program)
    step_pk = question.step_id
    builder.survey_question_delete(user=request.user, question=question)
    if step_pk is not None:
        return redirect("program_step_edit", pk=program.pk, step_pk=step_pk)
    return HttpResponseRedirect(_detail_url(program, "end-survey"))
