"""Trust data. For now the provider (the trust); queues and snapshots follow."""

from django.core.validators import RegexValidator
from django.db import models

ods_code_validator = RegexValidator(
    r"^[A-Z0-9]{3,5}$", "An ODS code is 3 to 5 capital letters or digits, for example RXX."
)


class ProviderQuerySet(models.QuerySet):
    def for_site(self, ods_code: str) -> "Provider | None":
        """The trust the site presents itself as: the configured one, or the only one there is."""
        if ods_code:
            return self.filter(ods_code=ods_code).first()
        providers = list(self[:2])
        return providers[0] if len(providers) == 1 else None


class Provider(models.Model):
    """An NHS trust that runs Wait Well for the patients on its waiting lists."""

    ods_code = models.CharField(
        "ODS code", max_length=5, unique=True, validators=[ods_code_validator]
    )
    name = models.CharField(max_length=200)
    waiting_list_phone = models.CharField("waiting-list team phone", max_length=30, blank=True)
    waiting_list_email = models.EmailField("waiting-list team email", blank=True)
    split_queues_by_consultant = models.BooleanField(
        default=False, help_text="Run a separate queue for each consultant's list."
    )

    objects = ProviderQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.ods_code})"
