"""Who sends a message: GOV.UK Notify in production (email and SMS), Django's email backend
(SMTP) for email if a trust prefers, or a file under var/ for `make run`.

Every sender answers with the id it gave the message, or raises: `TryLater` (timeouts, 5xx:
retry with backoff), `SlowDown` (429: wait, then retry) or `Refused` (4xx: give up, say why).
"""

import json
import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from notifications_python_client import NotificationsAPIClient
from notifications_python_client.errors import APIError


class TryLater(Exception):
    pass


class SlowDown(Exception):
    pass


class Refused(Exception):
    pass


class NotifySender:
    """GOV.UK Notify: one email template and one text template, each a ((subject)) and ((body))
    the portal fills in from its own template files."""

    def __init__(self) -> None:
        self.client = NotificationsAPIClient(
            settings.GOVUK_NOTIFY_API_KEY, base_url=settings.GOVUK_NOTIFY_BASE_URL, timeout=20
        )

    def send(self, message) -> str:
        try:
            if message.channel == "sms":
                answer = self.client.send_sms_notification(
                    message.to,
                    settings.GOVUK_NOTIFY_SMS_TEMPLATE_ID,
                    personalisation={"body": message.body},
                    reference=message.reference,
                )
            else:
                answer = self.client.send_email_notification(
                    message.to,
                    settings.GOVUK_NOTIFY_EMAIL_TEMPLATE_ID,
                    personalisation={"subject": message.subject, "body": message.body},
                    reference=message.reference,
                    one_click_unsubscribe_url=unsubscribe_url(message),
                )
        except APIError as error:
            raise _classify(error) from None
        return answer["id"]

    def already_sent(self, message) -> str | None:
        """The id Notify gave this message, if it took it before (a worker died after sending
        and before recording it)."""
        try:
            found = self.client.get_all_notifications(reference=message.reference)
        except APIError as error:
            raise _classify(error) from None
        notifications = found.get("notifications") or []
        return notifications[0]["id"] if notifications else None


def _classify(error: APIError) -> Exception:
    if error.status_code == 429:
        return SlowDown(str(error))
    if error.status_code >= 500:
        return TryLater(str(error))
    return Refused(str(error)[:300])


class EmailBackendSender:
    """Email through Django's email backend (SMTP); texts still need Notify."""

    def send(self, message) -> str:
        if message.channel == "sms":
            raise Refused("text messages need GOV.UK Notify: set GOVUK_NOTIFY_API_KEY")
        url = unsubscribe_url(message)
        headers = {}
        if url:
            headers = {
                "List-Unsubscribe": f"<{url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        email = EmailMultiAlternatives(message.subject, message.body, to=[message.to],
                                       headers=headers)  # fmt: skip
        if message.html:
            email.attach_alternative(message.html, "text/html")
        try:
            email.send()
        except OSError as error:
            raise TryLater(str(error)) from None
        return f"smtp-{uuid.uuid4()}"

    def already_sent(self, message) -> str | None:
        return None


class FileSender:
    """Writes each message as a line of JSON under var/outbox/ (for `make run`)."""

    def send(self, message) -> str:
        folder = Path(settings.VAR_DIR) / "outbox"
        folder.mkdir(parents=True, exist_ok=True)
        sender_id = f"file-{uuid.uuid4()}"
        line = {"id": sender_id, "reference": message.reference, "channel": message.channel,
                "to": message.to, "subject": message.subject, "body": message.body}  # fmt: skip
        with (folder / "messages.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
        return sender_id

    def already_sent(self, message) -> str | None:
        return None


def unsubscribe_url(message) -> str | None:
    """None for an invitation: the patient has subscribed to nothing."""
    if message.subscription is None:
        return None
    return f"{settings.SITE_URL}/updates/unsubscribe/{message.subscription.unsubscribe_token}/"


def sender():
    if settings.GOVUK_NOTIFY_API_KEY:
        return NotifySender()
    if settings.UPDATES_EMAIL_BY_SMTP:
        return EmailBackendSender()
    return FileSender()
