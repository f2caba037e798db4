"""Digest runs: the facts of every subscriber's waits, read in a few set-based queries, written
to the outbox (one row per subscriber, channel and period), then one task each to send it."""

from datetime import date, timedelta
from types import SimpleNamespace

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.template.loader import render_to_string
from django.utils import timezone

from advice.models import Article
from updates.models import OutboxMessage, Subscription
from updates.senders import unsubscribe_url
from waitinglist.explanation import month_range
from waitinglist.models import ADMITTED_LIST_TYPES, Pathway, PathwayWeek, Provider
from waitinglist.treatment_functions import TREATMENT_FUNCTIONS

NEW_ADVICE = {"weekly": timedelta(days=7), "monthly": timedelta(days=31)}


def start_digest_run(provider: Provider, today: date, publish) -> int:
    """Queues the digest every due subscriber of the trust has not had this period; returns
    how many messages were queued (none, the second time in a period)."""
    facts = _facts(provider)
    subscriptions = Subscription.objects.filter(paused=False, stopped_at__isnull=True).filter(
        user__patient_links__patient__provider=provider
    )
    due = (
        subscriptions.distinct()
        .select_related("user")
        .only("by_email", "by_sms", "mobile", "mobile_verified_at", "frequency", "user__email")
    )
    rows = []
    for subscription in due:
        waits = facts.get(subscription.pk, [])
        if not waits:
            continue  # no open wait at this trust any more
        # Advice published since the last digest of this frequency is news for this one.
        since = timezone.now() - NEW_ADVICE[subscription.frequency]
        waits = [
            {**wait, "advice": [a for a in wait["advice"] if a["published"] >= since.isoformat()]}
            for wait in waits
        ]
        context = {"hospital": provider.name, "waits": waits}
        for channel in subscription.channels:
            to = subscription.mobile if channel == "sms" else subscription.user.email
            rows.append(
                OutboxMessage(
                    subscription=subscription, kind="digest", channel=channel, to=to,
                    period=subscription.period(today), context=context,
                )
            )  # fmt: skip
    started = timezone.now()
    with transaction.atomic():
        # A row already there for this subscriber, channel and period is left alone.
        OutboxMessage.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
        new = list(
            OutboxMessage.objects.filter(
                kind="digest", created_at__gte=started, subscription__in=subscriptions.values("pk")
            ).values_list("pk", flat=True)
        )
        transaction.on_commit(lambda: publish(new))
    return len(new)


def _facts(provider: Provider) -> dict[int, list[dict]]:
    """For each subscription with a wait at the trust: each open wait's specialty, place and
    estimate, in one query."""
    latest = provider.latest_snapshot
    position = PathwayWeek.objects.filter(snapshot=latest, pathway=OuterRef("pk")).values(
        "position"
    )[:1]
    rows = (
        Pathway.objects.filter(provider=provider, left_snapshot__isnull=True)
        .filter(patient__links__user__subscription__isnull=False)
        .annotate(place=Subquery(position))
        .values_list(
            "patient__links__user__subscription",
            "queue__treatment_function",
            "place",
            "estimate__basis",
            "estimate__p10",
            "estimate__p90",
            "queue__list_type",
            "procedure_code",
        )
    )
    recent = timezone.now() - max(NEW_ADVICE.values())
    articles = list(Article.objects.published().filter(provider=provider, published_at__gte=recent))
    facts: dict[int, list[dict]] = {}
    for subscription, function, place, basis, p10, p90, list_type, procedure in rows:
        wait = {"specialty": TREATMENT_FUNCTIONS.get(function, ""), "position": place}
        like = SimpleNamespace(
            queue=SimpleNamespace(treatment_function=function, list_type=list_type),
            procedure_code=procedure,
        )
        wait["advice"] = [
            {"id": a.pk, "title": a.title, "published": a.published_at.isoformat()}
            for a in articles
            if a.specificity(like)
        ]
        if basis == "booked":
            wait["booked"] = p10.strftime("%-d %B %Y")
        elif basis == "model":
            wait["months"] = month_range(p10, p90)
            wait["seen"] = list_type not in ADMITTED_LIST_TYPES  # outpatients: the appointment
        facts.setdefault(subscription, []).append(wait)
    return facts


def render(message: OutboxMessage) -> tuple[str, str, str]:
    """(subject, text, HTML) from the template files of the message's kind and channel."""
    context = {
        **message.context,
        "manage_url": f"{settings.SITE_URL}/updates/",
        "page_url": f"{settings.SITE_URL}/my-wait/",
        "site_url": settings.SITE_URL,
        "unsubscribe_url": unsubscribe_url(message),
    }
    folder = f"updates/{message.kind}"
    if message.channel == "sms":
        return "", render_to_string(f"{folder}/sms.txt", context).strip(), ""
    return (
        render_to_string(f"{folder}/subject.txt", context).strip(),
        render_to_string(f"{folder}/body.txt", context),
        render_to_string(f"{folder}/body.html", context),
    )
