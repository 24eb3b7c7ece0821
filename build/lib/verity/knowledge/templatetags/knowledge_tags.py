"""Trust is always visible: one badge and one "verified N days ago by …" line for every card."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from verity.knowledge.models import VerificationState

register = template.Library()

BADGES = {
    VerificationState.VERIFIED: ("verified", "✓"),
    VerificationState.NEEDS_VERIFICATION: ("needs", "!"),
    VerificationState.UNVERIFIED: ("unverified", "?"),
}


def days_since(moment: datetime | None, now: datetime | None = None) -> int | None:
    if moment is None:
        return None
    now = now or timezone.now()
    return max(0, (timezone.localdate(now) - timezone.localdate(moment)).days)


@register.filter
def days_ago(moment: datetime | None) -> str:
    """'today', 'yesterday', '12 days ago'."""
    days = days_since(moment)
    if days is None:
        return ""
    if days == 0:
        return _("today")
    if days == 1:
        return _("yesterday")
    return ngettext("%(days)d day ago", "%(days)d days ago", days) % {"days": days}


@register.filter
def waiting_for(moment: datetime | None) -> str:
    days = days_since(moment)
    if days is None:
        return ""
    if days == 0:
        return _("waiting since today")
    return ngettext("waiting for %(days)d day", "waiting for %(days)d days", days) % {"days": days}


@register.filter
def due_in(moment: datetime | None) -> str:
    """'due in 5 days', 'due today', 'overdue by 3 days'."""
    if moment is None:
        return _("never due")
    days = (timezone.localdate(moment) - timezone.localdate(timezone.now())).days
    if days == 0:
        return _("due today")
    if days > 0:
        return ngettext("due in %(days)d day", "due in %(days)d days", days) % {"days": days}
    return ngettext("overdue by %(days)d day", "overdue by %(days)d days", -days) % {"days": -days}


def verified_line(card: Any) -> str:
    if card.last_verified_at is None:
        return _("never verified")
    who = card.last_verified_by.display_name if card.last_verified_by else _("someone")
    days = days_since(card.last_verified_at) or 0
    if days == 0:
        return _("verified today by %(who)s") % {"who": who}
    return ngettext(
        "verified %(days)d day ago by %(who)s", "verified %(days)d days ago by %(who)s", days
    ) % {"days": days, "who": who}


@register.inclusion_tag("knowledge/_trust_badge.html")
def trust_badge(card: Any) -> dict[str, Any]:
    kind, icon = BADGES.get(card.verification_state, ("unverified", "?"))
    return {
        "kind": kind,
        "icon": icon,
        "label": card.get_verification_state_display(),
        "state": card.verification_state,
    }


@register.inclusion_tag("knowledge/_trust_line.html")
def trust(card: Any, show_verifier: bool = True) -> dict[str, Any]:
    """Badge + 'verified N days ago by X' (+ verifier): used wherever a card appears."""
    verifier = card.verifier_user or card.verifier_group
    return {
        "card": card,
        "verified_line": verified_line(card),
        "verifier": verifier,
        "verifier_is_group": card.verifier_user_id is None and card.verifier_group_id is not None,
        "show_verifier": show_verifier,
    }


@register.filter
def verifier_name(card: Any) -> str:
    if card.verifier_user is not None:
        return str(card.verifier_user.display_name)
    if card.verifier_group is not None:
        return str(card.verifier_group.name)
    return _("nobody")


CHANGED_FIELD_LABELS = {
    "created": gettext_lazy("created"),
    "title": gettext_lazy("title"),
    "content": gettext_lazy("body"),
    "tags": gettext_lazy("tags"),
    "folders": gettext_lazy("folders"),
    "collection": gettext_lazy("collection"),
    "verifier": gettext_lazy("verifier"),
    "verification_interval_days": gettext_lazy("interval"),
    "owner": gettext_lazy("owner"),
    "external_id": gettext_lazy("external id"),
}


@register.filter
def changed_field_label(name: str) -> str:
    return str(CHANGED_FIELD_LABELS.get(name, name))


@register.simple_tag
def verified_text(card: Any) -> str:
    """Just the 'verified N days ago by X' words (the card page shows the badge apart)."""
    return verified_line(card)
