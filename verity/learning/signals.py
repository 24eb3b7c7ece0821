"""Living content: a card used in a program changed, so the people who read the old version
are asked to read it again."""

from __future__ import annotations

from typing import Any

from verity.knowledge.models import Card
from verity.learning import enrolment


def card_text_changed(sender: Any, *, card: Card, **kwargs: Any) -> None:
    # Runs inside card_update's transaction: the card and the flags change together.
    enrolment.mark_card_changed(card.pk, card.version)
