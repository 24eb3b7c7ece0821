"""The analytics pages under /analytics/ (the imports have their own module)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from verity.analytics import views, views_definitions, views_impact

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.overview, name="analytics_overview"),
    path("people/", views.people, name="analytics_people"),
    path("people/<int:pk>/", views.scorecard, name="analytics_scorecard"),
    path("impact/", views_impact.impact_page, name="analytics_impact"),
    path("retention/", views_impact.retention, name="analytics_retention"),
    path("roi/", views_impact.roi_page, name="analytics_roi"),
    path("definitions/", views_definitions.definition_list, name="analytics_definitions"),
    path(
        "definitions/<str:metric>/",
        views_definitions.definition_detail,
        name="analytics_definition",
    ),
]
