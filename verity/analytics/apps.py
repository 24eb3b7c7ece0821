from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "verity.analytics"
    label = "analytics"

    def ready(self) -> None:
        from verity.analytics import jobs  # noqa: F401  (registers background jobs)
