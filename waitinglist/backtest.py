"""The back-test (shared/spec/command-line.md, `backtest`): replay a provider's history.

At each past week (an "origin") every ranked pathway is estimated with only what was known
then, by the portal's method and by three baselines, and each estimate is scored against the
week the pathway really left by being treated. The history keeps positions, not bookings, so
the portal's method is scored on every ranked pathway as if none were booked: the live
estimates, which give a booked pathway its booked date, can only do better.

Scoring, in weeks after the origin (a pathway found missing at the snapshot of week `L` was
treated during that week: `t = L - origin - 0.5`, its middle; after weeks the trust did not
import, the middle of them all, `estimates.History.left_during`):
- pathways removed untreated (validation, gone elsewhere) are left out: they were never treated;
- a pathway that later moved to another of the trust's lists keeping its identifier is scored
  on its stay on the list it was on at the origin, which the move ended (or the weeks off the
  lists that came before it): treated if it left booked (an outpatient seen and listed for an
  operation), removed if not (`PathwayMove.was_booked`, `estimates.Outcomes.after`);
- absolute errors count pathways treated within the history;
- "later than p50" counts the pathways whose p50 falls within the history that follows the
  origin, and "inside p10-p90" those whose p90 does: for them the outcome is known either way
  (treated by then, or still waiting after it). They are chosen by the estimate, not by what
  happened: leaving out, as an earlier version did, the pathways still waiting at the end
  before their p50 (while counting those treated early) would leave out late outcomes only,
  and make every method look earlier and less often inside than it is;
- every method is scored on the same pathways: those every method could estimate.

The same scores are kept queue by queue; `store` saves both as `QueueAccuracy` rows for the
trust workspace (docs/workspace.md), after the command and by a weekly task.
"""

from dataclasses import dataclass, field
from datetime import date

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from waitinglist import estimates
from waitinglist.models import Pathway, PathwayWeek, Provider, QueueAccuracy

METHODS = {
    "wait-well": "Wait Well: position, recent rates, spread learnt from the queue's past",
    "nhs-app-mean": "NHS App: clock start + mean current wait of the queue",
    "p92-current": "clock start + 92nd percentile of current waits",
    "position-leavers": "position / mean weekly leavers (last 12 weeks)",
}
DEFAULT_STEP = 1  # every past week, as the contract says
MAX_FOLLOW_UP = 26  # weeks kept after the last origin, for outcomes to happen
MAX_FIRST_ORIGIN = 26


@dataclass
class Score:
    errors: list[np.ndarray] = field(default_factory=list)
    later: list[np.ndarray] = field(default_factory=list)
    inside: list[np.ndarray] = field(default_factory=list)
    widths: list[np.ndarray] = field(default_factory=list)
    estimated: int = 0
    ranked: int = 0

    def figures(self) -> dict[str, float]:
        def mean(parts):
            joined = np.concatenate(parts) if parts else np.zeros(0)
            return float(joined.mean()) if len(joined) else float("nan")

        errors = np.concatenate(self.errors) if self.errors else np.zeros(0)
        return {
            "mean_abs_error_weeks": float(errors.mean()) if len(errors) else float("nan"),
            "median_abs_error_weeks": float(np.median(errors)) if len(errors) else float("nan"),
            "later_than_p50": mean(self.later),
            "inside_p10_p90": mean(self.inside),
            "mean_range_weeks": mean(self.widths),
            "estimated": self.estimated / self.ranked if self.ranked else float("nan"),
        }

    @property
    def scored(self) -> int:
        """Estimates scored against a treatment that happened."""
        return sum(len(part) for part in self.errors)


@dataclass
class Backtest:
    provider: Provider
    origins: list[date]
    scores: dict[str, Score]
    scored: int = 0  # pathways treated within the history, scored at some origin
    still_waiting: int = 0
    # The same scores queue by queue (queue id: method: score), for the trust workspace.
    by_queue: dict[int, dict[str, Score]] = field(default_factory=dict)
    last_week: date | None = None  # the latest snapshot the back-test could see

    def lines(self) -> list[str]:
        head = (
            f"{self.provider.ods_code} backtest: {len(self.origins)} origins "
            f"({self.origins[0]} to {self.origins[-1]}), {self.scored} estimates of pathways "
            f"treated later, {self.still_waiting} of pathways still waiting at the end"
            if self.origins
            else f"{self.provider.ods_code} backtest: too little history to replay"
        )
        columns = list(Score().figures())
        lines = [head, "method," + ",".join(columns)]
        for method, score in self.scores.items():
            values = score.figures()
            lines.append(method + "," + ",".join(_format(values[c]) for c in columns))
        return lines


