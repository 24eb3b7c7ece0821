"""Analytics pages under /analytics/: the views (overview, scorecards, program impact,
retention, ROI, definitions) and the imports (each module lists its own routes)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("analytics/imports/", include("verity.analytics.urls_imports")),
    path("analytics/", include("verity.analytics.urls_views")),
]
