from django.contrib import admin

from verity.core.models import Job, PeriodicRun


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["name", "state", "attempts", "run_after", "finished_at"]
    list_filter = ["state", "name"]


admin.site.register(PeriodicRun)
