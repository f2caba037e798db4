"""Estimated treatment dates: for each ranked pathway, p10 / p50 / p90 dates of treatment.

The method (docs/estimates.md has the reasoning, the sources and the back-test):

1. **Weekly figures** per queue, from the imported history alone: how many left the list while
   booked (treated), how many left unbooked (removed by validation, gone elsewhere), how many
   joined in each band, and how many were ranked. A pathway that moved to another list
   (`PathwayMove`) left the one and joined the other.
2. **Projection.** For a pathway with `a` ranked pathways ahead of it in band `b`, each week
   takes the treated `T` off the number ahead, adds those who joined in a more urgent band
   `J_b`, and takes off the removed share `r` of those ahead: `a' = a(1 - r) - (T - J_b)`.
   With `T`, `J_b`, `r` averaged over recent weeks (recent weeks weigh more), `a` reaches zero
   after `W` weeks, in closed form. A queue where `T - J_b` is not positive is not moving for
   that band, and gets no date.
3. **Spread, learnt from the queue's own past.** `W` ignores what the averages cannot see:
   treatment out of strict order, booking lead times, patients who postpone, weeks of low
   capacity. So the model replays its own projections for a sample of pathways at past weeks
   and measures how the actual wait compared, as `log((t + 1) / (W + 1))`. Pathways not yet
   treated are censored observations, so the percentiles of that ratio come from the
   Kaplan-Meier estimator. Its 10th, 50th and 90th percentiles, applied to today's `W`, give
   the dates. Projections are grouped by length, as short and long waits err differently.
4. **Recent pace.** Long projections are calibrated only by projections made long ago, so a
   change in how fast a queue moves (a new theatre, a growing list) reaches them late. So
   `W` is also divided by how much faster the queue has lately moved than its projections
   said, compared with the same figure over the weeks the spread is learnt from; the pace is
   measured on sampled pathways six weeks apart, which is known six weeks after a change.

Everything is deterministic: the same history gives the same dates. The back-test
(`backtest`) calls the same functions with the history cut at past weeks.
"""

import math
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np
from django.db import connection, transaction

from waitinglist.models import (
    CapacityChange,
    Estimate,
    Pathway,
    PathwayMove,
    PathwayWeek,
    Provider,
    Queue,
    QueueRates,
    QueueWeek,
    Snapshot,
)
from waitinglist.patient_page import patient_data_changed

BANDS = 7  # 0 = not ranked (P5/P6), 1..6 as in waitinglist.ranking
WINDOW_WEEKS = 26  # recent weeks the averages look back over
PACE_QUANTILE = 0.75
HALF_LIFE_WEEKS = 6.0  # a week this long ago counts half as much as the latest
JOINED_HALF_LIFE_WEEKS = 13.0  # arrivals change slowly: a longer memory, less noise
MIN_WEEKS = 4  # weeks of leavers and joiners before any estimate
CALIBRATION_WEEKS = 52  # past weeks whose projections teach the spread
CALIBRATION_HALF_LIFE_WEEKS = 13.0  # recent weeks' projections teach more
FOLLOW_UP = 1.5  # times the projection (plus a week) passed, for the spread's range
CALIBRATION_SAMPLE = 60_000  # projections sampled across those weeks (all, in a small trust)
MIN_TREATED = 100  # treated pathways among them before any estimate
MIN_STRATUM_TREATED = 50  # for a length group to have a spread of its own
STRATA = (0.0, 4.0, 13.0, 26.0)  # projection lengths (weeks) that start a group
LONGEST_WEEKS = 520  # a projection beyond ten years means the queue is not moving
QUANTILES = (0.1, 0.5, 0.9)
PROGRESS_WEEKS = 6  # weeks apart of the two positions that measure the pace a queue kept
PROGRESS_RECENT_WEEKS = 13  # the recent pace: pairs that ended in this many weeks
PROGRESS_HALF_LIFE_WEEKS = 4.0  # within them, a pair this long ago counts half
PROGRESS_SAMPLE = 250_000  # sampled pathway-weeks that measure it (all, in a small trust)
PROGRESS_PRIOR_PAIRS = 20.0  # a queue with few pairs leans on the whole trust's pace
PACE_LIMIT = 4.0  # the recent pace never changes a projection more than 4 times
LAG_WEEKS = 104  # a joiner whose clock had run this long or longer counts as this long
PARTLY_SEEN = 0.01  # the weight in the rates of weeks between two snapshots after a missed one
# A list with this many leavers, under this share of them booked when last seen, does not show
# its bookings (none, or only those made long ahead): every leaver counts as treated
# (`_count_leavers_as_treated_without_bookings`).
UNBOOKED_LEAVERS = 20
UNBOOKED_SHARE = 0.5
# A queue whose recent pace is off its usual pace by more than log(1.13) is changing: its
# p10 and p90 move apart by 1.5 times the excess, on the spread's log scale, at most 0.5
# (dates 1.65 times as far either way).
FLUX_FROM = 0.12
FLUX_WIDENING = 1.5
FLUX_MOST = 0.5


