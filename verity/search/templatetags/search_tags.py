"""Template helpers of the search app."""

from __future__ import annotations

from typing import Any

from django import template

from verity.accounts import access

register = template.Library()


@register.simple_tag(takes_context=True)
def can_see_search_insights(context: dict[str, Any]) -> bool:
    """For the navigation: grants are cached per request, so this adds no query per page."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return user is not None and access.can_see_search_insights(user)
