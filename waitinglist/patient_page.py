"""What the patient's page shows for each of their open pathways, loaded in a fixed number
of queries however many pathways or weeks there are.

Every query starts from the signed-in user's own links to patients: no id from the request
reaches these queries, so nobody can see another person's record.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import uuid4

from django.core.cache import cache
from django.db import transaction
from django.db.models import F

from advice.models import Article
from waitinglist.explanation import list_name, sentences_for
from waitinglist.models import (
    AuditEvent,
    Pathway,
    PathwayMove,
    PathwayWeek,
    PatientLink,
    PatientResponse,
    QueueRates,
    Snapshot,
)
from waitinglist.procedures import procedure_name
from waitinglist.treatment_functions import TREATMENT_FUNCTIONS

STALE_AFTER_DAYS = 13  # a weekly list older than this has missed an update
WEEK = timedelta(weeks=1)
RTT_STANDARD_WEEKS = 18
CHART_WIDTH, CHART_HEIGHT, CHART_MARGIN = 600, 220, 40
# Each patient's pages are kept in the cache (Redis in production) under a key that names the
# version of the data: anything they show that changes gives every page a new version.
PAGES_VERSION = "patient-pages-version"
PAGES_SECONDS = 3600  # bounds the life of a page whatever happens
ADVICE_SHOWN = 6


@dataclass
class Chart:
    """A server-drawn line of the position week by week (1 at the top)."""

    points: str
    weeks: list[tuple[date, int | None]]
    top: int
    first: date
    last: date


@dataclass
class PathwayPage:
    pathway: Pathway
    specialty: str
    list_name: str
    procedure: str
    weeks_waited: int
    position: int | None
    moved_since_last_week: int | None  # positive: moved up (nearer the front)
    moved_since_joined: int | None
    estimate: object
    explanation: list[str]
    updated: date | None
    stale: bool
    chart: Chart | None
    responses: list[PatientResponse] = field(default_factory=list)
    # The week `moved_since_last_week` compares with: the week before `updated`, unless the
    # trust did not send that week's list.
    compared_with: date | None = None
    # The week it was found on this list after another of the trust's lists; places before
    # it were on that list, and are not shown (`PathwayMove`).
    joined_list: date | None = None
    version: str = ""  # of the patient data the page was read from
    advice: list = field(default_factory=list)  # published advice for it, most specific first

    @property
    def cache_key(self) -> str:
        """Changes whenever the cached part of the page would: a new version of the patient
        data (an import, new estimates, the trust's details), another week waited, the data
        going stale."""
        estimate = self.estimate
        snapshot = estimate.snapshot_id if estimate else 0
        return (
            f"{self.pathway.pk}:{self.version}:{self.updated}:{snapshot}:{self.weeks_waited}:"
            f"{self.stale}"
        )

    @property
    def movement(self) -> list[str]:
        """How the place changed, in words."""
        said = []
        week = self.moved_since_last_week
        since, same = "since last week", "The same as last week."
        if self.compared_with and self.updated and self.compared_with < self.updated - WEEK:
            since = f"since {self.compared_with:%-d %B %Y}"
            same = f"The same as on {self.compared_with:%-d %B %Y}."
        if week is not None:
            if week > 0:
                said.append(f"Up {_places(week)} {since}.")
            elif week < 0:
                said.append(
                    f"Down {_places(-week)} {since}: people who needed treatment more "
                    "urgently joined ahead of you."
                )
            else:
                said.append(same)
        if self.moved_since_joined and self.moved_since_joined > 0:
            said.append(f"Up {_places(self.moved_since_joined)} since you joined the list.")
        if self.joined_list:
            said.append(
                f"You moved to this list from another of the hospital's lists in the week to "
                f"{self.joined_list:%-d %B %Y}. Your place is counted on this list from then."
            )
        return said


def _places(n: int) -> str:
    return f"{n:,} place" + ("" if n == 1 else "s")


def open_pathways(user):
    return Pathway.objects.filter(patient__links__user=user, left_snapshot__isnull=True)


def _own_pathways(user):
    """The patient's pathways, open or not, in two simple queries rather than one wide join:
    planning the join cost more than running both, and a filter on `left_snapshot` could lead
    the planner, with statistics a fresh import has made stale, to scan the open pathways of
    the whole trust (17 ms instead of 0.1 ms, measured)."""
    patients = list(PatientLink.objects.filter(user=user).values_list("patient_id", flat=True))
    return Pathway.objects.filter(patient_id__in=patients)


def pathway_pages(user, today: date) -> list[PathwayPage]:
    """The patient's open pathways as shown on their page, from the cache when nothing they
    show has changed since it was last read (six queries fewer a view)."""
    version = cache.get_or_set(PAGES_VERSION, _new_version, None)
    key = f"my-wait:{user.pk}:{version}:{today.isoformat()}"
    pages = cache.get(key)
    if pages is None:
        pages = _load_pathway_pages(user, today)
        for page in pages:
            page.version = version
        cache.set(key, pages, PAGES_SECONDS)
    return pages


def _new_version() -> str:
    # Random, not a counter: a version lost from the cache can never come back and revive
    # pages cached under it.
    return uuid4().hex


def patient_data_changed() -> None:
    """Every patient page is read afresh from the database. Called by every write that changes
    what a patient page shows: imports, estimates, links, responses, trust details.

    A new version now, and another once the transaction commits: a page read in between would
    see the data before the change and be cached under the first new version."""
    _bump()
    transaction.on_commit(_bump)


def _bump() -> None:
    cache.set(PAGES_VERSION, _new_version(), None)


def _load_pathway_pages(user, today: date) -> list[PathwayPage]:
    pathways = [
        pathway
        for pathway in _own_pathways(user)
        .select_related("queue", "provider", "estimate")
        .order_by("provider__name", "clock_start", "pk")
        if pathway.left_snapshot_id is None
    ]
    if not pathways:
        return []
    ids = [p.pk for p in pathways]
    history: dict[int, list[tuple[date, int | None]]] = {pk: [] for pk in ids}
    weeks = (
        # Through their trusts' snapshots: the history is keyed by snapshot, then pathway.
        PathwayWeek.objects.filter(
            snapshot__provider__in={p.provider_id for p in pathways}, pathway_id__in=ids
        )
        .order_by("snapshot__week_ending")
        .values_list("pathway_id", "snapshot__week_ending", "position")
    )
    # A pathway that moved from another list (the outpatient list to the admitted one, say)
    # is shown its places on this list only: a place on another list is not comparable.
    joined_list = dict(
        PathwayMove.objects.filter(pathway_id__in=ids)
        .exclude(from_queue=F("to_queue"))  # back on the same list after weeks off it
        .order_by("snapshot__week_ending")
        .values_list("pathway_id", "snapshot__week_ending")
    )
    for pathway_id, week_ending, position in weeks:
        if week_ending >= joined_list.get(pathway_id, week_ending):
            history[pathway_id].append((week_ending, position))
    latest = {
        provider: week
        for provider, week in Snapshot.objects.filter(
            provider__in={p.provider_id for p in pathways}
        )
        .order_by("provider_id", "week_ending")
        .values_list("provider_id", "week_ending")
    }
    rates = {
        (r.queue_id, r.band): r
        for r in QueueRates.objects.filter(queue_id__in={p.queue_id for p in pathways})
    }
    responses: dict[int, list[PatientResponse]] = {pk: [] for pk in ids}
    for response in PatientResponse.objects.filter(pathway_id__in=ids).order_by("-created_at"):
        responses[response.pathway_id].append(response)
    advice = Article.objects.for_pathways(pathways)
    pages = [
        _page(p, history[p.pk], latest.get(p.provider_id), rates, responses[p.pk], today)
        for p in pathways
    ]
    for page in pages:
        page.joined_list = joined_list.get(page.pathway.pk)
    for page in pages:
        page.advice = advice[page.pathway.pk][:ADVICE_SHOWN]
    return pages


def _page(pathway, weeks, latest, rates, responses, today) -> PathwayPage:
    estimate = getattr(pathway, "estimate", None)
    current = weeks[-1] if weeks and weeks[-1][0] == latest else None
    position = current[1] if current else None
    ranked = [(week, pos) for week, pos in weeks if pos]
    moved_week = moved_joined = compared_with = None
    if position and len(weeks) >= 2 and weeks[-2][1]:
        moved_week, compared_with = weeks[-2][1] - position, weeks[-2][0]
    if position and ranked:
        moved_joined = ranked[0][1] - position
    return PathwayPage(
        pathway=pathway,
        specialty=TREATMENT_FUNCTIONS.get(pathway.queue.treatment_function, ""),
        list_name=list_name(pathway),
        procedure=procedure_name(pathway.procedure_code),
        weeks_waited=max(0, (today - pathway.clock_start).days // 7),
        position=position,
        moved_since_last_week=moved_week,
        moved_since_joined=moved_joined,
        estimate=estimate,
        explanation=sentences_for(
            pathway, estimate, position, rates.get((pathway.queue_id, pathway.band))
        ),
        updated=latest,
        stale=latest is None or (today - latest).days > STALE_AFTER_DAYS,
        chart=_chart(weeks),
        responses=responses,
        compared_with=compared_with,
    )


def _chart(weeks) -> Chart | None:
    ranked = [(week, pos) for week, pos in weeks if pos]
    if len(ranked) < 2:
        return None
    top = max(pos for _, pos in ranked)
    inner_w = CHART_WIDTH - 2 * CHART_MARGIN
    inner_h = CHART_HEIGHT - 2 * CHART_MARGIN
    first, last = ranked[0][0], ranked[-1][0]
    span = max((last - first).days, 1)
    points = " ".join(
        f"{CHART_MARGIN + inner_w * (week - first).days / span:.1f},"
        f"{CHART_MARGIN + inner_h * (pos - 1) / max(top - 1, 1):.1f}"
        for week, pos in ranked
    )
    return Chart(points=points, weeks=weeks, top=top, first=first, last=last)


def record_views(request, pages: list[PathwayPage]) -> None:
    """One audit record per pathway shown: who, which, when, from where."""
    AuditEvent.objects.bulk_create(
        AuditEvent(
            provider_id=page.pathway.provider_id,
            user=request.user,
            pathway=page.pathway,
            action="patient-page-viewed",
            ip_address=request.META.get("REMOTE_ADDR"),
        )
        for page in pages
    )