@dataclass
class History:
    """A provider's weekly figures, as arrays indexed [queue, week]: week 0 is the first
    snapshot's week, and week k the k-th calendar week after it.

    A week the trust did not import has no snapshot (`snapshot_ids[k]` is None). What the next
    snapshot found (leavers, joiners) happened over all the weeks since the one before it
    (`covers`), so it is shared evenly among them, and the ranked count is interpolated: a
    missed week changes neither a queue's weekly pace nor how long a wait is in weeks.
    """

    provider: Provider
    snapshot_ids: list[int | None]
    week_endings: list[date]
    queue_ids: np.ndarray
    treated: np.ndarray
    removed: np.ndarray
    ranked: np.ndarray
    leavers: np.ndarray
    joined: np.ndarray  # [queue, week, band]
    mean_wait: np.ndarray  # days; NaN where unknown
    p92_wait: np.ndarray
    week_of_snapshot: dict[int, int] = field(default_factory=dict)
    # [queue, week, weeks]: ranked joiners by how many whole weeks their RTT clock had run
    # when they joined (capped at LAG_WEEKS); None leaves same-band joiners out (`projections`).
    lags: np.ndarray | None = None
    # A sampled pathway ranked at a week and again PROGRESS_WEEKS later (see `attach_progress`):
    # columns week, queue index, band then, number ahead then, number ahead later, and weeks
    # since the clock started then (-1: not known).
    progress: np.ndarray = field(default_factory=lambda: np.zeros((0, 6), dtype=np.int64))
    # [queue] treatment function codes, and the trust's planned capacity changes (`Plan`).
    queue_functions: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="<U3"))
    plans: list["Plan"] = field(default_factory=list)
    # [week] Weeks since the snapshot before (1 but after a missed week; 0 for a missed week).
    covers: np.ndarray | None = None
    # [week] 1, or PARTLY_SEEN for the weeks a snapshot after missed weeks covers (`seen`).
    seen_weights: np.ndarray | None = None
    # [queue] Lists whose extract carries no booking dates: every leaver counts as treated.
    unbooked: np.ndarray | None = None
    # [queue] The week each queue first had pathways: everyone on it then "joined", and no
    # week before it says anything of its rates. None: week 0 for every queue.
    started: np.ndarray | None = None
    # Pathways that moved between lists keeping their identifier, or came back after weeks off
    # the lists (`PathwayMove`), sorted by pathway then snapshot: columns pathway, snapshot,
    # the week its stay on the list it left ended (found there no more), that list (queue
    # id), booked when last seen there. None: none moved.
    moves: np.ndarray | None = None
    rates_memo: dict = field(default_factory=dict, repr=False)

    @property
    def weeks(self) -> int:
        return len(self.snapshot_ids)

    def imported(self, weeks) -> list[int]:
        """Those of `weeks` that have a snapshot."""
        return [w for w in weeks if self.snapshot_ids[w] is not None]

    def seen(self, span: np.ndarray) -> np.ndarray:
        """[week] 1 for a week whose comings and goings were all seen; PARTLY_SEEN for the
        weeks a snapshot after missed weeks covers. In those, a pathway that joined and left
        between two snapshots (an urgent one, mostly) is never seen, and one booked and
        treated between them counts as removed if it was unbooked when last seen. So where a
        queue has other weeks, its rates come from them."""
        return np.ones(len(span)) if self.seen_weights is None else self.seen_weights[span]

    def left_during(self, week: np.ndarray) -> np.ndarray:
        """When a pathway found missing at the snapshot of `week` left, in weeks: the middle of
        the weeks since the snapshot before (`week - 0.5`, but after a missed week)."""
        week = np.asarray(week)
        if self.covers is None:
            return week - 0.5
        return week - 0.5 * self.covers[np.clip(week, 0, None)]

    def queue_index(self, queue_ids) -> np.ndarray:
        return np.searchsorted(self.queue_ids, queue_ids)

    def next_move(self, pathway, week) -> np.ndarray:
        """[row] Index in `moves` of each pathway's first move after that week; -1: none
        (the pathway stayed on the list it was on then, until it left or to this day)."""
        pathway = np.asarray(pathway, np.int64)
        week = np.broadcast_to(np.asarray(week, np.int64), pathway.shape)
        if self.moves is None or not len(self.moves) or not len(pathway):
            return np.full(len(pathway), -1)
        scale = self.weeks + 1
        keys = self.moves[:, 0] * scale + self.moves[:, 2]
        at = np.searchsorted(keys, pathway * scale + week, side="right")
        inside = at < len(keys)
        found = inside & (self.moves[np.minimum(at, len(keys) - 1), 0] == pathway)
        return np.where(found, at, -1)

    def queue_then(self, pathway, week, queue) -> np.ndarray:
        """[row] The list each pathway was on at that week: the list its next move left, or
        its latest list (`queue`) if it has not moved since."""
        following = self.next_move(pathway, week)
        moved = following >= 0
        queue = np.array(queue, dtype=np.int64)
        queue[moved] = self.moves[following[moved], 3]
        return queue


@dataclass(frozen=True)
class Plan:
    """A planned lasting change in capacity (`CapacityChange`), as day numbers: from `starts`
    the queues of `treatment_function` (all, if blank) treat `factor` times as many a week.
    Estimates made at a week allow for it only if it was recorded by then (`known`)."""

    treatment_function: str
    starts: int
    factor: float
    known: int


@dataclass
class Rates:
    """Recency-weighted weekly averages per queue, as known at one week."""

    weeks_used: int
    treated: np.ndarray  # [queue]
    joined_ahead: np.ndarray  # [queue, band]: joiners in a more urgent band than `band`
    removed_share: np.ndarray  # [queue]
    pace: np.ndarray | None = None  # [queue]: recent pace against the usual (`pace_factors`)
    joined_same: np.ndarray | None = None  # [queue, band]: ranked joiners in that band
    # [queue, weeks + 1]: running sum of the share of joiners whose clock had run longer than
    # each number of weeks (`_share_ranking_ahead`); None leaves same-band joiners out.
    lag_sums: np.ndarray | None = None
    # Planned capacity changes known then (`capacity_schedule`): `treated` is the pace without
    # them; capacity[queue, i] is the factor on it from `capacity_from[i]` weeks after the
    # week (capacity_from[0] = 0). None: no plans.
    capacity: np.ndarray | None = None
    capacity_from: np.ndarray | None = None
    # [queue] Weeks of each queue's own the rates rest on (`weeks_used` at most): a list the
    # trust's extract began to carry later has fewer. None: `weeks_used` for every queue.
    queue_weeks: np.ndarray | None = None

    def young(self, q) -> np.ndarray:
        """[pathway] Whether queue index `q` has under MIN_WEEKS weeks of its own."""
        weeks = self.queue_weeks[q] if self.queue_weeks is not None else self.weeks_used
        return np.broadcast_to(np.asarray(weeks) < MIN_WEEKS, np.shape(q))

    def treated_now(self) -> np.ndarray:
        """[queue] The usual pace this coming week, with any plan already in effect."""
        return self.treated if self.capacity is None else self.treated * self.capacity[:, 0]


