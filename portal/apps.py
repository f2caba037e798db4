from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal accounts and site"

    def ready(self) -> None:
        from portal import signals  # noqa: F401  (connects the audit-log receivers)
