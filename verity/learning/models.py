"""Enablement programs: tracks of steps built from cards, enrolments and their progress.

A program has one shared track and optional role tracks; a learner follows the shared track
and then the track of their job function. Enrolments carry the state of one learner in one
program (one row per certification cycle: a lapsed certification starts a new cycle, the old
row stays as history). Everything a learner does on a step is a StepProgress row, plus the
quiz attempts, practice submissions and survey responses behind it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from verity.accounts.models import Group, JobFunction
from verity.knowledge.models import Card


class ProgramKind(models.TextChoices):
    ONBOARDING = "onboarding", _("Onboarding")
    LAUNCH = "launch", _("Product launch")
    SKILLS = "skills", _("Skills")
    COMPLIANCE = "compliance", _("Compliance")


class ProgramStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")  # being built: nobody is enrolled yet
    ACTIVE = "active", _("Active")  # assigned: the audience is enrolled and kept in sync
    ARCHIVED = "archived", _("Archived")  # closed: no new enrolments, history kept


class TrackRole(models.TextChoices):
    SHARED = "shared", _("Shared")
    SALES = JobFunction.SALES.value, JobFunction.SALES.label
    SUCCESS = JobFunction.SUCCESS.value, JobFunction.SUCCESS.label
    SUPPORT = JobFunction.SUPPORT.value, JobFunction.SUPPORT.label
    LEADERSHIP = JobFunction.LEADERSHIP.value, JobFunction.LEADERSHIP.label


class Program(models.Model):
    name = models.CharField(_("name"), max_length=200)
    goal = models.TextField(_("goal"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="owned_programs",
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=ProgramKind.choices, default=ProgramKind.ONBOARDING
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ProgramStatus.choices, default=ProgramStatus.DRAFT
    )

    # Audience: anyone matching any of these is enrolled.
    audience_functions = models.JSONField(
        _("job functions"), default=list, blank=True, help_text=_("Job function values")
    )
    audience_groups = models.ManyToManyField(
        Group, verbose_name=_("groups"), blank=True, related_name="programs"
    )
    audience_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("people"), blank=True, related_name="+"
    )
    audience_new_hires = models.BooleanField(
        _("new hires on their hire date"),
        default=False,
        help_text=_("Enrol everyone whose hire date is on or after the program's launch."),
    )

    # Due rule: N days after the enrolment is released, or a fixed date (one or neither).
    due_days = models.PositiveIntegerField(_("due after (days)"), null=True, blank=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    recertify_months = models.PositiveIntegerField(
        _("recertify every (months)"), null=True, blank=True
    )

    leaders_first = models.BooleanField(_("leaders first"), default=False)
    # Leaders first: reports still waiting for their manager are released on this date.
    release_date = models.DateField(_("release date"), null=True, blank=True)

    end_survey = models.BooleanField(_("survey at the end"), default=True)

    launched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(due_days__isnull=True) | models.Q(due_date__isnull=True),
                name="program_single_due_rule",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Track(models.Model):
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="tracks")
    role = models.CharField(_("role"), max_length=20, choices=TrackRole.choices)

    class Meta:
        ordering = ["program", "role"]
        constraints = [
            models.UniqueConstraint(fields=["program", "role"], name="one_track_per_role")
        ]

    def __str__(self) -> str:
        return f"{self.program}: {self.get_role_display()}"

    @property
    def is_shared(self) -> bool:
        return self.role == TrackRole.SHARED


class StepKind(models.TextChoices):
    CARD = "card", _("Read a card")
    LESSON = "lesson", _("Lesson")
    QUIZ = "quiz", _("Quiz")
    PRACTICE = "practice", _("Practice task")
    SURVEY = "survey", _("Survey")


class Step(models.Model):
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(_("kind"), max_length=10, choices=StepKind.choices)
    title = models.CharField(_("title"), max_length=300)
    required = models.BooleanField(_("required"), default=True)
    # Card steps: the card to read. PROTECT: cards are archived, never deleted, in use.
    card = models.ForeignKey(
        Card, null=True, blank=True, on_delete=models.PROTECT, related_name="program_steps"
    )
    # Lessons and practice tasks: Markdown (the practice task's instructions).
    body = models.TextField(_("text"), blank=True)
    body_html = models.TextField(blank=True, help_text="Sanitised HTML rendered from body")
    video_url = models.URLField(_("video link"), blank=True)
    # Quizzes.
    pass_mark = models.PositiveSmallIntegerField(_("pass mark (%)"), default=80)
    max_attempts = models.PositiveSmallIntegerField(
        _("attempts allowed"), null=True, blank=True, help_text=_("Empty: unlimited")
    )
    shuffle = models.BooleanField(_("randomise question and answer order"), default=True)
    # Practice tasks: the criteria the manager scores 1-5 (one to five of them).
    rubric = models.JSONField(_("rubric"), default=list, blank=True)

    class Meta:
        ordering = ["track", "position", "pk"]
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="card") | models.Q(card__isnull=False),
                name="card_step_has_card",
            )
        ]

    def __str__(self) -> str:
        return self.title


class QuestionKind(models.TextChoices):
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    TRUE_FALSE = "true_false", _("True or false")


class Question(models.Model):
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(
        _("kind"), max_length=12, choices=QuestionKind.choices, default=QuestionKind.SINGLE
    )
    text = models.TextField(_("question"))
    explanation = models.TextField(_("explanation"), blank=True)

    class Meta:
        ordering = ["step", "position", "pk"]

    def __str__(self) -> str:
        return self.text[:80]


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    position = models.PositiveIntegerField(default=0)
    text = models.CharField(_("answer"), max_length=500)
    correct = models.BooleanField(_("correct"), default=False)

    class Meta:
        ordering = ["question", "position", "pk"]

    def __str__(self) -> str:
        return self.text


class SurveyQuestionKind(models.TextChoices):
    RATING = "rating", _("Rating 1-5")
    TEXT = "text", _("Free text")


class SurveyQuestion(models.Model):
    """A custom question beside the built-in 0-10 recommend question and comment: on the
    program's end survey (step is null) or on one survey step."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="survey_questions")
    step = models.ForeignKey(
        Step, null=True, blank=True, on_delete=models.CASCADE, related_name="survey_questions"
    )
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(
        max_length=10, choices=SurveyQuestionKind.choices, default=SurveyQuestionKind.RATING
    )
    text = models.CharField(_("question"), max_length=500)

    class Meta:
        ordering = ["program", "step", "position", "pk"]

    def __str__(self) -> str:
        return self.text