def load_history(provider: Provider) -> History:
    snapshots = list(
        Snapshot.objects.filter(provider=provider)
        .order_by("week_ending")
        .values_list("id", "week_ending")
    )
    first = snapshots[0][1] if snapshots else None
    week_of = {s: (w - first).days // 7 for s, w in snapshots}
    ids: list[int | None] = [None] * (max(week_of.values()) + 1 if snapshots else 0)
    for snapshot, week in week_of.items():
        ids[week] = snapshot
    queues = dict(Queue.objects.filter(provider=provider).values_list("id", "treatment_function"))
    queue_ids = np.array(sorted(queues), dtype=np.int64)
    shape = (len(queue_ids), len(ids))
    history = History(
        provider=provider,
        snapshot_ids=ids,
        week_endings=[first + timedelta(weeks=w) for w in range(len(ids))],
        queue_ids=queue_ids,
        treated=np.zeros(shape),
        removed=np.zeros(shape),
        ranked=np.zeros(shape),
        leavers=np.zeros(shape),
        joined=np.zeros((*shape, BANDS)),
        mean_wait=np.full(shape, np.nan),
        p92_wait=np.full(shape, np.nan),
        week_of_snapshot=week_of,
        lags=np.zeros((*shape, LAG_WEEKS + 1)),
        queue_functions=np.array([queues[q] for q in queue_ids.tolist()], dtype="<U3"),
        plans=_plans(provider, snapshots[-1][1] if snapshots else date.max),
    )
    if not ids:
        return history
    history.moves = _moves(provider, week_of)
    for queue, snapshot, booked, count in _leavers(provider):
        q, w = history.queue_index(queue), week_of[snapshot]
        (history.treated if booked else history.removed)[q, w] += count
    _count_leavers_as_treated_without_bookings(history)
    for queue, snapshot, band, lag, count in _joiners(provider):
        q, w = history.queue_index(queue), week_of[snapshot]
        history.joined[q, w, band or 0] += count
        if band:
            history.lags[q, w, min(max(int(lag), 0), LAG_WEEKS)] += count
    rows = QueueWeek.objects.filter(queue__provider=provider).values_list(
        "queue_id", "snapshot_id", "ranked", "leavers", "mean_wait_days", "p92_wait_days"
    )
    for queue, snapshot, ranked, leavers, mean_wait, p92_wait in rows:
        q, w = history.queue_index(queue), week_of[snapshot]
        history.ranked[q, w], history.leavers[q, w] = ranked, leavers
        history.mean_wait[q, w] = np.nan if mean_wait is None else mean_wait
        history.p92_wait[q, w] = np.nan if p92_wait is None else p92_wait
    present = history.joined.sum(axis=2) > 0  # before a missed week's joiners are shared out
    history.started = np.where(present.any(axis=1), present.argmax(axis=1), history.weeks)
    _share_over_missed_weeks(history)
    attach_progress(history, *_sampled_positions(history))
    return history


def _count_leavers_as_treated_without_bookings(history: History) -> None:
    """Where a list's extract does not show its bookings, every leaver counts as treated.

    A leaver is counted as treated if it was booked when last seen. But `TCI_Date` and
    `Outpatient_Future_Appointment_Date` are columns a trust may leave out, for some lists or
    all, or fill only for bookings made well ahead: then few are seen booked, and the list
    would seem to treat few and lose many to validation, or get no estimates at all. Treated
    patients are booked first, and most leavers are treated (on our simulator 94% or more of
    a list's leavers were seen booked; on the independent generator's, 75% or more), so a
    list with at least UNBOOKED_LEAVERS leavers of which under UNBOOKED_SHARE were seen
    booked does not show its bookings; one with fewer leavers is judged by the whole trust's.
    Its estimates are then of when a patient leaves the list, mostly by being treated, and
    the patient is told so (`QueueRates.leavers_counted_as_treated`). The back-test judges a
    list by its whole history: what its extract shows is a trait of the file, not an outcome.
    """
    booked, left = history.treated.sum(axis=1), (history.treated + history.removed).sum(axis=1)
    trust_unbooked = left.sum() >= UNBOOKED_LEAVERS and booked.sum() < UNBOOKED_SHARE * left.sum()
    enough = left >= UNBOOKED_LEAVERS
    history.unbooked = np.where(enough, booked < UNBOOKED_SHARE * left, trust_unbooked)
    history.treated[history.unbooked] += history.removed[history.unbooked]
    history.removed[history.unbooked] = 0


def _share_over_missed_weeks(history: History) -> None:
    """Spreads what a snapshot after missed weeks found over the weeks it covers (see
    `History`); the queues' waits of a missed week stay unknown."""
    weeks = np.array([w for w, s in enumerate(history.snapshot_ids) if s is not None])
    history.covers = np.zeros(history.weeks)
    history.covers[weeks] = np.diff(weeks, prepend=-1)
    history.seen_weights = np.ones(history.weeks)
    for before, week in zip(weeks[:-1].tolist(), weeks[1:].tolist(), strict=True):
        covered = week - before
        if covered == 1:
            continue
        span = slice(before + 1, week + 1)
        history.seen_weights[span] = PARTLY_SEEN
        for counts in (history.treated, history.removed, history.leavers):
            counts[:, span] = counts[:, week : week + 1] / covered
        for counts in (history.joined, history.lags):
            counts[:, span, :] = counts[:, week : week + 1, :] / covered
        share = np.arange(1, covered + 1) / covered
        history.ranked[:, span] = history.ranked[:, before : before + 1] * (1 - share) + (
            history.ranked[:, week : week + 1] * share
        )


def _plans(provider: Provider, last_week: date) -> list[Plan]:
    """The trust's planned capacity changes. One recorded after the latest snapshot counts as
    known at it: today's estimates allow for every plan recorded so far."""
    return [
        Plan(
            change.treatment_function,
            change.starts.toordinal(),
            change.factor,
            min(change.known_from, last_week).toordinal(),
        )
        for change in CapacityChange.objects.filter(provider=provider).order_by("starts", "pk")
    ]


def _moves(provider: Provider, week_of: dict[int, int]) -> np.ndarray:
    """`History.moves`: the trust's pathways' moves between lists."""
    rows = (
        PathwayMove.objects.filter(pathway__provider=provider)
        .order_by("pathway_id", "snapshot_id")
        .values_list("pathway_id", "snapshot_id", "left_snapshot_id", "from_queue_id", "was_booked")
    )
    moves = [(p, s, week_of[gone or s], queue, booked) for p, s, gone, queue, booked in rows]
    return np.array(moves, dtype=np.int64).reshape(-1, 5)


def _sampled_positions(history: History) -> tuple[np.ndarray, ...]:
    """Week, pathway, queue, position, band and clock start (day number) of every k-th
    pathway (by id) in each week it was ranked: about PROGRESS_SAMPLE rows in all."""
    every = max(1, math.ceil(history.ranked.sum() / PROGRESS_SAMPLE))
    rows = _every_kth_ranked(history, "p.provider_id = %s", [history.provider.pk], every)
    week = _weeks_of(history, rows[:, 0])
    return week, rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4], rows[:, 5]


def _every_kth_ranked(history: History, condition: str, params: list, every: int) -> np.ndarray:
    """Snapshot, pathway, queue, position, band and clock start (`day_number`) of every
    `every`-th pathway (by id) in each week it was ranked and `condition` (on `w`, the week,
    and `p`, the pathway) holds. The queue is the list the pathway was on that week."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT w.snapshot_id, w.pathway_id, p.queue_id, w.position, w.band, p.clock_start
            FROM {PathwayWeek._meta.db_table} w
            JOIN {Pathway._meta.db_table} p ON p.id = w.pathway_id
            WHERE {condition} AND w.position IS NOT NULL AND w.pathway_id %% %s = 0
            """,
            [*params, every],
        )
        rows = [(*row[:5], day_number(row[5])) for row in cursor.fetchall()]
    rows = np.array(rows, dtype=np.int64).reshape(-1, 6)
    if history.moves is not None and len(history.moves):
        rows[:, 2] = history.queue_then(rows[:, 1], _weeks_of(history, rows[:, 0]), rows[:, 2])
    return rows


def day_number(value) -> int:
    """A date's ordinal; SQLite hands dates back as text through a raw cursor."""
    return (date.fromisoformat(value) if isinstance(value, str) else value).toordinal()


def weeks_waited(history: History, week, clock_start) -> np.ndarray:
    """Weeks since the clock started (day numbers), at each week index."""
    endings = np.array([w.toordinal() for w in history.week_endings], dtype=np.int64)
    return (endings[np.asarray(week, np.int64)] - np.asarray(clock_start)) / 7


def _weeks_of(history: History, snapshot_ids: np.ndarray) -> np.ndarray:
    week_of = history.week_of_snapshot
    return np.array([week_of[s] for s in snapshot_ids.tolist()], dtype=np.int64)


def attach_progress(history: History, week, pathway, queue, position, band, clock=None) -> None:
    """Pairs each sampled pathway ranked at a week with itself PROGRESS_WEEKS later, where it
    is still ranked then on the same list (one that left, stopped being ranked or moved to
    another list says nothing of the pace)."""
    week, pathway = np.asarray(week, np.int64), np.asarray(pathway, np.int64)
    position, queue = np.asarray(position, np.int64), np.asarray(queue)
    key = pathway * (history.weeks + PROGRESS_WEEKS + 1) + week
    ordered = np.sort(key)
    at = np.minimum(np.searchsorted(ordered, key + PROGRESS_WEEKS), max(len(key) - 1, 0))
    found = ordered[at] == key + PROGRESS_WEEKS if len(key) else np.zeros(0, bool)
    later = np.argsort(key, kind="stable")[at]
    found &= queue == queue[later]
    later = later[found]
    history.progress = np.stack(
        [
            week[found],
            history.queue_index(queue[found]),
            np.asarray(band, np.int64)[found],
            position[found] - 1,
            position[later] - 1,
            np.full(int(found.sum()), -1)
            if clock is None
            else np.floor(weeks_waited(history, week[found], np.asarray(clock)[found])).astype(
                np.int64
            ),
        ],
        axis=1,
    ).reshape(-1, 6)
    history.rates_memo.clear()


