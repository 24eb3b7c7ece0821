from __future__ import annotations

from django.urls import URLPattern, path

from verity.knowledge import views, views_duplicates

urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("queue/", views.queue, name="queue"),
    path("cards/new/", views.card_create, name="card_create"),
    path("cards/preview/", views.card_preview, name="card_preview"),
    path("cards/similar/", views_duplicates.card_similar, name="card_similar"),
    path("cards/duplicates/", views_duplicates.duplicates_report, name="duplicates_report"),
    path("cards/duplicates/merge/", views_duplicates.duplicates_merge, name="duplicates_merge"),
    path(
        "cards/duplicates/dismiss/", views_duplicates.duplicates_dismiss, name="duplicates_dismiss"
    ),
    path("cards/duplicates/scan/", views_duplicates.duplicates_scan, name="duplicates_scan"),
    path("cards/<int:pk>/", views.card_detail, name="card_detail"),
    path("cards/<int:pk>/edit/", views.card_edit, name="card_edit"),
    path("cards/<int:pk>/verify/", views.card_verify, name="card_verify"),
    path("cards/<int:pk>/flag/", views.card_flag, name="card_flag"),
    path("cards/<int:pk>/favourite/", views.card_favourite, name="card_favourite"),
    path("cards/<int:pk>/archive/", views.card_archive, name="card_archive"),
    path("cards/<int:pk>/unarchive/", views.card_unarchive, name="card_unarchive"),
    path("cards/<int:pk>/history/", views.card_history, name="card_history"),
    path("cards/<int:pk>/history/<int:number>/", views.card_version, name="card_version"),
    path(
        "cards/<int:pk>/history/<int:number>/restore/",
        views.card_restore_version,
        name="card_restore_version",
    ),
    path("collections/", views.collection_list, name="collection_list"),
    path("collections/<slug:slug>/", views.collection_detail, name="collection_detail"),
    path(
        "collections/<slug:slug>/archived/", views.collection_archived, name="collection_archived"
    ),
    path("collections/<slug:slug>/bulk/", views.collection_bulk, name="collection_bulk"),
    path("collections/<slug:slug>/folders/new/", views.folder_create, name="folder_create"),
    path(
        "collections/<slug:slug>/folders/<int:folder_id>/",
        views.collection_detail,
        name="folder_detail",
    ),
    path(
        "collections/<slug:slug>/folders/<int:folder_id>/rename/",
        views.folder_rename,
        name="folder_rename",
    ),
    path(
        "collections/<slug:slug>/folders/<int:folder_id>/delete/",
        views.folder_delete,
        name="folder_delete",
    ),
    path(
        "collections/<slug:slug>/folders/<int:folder_id>/move/",
        views.folder_move,
        name="folder_move",
    ),
    path(
        "collections/<slug:slug>/folders/<int:folder_id>/cards/<int:card_id>/move/",
        views.folder_card_move,
        name="folder_card_move",
    ),
]
