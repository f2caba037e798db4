"""Subscriptions to updates about a patient's waits, and the outbox of messages to send.

Every message is written to the outbox, under a key unique to (subscription, kind, period,
channel), before anything is sent: a run repeated, or a task delivered twice, finds the row
already there and sends nothing more.
"""

import secrets

from django.conf import settings
from django.db import models


def _token() -> str:
    return secrets.token_urlsafe(32)


class Subscription(models.Model):
    class Frequency(models.TextChoices):
        MONTHLY = "monthly", "Once a month"
        WEEKLY = "weekly", "Once a week"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscription"
    )
    by_email = models.BooleanField(default=True)
    by_sms = models.BooleanField(default=False)
    mobile = models.CharField(max_length=16, blank=True, help_text="E.164, once verified")
    mobile_verified_at = models.DateTimeField(null=True, blank=True)
    frequency = models.CharField(max_length=7, choices=Frequency, default=Frequency.MONTHLY)
    alert_position = models.BooleanField(default=False)
    alert_estimate = models.BooleanField(default=False)
    alert_booked = models.BooleanField(default=True)
    alert_advice = models.BooleanField(default=False)
    paused = models.BooleanField(default=False)
    stopped_at = models.DateTimeField(null=True, blank=True)
    unsubscribe_token = models.CharField(max_length=64, unique=True, default=_token)
    failures = models.PositiveIntegerField(default=0, help_text="Messages that could not be sent")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"subscription {self.pk}"

    @property
    def active(self) -> bool:
        return not self.paused and self.stopped_at is None

    @property
    def channels(self) -> list[str]:
        found = ["email"] if self.by_email else []
        if self.by_sms and self.mobile_verified_at:
            found.append("sms")
        return found

    def period(self, today) -> str:
        """The digest period a date falls in: an ISO week or a calendar month."""
        if self.frequency == self.Frequency.WEEKLY:
            year, week, _ = today.isocalendar()
            return f"{year}-W{week:02d}"
        return today.strftime("%Y-%m")


class MobileCheck(models.Model):
    """A code texted to a mobile number to prove it is the patient's."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="+")
    mobile = models.CharField(max_length=16)
    digest = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    failures = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"mobile check {self.pk}"


class OutboxMessage(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    # Delivery receipts only move a message forward.
    ORDER = {"queued": 0, "sending": 1, "sent": 2, "delivered": 3, "failed": 3}
    # Messages carrying a secret (a code): their words are wiped once sent.
    SECRET_KINDS = {"code", "invite"}

    # None for an invitation to a patient who has no account yet.
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="messages", null=True
    )
    kind = models.CharField(max_length=20)  # digest, booked, position, estimate, advice, code
    # What makes the message once only: the digest's week or month, the booked date, the
    # article, the week of a move.
    period = models.CharField(max_length=40)
    channel = models.CharField(max_length=5)  # email or sms
    to = models.CharField(max_length=254)
    # What the message says, as facts: the templates turn them into words when it is sent.
    context = models.JSONField(default=dict)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    html = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sender_id = models.CharField(max_length=64, blank=True, db_index=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "kind", "period", "channel"], name="one_message_a_period"
            )
        ]
        indexes = [models.Index(fields=["state", "claimed_at"], name="outbox_state")]

    def __str__(self) -> str:
        return f"{self.kind} {self.period} {self.channel} for {self.subscription_id}"

    @property
    def reference(self) -> str:
        """The message's key as GOV.UK Notify stores it: how a resend is caught."""
        return f"ww-{self.pk}"


class EstimateTold(models.Model):
    """The likely date last known to a subscriber for one wait: an estimate alert is due when
    the new one is two weeks or more away from it."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="+")
    pathway = models.ForeignKey(
        "waitinglist.Pathway", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    p50 = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "pathway"], name="one_told_a_wait")
        ]

    def __str__(self) -> str:
        return f"told {self.p50}"
