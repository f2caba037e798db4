"""The validation due list, and asking its patients "Do you still need this treatment?".

NHS England's validation rule (/work/shared/domain.md, "Validation"; NHS England, from
2022-23): trusts check with every patient who has waited 12 weeks or more whether they still
need treatment, and again every 12 weeks. Asking changes nothing on the list: answers come to
the responses inbox, and only a clinical decision the patient agrees to, made in the trust's
own systems, removes anyone.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from updates.models import Subscription
from updates.validation import queue_questions
from waitinglist.models import AuditEvent, Pathway, PatientLink, Provider, Snapshot
from waitinglist.models import ValidationRequest as Request
from waitinglist.treatment_functions import TREATMENT_FUNCTIONS

DUE_AFTER = timedelta(days=84)  # 12 weeks waited, or since the last validation
ASKED_RECENTLY = timedelta(days=28)  # asked within 4 weeks: give them time to answer
PAGE_SIZE = 50
MOST_AT_ONCE = 200


def due(provider: Provider, snapshot: Snapshot) -> QuerySet[Pathway]:
    """Open pathways of the snapshot that have waited 12 weeks or more by its week's end and
    were not validated in the 12 weeks before it, longest waiting first."""
    cutoff = snapshot.week_ending - DUE_AFTER
    return (
        provider.pathways.filter(weeks__snapshot=snapshot, clock_start__lte=cutoff)
        .filter(Q(last_validated__isnull=True) | Q(last_validated__lt=cutoff))
        .order_by("clock_start", "pk")
    )


def with_reach(pathways: QuerySet[Pathway]) -> QuerySet[Pathway]:
    """The due list's columns: when last asked, and how the patient can be reached."""
    asked = Request.objects.filter(pathway=OuterRef("pk"), messages_queued__gt=0)
    links = PatientLink.objects.filter(patient=OuterRef("patient"))
    updates = Subscription.objects.filter(
        user__patient_links__patient=OuterRef("patient"), paused=False, stopped_at__isnull=True
    )
    return pathways.select_related("queue").annotate(
        last_asked=Subquery(asked.order_by("-requested_at").values("requested_at")[:1]),
        has_account=Exists(links),
        has_updates=Exists(updates),
    )


def weeks_waited(pathway: Pathway, snapshot: Snapshot) -> int:
    return (snapshot.week_ending - pathway.clock_start).days // 7


CSV_HEADER = [
    "pathway", "local_patient_identifier", "specialty", "queue", "weeks_waited",
    "last_validated", "last_asked", "linked_account", "updates_on", "extract_email",
    "extract_mobile",
]  # fmt: skip


def csv_rows(pathways: QuerySet[Pathway], snapshot: Snapshot) -> Iterator[list]:
    """The whole due list, a row a pathway; whether contacts exist, never the contacts. Read
    as tuples: building 40,000 model instances took 2 of the download's 4 seconds."""
    rows = with_reach(pathways).values_list(
        "identifier", "local_patient_identifier", "queue__treatment_function",
        "queue__list_type", "queue__consultant_code", "clock_start", "last_validated",
        "last_asked", "has_account", "has_updates", "email", "mobile",
    )  # fmt: skip
    for (identifier, local, function, list_type, consultant, clock_start, validated, asked,
         account, updates, email, mobile) in rows.iterator(chunk_size=2000):  # fmt: skip
        queue = "-".join(part for part in (function, list_type, consultant) if part)
        yield [
            identifier, local, TREATMENT_FUNCTIONS.get(function, ""), queue,
            (snapshot.week_ending - clock_start).days // 7, validated, asked, account, updates,
            bool(email), bool(mobile),
        ]  # fmt: skip


@dataclass
class Asked:
    asked: int = 0  # pathways whose patient was sent the question
    messages: int = 0
    recently: int = 0  # skipped: asked within the last 4 weeks
    unreachable: int = 0  # no way to send it here: a letter or a call instead
    not_due: int = 0  # not on the due list (any more), or not the trust's


def ask(
    provider: Provider, by, pathway_ids: list[int], publish: Callable, ip: str | None = None
) -> Asked:
    """Queues the question to the patients of the chosen pathways that are due and were not
    asked in the last 4 weeks, and records a request for each one tried."""
    snapshot = provider.latest_snapshot
    result = Asked()
    if snapshot is None:
        result.not_due = len(pathway_ids)
        return result
    now = timezone.now()
    with transaction.atomic():
        # Locked, so that two of the team asking at once cannot both ask the same patient:
        # the second waits, then sees the first one's requests.
        chosen = list(
            due(provider, snapshot)
            .filter(pk__in=pathway_ids[:MOST_AT_ONCE])
            .select_related("queue", "patient")
            .select_for_update(of=("self",))
            .order_by("pk")
        )
        result.not_due = len(set(pathway_ids)) - len(chosen)
        recent = set(
            Request.objects.filter(
                pathway__in=chosen, messages_queued__gt=0, requested_at__gte=now - ASKED_RECENTLY
            ).values_list("pathway_id", flat=True)
        )
        to_ask = [p for p in chosen if p.pk not in recent]
        result.recently = len(chosen) - len(to_ask)
        queued = queue_questions(provider, to_ask, now, publish)
        Request.objects.bulk_create(
            Request(pathway=p, requested_by=by, messages_queued=queued.get(p.pk, 0)) for p in to_ask
        )
        AuditEvent.objects.bulk_create(
            AuditEvent(provider=provider, user=by, pathway=p, action="validation-asked",
                       ip_address=ip)
            for p in to_ask
        )  # fmt: skip
    result.asked = sum(1 for p in to_ask if queued.get(p.pk))
    result.unreachable = len(to_ask) - result.asked
    result.messages = sum(queued.values())
    return result
