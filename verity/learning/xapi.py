"""The learning history as xAPI 1.0.3 statements, built from the rows on the fly (no table).

Four sources, each already in the database:

- a completed enrolment → `completed` the program;
- a completed step (StepProgress.completed_at) → `completed` the step, or `experienced` for
  a card step (the learner acknowledged reading the card; ADL has no "acknowledged" verb);
- a quiz attempt started → `attempted` the quiz step;
- a quiz attempt submitted → `passed` or `failed` it, with the score.

Statements are ordered by (timestamp, source, row id) and read with a keyset cursor: each
source fetches at most one page past the cursor, and `heapq.merge` interleaves them, so a
page costs four small queries however long the history is. A statement's id is a UUID5 of
its source row and timestamp: the same statement keeps its id across calls, and a card
acknowledged again (the row's timestamp moves) is a new statement.

Who sees what is decided by the caller: `statements()` takes the enrolments to include,
which the API passes from `access.enrollments_visible_to`.
"""

from __future__ import annotations

import base64
import heapq
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from verity.learning.models import (
    Enrollment,
    EnrollmentState,
    QuizAttempt,
    Step,
    StepKind,
    StepProgress,
)

XAPI_VERSION = "1.0.3"
DEFAULT_LIMIT = 100
MAX_LIMIT = 500

# One namespace for every statement and registration id this site mints.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://verity.invalid/xapi")

ADL = "http://adlnet.gov/expapi/verbs/"
COMPLETED = ADL + "completed"
EXPERIENCED = ADL + "experienced"
ATTEMPTED = ADL + "attempted"
PASSED = ADL + "passed"
FAILED = ADL + "failed"
VERB_NAMES = {
    COMPLETED: "completed",
    EXPERIENCED: "experienced",
    ATTEMPTED: "attempted",
    PASSED: "passed",
    FAILED: "failed",
}

ACTIVITY_TYPES = {
    "program": "http://adlnet.gov/expapi/activities/course",
    StepKind.CARD: "http://id.tincanapi.com/activitytype/document",
    StepKind.LESSON: "http://adlnet.gov/expapi/activities/lesson",
    StepKind.QUIZ: "http://adlnet.gov/expapi/activities/assessment",
    StepKind.PRACTICE: "http://adlnet.gov/expapi/activities/performance",
    StepKind.SURVEY: "http://id.tincanapi.com/activitytype/survey",
}

# Sources, in the order they sort among statements with the same timestamp.
SRC_ATTEMPT_START = 0
SRC_STEP = 1
SRC_ATTEMPT_RESULT = 2
SRC_PROGRAM = 3

# Which sources can yield which verb (to skip whole sources when filtering by verb).
SOURCE_VERBS = {
    SRC_ATTEMPT_START: {ATTEMPTED},
    SRC_STEP: {COMPLETED, EXPERIENCED},
    SRC_ATTEMPT_RESULT: {PASSED, FAILED},
    SRC_PROGRAM: {COMPLETED},
}


