"""The program report (for the people who manage a program) and the CSV exports.

`program_report` counts in the database: one aggregate for the funnel, one grouped query for
completion over time, one for scores and their histogram, one per track... so the number of
queries depends on the number of quiz steps, never on the number of learners. Medians come
from the database too (order by the value, read the middle one or two).

`enrollments_csv` and `questions_csv` yield rows (the header first); `csv_stream` turns rows
into CSV text for a streaming response.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from django.db.models import Avg, Count, Max, Min, Q, QuerySet
from django.db.models.functions import TruncDate, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from verity.accounts import access
from verity.accounts.access import AnyUser
from verity.learning.models import Enrollment, EnrollmentState, Program, Step, StepKind, TrackRole
from verity.learning.quizzes import QuestionDifficulty, question_difficulty
from verity.learning.selectors import RereadCount, reread_counts
from verity.learning.surveys import NpsResult, SurveyComment, SurveyResults, program_survey_results

# The funnel in the order a learner moves through it.
FUNNEL_STATES: tuple[str, ...] = (
    EnrollmentState.WAITING,
    EnrollmentState.NOT_STARTED,
    EnrollmentState.IN_PROGRESS,
    EnrollmentState.OVERDUE,
    EnrollmentState.COMPLETED,
)

# Completion over time is drawn per day up to this span, per week beyond it (a year of days
# is too many points to read).
DAILY_SPAN = timedelta(days=62)

# Cells starting with these are formulas to Excel and LibreOffice; a leading apostrophe makes
# them text, so a learner named "=HYPERLINK(...)" cannot plant a link in the export.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class FunnelBar:
    state: str
    label: str
    count: int
    share: float  # of enrolled, 0-1


class CompletionPoint(NamedTuple):
    day: date  # the day (or the Monday of the week)
    completed: int  # cumulative completions up to and including this day or week


@dataclass(frozen=True)
class ScoreBucket:
    low: int  # 0, 10, ..., 90 (the last bucket holds 90-100)
    high: int
    count: int


@dataclass(frozen=True)
class ScoreSummary:
    n: int
    mean: float | None
    median: float | None
    histogram: list[ScoreBucket]


@dataclass(frozen=True)
class QuizReport:
    step: Step
    questions: list[QuestionDifficulty]  # in the builder's order


class TrackRow(NamedTuple):
    role: str  # a TrackRole value, "" for learners with no role track
    label: str
    enrolled: int
    completed: int


@dataclass(frozen=True)
class ProgramReport:
    program: Program
    enrolled: int  # current (non-superseded) enrolments
    completed: int
    funnel: list[FunnelBar]
    completion_over_time: list[CompletionPoint]
    completion_period: str  # "day" or "week"
    scores: ScoreSummary
    quizzes: list[QuizReport]
    nps: NpsResult
    comments: list[SurveyComment]
    survey: SurveyResults  # custom questions, min n, whether names are shown
    by_track: list[TrackRow]
    time_spent: float | None  # median minutes of completed enrolments
    reread: list[RereadCount]

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.enrolled if self.enrolled else None


def _current(program: Program, viewer: AnyUser) -> QuerySet[Enrollment]:
    # The report's viewer manages the program, so this is every enrolment; going through
    # the access rule anyway keeps one door to learners' results.
    return access.enrollments_visible_to(viewer, program).filter(superseded=False)


def _median(rows: QuerySet[Enrollment], field: str, n: int) -> float | None:
    """Median of `field` over `rows` (`n` of them, none null), read in the database: order
    by the value and fetch only the middle one or two."""
    if n == 0:
        return None
    ordered = rows.order_by(field).values_list(field, flat=True)
    middle = [float(v) for v in ordered[(n - 1) // 2 : n // 2 + 1]]
    return sum(middle) / len(middle)


def _funnel(enrollments: QuerySet[Enrollment], now: datetime) -> tuple[dict[str, Any], int]:
    overdue = Q(
        state__in=[EnrollmentState.NOT_STARTED, EnrollmentState.IN_PROGRESS], due_at__lt=now
    )
    counts = enrollments.aggregate(
        enrolled=Count("pk"),
        waiting=Count("pk", filter=Q(state=EnrollmentState.WAITING)),
        not_started=Count("pk", filter=Q(state=EnrollmentState.NOT_STARTED) & ~overdue),
        in_progress=Count("pk", filter=Q(state=EnrollmentState.IN_PROGRESS) & ~overdue),
        overdue=Count("pk", filter=overdue),
        completed=Count("pk", filter=Q(state=EnrollmentState.COMPLETED)),
        first_completed=Min("completed_at", filter=Q(state=EnrollmentState.COMPLETED)),
        last_completed=Max("completed_at", filter=Q(state=EnrollmentState.COMPLETED)),
    )
    return counts, counts["enrolled"]


def _completion_over_time(
    enrollments: QuerySet[Enrollment], first: datetime | None, last: datetime | None
) -> tuple[list[CompletionPoint], str]:
    if first is None or last is None:
        return [], "day"
    weekly = last - first > DAILY_SPAN
    trunc = TruncWeek("completed_at") if weekly else TruncDate("completed_at")
    rows = (
        enrollments.filter(state=EnrollmentState.COMPLETED, completed_at__isnull=False)
        .annotate(period=trunc)
        .values("period")
        .annotate(n=Count("pk"))
        .order_by("period")
    )
    per_period: dict[date, int] = {}
    for row in rows:
        period = row["period"]
        day = period.date() if isinstance(period, datetime) else period
        per_period[day] = per_period.get(day, 0) + row["n"]
    if not per_period:
        return [], "day"
    # Every day (or week) between the first and the last completion, so the line is drawn
    # against a real time axis rather than jumping over quiet days.
    step = timedelta(weeks=1) if weekly else timedelta(days=1)
    day, end = min(per_period), max(per_period)
    points, total = [], 0
    while day <= end:
        total += per_period.get(day, 0)
        points.append(CompletionPoint(day, total))
        day += step
    return points, "week" if weekly else "day"


def _scores(enrollments: QuerySet[Enrollment]) -> ScoreSummary:
    scored = enrollments.filter(score__isnull=False)
    buckets = {
        f"b{low}": Count(
            "pk",
            filter=Q(score__gte=low, score__lt=low + 10) if low < 90 else Q(score__gte=low),
        )
        for low in range(0, 100, 10)
    }
    summary = scored.aggregate(n=Count("pk"), mean=Avg("score"), **buckets)
    n = summary["n"]
    return ScoreSummary(
        n=n,
        mean=summary["mean"],
        median=_median(scored, "score", n),
        histogram=[
            ScoreBucket(low, 100 if low == 90 else low + 9, summary[f"b{low}"])
            for low in range(0, 100, 10)
        ],
    )


def _by_track(enrollments: QuerySet[Enrollment]) -> list[TrackRow]:
    rows = (
        enrollments.values("track_role")
        .annotate(
            enrolled=Count("pk"),
            completed=Count("pk", filter=Q(state=EnrollmentState.COMPLETED)),
        )
        .order_by("track_role")
    )
    order = {role: i for i, role in enumerate(TrackRole.values)}
    labels = dict(TrackRole.choices)
    result = [
        TrackRow(
            role=row["track_role"],
            label=str(labels.get(row["track_role"]) or _("Shared track only")),
            enrolled=row["enrolled"],
            completed=row["completed"],
        )
        for row in rows
    ]
    return sorted(result, key=lambda r: order.get(r.role, len(order)))


def _quiz_steps(program: Program) -> list[Step]:
    steps = Step.objects.filter(track__program=program, kind=StepKind.QUIZ).select_related("track")
    return sorted(steps, key=lambda s: (not s.track.is_shared, s.track.role, s.position, s.pk))


def program_report(
    program: Program, *, viewer: AnyUser, now: datetime | None = None
) -> ProgramReport:
    """Everything the program report shows. Only for people who manage the program (the
    enablement team and the owner): anyone else gets PermissionDenied, as the survey results
    underneath do."""
    access.require(access.can_manage_program(viewer, program))
    moment = now or timezone.now()
    enrollments = _current(program, viewer)

    counts, enrolled = _funnel(enrollments, moment)
    labels = dict(EnrollmentState.choices)
    funnel = [
        FunnelBar(
            state, str(labels[state]), counts[state], counts[state] / enrolled if enrolled else 0.0
        )
        for state in FUNNEL_STATES
    ]
    over_time, period = _completion_over_time(
        enrollments, counts["first_completed"], counts["last_completed"]
    )
    median_seconds = _median(
        enrollments.filter(state=EnrollmentState.COMPLETED),
        "time_spent_seconds",
        counts["completed"],
    )
    survey = program_survey_results(program, viewer)
    return ProgramReport(
        program=program,
        enrolled=enrolled,
        completed=counts["completed"],
        funnel=funnel,
        completion_over_time=over_time,
        completion_period=period,
        scores=_scores(enrollments),
        quizzes=[QuizReport(step, question_difficulty(step)) for step in _quiz_steps(program)],
        nps=survey.nps,
        comments=survey.comments,
        survey=survey,
        by_track=_by_track(enrollments),
        time_spent=None if median_seconds is None else median_seconds / 60,
        reread=reread_counts(program),
    )


# --- CSV -----------------------------------------------------------------------------------------


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def enrollments_csv(
    program: Program, viewer: AnyUser, now: datetime | None = None
) -> Iterator[list[str]]:
    """A header, then one row per enrolment `viewer` may see (access.enrollments_visible_to:
    every one for the program's managers; a line manager only their own and their reports'),
    every certification cycle included. Read in chunks: the export never holds every row."""
    moment = now or timezone.now()
    yield [
        _("Name"),
        _("Email"),
        _("Manager email"),
        _("Track"),
        _("State"),
        _("Enrolled"),
        _("Released"),
        _("Due"),
        _("Completed"),
        _("Score"),
        _("Time spent (minutes)"),
        _("Cycle"),
    ]
    states = dict(EnrollmentState.choices)
    tracks = dict(TrackRole.choices)
    rows = (
        access.enrollments_visible_to(viewer, program)
        .select_related("user", "user__manager")
        .order_by("user__name", "user__email", "cycle", "pk")
    )
    for e in rows.iterator(chunk_size=500):
        user = e.user
        yield [
            user.name,
            user.email,
            user.manager.email if user.manager else "",
            str(tracks.get(e.track_role, "")) if e.track_role else "",
            str(states[e.display_state(moment)]),
            _when(e.enrolled_at),
            _when(e.released_at),
            _when(e.due_at),
            _when(e.completed_at),
            _number(e.score),
            str(round(e.time_spent_seconds / 60)),
            str(e.cycle),
        ]


def questions_csv(program: Program, viewer: AnyUser) -> Iterator[list[str]]:
    """A header, then one row per quiz question: how often it was answered and answered
    right, over all attempts and over first attempts. For the program's managers only."""
    access.require(access.can_manage_program(viewer, program))
    yield [
        _("Quiz"),
        _("Question"),
        _("Answers"),
        _("Answered right"),
        _("Share right (%)"),
        _("First attempts"),
        _("Right on the first attempt"),
        _("Share right on the first attempt (%)"),
    ]

    def percent(share: float | None) -> str:
        return "" if share is None else f"{100 * share:.0f}"

    for step in _quiz_steps(program):
        for d in question_difficulty(step):
            yield [
                step.title,
                d.question.text,
                str(d.answered),
                str(d.right),
                percent(d.share_right),
                str(d.first_answered),
                str(d.first_right),
                percent(d.first_share_right),
            ]


class _Echo:
    """A file-like object whose write returns the line, for csv.writer in a generator."""

    def write(self, value: str) -> str:
        return value


def _safe(cell: Any) -> Any:
    if isinstance(cell, str) and cell.startswith(_FORMULA_STARTS):
        return "'" + cell
    return cell


def csv_stream(rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """CSV text, line by line, starting with a UTF-8 byte order mark: without it Excel reads
    the file in the local code page and Cyrillic names come out garbled."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for row in rows:
        yield writer.writerow([_safe(cell) for cell in row])
