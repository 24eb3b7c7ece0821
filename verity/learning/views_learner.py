"""Learner and manager pages under /learning/: My learning, one enrolment's path, its steps
(cards, lessons, quizzes, practice tasks, surveys), the end-of-program survey, My team and
practice reviews.

Views parse, check access and call the learning services; the rules (what completes a step,
scoring, once-only surveys, who reviews) live in enrolment.py, quizzes.py, practice.py and
surveys.py. A learner opens only their own enrolments: anybody else's — a manager's report
included — is a 404 (managers follow their reports on My team, not on their step pages).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from verity.accounts import access
from verity.accounts.models import User
from verity.knowledge.models import Card
from verity.learning import enrolment, practice, quizzes, selectors, surveys
from verity.learning.forms import add_service_errors
from verity.learning.forms_learner import PracticeForm, QuizForm, ReviewForm, SurveyForm
from verity.learning.models import (
    Choice,
    Enrollment,
    EnrollmentState,
    PracticeState,
    PracticeSubmission,
    ProgramStatus,
    Question,
    QuizAttempt,
    Step,
    StepKind,
    StepProgress,
    SurveyQuestion,
    SurveyResponse,
    TrackRole,
)


class AuthedRequest(HttpRequest):
    user: User  # type: ignore[assignment]
    htmx: HtmxDetails


# Icons beside the kind's name (never the icon alone); the same as the builder's.
KIND_ICONS = {
    StepKind.CARD: "▤",
    StepKind.LESSON: "▶",
    StepKind.QUIZ: "?",
    StepKind.PRACTICE: "✎",
    StepKind.SURVEY: "☺",
}


# ---------------------------------------------------------------- helpers


def due_text(due_at: datetime | None, now: datetime | None = None) -> str:
    """'due in 3 days', 'due today', '3 days overdue' ('' without a due date)."""
    if due_at is None:
        return ""
    moment = now or timezone.now()
    days = (timezone.localdate(due_at) - timezone.localdate(moment)).days
    if days > 0:
        return ngettext("due in %(days)d day", "due in %(days)d days", days) % {"days": days}
    if days == 0:
        return _("due today") if due_at >= moment else _("overdue since today")
    return ngettext("%(days)d day overdue", "%(days)d days overdue", -days) % {"days": -days}


_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_VIMEO_ID = re.compile(r"\d{1,12}")


def video_embed_url(url: str) -> str | None:
    """The player address for a YouTube or Vimeo link, None for any other host: only these
    two are embedded (a known player in a frame); anything else stays a plain link."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https"):
        return None
    host = (parts.hostname or "").lower()
    segments = [s for s in parts.path.split("/") if s]
    video_id = ""
    if host in (
        "youtube.com",
        "www.youtube.com",
        "m.youtube.com",
        "youtube-nocookie.com",
        "www.youtube-nocookie.com",
    ):
        if parts.path == "/watch":
            video_id = (parse_qs(parts.query).get("v") or [""])[0]
        elif len(segments) >= 2 and segments[0] in ("embed", "shorts", "live", "v"):
            video_id = segments[1]
    elif host == "youtu.be" and segments:
        video_id = segments[0]
    if video_id:
        return (
            f"https://www.youtube-nocookie.com/embed/{video_id}"
            if _YOUTUBE_ID.fullmatch(video_id)
            else None
        )
    if host in ("vimeo.com", "www.vimeo.com") and segments and _VIMEO_ID.fullmatch(segments[-1]):
        return f"https://player.vimeo.com/video/{segments[-1]}"
    if host == "player.vimeo.com" and len(segments) == 2 and segments[0] == "video":
        return (
            f"https://player.vimeo.com/video/{segments[1]}"
            if _VIMEO_ID.fullmatch(segments[1])
            else None
        )
    return None


def _own_enrollment(request: AuthedRequest, pk: int) -> Enrollment:
    """The learner's own current enrolment, or 404 — for everybody else, managers and the
    enablement team included (they see progress on My team and the program report)."""
    visible = access.enrollments_visible_to(request.user).filter(user=request.user)
    enrollment = (
        selectors.current_enrollments_of(request.user)
        .filter(pk=pk, pk__in=visible.values("pk"))
        .select_related("program", "waiting_on", "user__manager")
        .first()
    )
    if enrollment is None:
        raise Http404("No such enrolment")
    return enrollment


