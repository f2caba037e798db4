"""The trust workspace's figures: each queue's size, flow, waits and estimate accuracy, and how
patients use the portal. Plain functions over the trust's own rows (docs/workspace.md), each a
fixed number of queries however many queues, weeks or pathways there are."""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Avg, Count, Q, Subquery
from django.utils import timezone

from advice.models import Feedback
from updates import reports
from updates.models import Subscription
from waitinglist.charts import LineChart, line_chart
from waitinglist.models import (
    PageFeedback,
    Pathway,
    PatientLink,
    Provider,
    Queue,
    QueueAccuracy,
    QueueRates,
    QueueWeek,
    Snapshot,
)
from waitinglist.treatment_functions import TREATMENT_FUNCTIONS

RECENT_WEEKS = 12  # the mean joiners and leavers: the weeks the estimates weigh most
CHART_WEEKS = 52
SHOWN_METHODS = {"wait-well": "Wait Well", "nhs-app-mean": "NHS App mean wait"}
LIST_TYPES = {
    "IRTT": "admitted",
    "ORTT": "non-admitted",
    "PTLI": "planned, admitted",
    "PTLO": "planned, outpatient",
    "RTTI": "other, admitted",
    "RTTO": "other, outpatient",
}


def weeks(days: float | None) -> float | None:
    return None if days is None else days / 7


def queue_name(queue: Queue) -> str:
    """The queue in the team's words: "Trauma and orthopaedics, admitted (IRTT)"."""
    specialty = TREATMENT_FUNCTIONS.get(queue.treatment_function, queue.treatment_function)
    kind = LIST_TYPES.get(queue.list_type, "")
    name = (
        f"{specialty}, {kind} ({queue.list_type})" if kind else f"{specialty} ({queue.list_type})"
    )
    return f"{name}, consultant {queue.consultant_code}" if queue.consultant_code else name


@dataclass
class QueueRow:
    queue: Queue
    name: str
    week: QueueWeek
    joiners_mean: float | None
    leavers_mean: float | None
    accuracy: dict[str, QueueAccuracy]  # by method; empty if not yet back-tested

    @property
    def median_weeks(self) -> float | None:
        return weeks(self.week.median_wait_days)

    @property
    def p92_weeks(self) -> float | None:
        return weeks(self.week.p92_wait_days)

    @property
    def accuracy_shown(self) -> list[tuple[str, QueueAccuracy | None]]:
        return [(label, self.accuracy.get(m)) for m, label in SHOWN_METHODS.items()]


@dataclass
class QueueTable:
    snapshot: Snapshot | None
    rows: list[QueueRow]
    trust_accuracy: dict[str, QueueAccuracy] = field(default_factory=dict)

    @property
    def backtested(self) -> QueueAccuracy | None:
        return next(iter(self.trust_accuracy.values()), None)

    @property
    def trust_accuracy_shown(self) -> list[tuple[str, QueueAccuracy | None]]:
        return [(label, self.trust_accuracy.get(m)) for m, label in SHOWN_METHODS.items()]


def _accuracy(provider: Provider, queue: Queue | None = None) -> dict:
    """The latest back-test's rows for the shown methods: {(queue id, method): row}."""
    rows = QueueAccuracy.objects.filter(provider=provider, method__in=SHOWN_METHODS)
    if queue is not None:
        rows = rows.filter(queue=queue)
    return {(row.queue_id, row.method): row for row in rows}


def queue_table(provider: Provider) -> QueueTable:
    """Every queue in the trust's latest snapshot, largest first (four queries)."""
    snapshot = provider.latest_snapshot
    if snapshot is None:
        return QueueTable(None, [])
    recent = provider.snapshots.order_by("-week_ending").values("pk")[:RECENT_WEEKS]
    means = {
        row["queue_id"]: row
        for row in QueueWeek.objects.filter(
            queue__provider=provider, snapshot_id__in=Subquery(recent)
        )
        .values("queue_id")
        .annotate(joiners=Avg("joiners"), leavers=Avg("leavers"))
    }
    accuracy = _accuracy(provider)
    latest = (
        QueueWeek.objects.filter(snapshot=snapshot, queue__provider=provider)
        .select_related("queue")
        .order_by("-size", "queue__treatment_function", "queue__list_type")
    )
    rows = [
        QueueRow(
            queue=week.queue,
            name=queue_name(week.queue),
            week=week,
            joiners_mean=means.get(week.queue_id, {}).get("joiners"),
            leavers_mean=means.get(week.queue_id, {}).get("leavers"),
            accuracy={
                m: accuracy[(week.queue_id, m)]
                for m in SHOWN_METHODS
                if (week.queue_id, m) in accuracy
            },
        )
        for week in latest
    ]
    trust = {m: accuracy[(None, m)] for m in SHOWN_METHODS if (None, m) in accuracy}
    return QueueTable(snapshot, rows, trust)


