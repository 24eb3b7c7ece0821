from __future__ import annotations

from django.urls import URLPattern, path

from verity.search import views

urlpatterns: list[URLPattern] = [
    path("search/", views.search, name="search"),
]