@dataclass
class PathStep:
    """One step on the learner's path with what the learner has done on it."""

    step: Step
    number: int
    # "done", "reread" (done, card changed since), "review" (handed in), "next", "todo"
    status: str
    progress: StepProgress | None

    @property
    def icon(self) -> str:
        return KIND_ICONS.get(StepKind(self.step.kind), "")


@dataclass
class LearnerPath:
    enrollment: Enrollment
    progress: selectors.Progress
    steps: list[PathStep]
    state: str

    @property
    def shared(self) -> list[PathStep]:
        return [s for s in self.steps if s.step.track.role == TrackRole.SHARED]

    @property
    def role(self) -> list[PathStep]:
        return [s for s in self.steps if s.step.track.role != TrackRole.SHARED]

    @property
    def resume(self) -> PathStep | None:
        """Where "Start"/"Continue" leads: the next step to do, else a card to re-read."""
        for wanted in ("next", "todo", "reread"):
            found = next((s for s in self.steps if s.status == wanted), None)
            if found is not None:
                return found
        return None

    def neighbours(self, step: Step) -> tuple[PathStep | None, PathStep | None, int]:
        index = next(i for i, s in enumerate(self.steps) if s.step.pk == step.pk)
        before = self.steps[index - 1] if index > 0 else None
        after = self.steps[index + 1] if index + 1 < len(self.steps) else None
        return before, after, index + 1


def _path(enrollment: Enrollment) -> LearnerPath:
    rows = {p.step_id: p for p in StepProgress.objects.filter(enrollment=enrollment)}
    progress = selectors.enrollment_progress(enrollment, progress_rows=list(rows.values()))
    reread = {s.pk for s in progress.reread}
    next_id = progress.next_step.pk if progress.next_step else None
    # Practice tasks handed in are done only once reviewed: meanwhile they wait, not "next".
    in_review = set(
        PracticeSubmission.objects.filter(
            enrollment=enrollment, state=PracticeState.SUBMITTED
        ).values_list("step_id", flat=True)
    )
    steps = []
    for number, step in enumerate(progress.steps, start=1):
        if step.pk in reread:
            status = "reread"
        elif step.pk in progress.done_ids:
            status = "done"
        elif step.pk in in_review:
            status = "review"
        elif step.pk == next_id:
            status = "next"
        else:
            status = "todo"
        steps.append(PathStep(step, number, status, rows.get(step.pk)))
    return LearnerPath(enrollment, progress, steps, enrollment.display_state())


def _step_of(path: LearnerPath, step_pk: int) -> PathStep:
    """A step on this learner's tracks, or 404 (another track's or program's steps)."""
    found = next((s for s in path.steps if s.step.pk == step_pk), None)
    if found is None:
        raise Http404("No such step")
    return found


def _step_url(enrollment: Enrollment, step: Step) -> str:
    return reverse("learning_step", args=[enrollment.pk, step.pk])


def _enrollment_url(enrollment: Enrollment) -> str:
    return reverse("learning_enrollment", args=[enrollment.pk])


