from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Cross-cutting plumbing: background jobs, health check, site layout."""

    name = "verity.core"
    label = "core"