@dataclass
class RateRow:
    """One band's rates behind the estimates (QueueRates), as the page shows them."""

    band: int
    weeks: int
    treated: float
    joined_ahead: float
    removed_percent: float
    leavers_counted_as_treated: bool = False  # the extract does not show the bookings

    @classmethod
    def of(cls, rates: QueueRates) -> "RateRow":
        return cls(
            rates.band,
            rates.weeks_of_history,
            rates.treated_per_week,
            rates.joined_ahead_per_week,
            100 * rates.removed_share_per_week,
            rates.leavers_counted_as_treated,
        )


@dataclass
class QueueHistory:
    queue: Queue
    name: str
    weeks: list[QueueWeek]  # oldest first, with their snapshots
    rates: list[RateRow]
    accuracy: list[tuple[str, QueueAccuracy | None]]
    charts: list[LineChart]


def queue_weeks(queue: Queue, limit: int | None = None):
    """The queue's weekly rows, newest first, with their week ending."""
    rows = queue.weeks.select_related("snapshot").order_by("-snapshot__week_ending")
    return rows[:limit] if limit else rows


def queue_history(provider: Provider, queue: Queue) -> QueueHistory:
    """A queue's last 52 weeks, the rates behind its estimates, and its accuracy (3 queries)."""
    history = list(reversed(queue_weeks(queue, CHART_WEEKS)))
    accuracy = _accuracy(provider, queue)
    return QueueHistory(
        queue=queue,
        name=queue_name(queue),
        weeks=history,
        rates=[RateRow.of(r) for r in queue.rates.order_by("band")],
        accuracy=[(label, accuracy.get((queue.pk, m))) for m, label in SHOWN_METHODS.items()],
        charts=[c for c in _charts(history) if c is not None],
    )


def _charts(history: list[QueueWeek]) -> list[LineChart | None]:
    dates = [w.snapshot.week_ending for w in history]
    # In a queue's first week everyone on it counts as joining: a spike that would flatten
    # every later week, so the joined-and-left chart starts the week after.
    flow = history[1:] if history and _first_week(history[0]) else history
    return [
        line_chart(
            "size", "People waiting", "people", dates, {"Waiting": [w.size for w in history]}
        ),
        line_chart(
            "flow",
            "Joined and left each week",
            "people",
            [w.snapshot.week_ending for w in flow],
            {"Joined": [w.joiners for w in flow], "Left": [w.leavers for w in flow]},
        ),
        line_chart(
            "waits",
            "Waits so far, in weeks",
            "weeks",
            dates,
            {
                "Median": [_round(weeks(w.median_wait_days)) for w in history],
                "92nd percentile": [_round(weeks(w.p92_wait_days)) for w in history],
            },
        ),
    ]


def _first_week(week: QueueWeek) -> bool:
    return week.leavers == 0 and week.joiners == week.size


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# --- Engagement -----------------------------------------------------------------------------


@dataclass
class Share:
    yes: int
    no: int

    @property
    def total(self) -> int:
        return self.yes + self.no

    @property
    def share_yes(self) -> float | None:
        return self.yes / self.total if self.total else None


@dataclass
class Engagement:
    links: list[tuple[str, int]]  # (method label, accounts linked)
    patients: int  # on the latest list
    linked_patients: int
    subscribers: dict[str, int]
    messages: list[tuple[str, dict]]
    advice: list[tuple[str, Share]]
    page_recent: Share
    page_all: Share

    @property
    def linked_share(self) -> float | None:
        return self.linked_patients / self.patients if self.patients else None

    @property
    def subscriber_rows(self) -> list[tuple[str, int]]:
        return [(SUBSCRIBER_GROUPS[key], n) for key, n in self.subscribers.items()]


SUBSCRIBER_GROUPS = {
    "email": "Email only",
    "sms": "Text message only",
    "both": "Email and text message",
    "paused": "Paused",
    "stopped": "Stopped",
}


