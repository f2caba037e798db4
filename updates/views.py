"""The patient's update choices, one-click unsubscribe, and GOV.UK Notify's delivery receipts."""

import hmac
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from portal.access import trust_admin_required
from updates import outbox, reports, services
from updates.forms import CodeForm, SubscriptionForm
from updates.models import OutboxMessage, Subscription
from updates.tasks import publish


@login_required
def manage(request: HttpRequest) -> HttpResponse:
    subscription = services.subscription_for(request.user)
    form = SubscriptionForm(request.POST or None, instance=subscription)
    if request.method == "POST" and "stop" in request.POST:
        services.stop(subscription)
        messages.success(request, "You will not get any more updates.")
        return redirect("updates:manage")
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        saved.stopped_at = None
        mobile = form.cleaned_data.get("mobile_e164")
        if saved.by_sms and mobile and mobile != subscription.mobile:
            saved.by_sms = False  # until the number is proved
        saved.save()
        if mobile and (mobile != saved.mobile or not saved.mobile_verified_at):
            services.send_mobile_code(saved, mobile, publish)
            return redirect("updates:verify")
        messages.success(request, "Your choices are saved.")
        return redirect("updates:manage")
    return render(request, "updates/manage.html", {"form": form, "subscription": subscription})


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    subscription = services.subscription_for(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.check_mobile_code(subscription, form.cleaned_data["code"]):
            messages.success(request, "Your mobile number is confirmed. We will text you.")
            return redirect("updates:manage")
        form.add_error("code", "The code is wrong or too old. Check the text, or ask for a new one")
    return render(request, "updates/verify.html", {"form": form})


@csrf_exempt  # RFC 8058: a mail client posts here with no session; the token is the key
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    subscription = get_object_or_404(Subscription, unsubscribe_token=token)
    if request.method == "POST":
        services.stop(subscription)
        return render(request, "updates/unsubscribed.html")
    return render(request, "updates/unsubscribe.html", {"token": token})


def _from_notify(request: HttpRequest) -> bool:
    """The request carries the bearer token set in Notify's callback settings."""
    expected = f"Bearer {settings.GOVUK_NOTIFY_CALLBACK_TOKEN}"
    given = request.headers.get("Authorization", "")
    return bool(settings.GOVUK_NOTIFY_CALLBACK_TOKEN) and hmac.compare_digest(given, expected)


@csrf_exempt
@require_POST
def notify_inbound(request: HttpRequest) -> HttpResponse:
    """A text a patient sent back, reported by Notify: STOP stops texts to that number."""
    if not _from_notify(request):
        return JsonResponse({"error": "not authorised"}, status=401)
    try:
        report = json.loads(request.body)
        number, words = str(report["source_number"]), str(report["content"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "expected JSON with source_number and content"}, status=400)
    stopped = 0
    if words.strip().upper().rstrip(".!") in services.STOP_WORDS:
        stopped = services.stop_texts(number)
    return JsonResponse({"stopped": stopped})


@csrf_exempt
@require_POST
def notify_callback(request: HttpRequest) -> HttpResponse:
    """GOV.UK Notify's delivery receipt: {"id": ..., "status": ...}, with our bearer token."""
    if not _from_notify(request):
        return JsonResponse({"error": "not authorised"}, status=401)
    try:
        receipt = json.loads(request.body)
        changed = outbox.record_status(str(receipt["id"]), str(receipt["status"]))
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "expected JSON with id and status"}, status=400)
    return JsonResponse({"changed": changed, "at": timezone.now().isoformat()})


@trust_admin_required
def sending(request: HttpRequest) -> HttpResponse:
    """How the trust's updates are going: subscribers, and messages sent, delivered, failed."""
    trust = request.user.provider
    subscribers = reports.trust_subscriptions(trust).filter(stopped_at__isnull=True)
    context = {
        "subscribers": subscribers.count(),
        "by_sms": subscribers.filter(by_sms=True, mobile_verified_at__isnull=False).count(),
        "table": reports.messages_by_channel(trust),
        "states": OutboxMessage.State.choices,
    }
    return render(request, "updates/sending.html", context)
