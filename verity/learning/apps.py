from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "verity.learning"
    label = "learning"

    def ready(self) -> None:
        from verity.knowledge.signals import card_text_changed
        from verity.learning import jobs, signals  # noqa: F401  (jobs: registers background jobs)

        card_text_changed.connect(
            signals.card_text_changed, dispatch_uid="learning.card_text_changed"
        )