class EnrollmentState(models.TextChoices):
    WAITING = "waiting", _("Waiting for manager")
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    # Never stored: an enrolment past its due date that is not completed is shown as overdue.
    OVERDUE = "overdue", _("Overdue")


class EnrollmentReason(models.TextChoices):
    AUDIENCE = "audience", _("In the audience")
    LEADER = "leader", _("Manager of the audience")
    JOINED = "joined", _("Joined their team's training")
    RECERTIFICATION = "recertification", _("Recertification")


class Enrollment(models.Model):
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="enrollments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments"
    )
    # 1 for the first time; each recertification after a lapse is the next cycle.
    cycle = models.PositiveIntegerField(default=1)
    reason = models.CharField(
        max_length=20, choices=EnrollmentReason.choices, default=EnrollmentReason.AUDIENCE
    )
    # The role track this learner follows after the shared one ("" when none fits).
    track_role = models.CharField(max_length=20, choices=TrackRole.choices, blank=True)
    state = models.CharField(
        max_length=12,
        choices=[c for c in EnrollmentState.choices if c[0] != EnrollmentState.OVERDUE],
        default=EnrollmentState.NOT_STARTED,
    )
    # Leaders first: the manager this enrolment waits for (kept after release, for the record).
    waiting_on = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enrolled_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Mean of the learner's best quiz scores (0-100); None until a quiz is taken.
    score = models.FloatField(null=True, blank=True)
    time_spent_seconds = models.PositiveIntegerField(default=0)
    reminded_at = models.DateTimeField(null=True, blank=True)
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    # A newer cycle exists: this row is history (a lapsed certification).
    superseded = models.BooleanField(default=False)

    class Meta:
        ordering = ["program", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "user", "cycle"], name="one_enrollment_per_cycle"
            )
        ]
        indexes = [models.Index(fields=["user", "superseded", "state"])]
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")

    def __str__(self) -> str:
        return f"{self.user} in {self.program}"

    def display_state(self, now: object = None) -> str:
        """The state shown to people and in the API: overdue is derived from the due date."""
        moment = now or timezone.now()
        if (
            self.state in (EnrollmentState.NOT_STARTED, EnrollmentState.IN_PROGRESS)
            and self.due_at is not None
            and self.due_at < moment  # type: ignore[operator]
        ):
            return EnrollmentState.OVERDUE
        return self.state


