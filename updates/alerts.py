"""Alerts after each import, for subscribers who asked for them: a date was booked, their
place moved a lot, their likely date moved by two weeks or more, new advice for their
condition. Each goes through the outbox under a key that makes it once only: a booked date
(a new date alerts again), a week, an article."""

from datetime import date, timedelta

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from advice.models import Article
from updates.models import EstimateTold, OutboxMessage, Subscription
from waitinglist.models import Pathway, PathwayMove, PathwayWeek, Provider

ESTIMATE_MOVE = timedelta(days=14)
ADVICE_WITHIN = timedelta(days=35)  # advice older than this is not news


def moved_a_lot(before: int | None, now: int | None) -> bool:
    """A change of place worth a message: at least 10 places and a tenth of the old place."""
    if not before or not now:
        return False
    return abs(before - now) >= max(10, before // 10)


def start_alert_run(provider: Provider, today: date, publish) -> int:
    """Queues every alert due to the trust's subscribers; returns how many were new."""
    snapshots = list(provider.snapshots.order_by("-week_ending")[:2])
    if not snapshots:
        return 0
    subscriptions = {
        s.pk: s
        for s in Subscription.objects.filter(
            paused=False, stopped_at__isnull=True, user__patient_links__patient__provider=provider
        )
        .distinct()
        .select_related("user")
    }
    pathways = _pathways(provider, snapshots, subscriptions)
    advice = Article.objects.for_pathways([p for p, _ in pathways]) if pathways else {}
    told = {
        (t.subscription_id, t.pathway_id): t
        for t in EstimateTold.objects.filter(subscription__in=subscriptions.keys())
    }
    week = snapshots[0].week_ending.isoformat()
    rows, tell = [], []
    for pathway, subscription_id in pathways:
        subscription = subscriptions[subscription_id]
        facts = {"hospital": provider.name, "position": pathway.place}
        estimate = getattr(pathway, "estimate", None)
        if subscription.alert_booked and estimate and estimate.basis == "booked":
            booked = {**facts, "booked": estimate.p50.strftime("%-d %B %Y")}
            rows += _messages(subscription, "booked", f"{pathway.pk}:{estimate.p50}", booked)
        if subscription.alert_position and moved_a_lot(pathway.before, pathway.place):
            moved = {**facts, "before": pathway.before}
            rows += _messages(subscription, "position", f"{pathway.pk}:{week}", moved)
        if estimate and estimate.basis == "model":
            last = told.get((subscription_id, pathway.pk))
            if last is None or abs(estimate.p50 - last.p50) >= ESTIMATE_MOVE:
                if subscription.alert_estimate and last is not None:
                    moved = {**facts, "from": f"{last.p50:%B %Y}", "to": f"{estimate.p50:%B %Y}"}
                    if not pathway.queue.admitted:  # an outpatient list: the appointment's date
                        moved["seen"] = True
                    rows += _messages(subscription, "estimate", f"{pathway.pk}:{week}", moved)
                tell.append(EstimateTold(subscription_id=subscription_id, pathway_id=pathway.pk,
                                         p50=estimate.p50))  # fmt: skip
        if subscription.alert_advice:
            recent = timezone.now() - ADVICE_WITHIN
            for article in advice.get(pathway.pk, []):
                if article.published_at and article.published_at >= recent:
                    news = {**facts, "title": article.title, "article": article.pk}
                    rows += _messages(subscription, "advice", f"a{article.pk}", news)
    started = timezone.now()
    with transaction.atomic():
        OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
        EstimateTold.objects.bulk_create(
            tell, update_conflicts=True, unique_fields=["subscription", "pathway"],
            update_fields=["p50"],
        )  # fmt: skip
        new = list(
            OutboxMessage.objects.filter(
                created_at__gte=started, subscription__in=subscriptions.keys()
            )
            .exclude(kind="digest")
            .values_list("pk", flat=True)
        )
        transaction.on_commit(lambda: publish(new))
    return len(new)


def _pathways(provider, snapshots, subscriptions) -> list[tuple[Pathway, int]]:
    def place(snapshot):
        return PathwayWeek.objects.filter(snapshot=snapshot, pathway=OuterRef("pk")).values(
            "position"
        )[:1]

    query = (
        Pathway.objects.filter(provider=provider, left_snapshot__isnull=True)
        .filter(patient__links__user__subscription__in=subscriptions.keys())
        .select_related("queue", "estimate")
        .annotate(
            place=Subquery(place(snapshots[0])),
            before=Subquery(place(snapshots[1]))
            if len(snapshots) > 1
            else Subquery(place(snapshots[0])),
            subscription_id=Subquery(
                Subscription.objects.filter(
                    user__patient_links__patient=OuterRef("patient")
                ).values("pk")[:1]
            ),
        )
    )
    found = [(p, p.subscription_id) for p in query if p.subscription_id in subscriptions]
    # A pathway found on another list this week has no earlier place on it to compare.
    moved = set(
        PathwayMove.objects.filter(snapshot=snapshots[0], pathway__provider=provider).values_list(
            "pathway_id", flat=True
        )
    )
    for pathway, _ in found:
        if pathway.pk in moved:
            pathway.before = None
    return found


def _messages(subscription: Subscription, kind: str, key: str, context: dict) -> list:
    found = []
    for channel in subscription.channels:
        to = subscription.mobile if channel == "sms" else subscription.user.email
        found.append(
            OutboxMessage(subscription=subscription, kind=kind, period=key, channel=channel,
                          to=to, context=context)
        )  # fmt: skip
    return found
