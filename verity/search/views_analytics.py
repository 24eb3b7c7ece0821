"""Pages of search analytics: the click-through redirect, the curators' "Search insights"
page and the form that sends a knowledge gap to a group of experts."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from verity.accounts import access
from verity.knowledge.views import AuthedRequest
from verity.search import analytics
from verity.search.models import KnowledgeRequest


@login_required
@require_GET
def search_click(request: AuthedRequest, event_id: int, card_id: int) -> HttpResponseRedirect:
    """A result link goes through here so we learn what was opened; the card page itself
    checks access (an unreadable card is a 404 there, and nothing is recorded here)."""
    rank = request.GET.get("rank", "")
    analytics.record_click(
        user=request.user,
        event_id=event_id,
        card_id=card_id,
        rank=int(rank) if rank.isdigit() else None,
    )
    return redirect("card_detail", pk=card_id)


@login_required
@require_GET
def insights(request: AuthedRequest) -> HttpResponse:
    access.require(access.can_see_search_insights(request.user))
    report = analytics.search_insights(
        user=request.user, days=analytics.clamp_days(request.GET.get("days"))
    )
    return render(
        request,
        "search/insights.html",
        {
            "report": report,
            "periods": analytics.REPORT_PERIODS,
            "requests": analytics.open_requests(user=request.user),
            "card_create_url": reverse("card_create"),
        },
    )


class KnowledgeRequestForm(forms.Form):
    query = forms.CharField(label=gettext_lazy("What people search for"), max_length=500)
    group = forms.ModelChoiceField(
        label=gettext_lazy("Group of experts"),
        queryset=analytics.request_groups(),
        empty_label=gettext_lazy("Choose a group"),
        help_text=gettext_lazy("Every member gets an email with a link to write the card."),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("What the card should cover, who asked, by when."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def insights_ask(request: AuthedRequest) -> HttpResponse:
    access.require(access.can_see_search_insights(request.user))
    if request.method == "POST":
        form = KnowledgeRequestForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                analytics.create_request(
                    user=request.user, query=data["query"], group=data["group"], note=data["note"]
                )
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(
                    request,
                    _("Request sent: the members of “%s” have been emailed.") % data["group"].name,
                )
                return redirect(reverse("search_insights") + "#requests")
    else:
        form = KnowledgeRequestForm(initial={"query": request.GET.get("q", "")[:500]})
    return render(request, "search/insights_ask.html", {"form": form})


@login_required
@require_POST
def insights_request_dismiss(request: AuthedRequest, request_id: int) -> HttpResponseRedirect:
    access.require(access.can_see_search_insights(request.user))
    knowledge_request = get_object_or_404(KnowledgeRequest, pk=request_id)
    analytics.request_dismiss(user=request.user, knowledge_request=knowledge_request)
    messages.success(request, _("Request dismissed."))
    return redirect(reverse("search_insights") + "#requests")
