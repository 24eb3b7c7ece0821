"""A card used in a program changes: those who read the old version are asked to re-read."""

from __future__ import annotations

from verity.knowledge import services as knowledge
from verity.learning import enrolment, selectors
from verity.learning.models import Enrollment, StepProgress


def _card_step(enrollment):
    return next(s for s in enrolment.learner_steps(enrollment) if s.kind == "card")


def test_new_version_asks_for_a_reread_and_reacknowledging_clears_it(
    make_program, rep, rep2, admin, card
):
    program = make_program(shared=["card", "lesson"], audience_users=[rep, rep2], launch=True)
    done = Enrollment.objects.get(program=program, user=rep)
    not_yet = Enrollment.objects.get(program=program, user=rep2)
    step = _card_step(done)
    enrolment.complete_step(enrollment=done, step=step)
    enrolment.open_step(not_yet, step)  # opened but not acknowledged
    assert selectors.reread_counts(program)[0][1:] == (1, 0, 1)

    knowledge.card_update(
        user=admin, card=card, expected_version=card.version, content="New pricing."
    )
    card.refresh_from_db()
    progress = StepProgress.objects.get(enrollment=done, step=step)
    assert progress.needs_reread and progress.card_version == card.version - 1
    assert not StepProgress.objects.get(enrollment=not_yet, step=step).needs_reread
    assert selectors.enrollment_progress(done).reread == [step]
    assert selectors.reread_counts(program)[0][1:] == (1, 1, 0)

    enrolment.complete_step(enrollment=done, step=step)
    progress.refresh_from_db()
    assert not progress.needs_reread and progress.card_version == card.version
    assert selectors.reread_counts(program)[0][1:] == (1, 0, 1)
    assert selectors.enrollment_progress(done).reread == []


def test_changes_that_are_not_text_leave_readers_alone(make_program, rep, admin, card):
    program = make_program(shared=["card"], audience_users=[rep], launch=True)
    enrollment = Enrollment.objects.get(program=program, user=rep)
    step = _card_step(enrollment)
    enrolment.complete_step(enrollment=enrollment, step=step)
    knowledge.card_update(user=admin, card=card, expected_version=None, tags=["pricing"])
    assert not StepProgress.objects.get(enrollment=enrollment, step=step).needs_reread


def test_other_cards_are_not_affected(make_program, rep, admin, card, make_card):
    other = make_card("Competitors")
    program = make_program(
        shared=["card", {"kind": "card", "card": other}], audience_users=[rep], launch=True
    )
    enrollment = Enrollment.objects.get(program=program, user=rep)
    for step in enrolment.learner_steps(enrollment):
        enrolment.complete_step(enrollment=enrollment, step=step)
    knowledge.card_update(user=admin, card=other, expected_version=None, title="Competitors 2027")
    flags = dict(
        StepProgress.objects.filter(enrollment=enrollment).values_list(
            "step__card_id", "needs_reread"
        )
    )
    assert flags == {card.pk: False, other.pk: True}
    # The enrolment stays completed: re-reading is asked for, not required again.
    enrollment.refresh_from_db()
    assert enrollment.state == "completed"


def test_programs_using_card_lists_draft_and_active_only(make_program, card, make_card, enablement):
    draft = make_program(name="Draft")
    active = make_program(name="Active", launch=True)
    archived = make_program(name="Archived", launch=True)
    enrolment.program_archive(user=enablement, program=archived)
    make_program(name="Other card", shared=[{"kind": "card", "card": make_card("Unrelated")}])
    assert list(selectors.programs_using_card(card)) == [active, draft]
