from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "verity.analytics"
    label = "analytics"
