from django.apps import AppConfig


class NHSLoginConfig(AppConfig):
    name = "portal.nhs_login"
    label = "nhs_login"
    verbose_name = "NHS login"
