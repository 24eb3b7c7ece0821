"""Background jobs of the knowledge base: flag notifications, expiry and digests."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from verity.accounts.models import User
from verity.core.jobs import job, periodic
from verity.knowledge import selectors, services
from verity.knowledge.models import Flag


def _send(user: User, subject_template: str, body_template: str, context: dict) -> None:
    language = user.language or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {"user": user, "site_url": settings.SITE_URL, **context}
        subject = render_to_string(subject_template, context).strip()
        body = render_to_string(body_template, context)
    send_mail(subject, body, None, [user.email])


@job("knowledge.notify_flag")
def notify_flag(flag_id: int) -> None:
    flag = Flag.objects.select_related("card__verifier_user", "card__verifier_group", "user").get(
        pk=flag_id
    )
    card = flag.card
    if card.verifier_user is not None:
        recipients = [card.verifier_user]
    elif card.verifier_group is not None:
        recipients = list(card.verifier_group.members.all())
    else:
        recipients = []
    for person in recipients:
        if person.is_active and person != flag.user:
            _send(
                person,
                "knowledge/email/flag_subject.txt",
                "knowledge/email/flag_body.txt",
                {"flag": flag, "card": card},
            )


def send_verification_digests() -> int:
    """One email per verifier listing every card waiting for them."""
    sent = 0
    for person, cards in selectors.cards_needing_verification_by_verifier().items():
        _send(
            person,
            "knowledge/email/digest_subject.txt",
            "knowledge/email/digest_body.txt",
            {"cards": cards},
        )
        sent += 1
    return sent


@periodic("knowledge.expire_and_digest", every=timedelta(days=1))
def expire_and_digest() -> None:
    services.expire_overdue_cards()
    send_verification_digests()