class BadCursor(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Key:
    """Where a statement sorts: the keyset cursor is the key of the last one returned."""

    timestamp: datetime
    source: int
    pk: int

    def encode(self) -> str:
        raw = f"{self.timestamp.isoformat()}|{self.source}|{self.pk}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Key:
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            stamp, source, pk = raw.split("|")
            moment = datetime.fromisoformat(stamp)
            key = cls(moment, int(source), int(pk))
        except (ValueError, UnicodeDecodeError):
            raise BadCursor(value) from None
        if timezone.is_naive(moment) or key.source not in SOURCE_VERBS:
            raise BadCursor(value)
        return key


@dataclass(frozen=True)
class Filters:
    since: datetime | None = None  # exclusive, as in the xAPI spec
    until: datetime | None = None  # inclusive
    verb: str | None = None
    email: str | None = None  # the agent's mbox without "mailto:"
    ascending: bool = False
    after: Key | None = None  # the cursor: statements strictly past this key


# ---------------------------------------------------------------- URLs and pieces


def program_iri(program_id: int) -> str:
    return f"{settings.SITE_URL}/programs/{program_id}/"


def step_iri(program_id: int, step_id: int) -> str:
    # The step lives on its program's page; the fragment keeps the IRI unique and stable.
    return f"{program_iri(program_id)}#step-{step_id}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _duration(seconds: int) -> str:
    return f"PT{int(seconds)}S"


def _statement_id(source: int, pk: int, moment: datetime) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{source}:{pk}:{moment.isoformat()}"))


def registration(enrollment_id: int) -> str:
    """The xAPI registration of one enrolment: every statement of that enrolment shares it."""
    return str(uuid.uuid5(NAMESPACE, f"enrollment:{enrollment_id}"))


def _actor(enrollment: Enrollment) -> dict[str, Any]:
    user = enrollment.user
    return {"objectType": "Agent", "name": user.display_name, "mbox": f"mailto:{user.email}"}


def _verb(iri: str) -> dict[str, Any]:
    return {"id": iri, "display": {"en-US": VERB_NAMES[iri]}}


def _program_object(enrollment: Enrollment) -> dict[str, Any]:
    program = enrollment.program
    return {
        "objectType": "Activity",
        "id": program_iri(program.pk),
        "definition": {"name": {"en-US": program.name}, "type": ACTIVITY_TYPES["program"]},
    }


def _step_object(step: Step, program_id: int) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": step_iri(program_id, step.pk),
        "definition": {"name": {"en-US": step.title}, "type": ACTIVITY_TYPES[step.kind]},
    }


def _context(enrollment: Enrollment, with_parent: bool) -> dict[str, Any]:
    context: dict[str, Any] = {"registration": registration(enrollment.pk)}
    if with_parent:
        context["contextActivities"] = {"parent": [_program_object(enrollment)]}
    return context