def _leavers(provider: Provider):
    """(queue, week found missing, booked when last seen, count): booked leavers were treated.
    A pathway that moved to another list left the one it was on: an outpatient seen (booked)
    and listed for an operation was treated, as far as the outpatient list goes. One that came
    back after weeks off the lists left in the week it went; its pathway row no longer says
    so."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT queue_id, left_snapshot_id,
                   CASE WHEN tci_date IS NOT NULL OR outpatient_appointment_date IS NOT NULL
                        THEN 1 ELSE 0 END,
                   COUNT(*)
            FROM {Pathway._meta.db_table}
            WHERE provider_id = %s AND left_snapshot_id IS NOT NULL
            GROUP BY 1, 2, 3
            UNION ALL
            SELECT m.from_queue_id, COALESCE(m.left_snapshot_id, m.snapshot_id),
                   CASE WHEN m.was_booked THEN 1 ELSE 0 END, COUNT(*)
            FROM {PathwayMove._meta.db_table} m
            JOIN {Queue._meta.db_table} q ON q.id = m.from_queue_id
            WHERE q.provider_id = %s
            GROUP BY 1, 2, 3
            """,
            [provider.pk, provider.pk],
        )
        return cursor.fetchall()


def _joiners(provider: Provider):
    """(queue, first week, band that week, whole weeks the clock had run then, count). A
    pathway joined its first list (the one its first move left, if it moved) in its first
    week, and the list each move took it to (or back to) in that move's week."""
    if connection.vendor == "postgresql":
        lag = f"LEAST((s.week_ending - p.clock_start) / 7, {LAG_WEEKS})"
    else:
        days = "julianday(s.week_ending) - julianday(p.clock_start)"
        lag = f"MIN(CAST(({days}) / 7 AS integer), {LAG_WEEKS})"
    moves = PathwayMove._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH first_moves AS (
                SELECT pathway_id, from_queue_id, ROW_NUMBER() OVER (
                    PARTITION BY pathway_id ORDER BY snapshot_id
                ) AS n
                FROM {moves} m JOIN {Queue._meta.db_table} q ON q.id = m.from_queue_id
                WHERE q.provider_id = %s
            )
            SELECT COALESCE(f.from_queue_id, p.queue_id), p.first_snapshot_id, w.band, {lag},
                   COUNT(*)
            FROM {Pathway._meta.db_table} p
            JOIN {PathwayWeek._meta.db_table} w
              ON w.pathway_id = p.id AND w.snapshot_id = p.first_snapshot_id
            JOIN {Snapshot._meta.db_table} s ON s.id = p.first_snapshot_id
            LEFT JOIN first_moves f ON f.pathway_id = p.id AND f.n = 1
            WHERE p.provider_id = %s
            GROUP BY 1, 2, 3, 4
            UNION ALL
            SELECT m.to_queue_id, m.snapshot_id, w.band, {lag}, COUNT(*)
            FROM {moves} m
            JOIN {Pathway._meta.db_table} p ON p.id = m.pathway_id
            JOIN {PathwayWeek._meta.db_table} w
              ON w.pathway_id = m.pathway_id AND w.snapshot_id = m.snapshot_id
            JOIN {Snapshot._meta.db_table} s ON s.id = m.snapshot_id
            WHERE p.provider_id = %s
            GROUP BY 1, 2, 3, 4
            """,
            [provider.pk, provider.pk, provider.pk],
        )
        return cursor.fetchall()


def rates_at(history: History, week: int) -> Rates:
    """Weekly rates over the weeks up to `week`, each week weighted by how recent it is, and
    the queue's recent pace against its usual one."""
    return replace(_usual_rates_at(history, week), pace=pace_factors(history, week))


def _usual_rates_at(history: History, week: int) -> Rates:
    """The usual pace `T`, joiners ahead `J_b` and removed share `r` known at `week`.

    `T` is an upper percentile of the weekly treated counts, not their mean, so that a
    bank-holiday week or a strike does not drag it down for weeks after it (the spread learnt
    from the past accounts for such weeks ahead). `J_b` is a weighted mean with a longer
    memory. Each queue's first week is left out, and the weeks before it: in a provider's
    first snapshot, or the first that carries a list, everyone on it "joined" and nobody
    left. Kept per week in `history.rates_memo`: the pace looks back at many weeks' rates.
    """
    if week in history.rates_memo:
        return history.rates_memo[week]
    first = max(1, week - WINDOW_WEEKS + 1)
    span = np.arange(first, week + 1)
    queues = len(history.queue_ids)
    if len(span) == 0:
        return Rates(0, np.zeros(queues), np.zeros((queues, BANDS)), np.zeros(queues))
    seen = history.seen(span)
    # [queue, week]: only the weeks after each queue's first count for it.
    own = (
        span[None, :] > (np.zeros(queues) if history.started is None else history.started)[:, None]
    )
    weights = 0.5 ** ((week - span) / HALF_LIFE_WEEKS) * seen * own
    schedule = capacity_schedule(history, week)
    treated = history.treated[:, span]
    if schedule:
        treated = treated / schedule[0][:, span]  # the pace the plans' changes are applied to
    treated = weighted_median(treated, weights, PACE_QUANTILE)
    # Band b has ahead of it every ranked band below b (band 0, not ranked, is never ahead).
    joined = history.joined[:, span, :]
    ahead = np.zeros((queues, len(span), BANDS))
    ahead[:, :, 2:] = np.cumsum(joined[:, :, 1:-1], axis=2)
    joined_weights = 0.5 ** ((week - span) / JOINED_HALF_LIFE_WEEKS) * seen * own
    joined_total = joined_weights.sum(axis=1)
    joined_ahead = _per_queue(np.einsum("qwb,qw->qb", ahead, joined_weights), joined_total)
    at_risk = (history.ranked[:, span - 1] * weights).sum(axis=1)
    removed = _per_queue((history.removed[:, span] * weights).sum(axis=1), at_risk)
    rates = Rates(len(span), treated, joined_ahead, removed, queue_weeks=own.sum(axis=1))
    if schedule:
        rates.capacity, rates.capacity_from = schedule[1], schedule[2]
    if history.lags is not None:
        # A joiner in the same band ranks ahead of a pathway whose clock started later than
        # the joiner's: one added to an admitted list after months of outpatient care, say.
        rates.joined_same = _per_queue(
            np.einsum("qwb,qw->qb", joined, joined_weights), joined_total
        )
        lags = np.einsum("qwl,qw->ql", history.lags[:, span, :], joined_weights)
        total = lags.sum(axis=1, keepdims=True)
        longer = np.divide(
            total - np.cumsum(lags, axis=1), total, out=np.zeros_like(lags), where=total > 0
        )
        rates.lag_sums = np.concatenate([np.zeros((queues, 1)), np.cumsum(longer, axis=1)], axis=1)
    history.rates_memo[week] = rates
    return history.rates_memo[week]


