"""Import pages under /analytics/imports/ (site admins)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from verity.analytics import views_imports as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.import_list, name="analytics_imports"),
    path("<int:pk>/", views.import_detail, name="analytics_import"),
    path("<int:pk>/discard/", views.import_discard, name="analytics_import_discard"),
    path("stages/", views.stage_mappings, name="analytics_stage_mappings"),
    path(
        "stages/<int:pk>/delete/",
        views.stage_mapping_delete,
        name="analytics_stage_mapping_delete",
    ),
    path("products/", views.products, name="analytics_products"),
    path(
        "products/aliases/<int:pk>/delete/",
        views.product_alias_delete,
        name="analytics_product_alias_delete",
    ),
]
