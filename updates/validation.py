"""The validation question, "Do you still need this treatment?", through the update channels.

Who gets it, and where:
- a patient whose account has updates on: on the channels they chose, under the outbox's
  unique key (subscription, "validation", pathway and ISO week, channel), so asking twice in a
  week sends once;
- a patient who paused or stopped their updates: nothing (they asked for no messages; the
  trust writes or phones instead);
- anyone else: at the email address and mobile number in the trust's extract, as invitations
  are sent (`updates.invitations.to_contacts`). Those rows have no subscription, so the unique
  key does not cover them: rows already queued for the same pathway and week are looked up and
  left out (the caller holds the pathways' row locks, so nobody adds one meanwhile).

A text never names the condition or the specialty; an email names the specialty only to a
patient who signed up for updates about it.
"""

from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from updates.invitations import to_contacts
from updates.models import OutboxMessage
from waitinglist.models import Pathway, PatientLink, Provider
from waitinglist.treatment_functions import TREATMENT_FUNCTIONS

KIND = "validation"


def period(pathway: Pathway, now: datetime) -> str:
    """Once a pathway a week: the pathway and the ISO week of the request."""
    year, week, _ = timezone.localdate(now).isocalendar()
    return f"{pathway.pk}:{year}-W{week:02d}"


def queue_questions(
    provider: Provider, pathways: list[Pathway], now: datetime, publish: Callable
) -> dict[int, int]:
    """Writes the question to the outbox for each pathway's patient and publishes the new
    messages once the transaction commits; returns the new messages queued per pathway."""
    links = PatientLink.objects.filter(patient__in={p.patient_id for p in pathways}).select_related(
        "user__subscription"
    )
    linked, subscriptions = set(), {}
    for link in links:
        linked.add(link.patient_id)
        if hasattr(link.user, "subscription"):
            subscriptions.setdefault(link.patient_id, []).append(link.user.subscription)
    keys = {p.pk: period(p, now) for p in pathways}
    already = set(
        OutboxMessage.objects.filter(
            kind=KIND, subscription__isnull=True, period__in=keys.values()
        ).values_list("period", "channel")
    )
    rows = []
    for pathway in pathways:
        context = _context(provider, pathway, account=pathway.patient_id in linked)
        theirs = subscriptions.get(pathway.patient_id)
        if theirs:
            rows += _to_subscribers(theirs, keys[pathway.pk], context, pathway)
        else:
            rows += [
                m
                for m in to_contacts(KIND, keys[pathway.pk], pathway.email, pathway.mobile, context)
                if (m.period, m.channel) not in already
            ]
    started = timezone.now()
    with transaction.atomic():
        OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
        new = list(
            OutboxMessage.objects.filter(
                kind=KIND, period__in=keys.values(), created_at__gte=started
            ).values_list("pk", "period")
        )
        transaction.on_commit(lambda: publish([pk for pk, _ in new]))
    pathway_of = {key: pk for pk, key in keys.items()}
    counts: dict[int, int] = {}
    for _, key in new:
        counts[pathway_of[key]] = counts.get(pathway_of[key], 0) + 1
    return counts


def _to_subscribers(subscriptions, key: str, context: dict, pathway: Pathway) -> list:
    """On each active subscriber's channels; a paused or stopped one gets nothing."""
    specialty = TREATMENT_FUNCTIONS.get(pathway.queue.treatment_function, "")
    return [
        OutboxMessage(
            subscription=s,
            kind=KIND,
            period=key,
            channel=channel,
            to=s.mobile if channel == "sms" else s.user.email,
            context={**context, "subscriber": True, "specialty": specialty},
        )
        for s in subscriptions
        if s.active
        for channel in s.channels
    ]


def _context(provider: Provider, pathway: Pathway, account: bool) -> dict:
    """The facts the templates need. A patient without an account is sent to link their
    record first (with the code from their letter), then answers on their page."""
    if account:
        url = f"{settings.SITE_URL}{reverse('waitinglist:my_wait')}#pathway-{pathway.pk}"
    else:
        url = f"{settings.SITE_URL}{reverse('waitinglist:activate')}"
    return {
        "hospital": provider.name,
        "phone": provider.waiting_list_phone,
        "url": url,
        "account": account,
        "subscriber": False,
    }
