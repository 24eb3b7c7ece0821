from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from verity.search.models import KnowledgeRequest, SearchEvent


@admin.register(SearchEvent)
class SearchEventAdmin(admin.ModelAdmin):
    """Searches are a record of what happened: nobody edits them. Deleting stays possible, for
    the day someone pastes a customer's personal data into the search box."""

    list_display = ["query", "result_count", "source", "created_at", "clicked_card", "took_ms"]
    list_filter = ["source", "created_at"]
    search_fields = ["normalized"]
    date_hierarchy = "created_at"
    # Who searched is left out here as everywhere else: analytics are about questions, not
    # about people (see docs/search.md, "Search analytics").
    exclude = ["user"]
    readonly_fields = [
        "query",
        "normalized",
        "filters",
        "result_count",
        "source",
        "took_ms",
        "created_at",
        "clicked_card",
        "clicked_rank",
        "clicked_at",
    ]
    list_select_related = ["clicked_card"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(KnowledgeRequest)
class KnowledgeRequestAdmin(admin.ModelAdmin):
    list_display = ["query", "group", "status", "requested_by", "created_at", "answered_at"]
    list_filter = ["status", "group"]
    search_fields = ["query", "note"]
    raw_id_fields = ["requested_by", "card"]
    list_select_related = ["group", "requested_by"]
