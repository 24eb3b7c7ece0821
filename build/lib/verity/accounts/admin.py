from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from verity.accounts.models import ApiToken, Group, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "job_function", "site_role", "manager", "is_active"]
    list_filter = ["job_function", "site_role", "is_active"]
    search_fields = ["email", "name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["name", "job_function", "manager", "hire_date", "language"]}),
        ("Access", {"fields": ["site_role", "is_active", "is_staff", "is_superuser"]}),
    ]
    add_fieldsets = [(None, {"fields": ["email", "password1", "password2"]})]
    raw_id_fields = ["manager"]


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
    filter_horizontal = ["members"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "hint", "created_at", "last_used_at"]
    readonly_fields = ["token_hash", "hint"]