def _per_queue(sums: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """`sums` [queue, ...] over `totals` [queue]; 0 for a queue with no weeks of its own."""
    totals = totals.reshape(-1, *([1] * (sums.ndim - 1)))
    return np.divide(sums, totals, out=np.zeros(sums.shape), where=totals > 0)


def capacity_schedule(history: History, week: int):
    """The planned capacity changes recorded by `week`, as factors on a queue's pace: None if
    there are none, else (past [queue, week], future [queue, i], starts [i]).

    A week is changed by a plan if its middle (the Thursday before its week ending) is on or
    after the plan's start. `past` covers the weeks up to `week`: a week's treated count over
    its factor is the pace without the plans, which the rates learn. `future[:, i]` is the
    factor from `starts[i]` weeks after `week` to `starts[i + 1]` (`starts[0]` is 0).
    """
    today = history.week_endings[week].toordinal()
    known = [plan for plan in history.plans if plan.known <= today]
    if not known:
        return None
    queues = len(history.queue_ids)
    middles = np.array([w.toordinal() - 3 for w in history.week_endings[: week + 1]])
    # The first week after `week` (1, 2, ...) whose middle, today + 7k - 3, is on or after
    # the start; 1 for a plan already in effect.
    first = {plan: max(1, math.ceil((plan.starts - today + 3) / 7)) for plan in known}
    starts = np.array(sorted({0, *(k - 1 for k in first.values())}), dtype=float)
    past, future = np.ones((queues, week + 1)), np.ones((queues, len(starts)))
    for plan in known:
        applies = np.ones(queues, dtype=bool)
        if plan.treatment_function:
            applies = history.queue_functions == plan.treatment_function
        past[np.ix_(applies, middles >= plan.starts)] *= plan.factor
        future[np.ix_(applies, starts + 1 >= first[plan])] *= plan.factor
    return past, future, starts


def pace_factors(history: History, week: int) -> np.ndarray:
    """[queue] How much faster than its projections a queue has moved lately (pairs that
    ended in the last PROGRESS_RECENT_WEEKS), against the same over the weeks the spread is
    learnt from (CALIBRATION_WEEKS, weighted as the spread weighs them).

    The spread already holds the usual gap between projection and outcome; what it learns
    late, for long waits, is a change in it: a capacity step, a list that grows. A queue with
    no pairs yet keeps its projections as they are (1).
    """
    recent = kept_pace(history, week, PROGRESS_RECENT_WEEKS, PROGRESS_HALF_LIFE_WEEKS)
    usual = kept_pace(history, week, CALIBRATION_WEEKS, CALIBRATION_HALF_LIFE_WEEKS)
    return np.clip(recent / usual, 1 / PACE_LIMIT, PACE_LIMIT)


def kept_pace(history: History, week: int, window: int, half_life: float) -> np.ndarray:
    """[queue] Weeks of projected progress made per week, over the pairs of positions
    PROGRESS_WEEKS apart that ended in the `window` weeks up to `week`.

    For a sampled pathway ranked at week s and still ranked at s + H, the projection made at
    s (with week s's rates) says it takes W(ahead then) - W(ahead later) weeks to move as far
    as it did; it took H. Only pathways projected at least 2H weeks from the front count, so
    that being treated early or late does not cut their pair short. A queue's figure leans on
    the whole trust's with the weight of PROGRESS_PRIOR_PAIRS pairs.
    """
    queues = len(history.queue_ids)
    pairs = history.progress
    end = pairs[:, 0] + PROGRESS_WEEKS
    # From a week at which the queue had MIN_WEEKS weeks of its own, as an estimate needs.
    started = np.zeros(queues) if history.started is None else history.started
    pairs = pairs[
        (end <= week) & (end > week - window) & (pairs[:, 0] >= started[pairs[:, 1]] + MIN_WEEKS)
    ]
    start, q, band, before, after, waited = pairs.T
    then, later = np.zeros(len(pairs)), np.zeros(len(pairs))
    known = waited >= 0
    for s in np.unique(start):
        at = start == s
        usual = _usual_rates_at(history, int(s))
        wait = np.where(known[at], waited[at], np.nan)
        then[at] = _project_queue(usual, q[at], band[at], before[at], wait)
        # From week s + H: a planned change is then H weeks nearer. Under the model, then =
        # H + later exactly, with or without plans.
        later[at] = _project_queue(
            _later_by(usual, PROGRESS_WEEKS), q[at], band[at], after[at], wait + PROGRESS_WEEKS
        )
    far = np.isfinite(then) & np.isfinite(later) & (then >= 2 * PROGRESS_WEEKS)
    if not far.any():
        return np.ones(queues)
    weight = 0.5 ** ((week - start[far] - PROGRESS_WEEKS) / half_life)
    moved = (then[far] - later[far]) * weight  # inf - inf, outside `far`, would warn
    took = PROGRESS_WEEKS * weight
    trust = moved.sum() / took.sum()
    prior = PROGRESS_PRIOR_PAIRS * PROGRESS_WEEKS
    moved_q = np.bincount(q[far], moved, minlength=queues)
    took_q = np.bincount(q[far], took, minlength=queues)
    return np.maximum((moved_q + prior * trust) / (took_q + prior), 1e-3)


def _later_by(rates: Rates, weeks: float) -> Rates:
    """The rates as seen `weeks` later: planned changes that much nearer, or begun."""
    if rates.capacity is None:
        return rates
    starts = rates.capacity_from - weeks
    begun = int(np.searchsorted(starts, 0.0, side="right")) - 1  # the last start at or before 0
    return replace(
        rates,
        capacity=rates.capacity[:, begun:],
        capacity_from=np.concatenate([[0.0], starts[begun + 1 :]]),
    )


def weighted_median(values: np.ndarray, weights: np.ndarray, share: float = 0.5) -> np.ndarray:
    """Per row of `values` [row, week]: the value at which `share` of the weight is reached.
    `weights` [week], or [row, week]."""
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    weights = np.broadcast_to(weights, values.shape)
    cumulative = np.cumsum(np.take_along_axis(weights, order, axis=1), axis=1)
    half = cumulative[:, -1:] * share
    at = (cumulative < half - 1e-12).sum(axis=1)
    return ordered[np.arange(len(values)), at]


def project(ahead: np.ndarray, clearing: np.ndarray, removed_share: np.ndarray, later=()):
    """Weeks until `ahead` reaches zero, when each week clears `clearing` + `removed_share`
    of those ahead: a' = a(1 - r) - c. Infinite where the queue is not moving for them.

    `later` holds planned changes: (weeks from now, the clearing from then on), in order.
    """
    weeks = _weeks_to_clear(ahead.astype(float), clearing, removed_share)
    if len(later):
        ahead, elapsed, done = ahead.astype(float), 0.0, np.zeros(ahead.shape, dtype=bool)
        for start, then in later:
            reached = ~done & (weeks <= start - elapsed)
            weeks[reached] += elapsed
            done |= reached
            ahead = _still_ahead(ahead, clearing, removed_share, start - elapsed)
            elapsed, clearing = start, then
            weeks[~done] = _weeks_to_clear(ahead[~done], clearing[~done], removed_share[~done])
        weeks[~done] += elapsed
    weeks[weeks > LONGEST_WEEKS] = np.inf
    return weeks


def _weeks_to_clear(ahead: np.ndarray, clearing: np.ndarray, removed_share: np.ndarray):
    removed_share = np.broadcast_to(removed_share, ahead.shape)
    weeks = np.full(ahead.shape, np.inf)
    moving = clearing > 0
    plain = moving & (removed_share <= 1e-9)
    weeks[plain] = ahead[plain] / clearing[plain]
    mixed = moving & ~plain
    k = clearing[mixed] / removed_share[mixed]
    weeks[mixed] = np.log1p(ahead[mixed] / k) / -np.log1p(-removed_share[mixed])
    return weeks


def _still_ahead(ahead, clearing, removed_share, weeks: float) -> np.ndarray:
    """How many are still ahead after `weeks` of a' = a(1 - r) - c (more, if c < 0)."""
    removed_share = np.broadcast_to(removed_share, ahead.shape)
    plain = removed_share <= 1e-9
    k = np.divide(clearing, removed_share, out=np.zeros(ahead.shape), where=~plain)
    mixed = (ahead + k) * (1 - removed_share) ** weeks - k
    return np.where(plain, ahead - clearing * weeks, mixed)


def projections(history: History, rates: Rates, queue, position, band, waited=None):
    """Weeks until treatment by the flow balance (step 2 of the module's docstring), for
    pathways at `position` having waited `waited` weeks since their clock started."""
    q = history.queue_index(queue)
    band = np.asarray(band, dtype=np.int64)
    weeks = _project_queue(rates, q, band, np.asarray(position) - 1, waited)
    if rates.pace is not None:
        weeks = weeks / rates.pace[q]
        weeks[weeks > LONGEST_WEEKS] = np.inf
    return weeks


def _project_queue(rates: Rates, q, band, ahead, waited=None) -> np.ndarray:
    """`project`, for pathways of queue index `q` and `band`: more urgent joiners join ahead
    of them, and so do same-band joiners whose clocks started before theirs, a share that
    falls the longer a pathway has waited. That share is averaged over the projected wait,
    found in two rounds (the second moves a projection by a few percent at most)."""
    joining = rates.joined_ahead[q, band]
    weeks = _drain(rates, q, ahead, joining)
    if waited is None or rates.lag_sums is None:
        return weeks
    waited = np.asarray(waited, dtype=float)
    known = np.isfinite(waited)
    for _ in range(2):
        share = _share_ranking_ahead(rates.lag_sums, q, np.where(known, waited, 0.0), weeks)
        same = np.where(known, rates.joined_same[q, band] * share, 0.0)
        weeks = _drain(rates, q, ahead, joining + same)
    return weeks


def _drain(rates: Rates, q, ahead, joining) -> np.ndarray:
    """`project` for queue index `q` with `joining` ahead a week, and the planned capacity
    changes, if any, from the weeks they start."""
    if rates.capacity is None:
        return project(ahead, rates.treated[q] - joining, rates.removed_share[q])
    clearing = [
        rates.treated[q] * rates.capacity[q, i] - joining for i in range(len(rates.capacity_from))
    ]
    later = list(zip(rates.capacity_from[1:].tolist(), clearing[1:], strict=True))
    return project(ahead, clearing[0], rates.removed_share[q], later)


def _share_ranking_ahead(lag_sums, q, waited, weeks) -> np.ndarray:
    """The share of a queue's joiners whose clock had run longer than a pathway's has, on
    average over the pathway's wait from `waited` to `waited + weeks`."""
    last = lag_sums.shape[1] - 1
    start = np.clip(np.floor(waited), 0, last).astype(np.int64)
    end = np.clip(np.floor(waited + np.nan_to_num(weeks, posinf=last)), 0, last).astype(np.int64)
    span = end - start
    at_start = lag_sums[q, np.minimum(start + 1, last)] - lag_sums[q, start]
    over_span = (lag_sums[q, end] - lag_sums[q, start]) / np.maximum(span, 1)
    return np.where(span > 0, over_span, at_start)


def km_quantiles(z, treated, weights=None, quantiles=QUANTILES) -> np.ndarray:
    """Kaplan-Meier quantiles of z, where `treated` False marks a censored observation, each
    observation counting as its weight (1 if none given).

    At equal z, events come before censorings (the usual convention). A quantile the curve
    never reaches is NaN.
    """
    weights = np.ones(len(z)) if weights is None else weights
    order = np.lexsort((~treated, z))
    z, treated, weights = z[order], treated[order], weights[order]
    at_risk = np.cumsum(weights[::-1])[::-1]
    factors = np.where(treated, 1 - weights / at_risk, 1.0)
    distribution = 1 - np.cumprod(factors)
    result = np.full(len(quantiles), np.nan)
    for i, q in enumerate(quantiles):
        reached = np.nonzero(treated & (distribution >= q - 1e-12))[0]
        if len(reached):
            result[i] = z[reached[0]]
    return result


URGENT_BANDS = 3  # bands 1-3 (P1, P2, two-week wait, urgent) wait and err unlike routine ones


@dataclass
class Spread:
    """Percentiles of log((t + 1) / (W + 1)) by urgency and group of projection lengths."""

    treated: int
    table: np.ndarray  # [urgent?, length group, quantile]

    def apply(self, weeks: np.ndarray, band: np.ndarray, widen=0.0) -> np.ndarray:
        """[pathway, quantile] weeks from the week of the estimate."""
        z = self.table[_urgency(band), _length_group(weeks)].copy()
        z[:, 0] -= widen
        z[:, -1] += widen
        return np.maximum(np.exp(z) * (weeks[:, None] + 1) - 1, 0.0)


def range_widening(history: History, rates: Rates, queue) -> np.ndarray | float:
    """[pathway] How far apart to move p10 and p90, on the spread's log scale (step 6 of
    docs/estimates.md): a queue whose recent pace is off its usual one by more than
    FLUX_FROM is changing, and nobody yet knows where it will settle."""
    if rates.pace is None:
        return 0.0
    change = np.abs(np.log(rates.pace[history.queue_index(queue)]))
    return np.minimum(FLUX_WIDENING * np.maximum(change - FLUX_FROM, 0.0), FLUX_MOST)


def in_queue_order(weeks: np.ndarray, queue, band, position) -> np.ndarray:
    """`weeks` [pathway, quantile], made never to fall with position within a queue and band.

    The spread differs between groups of projection lengths, so at a group's edge a pathway
    could otherwise be given an earlier date than one ahead of it in the same queue.
    """
    order = np.lexsort((position, band, queue))
    key = np.stack([np.asarray(queue)[order], np.asarray(band)[order]], axis=1)
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = (key[1:] != key[:-1]).any(axis=1)
    group = np.cumsum(starts)
    # One running maximum over all groups, each lifted clear of the one before it.
    never = 1e6  # stands in for "no date" (infinite weeks), far beyond any real estimate
    offset = (group * never * 10)[:, None]
    lifted = np.where(np.isfinite(weeks[order]), weeks[order], never) + offset
    ordered = np.maximum.accumulate(lifted, axis=0) - offset
    result = np.empty_like(weeks)
    result[order] = np.where(ordered >= never, np.inf, ordered)
    return result


def _urgency(band) -> np.ndarray:
    return (np.asarray(band) <= URGENT_BANDS).astype(np.int64)


def _length_group(weeks) -> np.ndarray:
    group = np.searchsorted(STRATA, np.nan_to_num(weeks, posinf=STRATA[-1]), side="right") - 1
    return np.clip(group, 0, len(STRATA) - 1)


def fit_spread(weeks, band, waited, treated, weights) -> Spread | None:
    """The spread from past projections (`weeks`), the weeks waited since and whether the
    pathway was then treated (else censored: still waiting, or removed untreated)."""
    finite = np.isfinite(weeks)
    weeks, band, waited = weeks[finite], band[finite], waited[finite]
    treated, weights = treated[finite], weights[finite]
    if treated.sum() < MIN_TREATED:
        return None
    z = np.log((waited + 1) / (weeks + 1))
    pooled = km_quantiles(z, treated, weights)
    if np.isnan(pooled).any():
        return None
    urgency, group = _urgency(band), _length_group(weeks)
    table = np.tile(pooled, (2, len(STRATA), 1))
    for u in (0, 1):
        # Each urgency's own figures where it has them, else the pooled ones.
        inside = urgency == u
        if treated[inside].sum() >= MIN_STRATUM_TREATED:
            own = km_quantiles(z[inside], treated[inside], weights[inside])
            table[u] = np.where(np.isnan(own), table[u], own)
        for g in range(len(STRATA)):
            cell = inside & (group == g)
            if treated[cell].sum() >= MIN_STRATUM_TREATED:
                own = km_quantiles(z[cell], treated[cell], weights[cell])
                table[u, g] = np.where(np.isnan(own), table[u, g], own)
    # Keep each row's percentiles in order where a cell mixes its own and pooled figures.
    return Spread(int(treated.sum()), np.sort(table, axis=2))


class Outcomes(NamedTuple):
    """Sorted pathway ids, the week each was found missing (-1: still open), whether it was
    booked when last seen (then it left by being treated) and when it left, in weeks
    (`History.left_during`; by default the middle of the week it was found missing).

    A pathway that moved to another list left the list it was on then, when the move was
    found: `after` gives the end of its stint on the list it was on at a week."""

    ids: np.ndarray
    left: np.ndarray
    treated: np.ndarray
    left_at: np.ndarray | None = None
    history: History | None = None  # for its moves

    def when_left(self, index) -> np.ndarray:
        if self.left_at is None:
            return self.left[index] - 0.5
        return self.left_at[index]

    def after(self, pathway, week: int | np.ndarray):
        """(week found gone, treated, when it left) of each pathway's stint on the list it
        was on at `week` (a week index, one for all or one per pathway)."""
        index = np.searchsorted(self.ids, pathway)
        left, treated, when = self.left[index], self.treated[index], self.when_left(index)
        history = self.history
        if history is None or history.moves is None or not len(history.moves):
            return left, treated, when
        following = history.next_move(pathway, week)
        moved = following >= 0
        move = history.moves[following[moved]]
        left, treated, when = left.copy(), treated.copy(), np.array(when, dtype=float)
        left[moved] = move[:, 2]
        treated[moved] = (move[:, 4] == 1) | _unbooked(history, move[:, 3])
        when[moved] = history.left_during(move[:, 2])
        return left, treated, when


def load_outcomes(history: History) -> Outcomes:
    """Every pathway of the trust's, as `Outcomes`."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT id, COALESCE(left_snapshot_id, 0),
                   CASE WHEN tci_date IS NOT NULL OR outpatient_appointment_date IS NOT NULL
                        THEN 1 ELSE 0 END,
                   queue_id
            FROM {Pathway._meta.db_table} WHERE provider_id = %s ORDER BY id
            """,
            [history.provider.pk],
        )
        rows = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 4)
    week_of = history.week_of_snapshot
    left = np.array([week_of.get(s, -1) for s in rows[:, 1].tolist()], dtype=np.int64)
    treated = (rows[:, 2] == 1) | _unbooked(history, rows[:, 3])
    return Outcomes(rows[:, 0], left, treated & (left >= 0), history.left_during(left), history)