def _error_text(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(m for ms in error.message_dict.values() for m in ms)
    return " ".join(error.messages)


def _end_survey_open(enrollment: Enrollment) -> bool:
    """The end survey is offered once the program is completed, until answered."""
    return (
        enrollment.program.end_survey
        and enrollment.state == EnrollmentState.COMPLETED
        and not SurveyResponse.objects.filter(enrollment=enrollment, step__isnull=True).exists()
    )


def _after_step(
    request: AuthedRequest, enrollment: Enrollment, was_completed: bool
) -> HttpResponse:
    """Where a finished step leads: the survey (or the path) when it completed the program,
    else the next step to do, else the path."""
    enrollment.refresh_from_db()
    if not was_completed and enrollment.state == EnrollmentState.COMPLETED:
        messages.success(
            request,
            _("You have completed “%(program)s”.") % {"program": enrollment.program.name},
        )
        if _end_survey_open(enrollment):
            return redirect("learning_survey", enrollment_id=enrollment.pk)
        return redirect(_enrollment_url(enrollment))
    path = _path(enrollment)
    resume = path.resume
    if resume is not None:
        return redirect(_step_url(enrollment, resume.step))
    return redirect(_enrollment_url(enrollment))


# ---------------------------------------------------------------- My learning


@dataclass
class RowView:
    """An enrolment in a list, with the words the template shows beside it."""

    row: selectors.EnrollmentRow
    due: str
    survey_open: bool = False


def _row_views(
    rows: list[selectors.EnrollmentRow], now: datetime, survey_open: set[int] | None = None
) -> list[RowView]:
    return [
        RowView(row, due_text(row.enrollment.due_at, now), row.enrollment.pk in (survey_open or ()))
        for row in rows
    ]


def _end_surveys_open(rows: list[selectors.EnrollmentRow]) -> set[int]:
    """Completed enrolments whose end survey is still to answer (one query for the list)."""
    ids = [r.enrollment.pk for r in rows if r.enrollment.program.end_survey]
    answered = set(
        SurveyResponse.objects.filter(enrollment_id__in=ids, step__isnull=True).values_list(
            "enrollment_id", flat=True
        )
    )
    return set(ids) - answered


@login_required
@require_GET
def my_learning(request: AuthedRequest) -> HttpResponse:
    now = timezone.now()
    data = selectors.my_learning(request.user, now)
    sections = [
        ("overdue", _("Overdue"), _row_views(data.overdue, now)),
        ("due-soon", _("Due soon"), _row_views(data.due_soon, now)),
        ("in-progress", _("In progress"), _row_views(data.in_progress, now)),
        ("not-started", _("Not started"), _row_views(data.not_started, now)),
        ("waiting", _("Waiting for your manager"), _row_views(data.waiting, now)),
        (
            "completed",
            pgettext("enrolment state", "Completed"),
            _row_views(data.completed, now, _end_surveys_open(data.completed)),
        ),
    ]
    every_row = [
        *data.overdue,
        *data.due_soon,
        *data.in_progress,
        *data.not_started,
        *data.completed,
    ]
    reread = [(row.enrollment, step) for row in every_row for step in row.progress.reread]
    context = {
        "sections": [s for s in sections if s[2]],
        "reread": reread,
        "certificates": data.certificates,
        "is_empty": data.is_empty and not data.certificates,
        "now": now,
    }
    return render(request, "learning/learner/my_learning.html", context)


# ---------------------------------------------------------------- one enrolment


@login_required
@require_GET
def learning_enrollment(request: AuthedRequest, enrollment_id: int) -> HttpResponse:
    enrollment = _own_enrollment(request, enrollment_id)
    path = _path(enrollment)
    survey_answered = SurveyResponse.objects.filter(
        enrollment=enrollment, step__isnull=True
    ).exists()
    context = {
        "enrollment": enrollment,
        "program": enrollment.program,
        "path": path,
        "waiting": path.state == EnrollmentState.WAITING,
        "due": due_text(enrollment.due_at),
        "survey_open": _end_survey_open(enrollment),
        "survey_answered": survey_answered,
    }
    return render(request, "learning/learner/enrollment.html", context)


# ---------------------------------------------------------------- one step


def _quiz_context(enrollment: Enrollment, step: Step, form: QuizForm | None) -> dict[str, Any]:
    open_attempt = (
        QuizAttempt.objects.filter(enrollment=enrollment, step=step, submitted_at__isnull=True)
        .order_by("-number")
        .first()
    )
    submitted = list(
        QuizAttempt.objects.filter(
            enrollment=enrollment, step=step, submitted_at__isnull=False
        ).order_by("-number")
    )
    passed = any(a.passed for a in submitted)
    left = quizzes.attempts_left(enrollment, step)
    if open_attempt is not None and form is None:
        form = QuizForm(attempt=open_attempt)
    return {
        "attempt": open_attempt,
        "quiz_form": form if open_attempt is not None else None,
        "attempts": submitted,
        "passed": passed,
        "best": max((a.score for a in submitted if a.score is not None), default=None),
        "attempts_left": left,
        "can_start": not passed and left != 0,
        "n_questions": step.questions.count(),
    }


def _practice_context(
    enrollment: Enrollment, step: Step, form: PracticeForm | None
) -> dict[str, Any]:
    submission = (
        PracticeSubmission.objects.filter(enrollment=enrollment, step=step)
        .select_related("reviewer")
        .order_by("-submitted_at", "-pk")
        .first()
    )
    reviewed = submission is not None and submission.state == PracticeState.REVIEWED
    if form is None and not reviewed:
        initial = {"text": submission.text, "link": submission.link} if submission else {}
        form = PracticeForm(initial=initial)
    criteria = practice.rubric_of(step)
    scored: list[tuple[str, int | None]] = []
    if reviewed and submission is not None:
        scores = list(submission.scores or [])
        scored = [(c, scores[i] if i < len(scores) else None) for i, c in enumerate(criteria)]
    manager = enrollment.user.manager
    return {
        "submission": submission,
        "reviewed": reviewed,
        "practice_form": None if reviewed else form,
        "criteria": criteria,
        "scored": scored,
        "reviewer_name": manager.display_name if manager else _("the program team"),
    }


def _survey_step_context(
    enrollment: Enrollment, step: Step, form: SurveyForm | None
) -> dict[str, Any]:
    response = SurveyResponse.objects.filter(enrollment=enrollment, step=step).first()
    if response is None and form is None:
        questions = list(SurveyQuestion.objects.filter(program_id=enrollment.program_id, step=step))
        form = SurveyForm(questions=questions)
    return {"response": response, "survey_form": None if response else form}


def _card_context(request: AuthedRequest, step: Step) -> dict[str, Any]:
    card = (
        Card.objects.select_related(
            "collection", "verifier_user", "verifier_group", "last_verified_by"
        ).get(pk=step.card_id)
        if step.card_id
        else None
    )
    # The program lets the learner read the card's text; the link to the card page is shown
    # only to those who may open it (for everyone else it would be a 404).
    can_open = card is not None and access.cards_for(request.user).filter(pk=card.pk).exists()
    return {"card": card, "can_open_card": can_open}


def _render_step(
    request: AuthedRequest,
    enrollment: Enrollment,
    path: LearnerPath,
    current: PathStep,
    *,
    quiz_form: QuizForm | None = None,
    practice_form: PracticeForm | None = None,
    survey_form: SurveyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    step = current.step
    before, after, number = path.neighbours(step)
    context: dict[str, Any] = {
        "enrollment": enrollment,
        "program": enrollment.program,
        "path": path,
        "current": current,
        "step": step,
        "previous": before,
        "following": after,
        "number": number,
        "total": len(path.steps),
        "progress_row": current.progress,
    }
    if step.kind == StepKind.CARD:
        context.update(_card_context(request, step))
    elif step.kind == StepKind.LESSON:
        context["video_embed"] = video_embed_url(step.video_url) if step.video_url else None
    elif step.kind == StepKind.QUIZ:
        context.update(_quiz_context(enrollment, step, quiz_form))
    elif step.kind == StepKind.PRACTICE:
        context.update(_practice_context(enrollment, step, practice_form))
    elif step.kind == StepKind.SURVEY:
        context.update(_survey_step_context(enrollment, step, survey_form))
    return render(request, "learning/learner/step.html", context, status=status)


def _learnable(request: AuthedRequest, enrollment: Enrollment) -> HttpResponse | None:
    """A waiting enrolment has no steps to take yet: back to its path page, which says why."""
    if enrollment.state == EnrollmentState.WAITING:
        messages.info(request, _("This training starts once your manager has completed it."))
        return redirect(_enrollment_url(enrollment))
    return None


@dataclass
class StepVisit:
    enrollment: Enrollment
    path: LearnerPath
    current: PathStep


def _visit(request: AuthedRequest, enrollment_id: int, step_id: int) -> StepVisit | HttpResponse:
    """The learner's own enrolment and one of its steps (404 otherwise), or the redirect
    back to the path page while the training waits for the manager."""
    enrollment = _own_enrollment(request, enrollment_id)
    if (blocked := _learnable(request, enrollment)) is not None:
        return blocked
    path = _path(enrollment)
    return StepVisit(enrollment, path, _step_of(path, step_id))


@login_required
@require_GET
def learning_step(request: AuthedRequest, enrollment_id: int, step_id: int) -> HttpResponse:
    visit = _visit(request, enrollment_id, step_id)
    if isinstance(visit, HttpResponse):
        return visit
    enrollment, path, current = visit.enrollment, visit.path, visit.current
    # Opening the page starts the enrolment and the step's clock (time spent).
    current.progress = enrolment.open_step(enrollment, current.step)
    if enrollment.state != path.state:
        path.state = enrollment.display_state()
    return _render_step(request, enrollment, path, current)


@login_required
@require_POST
def learning_step_done(request: AuthedRequest, enrollment_id: int, step_id: int) -> HttpResponse:
    """The "I have read this" button on a card, "Mark as done" on a lesson."""
    visit = _visit(request, enrollment_id, step_id)
    if isinstance(visit, HttpResponse):
        return visit
    enrollment, current = visit.enrollment, visit.current
    if current.step.kind not in (StepKind.CARD, StepKind.LESSON):
        raise Http404("Only cards and lessons are marked as done")
    was_completed = enrollment.state == EnrollmentState.COMPLETED
    try:
        enrolment.complete_step(enrollment=enrollment, step=current.step)
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect(_step_url(enrollment, current.step))
    return _after_step(request, enrollment, was_completed)


# ---------------------------------------------------------------- quizzes


def _attempt_of(enrollment: Enrollment, step: Step, attempt_id: int) -> QuizAttempt:
    attempt = QuizAttempt.objects.filter(pk=attempt_id, enrollment=enrollment, step=step).first()
    if attempt is None:
        raise Http404("No such attempt")
    return attempt


@login_required
@require_POST
def learning_quiz_start(request: AuthedRequest, enrollment_id: int, step_id: int) -> HttpResponse:
    visit = _visit(request, enrollment_id, step_id)
    if isinstance(visit, HttpResponse):
        return visit
    enrollment, current = visit.enrollment, visit.current
    try:
        quizzes.attempt_start(enrollment=enrollment, step=current.step)
    except ValidationError as error:
        messages.error(request, _error_text(error))
    return redirect(_step_url(enrollment, current.step) + "#quiz")


@login_required
@require_POST
def learning_quiz_submit(
    request: AuthedRequest, enrollment_id: int, step_id: int, attempt_id: int
) -> HttpResponse:
    visit = _visit(request, enrollment_id, step_id)
    if isinstance(visit, HttpResponse):
        return visit
    enrollment, path, current = visit.enrollment, visit.path, visit.current
    attempt = _attempt_of(enrollment, current.step, attempt_id)
    if attempt.submitted_at is not None:
        # A second click, or the back button: the result is already there.
        return redirect("learning_quiz_result", enrollment.pk, current.step.pk, attempt.pk)
    form = QuizForm(request.POST, attempt=attempt)
    if not form.is_valid():
        return _render_step(request, enrollment, path, current, quiz_form=form)
    was_completed = enrollment.state == EnrollmentState.COMPLETED
    try:
        quizzes.attempt_submit(attempt=attempt, answers=form.answers())
    except ValidationError as error:
        add_service_errors(form, error)
        return _render_step(request, enrollment, path, current, quiz_form=form)
    enrollment.refresh_from_db()
    if not was_completed and enrollment.state == EnrollmentState.COMPLETED:
        messages.success(
            request,
            _("You have completed “%(program)s”.") % {"program": enrollment.program.name},
        )
    return redirect("learning_quiz_result", enrollment.pk, current.step.pk, attempt.pk)


@dataclass
class AnswerView:
    question: Question
    choices: list[Choice]  # in the order the learner saw them
    chosen: set[int]
    correct: bool


@login_required
@require_GET
def learning_quiz_result(
    request: AuthedRequest, enrollment_id: int, step_id: int, attempt_id: int
) -> HttpResponse:
    enrollment = _own_enrollment(request, enrollment_id)
    path = _path(enrollment)
    current = _step_of(path, step_id)
    attempt = _attempt_of(enrollment, current.step, attempt_id)
    if attempt.submitted_at is None:
        return redirect(_step_url(enrollment, current.step) + "#quiz")
    step = current.step
    answers = {a.question_id: a for a in attempt.answers.all()}
    question_ids = [int(entry[0]) for entry in attempt.order]
    questions = {q.pk: q for q in Question.objects.filter(pk__in=question_ids, step=step)}
    choices = {c.pk: c for c in Choice.objects.filter(question_id__in=list(questions))}
    rows = []
    for raw_qid, raw_choice_ids in attempt.order:
        question = questions.get(int(raw_qid))
        answer = answers.get(int(raw_qid))
        if question is None or answer is None:
            continue
        rows.append(
            AnswerView(
                question=question,
                choices=[choices[int(c)] for c in raw_choice_ids if int(c) in choices],
                chosen={int(c) for c in answer.choice_ids},
                correct=answer.correct,
            )
        )
    left = quizzes.attempts_left(enrollment, step)
    passed_ever = QuizAttempt.objects.filter(enrollment=enrollment, step=step, passed=True).exists()
    context = {
        "enrollment": enrollment,
        "program": enrollment.program,
        "step": step,
        "attempt": attempt,
        "rows": rows,
        "n_right": sum(1 for r in rows if r.correct),
        "attempts_left": left,
        "can_retry": not passed_ever and left != 0,
        # The right answers are revealed once they can no longer be used on a retry.
        "reveal": passed_ever or left == 0,
        "next_step": path.resume,
        "survey_open": _end_survey_open(enrollment),
    }
    return render(request, "learning/learner/quiz_result.html", context)


# ---------------------------------------------------------------- practice and survey steps


@login_required
@require_POST
def learning_practice_submit(
    request: AuthedRequest, enrollment_id: int, step_id: int
) -> HttpResponse:
    visit = _visit(request, enrollment_id, step_id)
    if isinstance(visit, HttpResponse):
        return visit
    enrollment, path, current = visit.enrollment, visit.path, visit.current
    form = PracticeForm(request.POST)
    if form.is_valid():
        try:
            practice.practice_submit(
                enrollment=enrollment,
                step=current.step,
                text=form.cleaned_data["text"],
                link=form.cleaned_data["link"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Handed in. Your manager will review it."))
            return redirect(_step_url(enrollment, current.step))
    return _render_step(request, enrollment, path, current, practice_form=form)


@login_required
@require_POST
def learning_step_survey(request: AuthedRequest, enrollment_id: int, step_id: int) -> HttpResponse:
    visit = _visit(request, enrollment_id, step_id)
    if isinstance(visit, HttpResponse):
        return visit
    enrollment, path, current = visit.enrollment, visit.path, visit.current
    questions = list(
        SurveyQuestion.objects.filter(program_id=enrollment.program_id, step=current.step)
    )
    form = SurveyForm(request.POST, questions=questions)
    was_completed = enrollment.state == EnrollmentState.COMPLETED
    if form.is_valid():
        try:
            surveys.survey_submit(
                enrollment=enrollment,
                step=current.step,
                recommend=form.cleaned_data["recommend"],
                comment=form.cleaned_data["comment"],
                answers=form.answers(),
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Thank you for your answers."))
            return _after_step(request, enrollment, was_completed)
    return _render_step(request, enrollment, path, current, survey_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def learning_survey(request: AuthedRequest, enrollment_id: int) -> HttpResponse:
    """The end-of-program survey: open once the program is completed, answered once."""
    enrollment = _own_enrollment(request, enrollment_id)
    program = enrollment.program
    if not program.end_survey:
        raise Http404("This program has no end survey")
    response = SurveyResponse.objects.filter(enrollment=enrollment, step__isnull=True).first()
    questions = list(SurveyQuestion.objects.filter(program=program, step__isnull=True))
    form = None
    status = 200
    if response is None and enrollment.state == EnrollmentState.COMPLETED:
        form = SurveyForm(request.POST or None, questions=questions)
        if request.method == "POST" and form.is_valid():
            try:
                surveys.survey_submit(
                    enrollment=enrollment,
                    recommend=form.cleaned_data["recommend"],
                    comment=form.cleaned_data["comment"],
                    answers=form.answers(),
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Thank you for your answers."))
                return redirect("my_learning")
    elif request.method == "POST":
        status = 409  # answered already, or not completed yet: the page says which
    context = {
        "enrollment": enrollment,
        "program": program,
        "response": response,
        "survey_form": form,
    }
    return render(request, "learning/learner/survey.html", context, status=status)


# ---------------------------------------------------------------- My team


@dataclass
class TeamRow:
    row: selectors.EnrollmentRow
    due: str


@dataclass
class TeamMemberView:
    member: selectors.TeamMember
    rows: list[TeamRow]


def _require_reports(user: User) -> None:
    """My team is for people with someone reporting to them; for anyone else it is a 404."""
    if not user.reports.filter(is_active=True).exists():
        raise Http404("No team")


@login_required
@require_GET
def my_team(request: AuthedRequest) -> HttpResponse:
    manager = request.user
    _require_reports(manager)
    now = timezone.now()
    team = selectors.team_overview(manager, now)
    members = [
        TeamMemberView(m, [TeamRow(r, due_text(r.enrollment.due_at, now)) for r in m.rows])
        for m in team
    ]
    mine = {
        e.program_id: e
        for e in Enrollment.objects.filter(user=manager, superseded=False).select_related("program")
    }
    # Programs a report takes: the manager may join the running ones they are not in.
    programs: dict[int, Any] = {}
    for member in team:
        for row in member.rows:
            programs.setdefault(row.program.pk, row.program)
    trainings = [
        {
            "program": program,
            "mine": mine.get(program.pk),
            "can_join": program.status == ProgramStatus.ACTIVE and program.pk not in mine,
            "n_reports": sum(1 for m in team for r in m.rows if r.program.pk == program.pk),
        }
        for program in sorted(programs.values(), key=lambda p: p.name.lower())
    ]
    context = {
        "members": members,
        "reviews": list(practice.pending_reviews(manager)),
        "trainings": trainings,
        "n_overdue": sum(m.overdue_count for m in team),
    }
    return render(request, "learning/learner/my_team.html", context)


@login_required
@require_POST
def learning_team_join(request: AuthedRequest, program_id: int) -> HttpResponse:
    manager = request.user
    _require_reports(manager)
    program = access.programs_for(manager).filter(pk=program_id).first()
    if program is None:
        raise Http404("No such program")
    try:
        enrollment = enrolment.join_team_training(manager=manager, program=program)
    except PermissionDenied:
        raise Http404("None of your reports takes this program") from None
    except ValidationError as error:
        messages.error(request, _error_text(error))
        return redirect("my_team")
    messages.success(request, _("You have joined “%(program)s”.") % {"program": program.name})
    return redirect(_enrollment_url(enrollment))


# ---------------------------------------------------------------- practice reviews


@login_required
@require_http_methods(["GET", "POST"])
def practice_review(request: AuthedRequest, submission_id: int) -> HttpResponse:
    submission = (
        PracticeSubmission.objects.select_related(
            "step", "reviewer", "enrollment__user__manager", "enrollment__program"
        )
        .filter(pk=submission_id)
        .first()
    )
    # Only the learner's reviewer may open it; to anyone else it does not exist.
    if (
        submission is None
        or submission.enrollment.user_id == request.user.pk
        or not access.can_review_practice(request.user, submission.enrollment)
    ):
        raise Http404("No such task")
    criteria = practice.rubric_of(submission.step)
    form = None
    status = 200
    if submission.state == PracticeState.SUBMITTED:
        form = ReviewForm(request.POST or None, criteria=criteria)
        if request.method == "POST" and form.is_valid():
            try:
                practice.practice_review(
                    reviewer=request.user,
                    submission=submission,
                    scores=form.scores(),
                    feedback=form.cleaned_data["feedback"],
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request,
                    _("Review saved: %(name)s can see your scores and feedback.")
                    % {"name": submission.enrollment.user.display_name},
                )
                return redirect("practice_review", submission_id=submission.pk)
    elif request.method == "POST":
        status = 409
    scores = list(submission.scores or [])
    context = {
        "submission": submission,
        "learner": submission.enrollment.user,
        "program": submission.enrollment.program,
        "step": submission.step,
        "criteria": criteria,
        "scored": [(c, scores[i] if i < len(scores) else None) for i, c in enumerate(criteria)],
        "form": form,
        "has_team": request.user.reports.filter(is_active=True).exists(),
    }
    return render(request, "learning/learner/review.html", context, status=status)
