"""Celery tasks for updates. Tasks are acknowledged late and requeued if their worker dies
(settings), and every one of them is safe to run twice: the outbox claim decides."""

from celery import shared_task
from django.utils import timezone

from updates import outbox
from updates.alerts import start_alert_run
from updates.compose import start_digest_run
from waitinglist.models import Provider

FAN_OUT = 1000  # a run bigger than this is published by the workers, a thousand at a time


def publish(message_ids: list[int]) -> None:
    """One task per message. A big run hands its messages to the workers in chunks, which
    publish them in parallel (the "fanout" queue): publishing costs Celery about 0.5 ms a
    message, 50 s for 100,000 from one process."""
    if len(message_ids) <= FAN_OUT:
        publish_now(message_ids)
        return
    for start in range(0, len(message_ids), FAN_OUT):
        publish_batch.delay(message_ids[start : start + FAN_OUT])


def publish_now(message_ids: list[int]) -> None:
    for pk in message_ids:
        send_message.delay(pk)


@shared_task
def publish_batch(message_ids: list[int]) -> None:
    publish_now(message_ids)


@shared_task(bind=True, max_retries=None)
def send_message(self, message_id: int) -> str:
    try:
        return outbox.send(message_id)
    except outbox.Retry as retry:
        raise self.retry(countdown=retry.seconds) from None


@shared_task
def start_digests() -> int:
    """The scheduled run: every trust's subscribers who are due a digest this period."""
    today = timezone.localdate()
    return sum(start_digest_run(p, today, publish) for p in Provider.objects.all())


@shared_task
def digests_after_import(provider_id: int) -> int:
    """After an import's estimates: the alerts it brings, then digests due this period."""
    provider = Provider.objects.get(pk=provider_id)
    today = timezone.localdate()
    return start_alert_run(provider, today, publish) + start_digest_run(provider, today, publish)


@shared_task
def sweep_outbox() -> int:
    """Publishes again the messages whose task was lost or whose worker died."""
    stuck = outbox.stuck()
    publish_now(stuck)  # straight to the senders, even if no worker reads the fanout queue
    return len(stuck)
