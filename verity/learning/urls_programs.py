"""The program builder, for the enablement team and program owners (under /programs/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from verity.learning import views_builder as views
from verity.learning import views_report

urlpatterns: list[URLPattern] = [
    path("", views.program_list, name="program_list"),
    path("new/", views.program_create, name="program_create"),
    path("<int:pk>/", views.program_detail, name="program_detail"),
    path("<int:pk>/edit/", views.program_edit, name="program_edit"),
    path("<int:pk>/launch/", views.program_launch, name="program_launch"),
    path("<int:pk>/tracks/", views.track_add, name="program_track_add"),
    path("<int:pk>/tracks/<int:track_pk>/remove/", views.track_remove, name="program_track_remove"),
    path("<int:pk>/tracks/<int:track_pk>/steps/", views.step_add, name="program_step_add"),
    path("<int:pk>/tracks/<int:track_pk>/steps/new/", views.step_new, name="program_step_new"),
    path("<int:pk>/tracks/<int:track_pk>/cards/", views.card_picker, name="program_card_picker"),
    path("<int:pk>/steps/<int:step_pk>/edit/", views.step_edit, name="program_step_edit"),
    path("<int:pk>/steps/<int:step_pk>/delete/", views.step_delete, name="program_step_delete"),
    path("<int:pk>/steps/<int:step_pk>/move/", views.step_move, name="program_step_move"),
    path("<int:pk>/steps/<int:step_pk>/quiz/", views.quiz_editor, name="program_quiz"),
    path(
        "<int:pk>/steps/<int:step_pk>/quiz/questions/",
        views.question_save,
        name="program_question_save",
    ),
    path(
        "<int:pk>/steps/<int:step_pk>/quiz/questions/<int:question_pk>/delete/",
        views.question_delete,
        name="program_question_delete",
    ),
    path(
        "<int:pk>/steps/<int:step_pk>/quiz/questions/<int:question_pk>/move/",
        views.question_move,
        name="program_question_move",
    ),
    path("<int:pk>/survey/", views.survey_question_add, name="program_survey_add"),
    path(
        "<int:pk>/survey/<int:question_pk>/delete/",
        views.survey_question_delete,
        name="program_survey_delete",
    ),
    path("<int:pk>/report/", views_report.program_report, name="program_report"),
    path("<int:pk>/report.csv", views_report.program_report_csv, name="program_report_csv"),
    path(
        "<int:pk>/questions.csv", views_report.program_questions_csv, name="program_questions_csv"
    ),
]
