from __future__ import annotations

from django.urls import URLPattern, path

from verity.search import views, views_analytics

urlpatterns: list[URLPattern] = [
    path("search/", views.search, name="search"),
    path(
        "search/click/<int:event_id>/<int:card_id>/",
        views_analytics.search_click,
        name="search_click",
    ),
    path("search/insights/", views_analytics.insights, name="search_insights"),
    path("search/insights/ask/", views_analytics.insights_ask, name="search_insights_ask"),
    path(
        "search/insights/requests/<int:request_id>/dismiss/",
        views_analytics.insights_request_dismiss,
        name="search_request_dismiss",
    ),
]