def engagement(provider: Provider, now=None) -> Engagement:
    """How patients use the portal, for one trust (six queries)."""
    now = now or timezone.now()
    since = now - timezone.timedelta(days=reports.RECENT_DAYS)
    links = dict(
        PatientLink.objects.filter(patient__provider=provider)
        .values("method")
        .annotate(n=Count("pk"))
        .values_list("method", "n")
    )
    on_list = Pathway.objects.filter(provider=provider, left_snapshot__isnull=True).aggregate(
        patients=Count("patient_id", distinct=True),
        linked=Count("patient_id", distinct=True, filter=Q(patient__links__isnull=False)),
    )
    feedback = PageFeedback.objects.filter(provider=provider).aggregate(
        yes=Count("pk", filter=Q(answered=True)),
        no=Count("pk", filter=Q(answered=False)),
        recent_yes=Count("pk", filter=Q(answered=True, at__gte=since)),
        recent_no=Count("pk", filter=Q(answered=False, at__gte=since)),
    )
    return Engagement(
        links=[(label, links.get(value, 0)) for value, label in PatientLink.Method.choices],
        patients=on_list["patients"],
        linked_patients=on_list["linked"],
        subscribers=_subscribers(provider),
        messages=reports.messages_by_channel(provider),
        advice=_advice(provider),
        page_recent=Share(feedback["recent_yes"], feedback["recent_no"]),
        page_all=Share(feedback["yes"], feedback["no"]),
    )


def _subscribers(provider: Provider) -> dict[str, int]:
    theirs = reports.trust_subscriptions(provider).values("pk")
    live = Q(paused=False, stopped_at__isnull=True)
    sms = Q(by_sms=True, mobile_verified_at__isnull=False)
    counts = Subscription.objects.filter(pk__in=theirs).aggregate(
        email=Count("pk", filter=live & Q(by_email=True) & ~sms),
        sms=Count("pk", filter=live & Q(by_email=False) & sms),
        both=Count("pk", filter=live & Q(by_email=True) & sms),
        paused=Count("pk", filter=Q(paused=True, stopped_at__isnull=True)),
        stopped=Count("pk", filter=Q(stopped_at__isnull=False)),
    )
    return {key: counts[key] for key in SUBSCRIBER_GROUPS}


def _advice(provider: Provider) -> list[tuple[str, Share]]:
    rows = (
        Feedback.objects.filter(article__provider=provider)
        .values("article_id", "article__title")
        .annotate(yes=Count("pk", filter=Q(helpful=True)), no=Count("pk", filter=Q(helpful=False)))
        .order_by("article__title", "article_id")
    )
    return [(row["article__title"], Share(row["yes"], row["no"])) for row in rows]


def engagement_rows(figures: Engagement) -> list[tuple[str, str, object]]:
    """Every figure on the engagement page as (section, measure, value), for the CSV."""
    rows: list[tuple[str, str, object]] = [("Accounts linked", m, n) for m, n in figures.links]
    rows += [
        ("Accounts linked", "Patients on the latest list", figures.patients),
        ("Accounts linked", "Of whom linked to an account", figures.linked_patients),
        ("Accounts linked", "Share linked", _share(figures.linked_share)),
    ]
    rows += [("Subscribers", label, n) for label, n in figures.subscriber_rows]
    rows += [
        (f"Messages, last {reports.RECENT_DAYS} days", f"{channel} {state}", n)
        for channel, counts in figures.messages
        for state, n in counts.items()
    ]
    for title, share in figures.advice:
        rows += [
            (f"Advice: {title}", "Helpful", share.yes),
            (f"Advice: {title}", "Not helpful", share.no),
        ]
    recent = f"last {reports.RECENT_DAYS} days"
    for period, share in ((recent, figures.page_recent), ("all time", figures.page_all)):
        section = f"Did this page answer your question about your wait? ({period})"
        rows += [(section, "Yes", share.yes), (section, "No", share.no)]
        rows.append((section, "Share yes", _share(share.share_yes)))
    return rows


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# --- The patient page's question ------------------------------------------------------------


def record_page_feedback(user, answered: bool, today: date) -> bool:
    """Stores a patient's answer to "Did this page answer your question about your wait?"
    for the trust of their own open pathway; one a day is enough, so repeats are ignored.
    False if they have no linked record to answer about."""
    pathway = Pathway.objects.filter(patient__links__user=user, left_snapshot__isnull=True)
    provider_id = pathway.values_list("provider_id", flat=True).first()
    if provider_id is None:
        return False
    if not PageFeedback.objects.filter(user=user, at__date=today).exists():
        PageFeedback.objects.create(provider_id=provider_id, user=user, answered=answered)
    return True