def _statement(
    key: Key, enrollment: Enrollment, verb: str, obj: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    stamp = _iso(key.timestamp)
    return {
        "id": _statement_id(key.source, key.pk, key.timestamp),
        "actor": _actor(enrollment),
        "verb": _verb(verb),
        "object": obj,
        **extra,
        "context": _context(
            enrollment, with_parent=obj["id"] != program_iri(enrollment.program_id)
        ),
        "timestamp": stamp,
        # Built from the rows, not stored in an LRS: the moment it happened is when we knew.
        "stored": stamp,
        "version": XAPI_VERSION,
    }


# ---------------------------------------------------------------- the sources


def _window(rows: QuerySet[Any], field: str, source: int, filters: Filters) -> QuerySet[Any]:
    """Rows of one source inside since/until and past the cursor, in statement order."""
    rows = rows.filter(**{f"{field}__isnull": False})
    if filters.since is not None:
        rows = rows.filter(**{f"{field}__gt": filters.since})
    if filters.until is not None:
        rows = rows.filter(**{f"{field}__lte": filters.until})
    if filters.after is not None:
        after = filters.after
        op = "gt" if filters.ascending else "lt"
        past = Q(**{f"{field}__{op}": after.timestamp})
        if (source > after.source) if filters.ascending else (source < after.source):
            past |= Q(**{field: after.timestamp})
        elif source == after.source:
            past |= Q(**{field: after.timestamp, f"pk__{op}": after.pk})
        rows = rows.filter(past)
    order = [field, "pk"] if filters.ascending else [f"-{field}", "-pk"]
    return rows.order_by(*order)


def _program_statements(
    enrollments: QuerySet[Enrollment], filters: Filters, limit: int
) -> Iterator[tuple[Key, dict[str, Any]]]:
    rows = _window(
        enrollments.filter(state=EnrollmentState.COMPLETED), "completed_at", SRC_PROGRAM, filters
    ).select_related("user", "program")
    for enrollment in rows[:limit]:
        key = Key(enrollment.completed_at, SRC_PROGRAM, enrollment.pk)  # type: ignore[arg-type]
        result: dict[str, Any] = {
            "completion": True,
            "duration": _duration(enrollment.time_spent_seconds),
        }
        if enrollment.score is not None:
            result["score"] = {"scaled": round(enrollment.score / 100, 4)}
        yield (
            key,
            _statement(key, enrollment, COMPLETED, _program_object(enrollment), result=result),
        )


def _step_statements(
    enrollments: QuerySet[Enrollment], filters: Filters, limit: int
) -> Iterator[tuple[Key, dict[str, Any]]]:
    rows = StepProgress.objects.filter(enrollment__in=enrollments)
    if filters.verb == EXPERIENCED:
        rows = rows.filter(step__kind=StepKind.CARD)
    elif filters.verb == COMPLETED:
        rows = rows.exclude(step__kind=StepKind.CARD)
    rows = _window(rows, "completed_at", SRC_STEP, filters).select_related(
        "step", "step__track", "enrollment__user", "enrollment__program"
    )
    for progress in rows[:limit]:
        enrollment, step = progress.enrollment, progress.step
        key = Key(progress.completed_at, SRC_STEP, progress.pk)  # type: ignore[arg-type]
        verb = EXPERIENCED if step.kind == StepKind.CARD else COMPLETED
        result: dict[str, Any] = {
            "completion": True,
            "duration": _duration(progress.time_spent_seconds),
        }
        if progress.score is not None:
            result["score"] = {"scaled": round(progress.score / 100, 4)}
        if progress.passed is not None:
            result["success"] = progress.passed
        yield (
            key,
            _statement(
                key, enrollment, verb, _step_object(step, enrollment.program_id), result=result
            ),
        )


def _attempt_statements(
    enrollments: QuerySet[Enrollment], filters: Filters, limit: int, *, results: bool
) -> Iterator[tuple[Key, dict[str, Any]]]:
    rows = QuizAttempt.objects.filter(enrollment__in=enrollments)
    if results:
        if filters.verb in (PASSED, FAILED):
            rows = rows.filter(passed=filters.verb == PASSED)
        field, source = "submitted_at", SRC_ATTEMPT_RESULT
    else:
        field, source = "started_at", SRC_ATTEMPT_START
    rows = _window(rows, field, source, filters).select_related(
        "step", "enrollment__user", "enrollment__program"
    )
    for attempt in rows[:limit]:
        enrollment = attempt.enrollment
        obj = _step_object(attempt.step, enrollment.program_id)
        key = Key(getattr(attempt, field), source, attempt.pk)
        extensions = {"http://id.tincanapi.com/extension/attempt-id": attempt.number}
        if not results:
            yield key, _statement(key, enrollment, ATTEMPTED, obj)
            continue
        score = attempt.score or 0.0
        seconds = (attempt.submitted_at - attempt.started_at).total_seconds()  # type: ignore[operator]
        result = {
            "score": {
                "scaled": round(score / 100, 4),
                "raw": round(score, 2),
                "min": 0,
                "max": 100,
            },
            "success": bool(attempt.passed),
            "completion": True,
            "duration": _duration(max(0, int(seconds))),
            "extensions": extensions,
        }
        verb = PASSED if attempt.passed else FAILED
        yield key, _statement(key, enrollment, verb, obj, result=result)


# ---------------------------------------------------------------- the merge


@dataclass
class Page:
    statements: list[dict[str, Any]]
    next_key: Key | None  # the cursor of the next page; None at the end


def statements(enrollments: QuerySet[Enrollment], filters: Filters, limit: int) -> Page:
    """One page of statements about `enrollments` (already limited to what the caller may
    see), newest first unless `filters.ascending`."""
    if filters.email is not None:
        enrollments = enrollments.filter(user__email__iexact=filters.email)
    fetch = limit + 1  # one more than the page: tells whether there is a next page
    sources = []
    wanted = {
        src for src, verbs in SOURCE_VERBS.items() if not filters.verb or filters.verb in verbs
    }
    if SRC_PROGRAM in wanted:
        sources.append(_program_statements(enrollments, filters, fetch))
    if SRC_STEP in wanted:
        sources.append(_step_statements(enrollments, filters, fetch))
    if SRC_ATTEMPT_START in wanted:
        sources.append(_attempt_statements(enrollments, filters, fetch, results=False))
    if SRC_ATTEMPT_RESULT in wanted:
        sources.append(_attempt_statements(enrollments, filters, fetch, results=True))
    merged = heapq.merge(*sources, key=lambda pair: pair[0], reverse=not filters.ascending)
    page: list[tuple[Key, dict[str, Any]]] = []
    for pair in merged:
        page.append(pair)
        if len(page) == fetch:
            break
    more = len(page) > limit
    page = page[:limit]
    return Page(
        statements=[statement for _key, statement in page],
        next_key=page[-1][0] if more else None,
    )
