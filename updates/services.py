"""Subscribing, verifying a mobile number, stopping: plain functions the views call."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from updates.models import MobileCheck, OutboxMessage, Subscription
from waitinglist.extract_checks import uk_mobile

CODE_MINUTES = 10
CODE_TRIES = 5


def _digest(code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), code.encode(), hashlib.sha256).hexdigest()


def subscription_for(user) -> Subscription:
    """The patient's subscription; new ones start gentle: monthly, email, alerts on booking."""
    return Subscription.objects.get_or_create(user=user)[0]


@transaction.atomic
def send_mobile_code(subscription: Subscription, mobile: str, publish) -> MobileCheck:
    """Texts a 6-digit code to the number; only its keyed hash is kept."""
    code = f"{secrets.randbelow(10**6):06d}"
    check = MobileCheck.objects.create(
        subscription=subscription, mobile=mobile, digest=_digest(code),
        expires_at=timezone.now() + timedelta(minutes=CODE_MINUTES),
    )  # fmt: skip
    message = OutboxMessage.objects.create(
        subscription=subscription, kind="code", period=f"c{check.pk}", channel="sms", to=mobile,
        context={"code": code},
    )  # fmt: skip
    transaction.on_commit(lambda: publish([message.pk]))
    return check


def check_mobile_code(subscription: Subscription, code: str) -> bool:
    """True, and the number verified, if the code is the latest one sent and still good."""
    check = MobileCheck.objects.filter(subscription=subscription).order_by("-pk").first()
    if check is None or check.expires_at < timezone.now() or check.failures >= CODE_TRIES:
        return False
    if not hmac.compare_digest(check.digest, _digest(code.strip())):
        MobileCheck.objects.filter(pk=check.pk).update(failures=check.failures + 1)
        return False
    subscription.mobile, subscription.mobile_verified_at = check.mobile, timezone.now()
    subscription.by_sms = True
    subscription.save(update_fields=["mobile", "mobile_verified_at", "by_sms"])
    check.delete()
    return True


def stop(subscription: Subscription) -> None:
    """No more updates of any kind; messages not yet sent are not sent."""
    subscription.stopped_at = subscription.stopped_at or timezone.now()
    subscription.save(update_fields=["stopped_at"])


STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL"}


def stop_texts(number: str) -> int:
    """No more texts to this number (Notify reports it in international form, 447...)."""
    e164 = uk_mobile(number if number.startswith(("+", "0")) else f"+{number}")
    if not e164:
        return 0
    return Subscription.objects.filter(mobile=e164, by_sms=True).update(by_sms=False)
