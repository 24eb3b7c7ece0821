"""Enablement programs for the demo, with learners at every stage.

The programs, their steps and who is where come from programs.yaml. Nothing about progress
is written by hand: every step is opened, read, attempted, handed in, reviewed and answered
through the learning services with `now=` set in the past, so the scores, times spent,
completions, released reports and "updated — re-read" marks are what the product itself
computes. Only the moments the services stamp with "now" on enrolment (enrolled, released,
due, and a recertification's new cycle) are moved back afterwards: an onboarding enrolment
really began on the person's first day, not when the demo was loaded.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from verity.accounts.models import Group, User
from verity.core.models import Job
from verity.knowledge import services as knowledge
from verity.knowledge.models import Card, CardVersion
from verity.learning import builder, enrolment, practice, quizzes, surveys
from verity.learning.models import (
    Enrollment,
    EnrollmentState,
    Program,
    Question,
    QuestionKind,
    Step,
    StepKind,
    StepProgress,
    SurveyQuestionKind,
    TrackRole,
)

HERE = Path(__file__).resolve().parent
DOMAIN = "@northwind.example"
OPEN_STATES = (EnrollmentState.NOT_STARTED, EnrollmentState.IN_PROGRESS)


def plan() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((HERE / "programs.yaml").read_text(encoding="utf-8"))
    return data


def find_card(ref: str) -> Card:
    """A demo card by its file slug ("company-handbook/first-week"), its generated id
    ("product-flow") or, failing both, its exact title."""
    card = Card.objects.filter(external_id=f"demo:{ref}").first()
    card = card or Card.objects.filter(title=ref).first()
    if card is None:  # the data file names a card that is not there: a bug in the data
        raise ValueError(f"programs.yaml: no demo card {ref!r}")
    return card


@dataclass
class ProgramsSummary:
    programs: int = 0
    enrollments: int = 0
    survey_answers: int = 0


class ProgramLoader:
    def __init__(self, *, users: list[User], now: datetime, seed: int) -> None:
        # Its own generator: adding training must not change the cards or the searches.
        self.rng = random.Random(seed)
        self.now = now
        self.latest = now - timedelta(minutes=30)  # nothing in the demo happens "just now"
        # Fresh rows: the loader set languages and join dates with update().
        self.users = {
            u.email: u
            for u in User.objects.filter(pk__in=[u.pk for u in users]).select_related("manager")
        }
        self.data = plan()
        self.miss: dict[int, float] = {}  # question id -> how often it is missed first time
        self.step_spec: dict[int, dict[str, Any]] = {}
        self.score_index: Counter[str] = Counter()
        self.pools: dict[tuple[str, ...], list[str]] = {}
        self.summary = ProgramsSummary()

    def person(self, handle: str) -> User:
        return self.users[handle if "@" in handle else f"{handle}{DOMAIN}"]

    # ------------------------------------------------------------ building

    def build(self, spec: dict[str, Any]) -> Program:
        owner = self.person(spec["owner"])
        audience = spec.get("audience", {})
        release = spec.get("release_in_days")
        program = builder.program_create(
            user=owner,
            name=spec["name"],
            kind=spec["kind"],
            goal=spec.get("goal", ""),
            owner=owner,
            audience_functions=audience.get("functions", []),
            audience_groups=Group.objects.filter(name__in=audience.get("groups", [])),
            audience_new_hires=bool(audience.get("new_hires")),
            due_days=spec.get("due_days"),
            recertify_months=spec.get("recertify_months"),
            leaders_first=bool(spec.get("leaders_first")),
            release_date=(
                timezone.localdate(self.now) + timedelta(days=release)
                if release is not None
                else None
            ),
            end_survey=spec.get("end_survey", True),
        )
        for question in spec.get("end_survey_questions", []):
            builder.survey_question_add(
                user=owner, program=program, text=question["text"], kind=question["kind"]
            )
        for role, steps in spec["tracks"].items():
            if role == TrackRole.SHARED:
                track = program.tracks.get(role=TrackRole.SHARED)
            else:
                track = builder.track_add(user=owner, program=program, role=role)
            for step_spec in steps:
                step = self.add_step(owner, program, track, step_spec)
                self.step_spec[step.pk] = step_spec
        return program

    def add_step(self, owner: User, program: Program, track: Any, spec: dict[str, Any]) -> Step:
        required = bool(spec.get("required", True))
        if "card" in spec:
            return builder.step_add(
                user=owner,
                track=track,
                kind=StepKind.CARD,
                card=find_card(spec["card"]),
                required=required,
            )
        if "lesson" in spec:
            return builder.step_add(
                user=owner,
                track=track,
                kind=StepKind.LESSON,
                title=spec["lesson"],
                body=spec.get("body", ""),
                video_url=spec.get("video_url", ""),
                required=required,
            )
        if "quiz" in spec:
            step = builder.step_add(
                user=owner,
                track=track,
                kind=StepKind.QUIZ,
                title=spec["quiz"],
                pass_mark=spec.get("pass_mark", 80),
                max_attempts=spec.get("max_attempts"),
                required=required,
            )
            for q in spec["questions"]:
                if q["kind"] == QuestionKind.TRUE_FALSE:
                    choices = quizzes.true_false(bool(q["answer"]))
                else:
                    choices = [(str(text), bool(correct)) for text, correct in q["choices"]]
                question = builder.quiz_question_add(
                    user=owner,
                    step=step,
                    kind=q["kind"],
                    text=q["text"],
                    explanation=q.get("explanation", ""),
                    choices=choices,
                )
                self.miss[question.pk] = float(q.get("miss", 0.15))
            return step
        if "practice" in spec:
            return builder.step_add(
                user=owner,
                track=track,
                kind=StepKind.PRACTICE,
                title=spec["practice"],
                body=spec["body"],
                rubric=spec.get("rubric", []),
                required=required,
            )
        if "survey" in spec:
            step = builder.step_add(
                user=owner,
                track=track,
                kind=StepKind.SURVEY,
                title=spec["survey"],
                body=spec.get("body", ""),
                required=required,
            )
            for question in spec.get("questions", []):
                builder.survey_question_add(
                    user=owner,
                    program=program,
                    step=step,
                    text=question["text"],
                    kind=question["kind"],
                )
            return step
        raise ValueError(f"programs.yaml: a step of an unknown kind: {spec}")

    # ------------------------------------------------------------ time

    def days(self, low: float, high: float) -> timedelta:
        return timedelta(days=self.rng.uniform(low, high))

    def minutes(self, low: int, high: int) -> timedelta:
        return timedelta(minutes=self.rng.randint(low, high))

    def before_now(self, moment: datetime) -> datetime:
        return min(moment, self.latest)

    def window(self, begin: datetime, low: float, high: float) -> tuple[datetime, datetime]:
        """When a learner works: from a few hours after `begin` to `low`-`high` days after
        it, and never later than now."""
        end = self.before_now(begin + self.days(low, high))
        start = begin + timedelta(hours=self.rng.uniform(2, 30))
        if start >= end:
            start = begin + (end - begin) * 0.2
        return start, end

    def office_hours(self, moment: datetime, floor: datetime) -> datetime:
        """The same day in working hours, if that is still after `floor` and in the past."""
        local = timezone.localtime(moment)
        moved = local.replace(
            hour=self.rng.randint(9, 17), minute=self.rng.randint(0, 59), second=0, microsecond=0
        )
        if moved <= floor:  # earlier that day than the floor: the next working morning
            moved += timedelta(days=1)
        return moved if floor < moved < self.latest else moment

    def schedule(self, start: datetime, end: datetime, n: int) -> list[datetime]:
        """`n` moments spread from `start` to `end`, in order, mostly in working hours."""
        span = max((end - start).total_seconds(), 60.0)
        times: list[datetime] = []
        for i in range(n):
            moment = start + timedelta(seconds=span * (i + self.rng.uniform(0.1, 0.9)) / n)
            moment = self.office_hours(moment, times[-1] if times else start)
            if times and moment <= times[-1] + timedelta(minutes=10):
                moment = times[-1] + self.minutes(12, 40)
            times.append(self.before_now(moment))
        return times

    # ------------------------------------------------------------ learning

    def wants_optional(self, user: User, step: Step) -> bool:
        lang = self.step_spec.get(step.pk, {}).get("lang")
        if lang:  # a card in another language: for the people who speak it
            return user.language == lang
        return self.rng.random() < (0.6 if step.kind == StepKind.SURVEY else 0.5)

    def steps_to_do(self, enrollment: Enrollment, learner: dict[str, Any]) -> list[Step]:
        steps = enrolment.learner_steps(enrollment)
        if learner["stage"] != EnrollmentState.COMPLETED:
            through = learner.get("through", 0)
            if through == StepKind.PRACTICE:
                kinds = [s.kind for s in steps]
                through = kinds.index(StepKind.PRACTICE) + 1
            steps = steps[: int(through)]
        return [s for s in steps if s.required or self.wants_optional(enrollment.user, s)]

    def learn(
        self, enrollment: Enrollment, learner: dict[str, Any], start: datetime, end: datetime
    ) -> None:
        """Work through the learner's steps between `start` and `end` as `learner` says:
        all of them (completed), the first `through` (in progress) or none."""
        if learner["stage"] in (EnrollmentState.WAITING, EnrollmentState.NOT_STARTED):
            return
        todo = self.steps_to_do(enrollment, learner)
        # The services fetch and lock the enrolment themselves (and refresh the object
        # passed in), so no refresh is needed between steps.
        for step, moment in zip(todo, self.schedule(start, end, len(todo)), strict=True):
            if step.kind in (StepKind.CARD, StepKind.LESSON):
                enrolment.open_step(enrollment, step, now=moment)
                read = self.minutes(3, 14) if step.kind == StepKind.CARD else self.minutes(8, 22)
                enrolment.complete_step(enrollment=enrollment, step=step, now=moment + read)
            elif step.kind == StepKind.QUIZ:
                self.take_quiz(enrollment, step, moment, bool(learner.get("fail_first")))
            elif step.kind == StepKind.PRACTICE:
                review = learner.get("practice", "reviewed") == "reviewed"
                if "handed_in_days_ago" in learner:  # the last thing they did, lately
                    recent = self.now - timedelta(days=learner["handed_in_days_ago"])
                    moment = self.office_hours(max(moment, recent), moment)
                self.hand_in(enrollment, step, moment, review=review)
            elif step.kind == StepKind.SURVEY:
                self.answer_step_survey(enrollment, step, moment)
        if learner["stage"] == EnrollmentState.COMPLETED:
            enrollment.refresh_from_db()
            if enrollment.state != EnrollmentState.COMPLETED:  # the data plan is inconsistent
                raise ValueError(f"{enrollment} should have completed")

    def wrong_answer(self, question: Question) -> list[int]:
        choices = list(question.choices.all())
        correct = [c.pk for c in choices if c.correct]
        wrong = [c.pk for c in choices if not c.correct]
        if question.kind == QuestionKind.MULTIPLE:
            if len(correct) > 1 and (not wrong or self.rng.random() < 0.6):
                return self.rng.sample(correct, len(correct) - 1)  # one right answer missed
            return [*correct, self.rng.choice(wrong)]  # one wrong answer ticked too
        return [self.rng.choice(wrong)]

    def take_quiz(self, enrollment: Enrollment, step: Step, moment: datetime, fail: bool) -> None:
        """Attempts until one passes: the first may fail (the data says so, or a learner just
        misses hard questions), later ones are better, the last one allowed passes."""
        questions = {q.pk: q for q in step.questions.prefetch_related("choices")}
        number = 0
        while True:
            number += 1
            attempt = quizzes.attempt_start(
                enrollment=enrollment, step=step, now=moment, rng=self.rng
            )
            ids = [int(qid) for qid, _choices in attempt.order]
            factor = 1.0 if number == 1 else 0.3
            right = {qid: self.rng.random() >= self.miss.get(qid, 0.15) * factor for qid in ids}

            must_pass = number >= 3 or (
                step.max_attempts is not None and number >= step.max_attempts
            )
            if fail and number == 1 and not must_pass:
                hard = sorted(ids, key=lambda qid: -self.miss.get(qid, 0.15))
                for qid in hard:
                    if 100 * sum(right.values()) / len(ids) < step.pass_mark:
                        break
                    right[qid] = False
            elif must_pass:
                right = dict.fromkeys(ids, True)
            answers = {
                qid: (
                    [c.pk for c in questions[qid].choices.all() if c.correct]
                    if right[qid]
                    else self.wrong_answer(questions[qid])
                )
                for qid in ids
            }
            done = quizzes.attempt_submit(
                attempt=attempt, answers=answers, now=self.before_now(moment + self.minutes(3, 9))
            )
            if done.passed:
                return
            # Back to the cards, another try later that day or the next.
            later = self.before_now(moment + timedelta(hours=self.rng.uniform(1, 26)))
            moment = self.office_hours(later, moment + timedelta(minutes=15))

    def language_of(self, user: User) -> str:
        return "ru" if user.language == "ru" else "en"

    def hand_in(self, enrollment: Enrollment, step: Step, moment: datetime, review: bool) -> None:
        spec = self.step_spec[step.pk]
        user = enrollment.user
        lang = self.language_of(user)
        texts = spec.get("answers", {}).get(lang) or spec.get("answers", {}).get("en") or ["Done."]
        link = ""
        if self.rng.random() < 0.5:
            link = f"https://drive.northwind.example/practice/{user.email.split('@')[0]}-opener"
        submission = practice.practice_submit(
            enrollment=enrollment, step=step, text=self.rng.choice(texts), link=link, now=moment
        )
        if not review:
            return
        reviewer = user.manager or enrollment.program.owner
        feedback = spec.get("feedback", {}).get(lang) or spec.get("feedback", {}).get("en") or [""]
        criteria = practice.rubric_of(step)
        practice.practice_review(
            reviewer=reviewer,
            submission=submission,
            scores=[self.rng.choice([3, 4, 4, 4, 5, 5]) for _ in criteria],
            feedback=self.rng.choice(feedback),
            now=self.office_hours(self.before_now(moment + self.days(0.3, 2.5)), moment),
        )

    def answer_step_survey(self, enrollment: Enrollment, step: Step, moment: datetime) -> None:
        answers = {
            str(q.pk): self.rng.choice([3, 4, 4, 5, 5])
            for q in step.survey_questions.filter(kind=SurveyQuestionKind.RATING)
        }
        surveys.survey_submit(
            enrollment=enrollment,
            step=step,
            recommend=self.rng.choice([7, 8, 8, 9, 9, 10, 10, 6]),
            answers=answers,
            now=moment,
        )

    def draw(self, pool: tuple[str, ...], texts: list[str], chance: float) -> str:
        """A text from the pool, or "" (left blank); each text is used once, so the report's
        comments are not the same sentence five times."""
        if pool not in self.pools:
            self.pools[pool] = self.rng.sample(texts, len(texts))
        if not self.pools[pool] or self.rng.random() > chance:
            return ""
        return self.pools[pool].pop()

    def answer_end_survey(self, key: str, enrollment: Enrollment) -> None:
        """The end-of-program survey: scores handed out in the data's order (so the program's
        NPS is what the data file says), with a comment that fits the score."""
        enrollment.refresh_from_db()
        data = self.data["surveys"]
        scores = data["scores"].get(key) or []
        program = enrollment.program
        if not scores or not program.end_survey or enrollment.state != EnrollmentState.COMPLETED:
            return
        if self.rng.random() > data["answer_share"].get(key, 0.8):
            return
        score = int(scores[self.score_index[key] % len(scores)])
        self.score_index[key] += 1
        bucket = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        lang = self.language_of(enrollment.user)
        texts = data["comments"].get(key, {}).get(bucket, {}).get(lang) or []
        comment = self.draw(("comments", key, bucket, lang), texts, 0.55)
        answers: dict[str, Any] = {}
        for question in program.survey_questions.filter(step__isnull=True):
            if question.kind == SurveyQuestionKind.RATING:
                answers[str(question.pk)] = max(1, min(5, round(score / 2)))
            elif bucket != "promoter":
                text = self.draw(("suggestions", lang), data["suggestions"][lang], 0.7)
                if text:
                    answers[str(question.pk)] = text
        assert enrollment.completed_at is not None
        done = enrollment.completed_at
        after = self.before_now(done + timedelta(hours=self.rng.uniform(0.1, 30)))
        surveys.survey_submit(
            enrollment=enrollment,
            recommend=score,
            comment=comment,
            answers=answers,
            now=self.office_hours(after, done),
        )
        self.summary.survey_answers += 1

    # ------------------------------------------------------------ enrolments

    def learner_plan(self, spec: dict[str, Any], user: User) -> dict[str, Any]:
        learners = spec.get("learners", {})
        handle = user.email.removesuffix(DOMAIN)
        return dict(learners.get("people", {}).get(handle) or learners["default"])

    def current(self, program: Program) -> list[Enrollment]:
        return list(
            Enrollment.objects.filter(program=program, superseded=False)
            .select_related("user__manager", "program")
            .order_by("user__email")
        )

    def start_on_first_day(self, program: Program, launched: datetime) -> None:
        """Enrolled at launch or on their first day, whichever came later (the services
        enrolled everybody at one moment: the demo's people all exist already)."""
        for enrollment in self.current(program):
            begin = max(launched, enrollment.user.date_joined)
            Enrollment.objects.filter(pk=enrollment.pk).update(
                enrolled_at=begin,
                released_at=begin,
                due_at=enrolment.due_at_for(program, begin),
            )

    def complete_in(self, learner: dict[str, Any]) -> tuple[float, float]:
        return (32, 40) if learner.get("late") else (8, 26)

    def run_self_paced(self, spec: dict[str, Any], program: Program) -> None:
        """Onboarding and compliance: enrolled at launch or on the first day, each learner
        working at their own pace; a lapsed certification starts its next cycle."""
        owner = self.person(spec["owner"])
        launched = self.now - timedelta(days=spec["launched_days_ago"])
        enrolment.program_launch(user=owner, program=program, now=launched)
        # People hired since (the new-hire rule): the daily job enrolled them as they came.
        enrolment.sync_audience(program, self.latest - timedelta(days=1))
        self.start_on_first_day(program, launched)
        change = spec.get("card_change")
        changed_at = self.now - timedelta(days=change["days_ago"]) if change else None
        for enrollment in self.current(program):
            learner = self.learner_plan(spec, enrollment.user)
            start, end = self.window(enrollment.enrolled_at, *self.complete_in(learner))
            if changed_at is not None and learner["stage"] != EnrollmentState.COMPLETED:
                end = min(end, changed_at)  # seen before the change, so asked to re-read
            self.learn(enrollment, learner, start, end)
        if spec.get("recertify_months"):
            self.recertify(spec, program)
        if change:
            self.change_card(program, change)
        late = spec.get("late_groups")
        if late:
            joined = self.now - timedelta(days=late["days_ago"])
            program.audience_groups.add(*Group.objects.filter(name__in=late["groups"]))
            for enrollment in enrolment.sync_audience(program, joined):
                enrollment = Enrollment.objects.select_related("user", "program").get(
                    pk=enrollment.pk
                )
                learner = self.learner_plan(spec, enrollment.user)
                self.learn(enrollment, learner, *self.window(joined, 1, late["days_ago"]))
        for enrollment in self.current(program):
            self.answer_end_survey(spec["key"], enrollment)

    def recertify(self, spec: dict[str, Any], program: Program) -> None:
        """Certifications older than the recertification period lapse through the service;
        each new cycle really began the day the old one expired."""
        lapsed = enrolment.lapse_certifications(self.now)
        renewed = [e for e in lapsed if e.program_id == program.pk]
        # The lapse emails are history too: nobody needs them on first start (registered
        # after the service's own on-commit hooks, so this runs after they queue the jobs).
        transaction.on_commit(
            lambda: Job.objects.filter(
                name="learning.notify_recertification", state=Job.State.QUEUED
            ).delete()
        )
        for new in renewed:
            old = Enrollment.objects.get(program=program, user=new.user, cycle=new.cycle - 1)
            assert old.expires_at is not None
            begin = old.expires_at
            Enrollment.objects.filter(pk=new.pk).update(
                enrolled_at=begin, released_at=begin, due_at=enrolment.due_at_for(program, begin)
            )
            new.refresh_from_db()
            learner = self.learner_plan(spec, new.user).get("recert") or {"stage": "not_started"}
            if self.now - begin < timedelta(days=2):  # lapsed just now: not had the time yet
                learner = {"stage": EnrollmentState.NOT_STARTED}
            self.learn(new, learner, *self.window(begin, 3, 20))

    def change_card(self, program: Program, change: dict[str, Any]) -> None:
        """A card in the program gets a new version after most people read it: the service
        marks them "updated — re-read"; a few have caught up since."""
        card = find_card(change["card"])
        when = self.now - timedelta(days=change["days_ago"])
        card = knowledge.card_update(
            user=self.person(change["by"]),
            card=card,
            expected_version=None,
            content=card.content.rstrip("\n") + "\n" + change["append"],
            note=change["note"],
        )
        CardVersion.objects.filter(card=card, number=card.version).update(created_at=when)
        Card.objects.filter(pk=card.pk).update(updated_at=when)
        for handle in change.get("reread", []):
            enrollment = enrolment.current_enrollment(program, self.person(handle))
            progress = StepProgress.objects.filter(
                enrollment=enrollment, step__card=card, needs_reread=True
            ).first()
            if enrollment is None or progress is None:
                continue
            moment = self.before_now(when + self.days(0.5, change["days_ago"] - 0.5))
            enrolment.open_step(enrollment, progress.step, now=moment)
            enrolment.complete_step(
                enrollment=enrollment, step=progress.step, now=moment + self.minutes(2, 6)
            )

    def run_leaders_first(self, spec: dict[str, Any], program: Program) -> None:
        """A launch: the managers are enrolled first and their reports wait; as a manager
        completes, the service releases their team. Learners are driven in the data's order,
        so a manager finishes before their reports start."""
        owner = self.person(spec["owner"])
        launched = self.now - timedelta(days=spec["launched_days_ago"])
        enrolment.program_launch(user=owner, program=program, now=launched)
        people = spec.get("learners", {}).get("people", {})
        for handle, learner in people.items():
            enrollment = enrolment.current_enrollment(program, self.person(handle))
            if enrollment is None:
                raise ValueError(f"programs.yaml: {handle} is not in {program}")
            if learner["stage"] == EnrollmentState.WAITING:
                continue
            if enrollment.state == EnrollmentState.WAITING:
                raise ValueError(f"programs.yaml: {handle} is still waiting for their manager")
            assert enrollment.released_at is not None
            begin = enrollment.released_at
            if "done_days_ago" in learner:
                end = self.now - timedelta(days=learner["done_days_ago"])
                start = begin + (end - begin) * self.rng.uniform(0.05, 0.3)
            else:
                start, end = self.window(begin, 1, 6)
            self.learn(enrollment, learner, start, end)
        for enrollment in self.current(program):
            self.answer_end_survey(spec["key"], enrollment)

    def mark_history(self, programs: list[Program]) -> None:
        """Reminders and overdue digests for dates already past were sent back then: the
        worker should not send a pile of them on first start."""
        reminder = timedelta(days=settings.VERITY_LEARNING_REMINDER_DAYS)
        for enrollment in Enrollment.objects.filter(
            program__in=programs, superseded=False, state__in=OPEN_STATES, due_at__isnull=False
        ):
            assert enrollment.due_at is not None
            fields: dict[str, Any] = {}
            if enrollment.due_at - reminder < self.now:
                fields["reminded_at"] = max(enrollment.due_at - reminder, enrollment.enrolled_at)
            if enrollment.due_at < self.now:
                fields["overdue_notified_at"] = min(enrollment.due_at + timedelta(days=1), self.now)
            if fields:
                Enrollment.objects.filter(pk=enrollment.pk).update(**fields)

    def load(self) -> ProgramsSummary:
        programs = []
        for spec in self.data["programs"]:
            if Program.objects.filter(name=spec["name"]).exists():
                continue  # loaded before: the demo is never loaded twice
            program = self.build(spec)
            if spec.get("leaders_first"):
                self.run_leaders_first(spec, program)
            else:
                self.run_self_paced(spec, program)
            programs.append(program)
        self.mark_history(programs)
        self.summary.programs = len(programs)
        self.summary.enrollments = Enrollment.objects.filter(program__in=programs).count()
        return self.summary


def load_programs(*, users: list[User], now: datetime, seed: int) -> ProgramsSummary:
    """Build the demo's programs and their learners' history; returns what was loaded."""
    with transaction.atomic():
        return ProgramLoader(users=users, now=now, seed=seed).load()
