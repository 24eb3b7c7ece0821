from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, Any]:
    """What the left navigation may show: only what the user may use."""
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    return {
        "nav_is_admin": signed_in and user.is_site_admin,  # type: ignore[union-attr]
        "nav_signed_in": signed_in,
    }
