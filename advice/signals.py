"""Advice that is published, changed or withdrawn changes what patient pages show."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from advice.models import Article
from waitinglist.patient_page import patient_data_changed


@receiver([post_save, post_delete], sender=Article)
def advice_changed(sender, **kwargs) -> None:
    patient_data_changed()
