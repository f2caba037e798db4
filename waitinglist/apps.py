from django.apps import AppConfig


class WaitinglistConfig(AppConfig):
    name = "waitinglist"
    verbose_name = "Waiting lists"

    def ready(self) -> None:
        from waitinglist import signals  # noqa: F401  (connects the receivers)
