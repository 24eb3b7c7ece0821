"""Learner and manager pages (under /learning/): My learning, a learner's path and steps,
the end survey, My team and practice reviews."""

from __future__ import annotations

from django.urls import URLPattern, path

from verity.learning import views_learner as views

urlpatterns: list[URLPattern] = [
    path("", views.my_learning, name="my_learning"),
    path("team/", views.my_team, name="my_team"),
    path("team/join/<int:program_id>/", views.learning_team_join, name="learning_team_join"),
    path("reviews/<int:submission_id>/", views.practice_review, name="practice_review"),
    path("<int:enrollment_id>/", views.learning_enrollment, name="learning_enrollment"),
    path("<int:enrollment_id>/survey/", views.learning_survey, name="learning_survey"),
    path("<int:enrollment_id>/steps/<int:step_id>/", views.learning_step, name="learning_step"),
    path(
        "<int:enrollment_id>/steps/<int:step_id>/done/",
        views.learning_step_done,
        name="learning_step_done",
    ),
    path(
        "<int:enrollment_id>/steps/<int:step_id>/quiz/start/",
        views.learning_quiz_start,
        name="learning_quiz_start",
    ),
    path(
        "<int:enrollment_id>/steps/<int:step_id>/quiz/<int:attempt_id>/",
        views.learning_quiz_result,
        name="learning_quiz_result",
    ),
    path(
        "<int:enrollment_id>/steps/<int:step_id>/quiz/<int:attempt_id>/submit/",
        views.learning_quiz_submit,
        name="learning_quiz_submit",
    ),
    path(
        "<int:enrollment_id>/steps/<int:step_id>/practice/",
        views.learning_practice_submit,
        name="learning_practice_submit",
    ),
    path(
        "<int:enrollment_id>/steps/<int:step_id>/survey/",
        views.learning_step_survey,
        name="learning_step_survey",
    ),
]
