"""Sending what the outbox holds: each message claimed by one worker, sent once, its sender's
id recorded; failures retried or given up with a reason; stuck messages swept back."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from updates import ratelimit
from updates.compose import render
from updates.models import OutboxMessage, Subscription
from updates.senders import Refused, SlowDown, TryLater, sender

log = logging.getLogger(__name__)


def lease() -> timedelta:
    """A claim older than this belongs to a worker that died."""
    return timedelta(seconds=settings.UPDATES_LEASE_SECONDS)


MAX_ATTEMPTS = 8


class Retry(Exception):
    """Send this message again after `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def claim(message_id: int) -> OutboxMessage | None:
    """Marks the message as being sent by this worker, if nobody else is sending it: a queued
    message, or one whose sender died (its claim is older than the lease)."""
    now = timezone.now()
    free = Q(state=OutboxMessage.State.QUEUED) | Q(
        state=OutboxMessage.State.SENDING, claimed_at__lt=now - lease()
    )
    claimed = OutboxMessage.objects.filter(free, pk=message_id).update(
        state=OutboxMessage.State.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    return OutboxMessage.objects.select_related("subscription").get(pk=message_id)


def send(message_id: int) -> str:
    """Sends one outbox message at most once; returns what happened. Raises Retry."""
    message = claim(message_id)
    if message is None:
        return "not mine"  # sent already, or another worker has it
    return deliver(message)


def deliver(message: OutboxMessage) -> str:
    """Sends a message this worker has claimed. Raises Retry."""
    if message.subscription and not message.subscription.active:
        _finish(message, OutboxMessage.State.FAILED, error="the patient stopped their updates")
        return "stopped"
    if not message.body:
        message.subject, message.body, message.html = render(message)
        OutboxMessage.objects.filter(pk=message.pk).update(
            subject=message.subject, body=message.body, html=message.html
        )
    via = sender()
    try:
        # A second attempt may follow a send that worked but was never recorded.
        if message.attempts > 1 and (sender_id := via.already_sent(message)):
            _finish(message, OutboxMessage.State.SENT, sender_id=sender_id)
            return "found sent"
        ratelimit.take_a_slot()
        if not _renew(message):
            return "not mine"  # this worker stalled past its lease and another took over
        sender_id = via.send(message)
    except ratelimit.DailyCapReached:
        _release(message)
        raise Retry(3600) from None
    except SlowDown:
        _release(message)
        raise Retry(5) from None
    except TryLater as error:
        if message.attempts >= MAX_ATTEMPTS:
            return _give_up(message, f"still failing after {message.attempts} tries: {error}")
        _release(message)
        raise Retry(min(600, 2**message.attempts)) from None
    except Refused as error:
        return _give_up(message, str(error))
    _finish(message, OutboxMessage.State.SENT, sender_id=sender_id)
    return "sent"


def _renew(message: OutboxMessage) -> bool:
    """Just before sending: whether the claim is still this worker's, renewing it if so. A
    worker that stalls for longer than the lease (a paused machine, a long wait for a sending
    slot) may have been taken for dead, and the message claimed and sent by another."""
    now = timezone.now()
    renewed = OutboxMessage.objects.filter(
        pk=message.pk, state=OutboxMessage.State.SENDING, claimed_at=message.claimed_at
    ).update(claimed_at=now)
    if renewed:
        message.claimed_at = now
    return bool(renewed)


def _finish(message: OutboxMessage, state: str, sender_id: str = "", error: str = "") -> None:
    wipe = {"context": {}, "body": "", "html": ""} if message.kind in message.SECRET_KINDS else {}
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=state, sender_id=sender_id, error=error[:300], sent_at=timezone.now(), **wipe
    )


def _release(message: OutboxMessage) -> None:
    OutboxMessage.objects.filter(pk=message.pk, state=OutboxMessage.State.SENDING).update(
        state=OutboxMessage.State.QUEUED, claimed_at=None
    )


def _give_up(message: OutboxMessage, reason: str) -> str:
    log.warning("outbox message=%s not sent: %s", message.pk, reason)
    _finish(message, OutboxMessage.State.FAILED, error=reason)
    Subscription.objects.filter(pk=message.subscription_id).update(failures=F("failures") + 1)
    return "failed"


def stuck(now=None) -> list[int]:
    """Messages to publish again: queued but not claimed for a lease (their task was lost),
    or claimed by a worker that died."""
    now = now or timezone.now()
    old = now - lease()
    lost = Q(state=OutboxMessage.State.QUEUED, created_at__lt=old, claimed_at__isnull=True)
    died = Q(state=OutboxMessage.State.SENDING, claimed_at__lt=old)
    return list(OutboxMessage.objects.filter(lost | died).values_list("pk", flat=True))


def record_status(sender_id: str, status: str) -> bool:
    """A delivery receipt: moves the message forward only; a replay changes nothing."""
    state = {"delivered": "delivered", "permanent-failure": "failed",
             "temporary-failure": "failed", "technical-failure": "failed"}.get(status)  # fmt: skip
    if state is None:
        return False
    later = [s for s, rank in OutboxMessage.ORDER.items() if rank < OutboxMessage.ORDER[state]]
    changed = OutboxMessage.objects.filter(sender_id=sender_id, state__in=later).update(
        state=state, status_at=timezone.now(), error="" if state == "delivered" else status
    )
    if changed and state == "failed":
        Subscription.objects.filter(messages__sender_id=sender_id).update(
            failures=F("failures") + 1
        )
    return bool(changed)
