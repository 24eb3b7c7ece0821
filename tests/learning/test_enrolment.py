"""Audience, tracks, launch and sync, due dates."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tests.conftest import make_user
from verity.accounts.models import Group, JobFunction
from verity.learning import enrolment
from verity.learning.models import (
    Enrollment,
    EnrollmentReason,
    EnrollmentState,
    ProgramStatus,
    TrackRole,
)


def test_audience_matches_functions_groups_people_and_only_active(
    make_program, rep, rep2, outsider, manager
):
    support = make_user("support@example.com", job_function=JobFunction.SUPPORT)
    gone = make_user("gone@example.com", job_function=JobFunction.SUPPORT, is_active=False)
    group = Group.objects.create(name="Pilot")
    group.members.add(rep2)
    program = make_program(
        audience_functions=[JobFunction.SUPPORT],
        audience_groups=[group],
        audience_users=[outsider],
    )
    audience = set(enrolment.audience_of(program))
    assert audience == {support, rep2, outsider}
    assert gone not in audience and rep not in audience and manager not in audience


def test_new_hires_from_launch_day_and_not_before_their_hire_date(make_program, db):
    now = timezone.now()
    today = timezone.localdate(now)
    before = make_user("old@example.com", hire_date=today - timedelta(days=1))
    on_day = make_user("new@example.com", hire_date=today)
    future = make_user("future@example.com", hire_date=today + timedelta(days=3))
    program = make_program(audience_new_hires=True, launch=True, now=now)
    enrolled = set(Enrollment.objects.filter(program=program).values_list("user_id", flat=True))
    assert enrolled == {on_day.pk}

    # Three days later the future hire starts and the daily sync picks them up.
    later = now + timedelta(days=3)
    new = enrolment.sync_audience(program, later)
    assert [e.user for e in new] == [future]
    assert before not in enrolment.audience_of(program, later)


def test_track_selection_by_job_function(make_program, rep, rep2, manager, outsider):
    program = make_program(
        shared=["lesson", "card"],
        tracks={TrackRole.SALES: ["lesson", "quiz"], TrackRole.LEADERSHIP: ["lesson"]},
    )
    assert enrolment.track_role_for(program, rep) == TrackRole.SALES
    assert enrolment.track_role_for(program, manager) == TrackRole.LEADERSHIP
    # Customer success has no track in this program: shared only.
    assert enrolment.track_role_for(program, rep2) == ""
    assert enrolment.track_role_for(program, outsider) == ""

    program.audience_users.set([rep, rep2])
    enrolment.program_launch(user=program.owner, program=program)
    rep_enrollment = Enrollment.objects.get(program=program, user=rep)
    steps = enrolment.learner_steps(rep_enrollment)
    assert [(s.track.role, s.kind) for s in steps] == [
        ("shared", "lesson"),
        ("shared", "card"),
        ("sales", "lesson"),
        ("sales", "quiz"),
    ]
    rep2_enrollment = Enrollment.objects.get(program=program, user=rep2)
    assert [s.track.role for s in enrolment.learner_steps(rep2_enrollment)] == ["shared"] * 2


def test_steps_follow_position_not_creation_order(make_program, rep):
    program = make_program(
        shared=[
            {"kind": "lesson", "title": "second", "position": 2},
            {"kind": "lesson", "title": "first", "position": 1},
        ],
        audience_users=[rep],
        launch=True,
    )
    enrollment = Enrollment.objects.get(program=program, user=rep)
    assert [s.title for s in enrolment.learner_steps(enrollment)] == ["first", "second"]


def test_launch_needs_manage_permission_and_a_draft(make_program, rep, outsider, enablement):
    program = make_program(audience_users=[rep])
    with pytest.raises(PermissionDenied):
        enrolment.program_launch(user=outsider, program=program)
    assert not Enrollment.objects.exists()
    program.refresh_from_db()
    assert program.status == ProgramStatus.DRAFT

    enrolment.program_launch(user=enablement, program=program)
    program.refresh_from_db()
    assert program.status == ProgramStatus.ACTIVE and program.launched_at is not None
    with pytest.raises(ValidationError):
        enrolment.program_launch(user=enablement, program=program)


def test_sync_is_idempotent_and_picks_up_newcomers(make_program, rep, rep2):
    group = Group.objects.create(name="Sales")
    group.members.add(rep)
    program = make_program(audience_groups=[group], launch=True)
    assert Enrollment.objects.filter(program=program).count() == 1
    assert enrolment.sync_audience(program) == []
    assert enrolment.sync_audience(program) == []
    assert Enrollment.objects.filter(program=program).count() == 1

    group.members.add(rep2)
    new = enrolment.sync_audience(program)
    assert [e.user for e in new] == [rep2]
    assert Enrollment.objects.filter(program=program).count() == 2


def test_draft_and_archived_programs_enrol_nobody(make_program, rep, rep2, enablement):
    program = make_program(audience_users=[rep])
    assert enrolment.sync_audience(program) == []
    enrolment.program_launch(user=enablement, program=program)
    enrolment.program_archive(user=enablement, program=program)
    program.audience_users.add(rep2)
    assert enrolment.sync_audience(program) == []
    assert not Enrollment.objects.filter(user=rep2).exists()


def test_due_after_n_days_and_overdue_display_state(make_program, rep):
    now = timezone.now()
    program = make_program(audience_users=[rep], due_days=7, launch=True, now=now)
    enrollment = Enrollment.objects.get(program=program, user=rep)
    assert enrollment.due_at == now + timedelta(days=7)
    assert enrollment.display_state(now + timedelta(days=6)) == EnrollmentState.NOT_STARTED
    assert enrollment.display_state(now + timedelta(days=8)) == EnrollmentState.OVERDUE

    # Completed on time or late, a completed enrolment is never shown as overdue.
    for step in enrolment.learner_steps(enrollment):
        enrolment.complete_step(enrollment=enrollment, step=step, now=now + timedelta(days=9))
    enrollment.refresh_from_db()
    assert enrollment.display_state(now + timedelta(days=30)) == EnrollmentState.COMPLETED


def test_fixed_due_date_is_the_end_of_that_day_in_the_site_time_zone(make_program, rep, settings):
    settings.TIME_ZONE = "Europe/Moscow"
    program = make_program(audience_users=[rep], due_date=date(2030, 3, 10), launch=True)
    enrollment = Enrollment.objects.get(program=program, user=rep)
    local = enrollment.due_at.astimezone(ZoneInfo("Europe/Moscow"))
    assert (local.date(), local.hour, local.minute) == (date(2030, 3, 10), 23, 59)


def test_no_due_rule_means_no_due_date(make_program, rep):
    program = make_program(audience_users=[rep], launch=True)
    enrollment = Enrollment.objects.get(program=program, user=rep)
    assert enrollment.due_at is None
    assert enrollment.display_state(timezone.now() + timedelta(days=3650)) == "not_started"


def test_join_team_training(make_program, manager, rep, outsider):
    program = make_program(audience_users=[rep], launch=True)
    with pytest.raises(PermissionDenied):
        enrolment.join_team_training(manager=outsider, program=program)
    joined = enrolment.join_team_training(manager=manager, program=program)
    assert joined.reason == EnrollmentReason.JOINED
    assert joined.state == EnrollmentState.NOT_STARTED and joined.released_at is not None
    assert joined.track_role == ""  # the default program has no leadership track
    # Joining twice keeps the one enrolment.
    assert enrolment.join_team_training(manager=manager, program=program) == joined
    assert Enrollment.objects.filter(program=program, user=manager).count() == 1


def test_add_months_clamps_to_the_end_of_month():
    utc = ZoneInfo("UTC")
    assert enrolment.add_months(datetime(2027, 1, 31, 9, tzinfo=utc), 1) == datetime(
        2027, 2, 28, 9, tzinfo=utc
    )
    assert enrolment.add_months(datetime(2028, 1, 31, tzinfo=utc), 1).day == 29
    assert enrolment.add_months(datetime(2027, 11, 15, tzinfo=utc), 14) == datetime(
        2029, 1, 15, tzinfo=utc
    )
    assert enrolment.add_months(datetime(2027, 5, 15, tzinfo=utc), 12).year == 2028
