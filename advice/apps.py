from django.apps import AppConfig


class AdviceConfig(AppConfig):
    name = "advice"
    verbose_name = "Advice while waiting"

    def ready(self) -> None:
        from advice import signals  # noqa: F401
