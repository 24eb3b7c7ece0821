"""The program report and its CSV downloads, for the people who manage a program.

Decision: the report page, the enrolment CSV and the question CSV are all for the program's
managers (the enablement team and the program's owner): a learner or a line manager who can
open the program gets 403, anyone else 404 (access.get_program_for). Line managers follow
their reports on "My team" instead; the enrolment export itself is limited by
access.enrollments_visible_to, so it would never show more than the viewer may see.

Charts are inline SVG drawn from the template (no JavaScript, printable); the geometry is
worked out here so the template only places shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from verity.accounts import access
from verity.accounts.models import User
from verity.learning import reports
from verity.learning.models import Program
from verity.learning.quizzes import QuestionDifficulty

# Below this share of right answers a question is flagged as not landing.
HARD_QUESTION_SHARE = 0.5

# The line chart's drawing box (SVG user units; the SVG stretches to the page width).
CHART_W = 100.0
CHART_H = 40.0


class AuthedRequest(HttpRequest):
    user: User  # type: ignore[assignment]


@dataclass(frozen=True)
class LineChart:
    line: str  # polyline points
    area: str  # polygon points (the line closed down to the axis)
    top: int  # the value at the top of the box (the number enrolled)
    first: date
    last: date
    rows: list[reports.CompletionPoint]


def completion_chart(points: Sequence[reports.CompletionPoint], top: int) -> LineChart | None:
    """Cumulative completions as a line on a 0..`top` scale, x spread evenly over the
    periods (they are consecutive days or weeks)."""
    if not points or top <= 0:
        return None
    last_index = max(len(points) - 1, 1)

    def xy(i: int, value: int) -> str:
        x = CHART_W * i / last_index
        y = CHART_H - CHART_H * min(value, top) / top
        return f"{x:.2f},{y:.2f}"

    coords = [xy(i, p.completed) for i, p in enumerate(points)]
    if len(points) == 1:  # one day of completions: a flat line across
        coords.append(xy(1, points[0].completed))
    area = [f"0,{CHART_H:.2f}", *coords, f"{CHART_W:.2f},{CHART_H:.2f}"]
    return LineChart(
        line=" ".join(coords),
        area=" ".join(area),
        top=top,
        first=points[0].day,
        last=points[-1].day,
        rows=list(points),
    )


@dataclass(frozen=True)
class HistogramBar:
    bucket: reports.ScoreBucket
    height: float  # 0-100, share of the tallest bar

    @property
    def y(self) -> float:
        return 100.0 - self.height


def histogram_bars(buckets: Iterable[reports.ScoreBucket]) -> list[HistogramBar]:
    buckets = list(buckets)
    tallest = max((b.count for b in buckets), default=0)
    return [HistogramBar(b, 100 * b.count / tallest if tallest else 0.0) for b in buckets]


@dataclass(frozen=True)
class DifficultyRow:
    step_title: str
    difficulty: QuestionDifficulty

    @property
    def hard(self) -> bool:
        share = self.difficulty.share_right
        return share is not None and share < HARD_QUESTION_SHARE


def hardest_first(quizzes: Iterable[reports.QuizReport]) -> list[DifficultyRow]:
    """Every question of every quiz, the lowest share answered right first; questions
    nobody answered yet go last."""
    rows = [DifficultyRow(q.step.title, d) for q in quizzes for d in q.questions]
    return sorted(
        rows,
        key=lambda r: (
            r.difficulty.share_right is None,
            r.difficulty.share_right or 0.0,
            -r.difficulty.answered,
        ),
    )


@login_required
@require_GET
def program_report(request: AuthedRequest, pk: int) -> HttpResponse:
    program = access.get_program_for(request.user, pk, manage=True)
    report = reports.program_report(program, viewer=request.user)
    context: dict[str, Any] = {
        "program": program,
        "report": report,
        "chart": completion_chart(report.completion_over_time, report.enrolled),
        "histogram": histogram_bars(report.scores.histogram),
        "difficulty": hardest_first(report.quizzes),
        "hard_share": int(100 * HARD_QUESTION_SHARE),
    }
    return render(request, "learning/report/program_report.html", context)


def _csv_response(
    program: Program, suffix: str, rows: Callable[[], Iterator[list[str]]]
) -> StreamingHttpResponse:
    """Stream the rows as CSV. The rows are produced after the view returns, so the
    request's language is pinned here for the translated header and state names."""
    language = translation.get_language()

    def lines() -> Iterator[str]:
        with translation.override(language):
            yield from reports.csv_stream(rows())

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    name = slugify(program.name, allow_unicode=True) or "program"
    disposition = content_disposition_header(as_attachment=True, filename=f"{name}-{suffix}.csv")
    response["Content-Disposition"] = disposition or "attachment"
    # Learners' names and scores: not for shared caches.
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def program_report_csv(request: AuthedRequest, pk: int) -> StreamingHttpResponse:
    program = access.get_program_for(request.user, pk, manage=True)
    viewer = request.user
    return _csv_response(program, "enrolments", lambda: reports.enrollments_csv(program, viewer))


@login_required
@require_GET
def program_questions_csv(request: AuthedRequest, pk: int) -> StreamingHttpResponse:
    program = access.get_program_for(request.user, pk, manage=True)
    viewer = request.user
    return _csv_response(program, "questions", lambda: reports.questions_csv(program, viewer))
