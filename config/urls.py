from django.contrib import admin
from django.urls import include, path, re_path

from verity.core.api import api
from verity.core.views import api_not_found, healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    re_path(r"^api/", api_not_found),
    path("django-admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("verity.accounts.urls")),
    path("", include("verity.knowledge.urls")),
    path("", include("verity.search.urls")),
    path("", include("verity.learning.urls")),
    path("", include("verity.analytics.urls")),
]