def _format(value: float) -> str:
    return "-" if np.isnan(value) else f"{value:.3f}"


def default_origins(weeks: int, step: int = DEFAULT_STEP) -> list[int]:
    first = min(MAX_FIRST_ORIGIN, max(estimates.MIN_WEEKS + 4, weeks // 4))
    last = weeks - 1 - min(MAX_FOLLOW_UP, weeks // 3)
    return list(range(first, last + 1, step))


def weeks_needed() -> int:
    """The fewest weekly snapshots that leave at least one week to replay."""
    return next(weeks for weeks in range(1, 10 * MAX_FIRST_ORIGIN) if default_origins(weeks))


def run(provider: Provider, step: int = DEFAULT_STEP) -> Backtest:
    history = estimates.load_history(provider)
    origins = history.imported(default_origins(history.weeks, step))
    result = Backtest(
        provider, [history.week_endings[o] for o in origins], {m: Score() for m in METHODS}
    )
    result.last_week = history.week_endings[-1] if history.week_endings else None
    if not origins:
        return result
    outcomes = estimates.load_outcomes(history)
    # One sample of past projections serves every origin, as dense as `recompute` uses. Each
    # week's projections, like its rates, allow for the capacity plans recorded by then.
    weeks_sampled = list(range(estimates.MIN_WEEKS, origins[-1]))
    per_week = estimates.CALIBRATION_SAMPLE / estimates.CALIBRATION_WEEKS
    sample = estimates.load_sample(history, weeks_sampled, int(per_week * len(weeks_sampled)))
    end = history.weeks - 1
    for o in origins:
        ranked = _ranked_at(history, o)
        if not len(ranked):
            continue
        # A pathway that later moved to another list is scored on its stay on this one.
        left_week, was_treated, when = outcomes.after(ranked[:, 0], o)
        removed = (left_week >= 0) & ~was_treated
        keep = ~removed
        actual = np.where(was_treated, when - o, end - o).astype(float)[keep]
        censored = ~was_treated[keep]
        predictions = _predict(history, sample, outcomes, o, ranked)
        common = np.all(np.isfinite(np.stack([p[:, 1] for p in predictions.values()])), axis=0)
        for method, predicted in predictions.items():
            score = result.scores[method]
            score.ranked += len(ranked)
            score.estimated += int(np.isfinite(predicted[:, 1]).sum())
            _score(score, predicted[keep][common[keep]], actual[common[keep]],
                   censored[common[keep]], end - o)  # fmt: skip
        _score_by_queue(result, ranked[:, 1], keep, common, predictions, actual, censored, end - o)
        result.scored += int((~censored & common[keep]).sum())
        result.still_waiting += int((censored & common[keep]).sum())
    return result


def _score_by_queue(
    result: Backtest, queue, keep, common, predictions, actual, censored, horizon
) -> None:
    """The origin's scores again, one queue at a time: the same pathways, split by queue."""
    scored = common[keep]
    scored_queue, actual, censored = queue[keep][scored], actual[scored], censored[scored]
    kept = {method: predicted[keep][scored] for method, predicted in predictions.items()}
    estimated = {method: np.isfinite(predicted[:, 1]) for method, predicted in predictions.items()}
    for q in np.unique(queue):
        scores = result.by_queue.setdefault(int(q), {m: Score() for m in METHODS})
        mine, theirs = queue == q, scored_queue == q
        for method in predictions:
            score = scores[method]
            score.ranked += int(mine.sum())
            score.estimated += int(estimated[method][mine].sum())
            _score(score, kept[method][theirs], actual[theirs], censored[theirs], horizon)


def store(provider: Provider, result: Backtest) -> int:
    """Replaces the trust's stored accuracy (whole trust and each queue) with this run's, in
    one transaction, so the workspace never shows half of one run and half of another;
    returns how many rows were stored. A run with no origins stores nothing new."""
    now = timezone.now()
    rows = []
    if result.origins:
        parts = [(None, result.scores), *sorted(result.by_queue.items())]
        rows = [
            _accuracy(provider, queue_id, method, score, result, now)
            for queue_id, scores in parts
            for method, score in scores.items()
        ]
    with transaction.atomic():
        QueueAccuracy.objects.filter(provider=provider).delete()
        QueueAccuracy.objects.bulk_create(rows)
    return len(rows)


def _accuracy(provider, queue_id, method, score: Score, result: Backtest, now) -> QueueAccuracy:
    figures = {k: (None if np.isnan(v) else v) for k, v in score.figures().items()}
    return QueueAccuracy(
        provider=provider,
        queue_id=queue_id,
        method=method,
        computed_at=now,
        last_week=result.last_week,
        origins=len(result.origins),
        scored=score.scored,
        median_abs_error_weeks=figures["median_abs_error_weeks"],
        mean_abs_error_weeks=figures["mean_abs_error_weeks"],
        later_than_p50=figures["later_than_p50"],
        inside_p10_p90=figures["inside_p10_p90"],
        mean_range_weeks=figures["mean_range_weeks"],
    )


def _score(score: Score, predicted, actual, censored, horizon: float) -> None:
    """Adds one origin's pathways: `actual` is weeks to treatment, or `horizon` (the weeks of
    history after the origin) for a pathway still waiting at the end (`censored`)."""
    t10, t50, t90 = predicted.T
    treated = ~censored
    score.errors.append(np.abs(actual[treated] - t50[treated]))
    # Scored where the history reaches the estimate's own date (see the module's docstring).
    settled = t50 < horizon
    score.later.append((actual > t50)[settled])
    if np.isfinite(t10).any():
        settled = t90 < horizon
        score.inside.append(((actual >= t10) & (actual <= t90))[settled])
        score.widths.append((t90 - t10)[np.isfinite(t90)])


def _predict(history, sample, outcomes, o: int, ranked) -> dict[str, np.ndarray]:
    """[pathway, (p10, p50, p90)] weeks after the origin, NaN where a method cannot say."""
    _, queue, position, band, clock_start = ranked.T
    q = history.queue_index(queue)
    week_ending = history.week_endings[o].toordinal()
    n = len(ranked)
    blank = np.full((n, 3), np.nan)
    waited = (week_ending - clock_start) / 7  # weeks since the clock started

    rates = estimates.rates_at(history, o)
    spread = estimates.spread_at(sample, outcomes, o)
    ours = blank.copy()
    if rates.weeks_used >= estimates.MIN_WEEKS and spread is not None:
        weeks = estimates.projections(history, rates, queue, position, band, waited)
        widen = np.broadcast_to(estimates.range_widening(history, rates, queue), (n,))
        finite = np.isfinite(weeks)
        ours[finite] = estimates.in_queue_order(
            spread.apply(weeks[finite], band[finite], widen[finite]),
            queue[finite],
            band[finite],
            position[finite],
        )
        ours[rates.young(q)] = np.nan  # a list the extract began to carry only lately

    def point(weeks: np.ndarray) -> np.ndarray:
        out = blank.copy()
        out[:, 1] = weeks
        return out

    mean_wait = history.mean_wait[q, o] / 7
    p92 = history.p92_wait[q, o] / 7
    recent = history.leavers[:, max(1, o - 11) : o + 1]
    leavers = recent.mean(axis=1)[q] if recent.shape[1] else np.zeros(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_leavers = np.where(leavers > 0, position / leavers, np.nan)
    return {
        "wait-well": ours,
        "nhs-app-mean": point(mean_wait - waited),
        "p92-current": point(p92 - waited),
        "position-leavers": point(per_leavers),
    }


def _ranked_at(history, o: int) -> np.ndarray:
    """pathway, queue (the list it was on then), position, band, clock start (ordinal day) of
    the ranked at week `o`."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT w.pathway_id, p.queue_id, w.position, w.band, p.clock_start
            FROM {PathwayWeek._meta.db_table} w
            JOIN {Pathway._meta.db_table} p ON p.id = w.pathway_id
            WHERE w.snapshot_id = %s AND w.position IS NOT NULL
            ORDER BY w.pathway_id
            """,
            [history.snapshot_ids[o]],
        )
        rows = cursor.fetchall()
    day = estimates.day_number
    ranked = np.array([(a, b, c, d, day(e)) for a, b, c, d, e in rows], dtype=np.int64)
    ranked = ranked.reshape(-1, 5)
    if history.moves is not None and len(history.moves):  # the list it was on that week
        ranked[:, 1] = history.queue_then(ranked[:, 0], o, ranked[:, 1])
    return ranked
