"""Verification states, reasons, expiry and the digest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from verity.knowledge import selectors, services
from verity.knowledge.jobs import send_verification_digests
from verity.knowledge.models import Card, Flag, VerificationReason, VerificationState

V = VerificationState
R = VerificationReason


def fresh(card: Card) -> Card:
    return Card.objects.get(pk=card.pk)


def test_new_card_is_unverified_with_reason_new(cast):
    card = cast.sales_card
    assert card.verification_state == V.UNVERIFIED
    assert card.verification_reason == R.NEW
    assert card.verifier_user == cast.author
    assert card.next_verification_at is None


def test_verifier_verifies_and_next_due_follows_interval(cast):
    before = timezone.now()
    card = services.card_verify(user=cast.author, card=cast.sales_card)
    card = fresh(card)
    assert card.verification_state == V.VERIFIED
    assert card.verification_reason == R.NONE
    assert card.last_verified_by == cast.author
    assert card.last_verified_at >= before
    assert card.next_verification_at == card.last_verified_at + timedelta(days=90)


def test_never_interval_has_no_due_date(cast):
    services.card_update(
        user=cast.author, card=cast.sales_card, expected_version=1, verification_interval_days=None
    )
    card = fresh(services.card_verify(user=cast.author, card=cast.sales_card))
    assert card.verification_interval_days is None
    assert card.next_verification_at is None
    assert services.expire_overdue_cards(timezone.now() + timedelta(days=5000)) == 0


def test_reader_cannot_verify_but_curator_can(cast):
    with pytest.raises(PermissionDenied):
        services.card_verify(user=cast.sales_reader, card=cast.sales_card)
    card = fresh(services.card_verify(user=cast.curator, card=cast.sales_card))
    assert card.verification_state == V.VERIFIED
    assert card.last_verified_by == cast.curator


def test_group_verifier_any_member_verifies(cast):
    card = services.card_update(
        user=cast.curator,
        card=cast.sales_card,
        expected_version=1,
        verifier_group=cast.sales,
    )
    card = fresh(card)
    assert card.verifier_user is None and card.verifier_group == cast.sales
    assert (card.verification_state, card.verification_reason) == (
        V.NEEDS_VERIFICATION,
        R.NEW_VERIFIER,
    )
    assert cast.sales_card.pk in selectors.verification_queue(cast.sales_reader).values_list(
        "pk", flat=True
    )
    services.card_verify(user=cast.sales_reader, card=card)
    assert fresh(card).verification_state == V.VERIFIED


def test_edit_by_non_verifier_needs_verification(cast):
    services.card_verify(user=cast.author, card=cast.sales_card)
    card = services.card_update(
        user=cast.curator, card=cast.sales_card, expected_version=1, content="Up to 20%."
    )
    card = fresh(card)
    assert (card.verification_state, card.verification_reason) == (V.NEEDS_VERIFICATION, R.EDITED)
    assert card.version == 2


def test_verifiers_own_edit_keeps_it_verified(cast):
    services.card_verify(user=cast.author, card=cast.sales_card)
    card = fresh(
        services.card_update(
            user=cast.author, card=cast.sales_card, expected_version=1, content="Up to 20%."
        )
    )
    assert card.verification_state == V.VERIFIED
    assert card.version == 2


def test_tag_only_edit_by_non_verifier_keeps_state(cast):
    services.card_verify(user=cast.author, card=cast.sales_card)
    card = fresh(
        services.card_update(
            user=cast.curator, card=cast.sales_card, expected_version=1, tags=["new"]
        )
    )
    assert card.verification_state == V.VERIFIED


def test_changing_verifier_needs_verification(cast):
    services.card_verify(user=cast.author, card=cast.sales_card)
    card = fresh(
        services.card_update(
            user=cast.author, card=cast.sales_card, expected_version=1, verifier_user=cast.curator
        )
    )
    assert (card.verification_state, card.verification_reason) == (
        V.NEEDS_VERIFICATION,
        R.NEW_VERIFIER,
    )


def test_flag_by_reader_notifies_verifier_and_verify_resolves(
    cast, django_capture_on_commit_callbacks
):
    services.card_verify(user=cast.author, card=cast.sales_card)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        flag = services.card_flag(
            user=cast.sales_reader, card=cast.sales_card, comment="Limit is 10% now"
        )
    card = fresh(cast.sales_card)
    assert (card.verification_state, card.verification_reason) == (V.NEEDS_VERIFICATION, R.FLAGGED)
    assert [m.to for m in mail.outbox] == [[cast.author.email]]
    assert "Limit is 10% now" in mail.outbox[0].body
    assert card.title in mail.outbox[0].subject
    assert list(selectors.open_flags(card)) == [flag]
    services.card_verify(user=cast.author, card=card)
    assert not selectors.open_flags(card).exists()
    assert Flag.objects.get(pk=flag.pk).resolved_by == cast.author


def test_flag_needs_a_comment_and_read_access(cast):
    with pytest.raises(ValidationError):
        services.card_flag(user=cast.sales_reader, card=cast.sales_card, comment="  ")
    from django.http import Http404

    with pytest.raises(Http404):
        services.card_flag(user=cast.outsider, card=cast.sales_card, comment="x")
    assert fresh(cast.sales_card).verification_reason == R.NEW


def test_expiry_job_expires_only_overdue_verified_cards(cast):
    services.card_verify(user=cast.author, card=cast.sales_card)
    services.card_verify(user=cast.curator, card=cast.support_card)
    Card.objects.filter(pk=cast.sales_card.pk).update(
        next_verification_at=timezone.now() - timedelta(minutes=1)
    )
    assert services.expire_overdue_cards() == 1
    expired = fresh(cast.sales_card)
    assert (expired.verification_state, expired.verification_reason) == (
        V.NEEDS_VERIFICATION,
        R.EXPIRED,
    )
    assert fresh(cast.support_card).verification_state == V.VERIFIED
    assert services.expire_overdue_cards() == 0


def test_digest_sends_one_email_per_verifier_with_all_their_cards(cast):
    second = services.card_create(
        user=cast.author,
        collection=cast.sales_collection,
        title="Competitor pricing",
        content="x",
        verifier_user=cast.author,
    )
    group_card = services.card_create(
        user=cast.curator,
        collection=cast.support_collection,
        title="Outage comms",
        content="x",
        verifier_group=cast.support,
    )
    mail.outbox.clear()
    assert send_verification_digests() == 3  # author, curator, support_reader (via group)
    by_person = {m.to[0]: m for m in mail.outbox}
    assert set(by_person) == {cast.author.email, cast.curator.email, cast.support_reader.email}
    author_mail = by_person[cast.author.email]
    assert cast.sales_card.title in author_mail.body and second.title in author_mail.body
    assert "2 cards need your verification" in author_mail.subject
    assert group_card.title in by_person[cast.support_reader.email].body
    assert cast.sales_card.title not in by_person[cast.curator.email].body


def test_digest_speaks_the_verifiers_language(cast):
    cast.author.language = "ru"
    cast.author.save()
    mail.outbox.clear()
    send_verification_digests()
    author_mail = next(m for m in mail.outbox if m.to == [cast.author.email])
    assert (
        "Здравствуйте" in author_mail.body
        or "верифик" in author_mail.subject.lower()
        or ("провер" in author_mail.subject.lower())
    )


def test_queue_is_oldest_first_and_excludes_verified(cast):
    older = cast.sales_card
    newer = services.card_create(
        user=cast.author, collection=cast.sales_collection, title="Newer", verifier_user=cast.author
    )
    Card.objects.filter(pk=older.pk).update(
        needs_verification_since=timezone.now() - timedelta(days=3)
    )
    assert list(selectors.verification_queue(cast.author)) == [fresh(older), newer]
    services.card_verify(user=cast.author, card=newer)
    assert list(selectors.verification_queue(cast.author)) == [fresh(older)]
    assert not selectors.verification_queue(cast.outsider).exists()


def test_bulk_actions_need_curate_on_every_card(cast):
    ids = [cast.sales_card.pk, cast.support_card.pk]
    with pytest.raises(PermissionDenied):
        services.bulk_verify(user=cast.author, card_ids=ids)
    assert services.bulk_verify(user=cast.curator, card_ids=ids) == 2
    assert set(Card.objects.values_list("verification_state", flat=True)) == {V.VERIFIED}
    assert services.bulk_set_interval(user=cast.curator, card_ids=ids, days=30) == 2
    assert set(Card.objects.values_list("verification_interval_days", flat=True)) == {30}
    services.bulk_set_verifier(
        user=cast.curator, card_ids=ids, verifier_user=None, verifier_group=cast.enablement
    )
    for card in Card.objects.all():
        assert card.verifier_group == cast.enablement and card.verifier_user is None
        assert card.verification_reason == R.NEW_VERIFIER


def test_trust_score(cast):
    from verity.accounts import access

    assert selectors.trust_score(access.cards_for(cast.curator)).percent == 0
    services.card_verify(user=cast.curator, card=cast.support_card)
    score = selectors.trust_score(access.cards_for(cast.curator))
    assert (score.verified, score.total, score.percent) == (1, 2, 50)
    per_collection = dict(selectors.trust_by_collection(cast.curator))
    assert per_collection[cast.support_collection].percent == 100
    assert per_collection[cast.sales_collection].percent == 0
    assert selectors.trust_score(access.cards_for(cast.outsider)).percent is None


def test_bad_interval_is_refused(cast):
    with pytest.raises(ValidationError) as err:
        services.card_update(
            user=cast.author,
            card=cast.sales_card,
            expected_version=1,
            verification_interval_days=45,
        )
    assert "verification_interval_days" in err.value.error_dict