def _unbooked(history: History, queue: np.ndarray) -> np.ndarray:
    """[row] Whether the queue (id) is a list whose extract shows no bookings."""
    if history.unbooked is None or not history.unbooked.any():
        return np.zeros(len(queue), bool)
    return np.isin(queue, history.queue_ids[history.unbooked])


@dataclass
class Sample:
    """Ranked pathways at past weeks, with the projection made at that week."""

    pathway: np.ndarray
    origin: np.ndarray  # week index
    band: np.ndarray
    weeks: np.ndarray  # projection W made at the origin


def load_sample(history: History, origins: list[int], target: int) -> Sample:
    """Every k-th pathway (by id) ranked at each origin week (each imported one), about
    `target` in all."""
    origins = history.imported(origins)
    ids = [history.snapshot_ids[o] for o in origins]
    if not ids:
        empty = np.zeros(0, np.int64)
        return Sample(empty, empty, empty, np.zeros(0))
    total = PathwayWeek.objects.filter(snapshot_id__in=ids, position__isnull=False).count()
    every = max(1, math.ceil(total / target))
    condition = f"w.snapshot_id IN ({', '.join(['%s'] * len(ids))})"
    rows = _every_kth_ranked(history, condition, ids, every)
    origin = _weeks_of(history, rows[:, 0])
    waited = weeks_waited(history, origin, rows[:, 5])
    weeks = np.zeros(len(rows))
    for o in origins:
        at = origin == o
        rates = rates_at(history, o)
        weeks[at] = projections(history, rates, rows[at, 2], rows[at, 3], rows[at, 4], waited[at])
        # No estimate is made for a queue with too few weeks of its own: nor is one learnt from.
        weeks[np.flatnonzero(at)[rates.young(history.queue_index(rows[at, 2]))]] = np.inf
    return Sample(rows[:, 1], origin, rows[:, 4], weeks)


