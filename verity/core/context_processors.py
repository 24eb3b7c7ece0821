from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from verity.accounts import access


def navigation(request: HttpRequest) -> dict[str, Any]:
    """What the left navigation may show: only what the user may use."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_is_admin": False, "nav_signed_in": False}
    return {
        "nav_is_admin": user.is_site_admin,
        "nav_signed_in": True,
        "nav_builds_programs": access.can_build_programs(user),
        "nav_sees_analytics": access.can_see_analytics(user),
        # "My team" is for people with someone reporting to them.
        "nav_has_reports": user.reports.filter(is_active=True).exists(),
    }
