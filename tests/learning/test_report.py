"""The program report and the CSV exports, on a hand-built program whose numbers are worked
out by hand below.

The program (leaders first, due 14 days after release): shared track = read a card, a quiz
of two questions (pass mark 50%); sales and support tracks add a lesson. Thirteen enrolments:

| learner | function | track | what happened (days after launch) | quiz (Q1, Q2) |
| --- | --- | --- | --- | --- |
| l1 | sales | sales | completed day 1, 10 minutes | right, right  = 100 |
| l2 | sales | sales | completed day 1, 20 minutes | right, wrong  = 50 |
| l3 | support | support | completed day 3, 25 minutes | right, wrong  = 50 |
| l4 | success | (none) | completed day 3, 5 minutes | wrong, wrong = 0; |
|  |  |  |  | then right, right |
| l5 | sales | sales | completed day 6, 15 minutes | wrong, right  = 50 |
| l6 | sales | sales | in progress: read the card, failed the quiz | wrong, wrong  = 0 |
| l7 | support | support | in progress (opened the card) |  |
| l8 | success | (none) | in progress, overdue |  |
| l9 | sales | sales | not started |  |
| l10 | support | support | not started, overdue |  |
| manager | leader | (none) | in progress (read the card) |  |
| rep | sales | sales | waiting for the manager |  |
| rep2 | success | (none) | waiting for the manager |  |

Funnel: waiting 2, not started 1, in progress 3, overdue 2, completed 5.
Scores (the best score of each quiz taken, passed or not): 100, 50, 50, 100, 50, 0 → mean
58.3, median 50; buckets 0-9: 1, 50-59: 3, 90-100: 2. Question difficulty over all 7
attempts: Q1 4 of 7 right, Q2 3 of 7. Median time spent of completed: 15 minutes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from hypothesis import HealthCheck, given, settings

from tests.conftest import make_user
from tests.learning.test_access_property import build as build_chart
from tests.learning.test_access_property import expected_visible, org_charts, rolled_back
from verity.accounts.models import JobFunction, User
from verity.learning import enrolment, quizzes, reports, surveys
from verity.learning.models import (
    Enrollment,
    Program,
    QuestionKind,
    Step,
    StepKind,
)

LAUNCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = LAUNCH + timedelta(days=10)


@dataclass
class Built:
    program: Program
    people: dict[str, User]
    card_step: Step
    quiz: Step
    q1_right: int
    q1_wrong: int
    q2_true: int
    q2_false: int

    def enrollment(self, name: str) -> Enrollment:
        return Enrollment.objects.get(
            program=self.program, user=self.people[name], superseded=False
        )

    def lesson(self, name: str) -> Step | None:
        steps = enrolment.learner_steps(self.enrollment(name))
        return next((s for s in steps if s.kind == StepKind.LESSON), None)

    def take_quiz(self, name: str, q1: bool, q2: bool, when: datetime) -> None:
        attempt = quizzes.attempt_start(enrollment=self.enrollment(name), step=self.quiz, now=when)
        q1_id, q2_id = [q.pk for q in self.quiz.questions.order_by("position")]
        answers = {
            q1_id: [self.q1_right if q1 else self.q1_wrong],
            q2_id: [self.q2_true if q2 else self.q2_false],
        }
        quizzes.attempt_submit(attempt=attempt, answers=answers, now=when)

    def finish(self, name: str, day: int, minutes: int, quiz: tuple[bool, bool]) -> None:
        """Read the card for `minutes`, take the quiz, do the role lesson, all on `day`."""
        start = LAUNCH + timedelta(days=day, hours=1)
        done = start + timedelta(minutes=minutes)
        enrolment.open_step(self.enrollment(name), self.card_step, start)
        enrolment.complete_step(enrollment=self.enrollment(name), step=self.card_step, now=done)
        self.take_quiz(name, *quiz, when=done)
        lesson = self.lesson(name)
        if lesson is not None:
            enrolment.complete_step(enrollment=self.enrollment(name), step=lesson, now=done)


def build(make_program, manager: User, rep: User, rep2: User, prefix: str = "l") -> Built:
    functions = [
        JobFunction.SALES,
        JobFunction.SALES,
        JobFunction.SUPPORT,
        JobFunction.SUCCESS,
        JobFunction.SALES,
        JobFunction.SALES,
        JobFunction.SUPPORT,
        JobFunction.SUCCESS,
        JobFunction.SALES,
        JobFunction.SUPPORT,
    ]
    people = {
        f"l{i}": make_user(f"{prefix}{i}@example.com", job_function=function)
        for i, function in enumerate(functions, start=1)
    }
    people.update(manager=manager, rep=rep, rep2=rep2)
    program = make_program(
        name="Launch: Insights",
        shared=["card", {"kind": StepKind.QUIZ, "pass_mark": 50, "shuffle": False}],
        tracks={"sales": ["lesson"], "support": ["lesson"]},
        audience_users=[p for key, p in people.items() if key != "manager"],
        leaders_first=True,
        due_days=14,
        launch=True,
        now=LAUNCH,
    )
    card_step, quiz = Step.objects.filter(track__program=program, track__role="shared").order_by(
        "position"
    )
    q1 = quizzes.question_add(
        quiz, QuestionKind.SINGLE, "Which plan has SSO?", choices=[("Team", False), ("Pro", True)]
    )
    q2 = quizzes.question_add(
        quiz, QuestionKind.TRUE_FALSE, "Insights works offline.", choices=quizzes.true_false(True)
    )
    q1_right, q1_wrong = (q1.choices.get(correct=c).pk for c in (True, False))
    q2_true, q2_false = (q2.choices.get(correct=c).pk for c in (True, False))
    built = Built(program, people, card_step, quiz, q1_right, q1_wrong, q2_true, q2_false)

    built.finish("l1", day=1, minutes=10, quiz=(True, True))
    built.finish("l2", day=1, minutes=20, quiz=(True, False))
    built.finish("l3", day=3, minutes=25, quiz=(True, False))
    # l4 fails the first attempt, then passes.
    start = LAUNCH + timedelta(days=3, hours=2)
    enrolment.open_step(built.enrollment("l4"), card_step, start)
    enrolment.complete_step(
        enrollment=built.enrollment("l4"), step=card_step, now=start + timedelta(minutes=5)
    )
    built.take_quiz("l4", False, False, when=start + timedelta(minutes=5))
    built.take_quiz("l4", True, True, when=start + timedelta(minutes=5))
    built.finish("l5", day=6, minutes=15, quiz=(False, True))

    # In progress.
    moment = LAUNCH + timedelta(days=7)
    enrolment.complete_step(enrollment=built.enrollment("l6"), step=card_step, now=moment)
    built.take_quiz("l6", False, False, when=moment)
    enrolment.open_step(built.enrollment("l7"), card_step, moment)
    enrolment.open_step(built.enrollment("l8"), card_step, moment)
    enrolment.complete_step(enrollment=built.enrollment("manager"), step=card_step, now=moment)
    # Two due dates moved into the past (l8 in progress, l10 not started): overdue.
    Enrollment.objects.filter(program=program, user__in=[people["l8"], people["l10"]]).update(
        due_at=NOW - timedelta(days=1)
    )
    return built


@pytest.fixture
def built(make_program, manager: User, rep: User, rep2: User) -> Built:
    return build(make_program, manager, rep, rep2)


def answer_survey(built: Built, name: str, recommend: int, comment: str = "") -> None:
    surveys.survey_submit(
        enrollment=built.enrollment(name), recommend=recommend, comment=comment, now=NOW
    )


# ---------------------------------------------------------------- the numbers


def test_funnel_counts_each_display_state(built: Built, enablement: User) -> None:
    report = reports.program_report(built.program, viewer=enablement, now=NOW)
    assert (report.enrolled, report.completed) == (13, 5)
    assert {bar.state: bar.count for bar in report.funnel} == {
        "waiting": 2,
        "not_started": 1,
        "in_progress": 3,
        "overdue": 2,
        "completed": 5,
    }
    assert [bar.state for bar in report.funnel] == list(reports.FUNNEL_STATES)
    assert report.funnel[-1].share == pytest.approx(5 / 13)
    assert report.completion_rate == pytest.approx(5 / 13)


def test_overdue_depends_on_the_moment(built: Built, enablement: User) -> None:
    # Before the moved due dates passed nobody is overdue; 15 days after launch every
    # released enrolment that is not completed is.
    early = reports.program_report(built.program, viewer=enablement, now=NOW - timedelta(days=2))
    assert {b.state: b.count for b in early.funnel}["overdue"] == 0
    late = reports.program_report(built.program, viewer=enablement, now=LAUNCH + timedelta(days=15))
    assert {b.state: b.count for b in late.funnel} == {
        "waiting": 2,
        "not_started": 0,
        "in_progress": 0,
        "overdue": 6,
        "completed": 5,
    }


def test_superseded_cycles_are_not_counted(built: Built, enablement: User) -> None:
    Enrollment.objects.filter(pk=built.enrollment("l1").pk).update(superseded=True)
    report = reports.program_report(built.program, viewer=enablement, now=NOW)
    assert (report.enrolled, report.completed) == (12, 4)


def test_completion_over_time_is_cumulative_per_day(built: Built, enablement: User) -> None:
    report = reports.program_report(built.program, viewer=enablement, now=NOW)
    assert report.completion_period == "day"
    day = LAUNCH.date()
    assert report.completion_over_time == [
        (day + timedelta(days=1), 2),
        (day + timedelta(days=2), 2),
        (day + timedelta(days=3), 4),
        (day + timedelta(days=4), 4),
        (day + timedelta(days=5), 4),
        (day + timedelta(days=6), 5),
    ]


def test_completion_over_a_long_span_is_weekly(built: Built, enablement: User) -> None:
    # l5 completes 100 days after l1: weekly points (Mondays), still ending at 5.
    Enrollment.objects.filter(pk=built.enrollment("l5").pk).update(
        completed_at=LAUNCH + timedelta(days=100)
    )
    report = reports.program_report(built.program, viewer=enablement, now=NOW)
    assert report.completion_period == "week"
    points = report.completion_over_time
    assert all(p.day.weekday() == 0 for p in points)
    assert points[0] == (date(2026, 3, 2), 4)  # launch is a Monday: l1-l4 in its week
    assert points[-1].completed == 5
    assert len(points) == 15  # 2 March to 8 June, one point per week
    assert [p.completed for p in points[:-1]] == [4] * 14


def test_scores(built: Built, enablement: User) -> None:
    scores = reports.program_report(built.program, viewer=enablement, now=NOW).scores
    assert scores.n == 6
    assert scores.mean == pytest.approx(350 / 6)
    assert scores.median == pytest.approx(50)
    assert [(b.low, b.high, b.count) for b in scores.histogram if b.count] == [
        (0, 9, 1),
        (50, 59, 3),
        (90, 100, 2),
    ]
    assert len(scores.histogram) == 10
    assert sum(b.count for b in scores.histogram) == scores.n


def test_median_of_an_even_number_of_scores(built: Built, enablement: User) -> None:
    Enrollment.objects.filter(pk=built.enrollment("l6").pk).update(score=95.0)
    scores = reports.program_report(built.program, viewer=enablement, now=NOW).scores
    # 50, 50, 50, 95, 100, 100 → (50 + 95) / 2
    assert scores.median == pytest.approx(72.5)
    assert [b.count for b in scores.histogram][9] == 3


def test_question_difficulty(built: Built, enablement: User) -> None:
    report = reports.program_report(built.program, viewer=enablement, now=NOW)
    assert [q.step for q in report.quizzes] == [built.quiz]
    q1, q2 = report.quizzes[0].questions
    assert (q1.answered, q1.right) == (7, 4)
    assert (q2.answered, q2.right) == (7, 3)
    assert q2.share_right == pytest.approx(3 / 7)
    # First attempts only (l4's retry left out): Q1 3 of 6, Q2 2 of 6.
    assert (q1.first_answered, q1.first_right, q2.first_right) == (6, 3, 2)


def test_by_track_and_time_spent(built: Built, enablement: User) -> None:
    report = reports.program_report(built.program, viewer=enablement, now=NOW)
    assert [(t.role, t.enrolled, t.completed) for t in report.by_track] == [
        ("sales", 6, 3),
        ("support", 3, 1),
        ("", 4, 1),
    ]
    assert report.by_track[-1].label == "Shared track only"
    assert report.time_spent == pytest.approx(15)


def test_reread_counts_follow_a_changed_card(built: Built, enablement: User) -> None:
    card = built.card_step.card
    enrolment.mark_card_changed(card.pk, card.version + 1)
    (row,) = reports.program_report(built.program, viewer=enablement, now=NOW).reread
    # Read by l1-l6 and the manager; all of them read the old version.
    assert (row.step, row.completed, row.needs_reread, row.caught_up) == (built.card_step, 7, 7, 0)


def test_empty_program(make_program, enablement: User) -> None:
    program = make_program(shared=["card"])
    report = reports.program_report(program, viewer=enablement, now=NOW)
    assert (report.enrolled, report.completed, report.completion_rate) == (0, 0, None)
    assert all(bar.count == 0 and bar.share == 0 for bar in report.funnel)
    assert report.completion_over_time == []
    assert (report.scores.n, report.scores.mean, report.scores.median) == (0, None, None)
    assert report.time_spent is None
    assert report.nps.value is None and report.nps.n == 0


# ---------------------------------------------------------------- NPS and comments


def test_nps_hidden_below_the_minimum_then_shown_with_its_interval(
    built: Built, enablement: User
) -> None:
    for name, score in (("l1", 10), ("l2", 9), ("l3", 8), ("l4", 6)):
        answer_survey(built, name, score, comment=f"Comment from {name}")
    report = reports.program_report(built.program, viewer=enablement, now=NOW)
    assert report.nps.n == 4
    assert (report.nps.value, report.nps.ci_low, report.nps.ci_high) == (None, None, None)
    assert report.comments == []

    answer_survey(built, "l5", 10)
    report = reports.program_report(built.program, viewer=enablement, now=NOW)
    # 3 promoters, 1 passive, 1 detractor of 5: 60% - 20% = 40.
    assert (report.nps.value, report.nps.n) == (40.0, 5)
    assert report.nps == surveys.nps([10, 9, 8, 6, 10], min_n=5)
    assert report.nps.ci_low is not None and report.nps.ci_high is not None
    assert report.nps.ci_low < 40 < report.nps.ci_high


def test_comments_are_anonymous_except_for_admins(
    built: Built, enablement: User, admin: User
) -> None:
    for name, score in (("l1", 10), ("l2", 9), ("l3", 8), ("l4", 6), ("l5", 10)):
        answer_survey(built, name, score, comment=f"Comment from {name}")
    seen_by_enablement = reports.program_report(built.program, viewer=enablement, now=NOW)
    assert len(seen_by_enablement.comments) == 5
    assert all(c.respondent is None for c in seen_by_enablement.comments)
    assert all(c.submitted_at is None for c in seen_by_enablement.comments)

    seen_by_admin = reports.program_report(built.program, viewer=admin, now=NOW)
    assert {c.respondent for c in seen_by_admin.comments} == {
        built.people[n] for n in ("l1", "l2", "l3", "l4", "l5")
    }


# ---------------------------------------------------------------- who may see it


def test_report_is_for_program_managers_only(
    built: Built, manager: User, rep: User, outsider: User
) -> None:
    for viewer in (manager, rep, outsider):
        with pytest.raises(PermissionDenied):
            reports.program_report(built.program, viewer=viewer, now=NOW)
        with pytest.raises(PermissionDenied):
            list(reports.questions_csv(built.program, viewer))


def test_program_owner_who_is_not_enablement_gets_the_report(built: Built, manager: User) -> None:
    Program.objects.filter(pk=built.program.pk).update(owner=manager)
    built.program.refresh_from_db()
    report = reports.program_report(built.program, viewer=manager, now=NOW)
    assert report.enrolled == 13


# ---------------------------------------------------------------- queries


def test_report_queries_do_not_grow_with_learners(
    built: Built, enablement: User, make_program
) -> None:
    with CaptureQueriesContext(connection) as first:
        reports.program_report(built.program, viewer=enablement, now=NOW)
    # Six more learners who complete and answer the survey.
    for i in range(6):
        person = make_user(f"more{i}@example.com", job_function=JobFunction.SALES)
        built.people[f"more{i}"] = person
        built.program.audience_users.add(person)
    enrolment.sync_audience(built.program, now=LAUNCH)
    for i in range(6):
        built.finish(f"more{i}", day=2, minutes=5, quiz=(True, True))
        answer_survey(built, f"more{i}", 9, comment="Fine")
    with CaptureQueriesContext(connection) as second:
        report = reports.program_report(built.program, viewer=enablement, now=NOW)
    assert report.enrolled == 19
    assert len(second) == len(first)
    # Funnel, completion series, scores, two medians, quiz steps, one per quiz step, survey
    # answers and questions, tracks, re-reads: 11 here, one more per further quiz step.
    assert len(second) <= 11, [q["sql"][:80] for q in second.captured_queries]


# ---------------------------------------------------------------- CSV


def read_csv(rows) -> list[list[str]]:
    text = "".join(reports.csv_stream(rows))
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_enrollments_csv_for_the_program_team(built: Built, enablement: User) -> None:
    Enrollment.objects.filter(pk=built.enrollment("l1").pk).update(score=100.0)
    header, *rows = read_csv(reports.enrollments_csv(built.program, enablement, now=NOW))
    assert header == [
        "Name",
        "Email",
        "Manager email",
        "Track",
        "State",
        "Enrolled",
        "Released",
        "Due",
        "Completed",
        "Score",
        "Time spent (minutes)",
        "Cycle",
    ]
    assert len(rows) == 13
    by_email = {row[1]: row for row in rows}
    assert by_email["l1@example.com"] == [
        "L1",
        "l1@example.com",
        "",
        "Sales",
        "Completed",
        "2026-03-02 09:00",
        "2026-03-02 09:00",
        "2026-03-16 09:00",
        "2026-03-03 10:10",
        "100.0",
        "10",
        "1",
    ]
    assert by_email["rep@example.com"][2:5] == [
        "manager@example.com",
        "Sales",
        "Waiting for manager",
    ]
    assert by_email["rep@example.com"][6:8] == ["", ""]  # not released, no due date yet
    assert by_email["l10@example.com"][4] == "Overdue"
    assert by_email["rep2@example.com"][3] == ""  # no role track for success


def test_enrollments_csv_includes_earlier_cycles(built: Built, enablement: User) -> None:
    old = built.enrollment("l1")
    Enrollment.objects.filter(pk=old.pk).update(superseded=True)
    Enrollment.objects.create(program=built.program, user=old.user, cycle=2, track_role="sales")
    rows = read_csv(reports.enrollments_csv(built.program, enablement, now=NOW))[1:]
    assert [r[-1] for r in rows if r[1] == "l1@example.com"] == ["1", "2"]


def test_a_line_manager_gets_only_their_own_and_their_reports_rows(
    built: Built, manager: User, outsider: User
) -> None:
    rows = read_csv(reports.enrollments_csv(built.program, manager, now=NOW))[1:]
    assert sorted(r[1] for r in rows) == [
        "manager@example.com",
        "rep2@example.com",
        "rep@example.com",
    ]
    assert read_csv(reports.enrollments_csv(built.program, outsider, now=NOW))[1:] == []


def test_csv_in_russian_with_cyrillic_names_and_no_formulas(built: Built, enablement: User) -> None:
    User.objects.filter(pk=built.people["l1"].pk).update(name="Ирина Смирнова")
    User.objects.filter(pk=built.people["l2"].pk).update(name='=HYPERLINK("http://x")')
    with translation.override("ru"):
        text = "".join(reports.csv_stream(reports.enrollments_csv(built.program, enablement)))
    data = text.encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(text[1:])))
    names = [r[0] for r in rows[1:]]
    assert "Ирина Смирнова" in names
    assert '\'=HYPERLINK("http://x")' in names


def test_questions_csv(built: Built, enablement: User) -> None:
    header, *rows = read_csv(reports.questions_csv(built.program, enablement))
    assert header[:5] == ["Quiz", "Question", "Answers", "Answered right", "Share right (%)"]
    assert rows == [
        [built.quiz.title, "Which plan has SSO?", "7", "4", "57", "6", "3", "50"],
        [built.quiz.title, "Insights works offline.", "7", "3", "43", "6", "2", "33"],
    ]


# ---------------------------------------------------------------- every org chart


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(chart=org_charts())
def test_exports_and_report_follow_the_access_rule(chart: dict) -> None:
    """Over random org charts: the enrolment CSV lists exactly the enrolments the viewer
    may see, and the report and the question CSV open only for the program's managers,
    whose counts cover the whole program."""
    with rolled_back():
        users, enrollments = build_chart(chart)
        for index, user in enumerate(users):
            for program in Program.objects.all():
                rows = list(reports.enrollments_csv(program, user, now=NOW))[1:]
                expected = sorted(
                    e.user.email
                    for e in enrollments
                    if e.program_id == program.pk and expected_visible(user, index, chart, e)
                )
                assert sorted(row[1] for row in rows) == expected
                person = chart["people"][index]
                manages = person["active"] and (
                    person["admin"]
                    or person["function"] == JobFunction.ENABLEMENT
                    or program.owner_id == user.pk
                )
                if manages:
                    report = reports.program_report(program, viewer=user, now=NOW)
                    assert report.enrolled == sum(e.program_id == program.pk for e in enrollments)
                    list(reports.questions_csv(program, user))
                else:
                    with pytest.raises(PermissionDenied):
                        reports.program_report(program, viewer=user, now=NOW)
                    with pytest.raises(PermissionDenied):
                        list(reports.questions_csv(program, user))
