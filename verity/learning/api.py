"""Programs, enrolments, quiz attempts, surveys, reports and xAPI statements over the JSON API.

Every lookup goes through verity.accounts.access: a program the caller may not open is a 404,
one they may open but not manage is a 403 on the manager-only endpoints; an enrolment that is
not the caller's own is a 404 on the learner's actions. Views parse, call a service or
selector (enrolment, quizzes, surveys, builder, reports, xapi) and shape the result."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.responses import Status

from verity.accounts import access
from verity.accounts.models import Group, User
from verity.accounts.schemas import AuthedRequest, Error, PageParams, paginate
from verity.learning import builder, enrolment, quizzes, reports, selectors, surveys, xapi
from verity.learning.models import (
    Enrollment,
    EnrollmentState,
    Program,
    QuizAttempt,
    Step,
    StepKind,
    StepProgress,
    Track,
)
from verity.learning.schemas import (
    AnswersIn,
    AttemptOut,
    EnrollmentFilters,
    EnrollmentPage,
    MyEnrollment,
    MyEnrollmentPage,
    ProgramCreate,
    ProgramDetail,
    ProgramPage,
    ProgramPatch,
    QuizResults,
    ReportOut,
    StatementParams,
    StatementResult,
    SurveyIn,
    SurveyResponseOut,
    SurveyResults,
)

router = Router(tags=["learning"])

ERRORS: dict[int | str, Any] = {400: Error, 401: Error, 403: Error, 404: Error, 422: Error}


# ---------------------------------------------------------------- shaping


def _person(user: User) -> dict[str, Any]:
    return {"id": user.pk, "name": user.display_name}


def _learner(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "email": user.email,
        "name": user.display_name,
        "manager": user.manager_id,
    }


def _step_ref(step: Step) -> dict[str, Any]:
    return {"id": step.pk, "kind": step.kind, "title": step.title}


def _programs_with_tracks(programs: QuerySet[Program]) -> QuerySet[Program]:
    tracks = Track.objects.annotate(n_steps=Count("steps")).order_by("role")
    return programs.select_related("owner").prefetch_related(Prefetch("tracks", queryset=tracks))


def _program_out(program: Program) -> dict[str, Any]:
    tracks = sorted(program.tracks.all(), key=lambda t: (not t.is_shared, t.role))
    return {
        "id": program.pk,
        "name": program.name,
        "goal": program.goal,
        "kind": program.kind,
        "status": program.status,
        "leaders_first": program.leaders_first,
        "release_date": program.release_date,
        "owner": _person(program.owner),
        "due_days": program.due_days,
        "due_date": program.due_date,
        "recertify_months": program.recertify_months,
        "end_survey": program.end_survey,
        "launched_at": program.launched_at,
        "created_at": program.created_at,
        "tracks": [
            {"id": t.pk, "role": t.role, "steps": t.n_steps}  # type: ignore[attr-defined]
            for t in tracks
        ],
    }


def _program_detail(user: User, program: Program) -> dict[str, Any]:
    program = _programs_with_tracks(Program.objects.filter(pk=program.pk)).get()
    steps = list(
        Step.objects.filter(track__program=program)
        .select_related("card")
        .annotate(n_questions=Count("questions"))
        .order_by("track_id", "position", "pk")
    )
    # A card step names its card only to people who can read that card.
    card_ids = {s.card_id for s in steps if s.card_id is not None}
    readable = set(access.cards_for(user).filter(pk__in=card_ids).values_list("pk", flat=True))
    by_track: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for step in steps:
        card = step.card if step.card_id in readable else None
        by_track[step.track_id].append(
            {
                "id": step.pk,
                "position": step.position,
                "kind": step.kind,
                "title": step.title,
                "required": step.required,
                "card": None
                if card is None
                else {
                    "id": card.pk,
                    "title": card.title,
                    "verification_state": card.verification_state,
                },
                "video_url": step.video_url,
                "quiz": {
                    "pass_mark": step.pass_mark,
                    "max_attempts": step.max_attempts,
                    "shuffle": step.shuffle,
                    "questions": step.n_questions,  # type: ignore[attr-defined]
                }
                if step.kind == StepKind.QUIZ
                else None,
                "rubric": list(step.rubric or []) if step.kind == StepKind.PRACTICE else [],
            }
        )
    out = _program_out(program)
    out.update(
        audience_functions=list(program.audience_functions or []),
        audience_groups=sorted(program.audience_groups.values_list("pk", flat=True)),
        audience_users=sorted(program.audience_users.values_list("pk", flat=True)),
        audience_new_hires=program.audience_new_hires,
        track_details=[
            {"id": t["id"], "role": t["role"], "steps": by_track[t["id"]]} for t in out["tracks"]
        ],
    )
    return out


def _enrollment_rows(enrollments: list[Enrollment], mine: bool = False) -> list[dict[str, Any]]:
    """Enrolments with their display state and progress, in a few queries (the steps are
    shared by everyone on the same program and track)."""
    now = timezone.now()
    progress_rows: dict[int, list[StepProgress]] = defaultdict(list)
    for done in StepProgress.objects.filter(enrollment__in=[e.pk for e in enrollments]):
        progress_rows[done.enrollment_id].append(done)
    steps_cache: dict[tuple[int, str], list[Step]] = {}
    out = []
    for e in enrollments:
        key = (e.program_id, e.track_role)
        if key not in steps_cache:
            steps_cache[key] = enrolment.learner_steps(e)
        progress = selectors.enrollment_progress(e, steps_cache[key], progress_rows[e.pk])
        row: dict[str, Any] = {
            "id": e.pk,
            "program": e.program_id,
            "user": _learner(e.user),
            "track": e.track_role,
            "state": e.display_state(now),
            "reason": e.reason,
            "waiting_on": e.waiting_on_id,
            "enrolled_at": e.enrolled_at,
            "released_at": e.released_at,
            "started_at": e.started_at,
            "due_at": e.due_at,
            "completed_at": e.completed_at,
            "expires_at": e.expires_at,
            "score": e.score,
            "time_spent_seconds": e.time_spent_seconds,
            "cycle": e.cycle,
            "superseded": e.superseded,
            "progress": {
                "done": progress.done,
                "required": progress.required,
                "percent": progress.percent,
            },
        }
        if mine:
            row["program_name"] = e.program.name
            row["next_step"] = _step_ref(progress.next_step) if progress.next_step else None
            row["reread"] = [_step_ref(s) for s in progress.reread]
        out.append(row)
    return out


def _paged_enrollments(
    enrollments: QuerySet[Enrollment], page: PageParams, mine: bool = False
) -> dict[str, Any]:
    window = paginate(enrollments.select_related("user", "program"), page)
    return {"items": _enrollment_rows(window["items"], mine), "count": window["count"]}


def _nps(result: surveys.NpsResult) -> dict[str, Any]:
    return {
        "value": result.value,
        "n": result.n,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "promoters": result.promoters,
        "passives": result.passives,
        "detractors": result.detractors,
    }


def _comment(comment: surveys.SurveyComment) -> dict[str, Any]:
    return {
        "text": comment.text,
        "respondent": _learner(comment.respondent) if comment.respondent else None,
        "submitted_at": comment.submitted_at,
    }


def _question_stats(rows: list[quizzes.QuestionDifficulty]) -> list[dict[str, Any]]:
    return [
        {
            "id": q.question.pk,
            "text": q.question.text,
            "answered": q.answered,
            "right": q.right,
            "share_right": q.share_right,
            "first_answered": q.first_answered,
            "first_right": q.first_right,
            "first_share_right": q.first_share_right,
        }
        for q in rows
    ]


def _quiz_steps(program: Program) -> list[Step]:
    steps = Step.objects.filter(track__program=program, kind=StepKind.QUIZ).select_related("track")
    return sorted(steps, key=lambda s: (not s.track.is_shared, s.track.role, s.position, s.pk))


# ---------------------------------------------------------------- lookups


def _program(request: AuthedRequest, program_id: int, manage: bool = False) -> Program:
    return access.get_program_for(request.auth, program_id, manage=manage)


def _own_enrollment(request: AuthedRequest, enrollment_id: int) -> Enrollment:
    """The caller's own current enrolment (as listed on My learning), or 404 — for managers
    and the enablement team too: only the learner works on their training."""
    user = request.auth
    enrollment = (
        selectors.current_enrollments_of(user)
        .filter(pk=enrollment_id, pk__in=access.enrollments_visible_to(user).values("pk"))
        .select_related("program", "user")
        .first()
    )
    if enrollment is None:
        raise Http404("No such enrolment")
    return enrollment


def _learner_step(enrollment: Enrollment, step_id: int) -> Step:
    step = next((s for s in enrolment.learner_steps(enrollment) if s.pk == step_id), None)
    if step is None:
        raise Http404("No such step")
    return step


def _users_input(ids: list[int], field: str) -> list[User]:
    users = list(User.objects.filter(pk__in=ids))
    missing = set(ids) - {u.pk for u in users}
    if missing:
        raise ValidationError({field: _("No person with id %(id)s.") % {"id": min(missing)}})
    return users


def _groups_input(ids: list[int]) -> list[Group]:
    groups = list(Group.objects.filter(pk__in=ids))
    missing = set(ids) - {g.pk for g in groups}
    if missing:
        raise ValidationError(
            {"audience_groups": _("No group with id %(id)s.") % {"id": min(missing)}}
        )
    return groups


def _owner_input(owner_id: int | None) -> User | None:
    if owner_id is None:
        return None
    return _users_input([owner_id], "owner")[0]


# ---------------------------------------------------------------- programs


@router.get("/programs", response={200: ProgramPage, **ERRORS}, summary="Programs I may open")
def program_list(request: AuthedRequest, page: Query[PageParams]) -> Any:
    programs = _programs_with_tracks(access.programs_for(request.auth)).order_by(
        "-created_at", "-pk"
    )
    window = paginate(programs, page)
    return {"items": [_program_out(p) for p in window["items"]], "count": window["count"]}


@router.post(
    "/programs",
    response={201: ProgramDetail, **ERRORS},
    summary="Create a draft program with its shared track (enablement team)",
)
def program_create(request: AuthedRequest, payload: ProgramCreate) -> Any:
    user = request.auth
    access.require(access.can_build_programs(user))
    program = builder.program_create(
        user=user,
        name=payload.name,
        kind=payload.kind,
        goal=payload.goal,
        owner=_owner_input(payload.owner),
        audience_functions=payload.audience_functions,
        audience_groups=_groups_input(payload.audience_groups),
        audience_users=_users_input(payload.audience_users, "audience_users"),
        audience_new_hires=payload.audience_new_hires,
        due_days=payload.due_days,
        due_date=payload.due_date,
        recertify_months=payload.recertify_months,
        leaders_first=payload.leaders_first,
        release_date=payload.release_date,
        end_survey=payload.end_survey,
    )
    return Status(201, _program_detail(user, program))


@router.get(
    "/programs/{program_id}",
    response={200: ProgramDetail, **ERRORS},
    summary="A program with its tracks and ordered steps",
)
def program_detail(request: AuthedRequest, program_id: int) -> Any:
    return _program_detail(request.auth, _program(request, program_id))


@router.patch(
    "/programs/{program_id}",
    response={200: ProgramDetail, **ERRORS},
    summary="Change a program's settings (program managers)",
)
def program_update(request: AuthedRequest, program_id: int, payload: ProgramPatch) -> Any:
    user = request.auth
    program = _program(request, program_id, manage=True)
    sent = payload.model_fields_set

    def given(name: str, current: Any) -> Any:
        return getattr(payload, name) if name in sent else current

    groups = (
        _groups_input(payload.audience_groups or [])
        if "audience_groups" in sent
        else list(program.audience_groups.all())
    )
    users = (
        _users_input(payload.audience_users or [], "audience_users")
        if "audience_users" in sent
        else list(program.audience_users.all())
    )
    builder.program_update(
        user=user,
        program=program,
        name=given("name", program.name),
        kind=given("kind", program.kind),
        goal=given("goal", program.goal),
        owner=_owner_input(payload.owner) if "owner" in sent else program.owner,
        audience_functions=given("audience_functions", program.audience_functions),
        audience_groups=groups,
        audience_users=users,
        audience_new_hires=given("audience_new_hires", program.audience_new_hires),
        due_days=given("due_days", program.due_days),
        due_date=given("due_date", program.due_date),
        recertify_months=given("recertify_months", program.recertify_months),
        leaders_first=given("leaders_first", program.leaders_first),
        release_date=given("release_date", program.release_date),
        end_survey=given("end_survey", program.end_survey),
    )
    return _program_detail(user, program)


@router.post(
    "/programs/{program_id}/launch",
    response={200: ProgramDetail, **ERRORS},
    summary="Launch a draft program: its audience is enrolled (program managers)",
)
def program_launch(request: AuthedRequest, program_id: int) -> Any:
    user = request.auth
    program = _program(request, program_id, manage=True)
    builder.program_launch(user=user, program=program)
    return _program_detail(user, program)


@router.get(
    "/programs/{program_id}/enrollments",
    response={200: EnrollmentPage, **ERRORS},
    summary="Enrolments in the program I may see (mine, my reports', all if I manage it)",
)
def program_enrollments(
    request: AuthedRequest,
    program_id: int,
    filters: Query[EnrollmentFilters],
    page: Query[PageParams],
) -> Any:
    program = _program(request, program_id)
    enrollments = access.enrollments_visible_to(request.auth, program)
    if not filters.history:
        enrollments = enrollments.filter(superseded=False)
    if filters.state is not None:
        enrollments = _with_display_state(enrollments, filters.state)
    return _paged_enrollments(
        enrollments.order_by("user__name", "user__email", "cycle", "pk"), page
    )


def _with_display_state(enrollments: QuerySet[Enrollment], state: str) -> QuerySet[Enrollment]:
    """Filter by the display state: overdue is derived from the due date, never stored."""
    now = timezone.now()
    running = [EnrollmentState.NOT_STARTED, EnrollmentState.IN_PROGRESS]
    if state == EnrollmentState.OVERDUE:
        return enrollments.filter(state__in=running, due_at__lt=now)
    if state in running:
        return enrollments.filter(state=state).exclude(due_at__lt=now)
    return enrollments.filter(state=state)


@router.get(
    "/programs/{program_id}/report",
    response={200: ReportOut, **ERRORS},
    summary="Enrolment funnel, scores, question difficulty and NPS (program managers)",
)
def program_report(request: AuthedRequest, program_id: int) -> Any:
    program = _program(request, program_id, manage=True)
    report = reports.program_report(program, viewer=request.auth)
    return {
        "enrolled": report.enrolled,
        "completed": report.completed,
        "completion_rate": report.completion_rate,
        "funnel": {bar.state: bar.count for bar in report.funnel},
        "scores": {
            "n": report.scores.n,
            "mean": report.scores.mean,
            "median": report.scores.median,
        },
        "median_minutes": report.time_spent,
        "nps": _nps(report.nps),
        "quizzes": [
            {"step": _step_ref(quiz.step), "questions": _question_stats(quiz.questions)}
            for quiz in report.quizzes
        ],
    }


@router.get(
    "/programs/{program_id}/quiz-results",
    response={200: list[QuizResults], **ERRORS},
    summary="Per quiz: each learner's best score and attempts, and question difficulty",
)
def program_quiz_results(request: AuthedRequest, program_id: int) -> Any:
    program = _program(request, program_id, manage=True)
    out = []
    for step in _quiz_steps(program):
        rows = quizzes.quiz_results(step, viewer=request.auth)
        out.append(
            {
                "step": _step_ref(step),
                "pass_mark": step.pass_mark,
                "results": [
                    {
                        "enrollment": r.enrollment.pk,
                        "user": _learner(r.enrollment.user),
                        "best_score": r.best_score,
                        "attempts": r.attempts,
                        "passed": r.passed,
                    }
                    for r in rows
                ],
                "questions": _question_stats(quizzes.question_difficulty(step)),
            }
        )
    return out


@router.get(
    "/programs/{program_id}/survey-results",
    response={200: SurveyResults, **ERRORS},
    summary="End-survey NPS, custom questions and comments (names for site admins only)",
)
def program_survey_results(request: AuthedRequest, program_id: int) -> Any:
    program = _program(request, program_id, manage=True)
    results = surveys.program_survey_results(program, request.auth)
    return {
        "nps": _nps(results.nps),
        "min_n": results.min_n,
        "hidden": results.hidden,
        "names_shown": results.names_shown,
        "questions": [
            {
                "id": q.question.pk,
                "text": q.question.text,
                "kind": q.question.kind,
                "n": q.n,
                "average": q.average,
                "answers": [_comment(c) for c in q.texts],
            }
            for q in results.questions
        ],
        "comments": [_comment(c) for c in results.comments],
    }


# ---------------------------------------------------------------- the learner


@router.get(
    "/me/enrollments",
    response={200: MyEnrollmentPage, **ERRORS},
    summary="My current enrolments with progress and the next step",
)
def my_enrollments(request: AuthedRequest, page: Query[PageParams]) -> Any:
    user = request.auth
    mine = selectors.current_enrollments_of(user).filter(
        pk__in=access.enrollments_visible_to(user).filter(user=user).values("pk")
    )
    return _paged_enrollments(mine, page, mine=True)


def _my_row(enrollment: Enrollment) -> dict[str, Any]:
    fresh = Enrollment.objects.select_related("user", "program").get(pk=enrollment.pk)
    return _enrollment_rows([fresh], mine=True)[0]


@router.post(
    "/enrollments/{enrollment_id}/steps/{step_id}/complete",
    response={200: MyEnrollment, **ERRORS},
    summary="Acknowledge a card or mark a lesson as done (the learner only)",
)
def step_complete(request: AuthedRequest, enrollment_id: int, step_id: int) -> Any:
    enrollment = _own_enrollment(request, enrollment_id)
    step = _learner_step(enrollment, step_id)
    if step.kind not in (StepKind.CARD, StepKind.LESSON):
        raise ValidationError(
            {"step": _("Only card and lesson steps are marked as done; quizzes are submitted.")}
        )
    enrolment.complete_step(enrollment=enrollment, step=step)
    return _my_row(enrollment)


def _attempt_out(attempt: QuizAttempt, outcomes: bool = False) -> dict[str, Any]:
    step = attempt.step
    questions = {
        q.pk: q
        for q in step.questions.filter(pk__in=[e[0] for e in attempt.order]).prefetch_related(
            "choices"
        )
    }
    shown = []
    for question_id, choice_ids in attempt.order:
        question = questions.get(int(question_id))
        if question is None:  # deleted by the builder since the attempt started
            continue
        choices = {c.pk: c for c in question.choices.all()}
        shown.append(
            {
                "id": question.pk,
                "kind": question.kind,
                "text": question.text,
                "choices": [
                    {"id": choices[int(c)].pk, "text": choices[int(c)].text}
                    for c in choice_ids
                    if int(c) in choices
                ],
            }
        )
    out = {
        "id": attempt.pk,
        "enrollment": attempt.enrollment_id,
        "step": step.pk,
        "number": attempt.number,
        "started_at": attempt.started_at,
        "submitted_at": attempt.submitted_at,
        "score": attempt.score,
        "passed": attempt.passed,
        "attempts_left": quizzes.attempts_left(attempt.enrollment, step),
        "questions": shown,
        "outcomes": [],
    }
    if outcomes:
        out["outcomes"] = [
            {
                "id": answer.question_id,
                "correct": answer.correct,
                "explanation": answer.question.explanation,
            }
            for answer in attempt.answers.select_related("question").order_by("question_id")
        ]
    return out


@router.post(
    "/enrollments/{enrollment_id}/steps/{step_id}/attempts",
    response={201: AttemptOut, **ERRORS},
    summary="Start (or resume) an attempt at a quiz (the learner only)",
)
def attempt_start(request: AuthedRequest, enrollment_id: int, step_id: int) -> Any:
    enrollment = _own_enrollment(request, enrollment_id)
    step = _learner_step(enrollment, step_id)
    attempt = quizzes.attempt_start(enrollment=enrollment, step=step)
    attempt = QuizAttempt.objects.select_related("step", "enrollment").get(pk=attempt.pk)
    return Status(201, _attempt_out(attempt))


@router.post(
    "/attempts/{attempt_id}/submit",
    response={200: AttemptOut, **ERRORS},
    summary="Submit answers and get the score (the learner only)",
)
def attempt_submit(request: AuthedRequest, attempt_id: int, payload: AnswersIn) -> Any:
    user = request.auth
    attempt = (
        QuizAttempt.objects.filter(
            pk=attempt_id,
            enrollment__user=user,
            enrollment__in=access.enrollments_visible_to(user),
        )
        .select_related("step", "enrollment")
        .first()
    )
    if attempt is None:
        raise Http404("No such attempt")
    answers: dict[int, list[int]] = {}
    for raw_id, choice_ids in payload.answers.items():
        if not (raw_id.isascii() and raw_id.isdigit()):
            raise ValidationError({"answers": _("Question ids are whole numbers.")})
        answers[int(raw_id)] = list(choice_ids)
    quizzes.attempt_submit(attempt=attempt, answers=answers)
    attempt = QuizAttempt.objects.select_related("step", "enrollment").get(pk=attempt.pk)
    return _attempt_out(attempt, outcomes=True)


@router.post(
    "/enrollments/{enrollment_id}/survey",
    response={201: SurveyResponseOut, **ERRORS},
    summary="Answer the program's end survey, once (the learner only)",
)
def survey_submit(request: AuthedRequest, enrollment_id: int, payload: SurveyIn) -> Any:
    enrollment = _own_enrollment(request, enrollment_id)
    response = surveys.survey_submit(
        enrollment=enrollment,
        recommend=payload.recommend,
        comment=payload.comment,
        answers=payload.answers,
    )
    return Status(
        201,
        {
            "id": response.pk,
            "enrollment": enrollment.pk,
            "recommend": response.recommend,
            "comment": response.comment,
            "submitted_at": response.submitted_at,
        },
    )


# ---------------------------------------------------------------- xAPI


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def _agent_email(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        agent = json.loads(raw)
    except ValueError:
        agent = None
    mbox = agent.get("mbox") if isinstance(agent, dict) else None
    if not isinstance(mbox, str) or not mbox.startswith("mailto:") or len(mbox) <= 7:
        raise ValidationError({"agent": _('Give the agent as JSON: {"mbox": "mailto:…"}.')})
    return mbox.removeprefix("mailto:")


@router.get(
    "/xapi/statements",
    response={200: StatementResult, **ERRORS},
    tags=["xapi"],
    summary="The learning history as xAPI 1.0.3 statements (mine, my reports', programs I manage)",
)
def xapi_statements(
    request: AuthedRequest, params: Query[StatementParams], response: HttpResponse
) -> Any:
    response["X-Experience-API-Version"] = xapi.XAPI_VERSION
    after = None
    if params.cursor:
        try:
            after = xapi.Key.decode(params.cursor)
        except xapi.BadCursor:
            raise ValidationError({"cursor": _("Use the “more” link as given.")}) from None
    filters = xapi.Filters(
        since=_aware(params.since),
        until=_aware(params.until),
        verb=params.verb,
        email=_agent_email(params.agent),
        ascending=params.ascending,
        after=after,
    )
    page = xapi.statements(access.enrollments_visible_to(request.auth), filters, params.limit)
    more = ""
    if page.next_key is not None:
        query = request.GET.copy()
        query["cursor"] = page.next_key.encode()
        more = f"{request.path}?{query.urlencode()}"
    return {"statements": page.statements, "more": more}
