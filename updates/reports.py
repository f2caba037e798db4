"""What the trust's updates have done lately: the figures the staff pages show."""

from django.db.models import Count
from django.utils import timezone

from updates.models import OutboxMessage, Subscription
from waitinglist.models import Provider

RECENT_DAYS = 30


def trust_subscriptions(trust: Provider):
    """Subscriptions of patients linked to the trust's records, stopped or not."""
    return Subscription.objects.filter(user__patient_links__patient__provider=trust).distinct()


def messages_by_channel(trust: Provider, days: int = RECENT_DAYS) -> list[tuple[str, dict]]:
    """Messages to the trust's subscribers in the last `days`, counted by channel and state:
    [(channel, {state: count})], sorted by channel."""
    since = timezone.now() - timezone.timedelta(days=days)
    counts = (
        OutboxMessage.objects.filter(
            created_at__gte=since, subscription__user__patient_links__patient__provider=trust
        )
        .values("channel", "state")
        .annotate(n=Count("pk", distinct=True))
    )
    table: dict[str, dict[str, int]] = {}
    for row in counts:
        table.setdefault(row["channel"], dict.fromkeys(OutboxMessage.State.values, 0))
        table[row["channel"]][row["state"]] = row["n"]
    return sorted(table.items())
