"""What every analytics page shares: who may open the company-wide pages, whether any data
has been imported yet, and the page-or-CSV answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from verity.accounts import access
from verity.accounts.models import User
from verity.analytics import definitions, exports
from verity.analytics.models import Opportunity


class AuthedRequest(HttpRequest):
    user: User  # type: ignore[assignment]


View = Callable[..., HttpResponseBase]


def analytics_viewer_required(view: View) -> View:
    """Company-wide pages: site admins, the enablement team and leadership (403 for the
    rest, who follow their own scorecard instead)."""

    @login_required
    @wraps(view)
    def wrapped(request: AuthedRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not access.can_see_analytics(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def has_data() -> bool:
    """Has anything been imported? (Deals, or people with a hire date from the HR import.)"""
    return Opportunity.objects.exists() or User.objects.filter(hire_date__isnull=False).exists()


def imports_url(user: User) -> str | None:
    """The imports page, for the people who may import (the IMPORT pages may be absent)."""
    if not access.can_manage_analytics(user):
        return None
    try:
        return reverse("analytics_imports")
    except NoReverseMatch:
        return "/analytics/imports/"


def definition_links(metrics: Sequence[str]) -> dict[str, definitions.Definition]:
    """The definition in force of each metric a page shows (for the chips beside numbers)."""
    return {metric: definitions.in_force(metric) for metric in metrics}


def page_or_csv(
    request: AuthedRequest,
    template: str,
    context: dict[str, Any],
    tables: Sequence[exports.Table],
    prefix: str,
) -> HttpResponseBase:
    if exports.wants_csv(request):
        return exports.csv_response(request, tables, prefix)
    context.setdefault("tables", {t.name: t for t in tables})
    context.setdefault("imports_url", imports_url(request.user))
    context.setdefault("can_manage", access.can_manage_analytics(request.user))
    context.setdefault("sees_analytics", access.can_see_analytics(request.user))
    return render(request, template, context)