def calibration_origins(week: int, step: int = 1) -> list[int]:
    return list(range(max(MIN_WEEKS, week - CALIBRATION_WEEKS), week, step))


def spread_at(sample: Sample, outcomes, week: int) -> Spread | None:
    """The spread as known at `week`: outcomes after it are not known yet (censored).

    The range around the middle comes from the projections that have had time enough since to
    have mostly come true (FOLLOW_UP times their length): the upper percentiles of a
    Kaplan-Meier curve rest on the few observations followed longest, and are unsteady where
    most are still censored. The middle comes from every projection made in the weeks it
    looks back over, each censored as it now stands: the middle of the curve rests on many
    more observations than its tails, and the recent projections carry how the queue moves
    now. It matters most for long projections in a short history: a projection of 13 weeks is
    first followed for 1.5 times its length 25 weeks into a trust's history, one of 26 weeks
    45 weeks in. Until then a group of long projections would borrow the middle of the
    shorter ones, which booked dates mostly settle, and which so say little of whether the
    queue's pace is overstated.
    """
    followed = _fit_at(sample, outcomes, week, followed_only=True)
    every = followed and _fit_at(sample, outcomes, week, followed_only=False)
    if every is None:
        return followed
    middle = every.table[:, :, 1:2]
    return Spread(followed.treated, followed.table - followed.table[:, :, 1:2] + middle)


