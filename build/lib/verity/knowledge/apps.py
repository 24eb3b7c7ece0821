from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "verity.knowledge"
    label = "knowledge"

    def ready(self) -> None:
        from verity.knowledge import jobs  # noqa: F401  (registers background jobs)
