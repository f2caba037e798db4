from django.apps import AppConfig


class UpdatesConfig(AppConfig):
    name = "updates"
    verbose_name = "Updates by email and text message"
