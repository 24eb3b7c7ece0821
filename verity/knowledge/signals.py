"""Signals other apps listen to, so the knowledge base does not depend on them."""

from django.dispatch import Signal

# Sent inside the saving transaction when a card's title or text changed (a new version
# that readers should see again), with `card` and `user`.
card_text_changed = Signal()
