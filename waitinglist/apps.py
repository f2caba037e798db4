from django.apps import AppConfig


class WaitinglistConfig(AppConfig):
    name = "waitinglist"
    verbose_name = "Waiting lists"
