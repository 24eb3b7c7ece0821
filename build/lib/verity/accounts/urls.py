from __future__ import annotations

from django.urls import path

from verity.accounts import views

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("profile/", views.profile, name="profile"),
    path("profile/password/", views.password_change, name="password_change"),
    path("profile/tokens/", views.token_create, name="token_create"),
    path("profile/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("admin/", views.admin_home, name="admin_home"),
    path("admin/users/", views.admin_users, name="admin_users"),
    path("admin/users/new/", views.admin_user_create, name="admin_user_create"),
    path("admin/users/<int:user_id>/", views.admin_user_edit, name="admin_user_edit"),
    path(
        "admin/users/<int:user_id>/password/",
        views.admin_user_password,
        name="admin_user_password",
    ),
    path("admin/groups/", views.admin_groups, name="admin_groups"),
    path("admin/groups/<int:group_id>/", views.admin_group_detail, name="admin_group_detail"),
    path(
        "admin/groups/<int:group_id>/members/",
        views.admin_group_members,
        name="admin_group_members",
    ),
    path("admin/collections/", views.admin_collections, name="admin_collections"),
    path(
        "admin/collections/<int:collection_id>/access/",
        views.admin_collection_access,
        name="admin_collection_access",
    ),
]
