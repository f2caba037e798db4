"""The daily review check of advice, run by Celery beat."""

from celery import shared_task
from django.utils import timezone

from advice.services import remind_and_withdraw


@shared_task
def review_advice() -> tuple[int, int]:
    """Reminds owners of advice past its review-by date; withdraws advice long past it."""
    return remind_and_withdraw(timezone.localdate())
