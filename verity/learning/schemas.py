"""JSON shapes for programs, enrolments, quiz attempts, survey and report results, and xAPI
statements. The API views build plain dicts (from services and selectors) and these schemas
validate and document them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from ninja import Field, Schema

from verity.accounts.schemas import Id, JobFunctionName, Text, not_null

ProgramKindName = Literal["onboarding", "launch", "skills", "compliance"]
StateName = Literal["waiting", "not_started", "in_progress", "completed", "overdue"]


# ---------------------------------------------------------------- programs


class PersonRef(Schema):
    id: int
    name: str


class TrackSummary(Schema):
    id: int
    role: str
    steps: int = Field(..., description="Number of steps on the track")


class ProgramOut(Schema):
    id: int
    name: str
    goal: str
    kind: str
    status: str
    leaders_first: bool
    release_date: date | None
    owner: PersonRef
    due_days: int | None
    due_date: date | None
    recertify_months: int | None
    end_survey: bool
    launched_at: datetime | None
    created_at: datetime
    tracks: list[TrackSummary]


class ProgramPage(Schema):
    items: list[ProgramOut]
    count: int


class StepCard(Schema):
    id: int
    title: str
    verification_state: str


class QuizSettings(Schema):
    pass_mark: int
    max_attempts: int | None
    shuffle: bool
    questions: int


class StepOut(Schema):
    id: int
    position: int
    kind: str
    title: str
    required: bool
    card: StepCard | None = Field(
        None, description="Card steps: the card, or null if you cannot read it"
    )
    video_url: str
    quiz: QuizSettings | None = None
    rubric: list[str]


class TrackOut(Schema):
    id: int
    role: str
    steps: list[StepOut]


class ProgramDetail(ProgramOut):
    audience_functions: list[str]
    audience_groups: list[int]
    audience_users: list[int]
    audience_new_hires: bool
    track_details: list[TrackOut] = Field(..., description="Tracks with their ordered steps")


class ProgramCreate(Schema):
    name: Text = Field(..., max_length=200)
    kind: ProgramKindName = "onboarding"
    goal: Text = Field("", max_length=10_000)
    owner: Id | None = Field(None, description="Person id; you by default")
    audience_functions: list[JobFunctionName] = Field(default_factory=list, max_length=10)
    audience_groups: list[Id] = Field(default_factory=list, max_length=500)
    audience_users: list[Id] = Field(default_factory=list, max_length=5000)
    audience_new_hires: bool = False
    due_days: int | None = Field(None, ge=1, le=3650)
    due_date: date | None = None
    recertify_months: int | None = Field(None, ge=1, le=120)
    leaders_first: bool = False
    release_date: date | None = None
    end_survey: bool = True


class ProgramPatch(Schema):
    """Only the fields sent are changed."""

    name: Text | None = Field(None, max_length=200)
    kind: ProgramKindName | None = None
    goal: Text | None = Field(None, max_length=10_000)
    owner: Id | None = None
    audience_functions: list[JobFunctionName] | None = Field(None, max_length=10)
    audience_groups: list[Id] | None = Field(None, max_length=500)
    audience_users: list[Id] | None = Field(None, max_length=5000)
    audience_new_hires: bool | None = None
    due_days: int | None = Field(None, ge=1, le=3650)
    due_date: date | None = None
    recertify_months: int | None = Field(None, ge=1, le=120)
    leaders_first: bool | None = None
    release_date: date | None = None
    end_survey: bool | None = None

    _present = not_null(
        "name",
        "kind",
        "goal",
        "owner",
        "audience_functions",
        "audience_groups",
        "audience_users",
        "audience_new_hires",
        "leaders_first",
        "end_survey",
    )


# ---------------------------------------------------------------- enrolments


class Learner(Schema):
    id: int
    email: str
    name: str
    manager: int | None


class ProgressOut(Schema):
    done: int = Field(..., description="Required steps done")
    required: int
    percent: int


class StepRef(Schema):
    id: int
    kind: str
    title: str


class EnrollmentOut(Schema):
    id: int
    program: int
    user: Learner
    track: str = Field(..., description="The role track after the shared one; '' for none")
    state: StateName
    reason: str
    waiting_on: int | None
    enrolled_at: datetime
    released_at: datetime | None
    started_at: datetime | None
    due_at: datetime | None
    completed_at: datetime | None
    expires_at: datetime | None
    score: float | None
    time_spent_seconds: int
    cycle: int
    superseded: bool
    progress: ProgressOut


class EnrollmentPage(Schema):
    items: list[EnrollmentOut]
    count: int


class EnrollmentFilters(Schema):
    state: StateName | None = None
    history: bool = Field(False, description="Include earlier certification cycles")


class MyEnrollment(EnrollmentOut):
    program_name: str
    next_step: StepRef | None
    reread: list[StepRef] = Field(..., description="Steps whose card changed since you read it")


class MyEnrollmentPage(Schema):
    items: list[MyEnrollment]
    count: int


# ---------------------------------------------------------------- quizzes


class ChoiceOut(Schema):
    id: int
    text: str


class AttemptQuestion(Schema):
    id: int
    kind: str
    text: str
    choices: list[ChoiceOut]


class QuestionOutcome(Schema):
    id: int
    correct: bool
    explanation: str


class AttemptOut(Schema):
    id: int
    enrollment: int
    step: int
    number: int
    started_at: datetime
    submitted_at: datetime | None
    score: float | None
    passed: bool | None
    attempts_left: int | None = Field(..., description="null: unlimited")
    questions: list[AttemptQuestion] = Field(..., description="In the order to show them")
    outcomes: list[QuestionOutcome] = Field(
        default_factory=list, description="After submitting: which questions were right"
    )


class AnswersIn(Schema):
    answers: dict[str, list[Id]] = Field(
        ..., description='{"<question id>": [choice ids]}; a question left out counts as wrong'
    )


class QuizResultRow(Schema):
    enrollment: int
    user: Learner
    best_score: float | None
    attempts: int
    passed: bool


class QuestionStats(Schema):
    id: int
    text: str
    answered: int
    right: int
    share_right: float | None
    first_answered: int
    first_right: int
    first_share_right: float | None


class QuizResults(Schema):
    step: StepRef
    pass_mark: int
    results: list[QuizResultRow]
    questions: list[QuestionStats]


# ---------------------------------------------------------------- surveys and the report


class SurveyIn(Schema):
    recommend: int = Field(..., ge=0, le=10, description="How likely to recommend, 0-10")
    comment: Text = Field("", max_length=5000)
    answers: dict[str, Any] = Field(
        default_factory=dict, description='Custom questions: {"<id>": 1-5 or text}'
    )


class SurveyResponseOut(Schema):
    id: int
    enrollment: int
    recommend: int
    comment: str
    submitted_at: datetime


class NpsOut(Schema):
    value: float | None = Field(..., description="-100..100; null below the minimum n")
    n: int
    ci_low: float | None
    ci_high: float | None
    promoters: int | None
    passives: int | None
    detractors: int | None


class CommentOut(Schema):
    text: str
    respondent: Learner | None = Field(None, description="Site admins only")
    submitted_at: datetime | None = Field(None, description="Site admins only")


class SurveyQuestionResult(Schema):
    id: int
    text: str
    kind: str
    n: int
    average: float | None
    answers: list[CommentOut]


class SurveyResults(Schema):
    nps: NpsOut
    min_n: int
    hidden: bool = Field(..., description="Too few answers: only n is shown")
    names_shown: bool
    questions: list[SurveyQuestionResult]
    comments: list[CommentOut]


class QuizSummary(Schema):
    step: StepRef
    questions: list[QuestionStats]


class ScoresOut(Schema):
    n: int
    mean: float | None
    median: float | None


class ReportOut(Schema):
    enrolled: int
    completed: int
    completion_rate: float | None
    funnel: dict[str, int]
    scores: ScoresOut
    median_minutes: float | None
    nps: NpsOut
    quizzes: list[QuizSummary]


# ---------------------------------------------------------------- xAPI


class StatementParams(Schema):
    since: datetime | None = Field(None, description="Only statements after this moment")
    until: datetime | None = Field(None, description="Only statements up to this moment")
    limit: int = Field(100, ge=1, le=500)
    verb: str | None = Field(None, max_length=200, description="A verb IRI")
    agent: str | None = Field(None, max_length=500, description='JSON: {"mbox": "mailto:..."}')
    ascending: bool = False
    cursor: str | None = Field(None, max_length=200, description="From `more`; do not build")


class StatementResult(Schema):
    statements: list[dict[str, Any]]
    more: str
