"""Learning pages: learners and managers under /learning/, the enablement team under
/programs/ (each module lists its own routes)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("learning/", include("verity.learning.urls_learner")),
    path("programs/", include("verity.learning.urls_programs")),
]