class StepProgress(models.Model):
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="progress")
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="progress")
    opened_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Card steps: the card version acknowledged; a newer version of the card's text sets
    # needs_reread until the learner acknowledges again.
    card_version = models.PositiveIntegerField(null=True, blank=True)
    needs_reread = models.BooleanField(default=False)
    # Quizzes: best score (0-100) and whether any attempt passed.
    score = models.FloatField(null=True, blank=True)
    passed = models.BooleanField(null=True)
    time_spent_seconds = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "step"], name="one_progress_per_step")
        ]

    def __str__(self) -> str:
        return f"{self.enrollment}: {self.step}"


class QuizAttempt(models.Model):
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="quiz_attempts"
    )
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    # The order the learner saw: [[question id, [choice ids]], ...].
    order = models.JSONField(default=list)
    started_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    passed = models.BooleanField(null=True)

    class Meta:
        ordering = ["enrollment", "step", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "step", "number"], name="one_attempt_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.enrollment}: {self.step} #{self.number}"


class QuizAnswer(models.Model):
    attempt = models.ForeignKey(QuizAttempt, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    choice_ids = models.JSONField(default=list)
    correct = models.BooleanField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["attempt", "question"], name="one_answer_per_question")
        ]

    def __str__(self) -> str:
        return f"{self.attempt}: {self.question_id}"


class PracticeState(models.TextChoices):
    SUBMITTED = "submitted", _("Waiting for review")
    REVIEWED = "reviewed", _("Reviewed")


class PracticeSubmission(models.Model):
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="practice_submissions"
    )
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="submissions")
    text = models.TextField(_("answer"), blank=True)
    link = models.URLField(_("link"), blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(
        max_length=10, choices=PracticeState.choices, default=PracticeState.SUBMITTED
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # One score 1-5 per rubric criterion, in the rubric's order.
    scores = models.JSONField(default=list, blank=True)
    feedback = models.TextField(_("feedback"), blank=True)

    class Meta:
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"{self.enrollment}: {self.step}"


class SurveyResponse(models.Model):
    """One learner's answers to a program's end survey (step null) or a survey step. The
    enrolment is kept so nobody answers twice; pages show it without names except to admins."""

    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="survey_responses"
    )
    step = models.ForeignKey(
        Step, null=True, blank=True, on_delete=models.CASCADE, related_name="survey_responses"
    )
    recommend = models.PositiveSmallIntegerField(_("how likely to recommend (0-10)"))
    comment = models.TextField(_("comment"), blank=True)
    # Custom questions: {"<survey question id>": 1-5 or text}.
    answers = models.JSONField(default=dict, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "step"],
                condition=models.Q(step__isnull=False),
                name="one_response_per_survey_step",
            ),
            models.UniqueConstraint(
                fields=["enrollment"],
                condition=models.Q(step__isnull=True),
                name="one_end_survey_response",
            ),
            models.CheckConstraint(condition=models.Q(recommend__lte=10), name="recommend_0_10"),
        ]

    def __str__(self) -> str:
        return f"{self.enrollment}: {self.recommend}"