def _fit_at(sample: Sample, outcomes, week: int, followed_only: bool) -> Spread | None:
    """`fit_spread` of the projections made in the CALIBRATION_WEEKS before `week`; only
    those followed for FOLLOW_UP times their length if `followed_only`.

    A pathway found missing at the snapshot `L` weeks after the origin left during that week:
    it counts as `L - 0.5` weeks (the middle of the week; after missed weeks, the middle of
    them all), the same in the back-test.
    """
    outcomes = Outcomes(*outcomes)
    usable = (sample.origin < week) & (sample.origin >= week - CALIBRATION_WEEKS)
    if followed_only:
        usable &= (week - sample.origin) >= FOLLOW_UP * (sample.weeks + 1)
    origin = sample.origin[usable]
    left_week, was_treated, when = outcomes.after(sample.pathway[usable], origin)
    known = (left_week >= 0) & (left_week <= week)
    waited = np.where(known, when, week) - origin
    weights = 0.5 ** ((week - origin) / CALIBRATION_HALF_LIFE_WEEKS)
    return fit_spread(
        sample.weeks[usable],
        sample.band[usable],
        waited.astype(float),
        known & was_treated,
        weights,
    )


# --- The stored estimates ------------------------------------------------------------------


@dataclass
class Result:
    snapshot: Snapshot | None
    estimated: int = 0
    booked: int = 0
    without: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        if self.snapshot is None:
            return "no snapshot imported: nothing to estimate"
        without = ", ".join(f"{n} {basis}" for basis, n in sorted(self.without.items()))
        return f"{self.snapshot}: {self.estimated} estimated, {self.booked} booked" + (
            f", no estimate: {without}" if without else ""
        )


def recompute(provider: Provider) -> Result:
    """Replaces the provider's estimates with ones for its latest snapshot."""
    history = load_history(provider)
    if not history.weeks:
        return Result(None)
    week = history.weeks - 1
    snapshot = Snapshot.objects.get(pk=history.snapshot_ids[week])
    origins = calibration_origins(week)
    sample = load_sample(history, origins, CALIBRATION_SAMPLE)
    spread = spread_at(sample, load_outcomes(history), week) if origins else None
    rates = rates_at(history, week)
    current = list(
        PathwayWeek.objects.filter(snapshot=snapshot, position__isnull=False).values_list(
            "pathway_id", "pathway__queue_id", "position", "band",
            "pathway__tci_date", "pathway__outpatient_appointment_date", "pathway__clock_start",
        )
    )  # fmt: skip
    numbers = np.array([row[:4] for row in current], dtype=np.int64).reshape(-1, 4)
    waited = np.array([(snapshot.week_ending - row[6]).days / 7 for row in current])
    weeks = projections(history, rates, *numbers[:, 1:4].T, waited)
    enough = rates.weeks_used >= MIN_WEEKS and spread is not None
    # A list the trust's extract began to carry under MIN_WEEKS weeks ago has too little history.
    young = rates.young(history.queue_index(numbers[:, 1]))
    dates = np.full((len(current), 3), np.nan)
    if enough:
        queue, position, band = numbers[:, 1:4].T
        widen = range_widening(history, rates, queue)
        dates = in_queue_order(spread.apply(weeks, band, widen), queue, band, position)
        dates[young] = np.nan
    # A booked date already past at the snapshot is a stale booking: estimate as unbooked.
    earliest = snapshot.week_ending - timedelta(days=6)
    result, rows = Result(snapshot), []
    for row, (t10, t50, t90), new in zip(current, dates, young, strict=True):
        pathway, booked = row[0], row[4] or row[5]
        if booked and booked >= earliest:
            rows.append((pathway, booked, booked, booked, Estimate.Basis.BOOKED))
            result.booked += 1
        elif enough and np.isfinite(t90):
            start = snapshot.week_ending
            rows.append((pathway, _date(start, t10), _date(start, t50), _date(start, t90), "model"))
            result.estimated += 1
        else:
            basis = "too-little-history" if not enough or new else "queue-not-moving"
            rows.append((pathway, None, None, None, basis))
            result.without[basis] = result.without.get(basis, 0) + 1
    _store(provider, snapshot, rows, history, rates)
    patient_data_changed()
    return result


def _date(start: date, weeks: float) -> date:
    return start + timedelta(days=round(float(weeks) * 7))


def next_plans(history: History, after: date) -> list[Plan | None]:
    """[queue] The first planned capacity change starting after `after` (None if none): the
    one a patient is told their estimate allows for."""
    upcoming = [plan for plan in history.plans if plan.starts > after.toordinal()]
    return [
        next((p for p in upcoming if p.treatment_function in ("", function)), None)
        for function in history.queue_functions.tolist()
    ]


def _store(provider, snapshot, rows, history: History, rates: Rates) -> None:
    """Swaps the provider's estimates and queue figures for the new ones, in one transaction."""
    plans = next_plans(history, snapshot.week_ending)
    widened = np.atleast_1d(range_widening(history, rates, history.queue_ids)) > 0
    pace = rates.pace if rates.pace is not None else np.ones(len(history.queue_ids))
    unbooked = history.unbooked
    if unbooked is None:
        unbooked = np.zeros(len(history.queue_ids), dtype=bool)
    with transaction.atomic():
        Estimate.objects.filter(snapshot__provider=provider).delete()
        QueueRates.objects.filter(queue__provider=provider).delete()
        if connection.vendor == "postgresql":
            _copy_estimates(snapshot, rows)
        else:
            Estimate.objects.bulk_create(
                (
                    Estimate(pathway_id=p, snapshot=snapshot, p10=a, p50=b, p90=c, basis=basis)
                    for p, a, b, c, basis in rows
                ),
                batch_size=2000,
            )
        QueueRates.objects.bulk_create(
            QueueRates(
                queue_id=int(queue),
                band=band,
                snapshot=snapshot,
                weeks_of_history=rates.weeks_used
                if rates.queue_weeks is None
                else int(rates.queue_weeks[q]),
                treated_per_week=float(rates.treated_now()[q]),
                joined_ahead_per_week=float(rates.joined_ahead[q, band]),
                removed_share_per_week=float(rates.removed_share[q]),
                planned_percent=round((plans[q].factor - 1) * 100) if plans[q] else None,
                planned_from=date.fromordinal(plans[q].starts) if plans[q] else None,
                pace_change_percent=round((pace[q] - 1) * 100) if widened[q] else None,
                leavers_counted_as_treated=bool(unbooked[q]),
            )
            for q, queue in enumerate(history.queue_ids)
            for band in range(1, BANDS)
        )


def _copy_estimates(snapshot: Snapshot, rows) -> None:
    columns = "pathway_id, snapshot_id, p10, p50, p90, basis"
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {Estimate._meta.db_table} ({columns}) FROM STDIN") as copy,
    ):
        for pathway, p10, p50, p90, basis in rows:
            copy.write_row((pathway, snapshot.pk, p10, p50, p90, basis))
