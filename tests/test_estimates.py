"""Estimated treatment dates: the arithmetic, the stored estimates, export, back-test, words."""

import csv
from datetime import date, timedelta
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from tests.extracts import WEEK, pathway, week_of, write_extract
from tests.factories import ProviderFactory
from waitinglist import backtest, estimates
from waitinglist.explanation import explain, month_range, ordinal, people_a_week, sentences_for
from waitinglist.models import (
    CapacityChange,
    Estimate,
    Pathway,
    PathwayWeek,
    Provider,
    QueueRates,
)
from waitinglist.simulation import simulate_trust

LAST_WEEK = date(2026, 8, 30)


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- The arithmetic -------------------------------------------------------------------------


def weeks_by_iteration(ahead: float, clearing: float, removed: float) -> float:
    weeks = 0.0
    while True:
        after = ahead * (1 - removed) - clearing
        if after <= 0:
            return weeks + ahead / (ahead - after)  # the last week, in part
        ahead, weeks = after, weeks + 1


@pytest.mark.parametrize(
    ("ahead", "clearing", "removed"), [(100, 5, 0.0), (100, 5, 0.01), (2000, 30, 0.003)]
)
def test_projection_matches_week_by_week_arithmetic(ahead, clearing, removed):
    projected = estimates.project(np.array([ahead]), np.array([clearing]), np.array([removed]))
    assert projected[0] == pytest.approx(weeks_by_iteration(ahead, clearing, removed), abs=1.0)


def test_a_queue_that_gains_more_ahead_than_it_treats_is_not_moving():
    projected = estimates.project(np.array([10, 10]), np.array([0.0, -2.0]), np.array([0, 0.01]))
    assert np.isinf(projected).all()


def test_kaplan_meier_quantiles_without_censoring_are_the_plain_quantiles():
    z = np.arange(1, 11, dtype=float)
    assert list(estimates.km_quantiles(z, np.ones(10, bool))) == [1.0, 5.0, 9.0]


def test_kaplan_meier_counts_censored_observations_as_still_at_risk():
    # Events at 1 and 3, censored at 2: S(1) = 2/3, S(3) = 2/3 * 0 = 0.
    z, treated = np.array([1.0, 2.0, 3.0]), np.array([True, False, True])
    assert list(estimates.km_quantiles(z, treated, quantiles=(0.3, 0.5))) == [1.0, 3.0]
    # Naively dropping the censored one would put the median at 1.
    assert estimates.km_quantiles(z[[0, 2]], treated[[0, 2]], quantiles=(0.5,))[0] == 1.0


def test_a_quantile_the_curve_never_reaches_is_unknown():
    z, treated = np.array([1.0, 2.0, 3.0]), np.array([True, False, False])
    assert np.isnan(estimates.km_quantiles(z, treated, quantiles=(0.9,))[0])


def test_weighted_median_follows_the_weights():
    values = np.array([[10.0, 20.0, 30.0]])
    assert estimates.weighted_median(values, np.array([1.0, 1.0, 1.0]))[0] == 20.0
    assert estimates.weighted_median(values, np.array([0.1, 0.1, 5.0]))[0] == 30.0


def test_the_spreads_middle_follows_recent_projections_and_its_range_long_followed_ones():
    # 300 projections of 10 weeks made in weeks 4-13, long since come true: a third each
    # treated after 8.5, 10.5 and 12.5 weeks. 300 more made in week 34, all treated 2.5 weeks
    # later: at week 40 they have not had 1.5 times their length to come true.
    old = np.repeat(np.arange(4, 14), 30)
    origin = np.concatenate([old, np.full(300, 34)])
    left = np.concatenate([old + np.tile([9, 11, 13], 100), np.full(300, 37)])
    ids = np.arange(1, 601)
    sample = estimates.Sample(ids, origin, np.full(600, 5), np.full(600, 10.0))
    spread = estimates.spread_at(sample, (ids, left, np.ones(600, bool)), 40)

    z10, z50, z90 = np.log(np.array([9.5, 11.5, 13.5]) / 11)
    middle = np.log(3.5 / 11)  # the recent projections outweigh the old ones
    assert spread.table[0, 1] == pytest.approx([z10 - z50 + middle, middle, z90 - z50 + middle])
    # With none of them followed long enough there is no spread at all.
    recent = origin == 34
    assert estimates.spread_at(sample, (ids, np.where(recent, left, -1), recent), 40) is None


def steady_history(weeks: int = 40, queues: int = 2, treated: float = 10.0):
    """A trust whose queues each treat `treated` a week, with nobody joining ahead or removed:
    a pathway with `a` ahead is projected to wait a / treated weeks."""
    shape = (queues, weeks)
    return estimates.History(
        provider=None,
        snapshot_ids=list(range(weeks)),
        week_endings=[LAST_WEEK - timedelta(weeks=weeks - 1 - w) for w in range(weeks)],
        queue_ids=np.arange(1, queues + 1),
        treated=np.full(shape, treated),
        removed=np.zeros(shape),
        ranked=np.full(shape, 5000.0),
        leavers=np.full(shape, treated),
        joined=np.zeros((*shape, estimates.BANDS)),
        mean_wait=np.full(shape, np.nan),
        p92_wait=np.full(shape, np.nan),
    )


def test_a_list_whose_extract_has_no_booking_dates_counts_every_leaver_as_treated():
    history = steady_history(weeks=30, queues=3)
    history.removed[:] = 1.0
    history.treated[1] = 0.0  # list 2: nobody ever seen booked; 30 leavers in all
    history.treated[2], history.removed[2] = 0.0, 0.0  # list 3: too few leavers to tell
    history.removed[2, 5] = 1.0
    estimates._count_leavers_as_treated_without_bookings(history)
    assert history.unbooked.tolist() == [False, True, False]  # list 3 follows the trust's
    assert history.treated[:, 5].tolist() == [10, 1, 0]
    assert history.removed[:, 5].tolist() == [1, 0, 1]
    history = steady_history(weeks=30, queues=3, treated=0.0)  # no list carries bookings
    history.removed[:2] = 1.0
    history.removed[2, 5] = 1.0
    estimates._count_leavers_as_treated_without_bookings(history)
    assert history.unbooked.tolist() == [True, True, True]  # list 3 again follows the trust's


def test_same_band_joiners_with_older_clocks_join_ahead_of_pathways_that_started_later():
    """Every week 4 pathways join band 5, all with clocks that had run 10 weeks (listed after
    outpatient care): they rank ahead of anyone whose clock started after theirs did."""
    history = steady_history(weeks=30, queues=1)
    history.joined[0, 1:, 5] = 4
    history.lags = np.zeros((1, 30, estimates.LAG_WEEKS + 1))
    history.lags[0, 1:, 10] = 4
    rates = estimates.rates_at(history, 29)
    ahead = np.array([60, 60, 60])
    waited = np.array([0.0, 6.0, 30.0])
    weeks = estimates.projections(history, rates, [1, 1, 1], ahead + 1, [5, 5, 5], waited)
    # Waited 30 weeks: nobody joins ahead, 60 ahead at 10 a week.
    assert weeks[2] == pytest.approx(6.0)
    # Waited 0: joiners are ahead for its first 10 weeks of waiting, then not: slower.
    assert weeks[0] > 6.0 * 1.2
    # Waited 6: for 4 more weeks only, so in between.
    assert weeks[2] < weeks[1] < weeks[0]
    # Without their clock starts (or without the lags), the old flow balance.
    plain = estimates.projections(history, rates, [1, 1, 1], ahead + 1, [5, 5, 5])
    assert plain == pytest.approx([6.0, 6.0, 6.0])


@pytest.mark.django_db
def test_the_history_records_how_long_joiners_clocks_had_run(tmp_path, trust):
    files = simulate_trust("RXX", 2, seed=7, out=tmp_path, pathways=200, last_week=LAST_WEEK)
    run("import_waiting_list", str(files[0]))
    # A joiner in week 2 whose clock started 20 weeks (and 3 days) before that week ended.
    later = files[1].read_text().splitlines()
    header, row = later[0].split(","), later[1].split(",")
    row[header.index("PATIENT_PATHWAY_IDENTIFIER")] = "NEW-JOINER-1"
    row[header.index("Procedure_Priority_Code")] = "P4"
    row[header.index("PRIORITY_TYPE_CODE")] = ""
    started = LAST_WEEK - timedelta(weeks=20, days=3)
    row[header.index("REFERRAL_TO_TREATMENT_PERIOD_START_DATE")] = started.isoformat()
    files[1].write_text("\n".join([*later, ",".join(row)]) + "\n")
    run("import_waiting_list", str(files[1]))

    history = estimates.load_history(trust)
    joiner = Pathway.objects.get(identifier="NEW-JOINER-1")
    q = history.queue_index(joiner.queue_id)
    assert history.lags[q, 1, 20] >= 1
    assert history.lags[:, 1, :].sum() == history.joined[:, 1, 1:].sum()


@pytest.mark.django_db
def test_a_week_not_imported_keeps_its_place_and_shares_what_the_next_week_found(tmp_path, trust):
    """Weeks 0, 1 and 3 imported, week 2 missed: what week 3's snapshot found happened over
    weeks 2 and 3, so it is shared between them, and a wait is counted in calendar weeks."""
    booked = (WEEK + timedelta(weeks=5)).isoformat()
    rows = [pathway(f"G{n}", TCI_Date=booked if n <= 2 else "") for n in range(1, 7)]
    weeks = {
        0: rows,
        1: rows[1:],  # G1 treated in week 1
        3: [*rows[2:], pathway("G7"), pathway("G8", Procedure_Priority_Code="P2")],  # G2 gone
    }
    files = [
        write_extract(tmp_path / f"{w}.csv", week_of(listed, WEEK + timedelta(weeks=w)))
        for w, listed in weeks.items()
    ]
    errors = StringIO()
    call_command("import_waiting_list", *map(str, files), stdout=StringIO(), stderr=errors)
    assert errors.getvalue() == (
        f"3.csv: 1 week was not imported before {WEEK + timedelta(weeks=3)} "
        f"({WEEK + timedelta(weeks=2)}): pathways that left the list then count as leaving over "
        "those weeks, and weeks are imported in order, so they cannot be added later\n"
    )

    history = estimates.load_history(trust)
    assert history.weeks == 4
    assert [snapshot is None for snapshot in history.snapshot_ids] == [False, False, True, False]
    assert history.week_endings == [WEEK + timedelta(weeks=w) for w in range(4)]
    assert history.treated[0].tolist() == [0, 1, 0.5, 0.5]
    assert history.joined[0, :, 1:].sum(axis=1).tolist() == [6, 0, 1, 1]
    assert history.ranked[0].tolist() == [6, 5, 5.5, 6]  # week 2 between weeks 1 and 3
    partly = estimates.PARTLY_SEEN  # weeks 2 and 3 hide who came and went between snapshots
    assert history.seen(np.arange(4)).tolist() == [1, 1, partly, partly]
    ids, left, treated, left_at, _ = estimates.load_outcomes(history)
    by_identifier = dict(Pathway.objects.values_list("identifier", "id"))
    g1, g2 = (np.searchsorted(ids, by_identifier[g]) for g in ("G1", "G2"))
    assert (left[g1], left_at[g1]) == (1, 0.5)  # the middle of week 1
    assert (left[g2], left_at[g2]) == (3, 2.0)  # the middle of weeks 2 and 3
    assert treated[g1] and treated[g2]


@pytest.mark.django_db
def test_a_missed_week_leaves_the_estimates_where_every_week_would_put_them(tmp_path, trust):
    """The same trust imported twice, as RXX with every week and as RXY without two recent
    weeks. Counting the snapshot after the gap as one week's treatments and joiners brought the
    dates forward by 2.7 weeks (p50) and 4.9 weeks (p90) on average; now they barely move."""
    ProviderFactory(ods_code="RXY")
    every, gapped = (
        simulate_trust(code, 30, seed=7, out=tmp_path / code, pathways=800, last_week=LAST_WEEK)
        for code in ("RXX", "RXY")
    )
    run("import_waiting_list", *map(str, every))
    errors = StringIO()
    call_command("import_waiting_list", *map(str, gapped[:-5] + gapped[-3:]), stdout=StringIO(),
                 stderr=errors)  # fmt: skip
    missed = [LAST_WEEK - timedelta(weeks=w) for w in (4, 3)]
    assert errors.getvalue() == (
        f"{gapped[-3].name}: 2 weeks were not imported before {LAST_WEEK - timedelta(weeks=2)} "
        f"({missed[0]} and {missed[1]}): pathways that left the list then count as leaving "
        "over those weeks, and weeks are imported in order, so they cannot be added later\n"
    )

    def dates(code):
        estimated = Estimate.objects.filter(snapshot__provider__ods_code=code, basis="model")
        rows = estimated.values_list("pathway__identifier", "p10", "p50", "p90")
        return {identifier[3:]: np.array(found) for identifier, *found in rows}

    with_every, with_gap = dates("RXX"), dates("RXY")
    assert len(with_every) > 500 and with_gap.keys() == with_every.keys()
    shift = np.mean([with_gap[k] - with_every[k] for k in with_every], axis=0)
    assert all(abs(days / timedelta(weeks=1)) < 0.75 for days in shift)
    # The back-test replays only the weeks imported.
    replayed = backtest.run(Provider.objects.get(ods_code="RXY"), step=1).origins
    assert replayed and not set(missed) & set(replayed)


@pytest.mark.django_db
def test_a_list_the_extract_carries_only_from_a_later_week_learns_from_its_own_weeks(
    tmp_path, trust
):
    """The same trust twice: RXX's extracts carry ophthalmology (130) from the start, RXY's only
    from week 20, when its whole list "joins" at once. That burst counted as urgent patients
    joining ahead, and the weeks before it as weeks nobody was treated, so two weeks later
    every ophthalmology patient was told the queue was not moving. Now a list's rates start
    after its first week, and it has too little history until it has MIN_WEEKS of its own."""
    ProviderFactory(ods_code="RXY")
    every, later = (
        simulate_trust(code, 30, seed=7, out=tmp_path / code, pathways=2000, last_week=LAST_WEEK)
        for code in ("RXX", "RXY")
    )
    for path in later[:20]:
        lines = path.read_text().splitlines(keepends=True)
        column = lines[0].split(",").index("ACTIVITY_TREATMENT_FUNCTION_CODE")
        path.write_text("".join(line for line in lines if line.split(",")[column] != "130"))
    run("import_waiting_list", *map(str, every))
    run("import_waiting_list", *map(str, later[:22]))
    rxy = Provider.objects.get(ods_code="RXY")
    eye = Estimate.objects.filter(
        snapshot=rxy.latest_snapshot, pathway__queue__treatment_function="130"
    )
    assert eye.exists() and set(eye.exclude(basis="booked").values_list("basis", flat=True)) == {
        Estimate.Basis.TOO_LITTLE_HISTORY  # two weeks of its own: too few to say
    }
    assert Estimate.objects.filter(snapshot=rxy.latest_snapshot, basis="model").exists()
    run("import_waiting_list", *map(str, later[22:]))

    def medians(code):
        estimated = Estimate.objects.filter(
            snapshot__provider__ods_code=code,
            basis="model",
            pathway__queue__treatment_function="130",
        )
        return {k[3:]: p50 for k, p50 in estimated.values_list("pathway__identifier", "p50")}

    with_every, with_later = medians("RXX"), medians("RXY")
    assert len(with_every) > 50 and with_later.keys() == with_every.keys()
    shift = np.mean([(with_later[k] - with_every[k]).days / 7 for k in with_every])
    assert abs(shift) < 1.0  # 10 weeks of its own, against 30: about the same dates


def test_a_queues_rates_start_after_its_first_week():
    """Queue 2 first appears in week 30 of 40 with 200 urgent pathways, all "joined" at once."""
    history = steady_history(weeks=40, queues=2)
    history.treated[1, :30] = 0.0
    history.joined[1, 30, 2] = 200.0
    history.started = np.array([0, 30])
    rates = estimates._usual_rates_at(history, 39)
    assert rates.treated.tolist() == [10.0, 10.0]  # not dragged down by the weeks before it
    assert rates.joined_ahead[1, 5] == 0.0  # the burst is not urgent patients joining ahead
    assert rates.queue_weeks.tolist() == [26, 9]
    assert not rates.young(1) and estimates._usual_rates_at(history, 32).young(1)


def attach_moving_pathways(history, speeds: dict[int, np.ndarray], count: int = 50) -> None:
    """`count` pathways per queue, far back, each week moving up by that queue's speed."""
    rows = []
    for queue, speed in speeds.items():
        for n in range(count):
            start = 3000 + 10 * n
            moved = np.concatenate([[0], np.cumsum(speed[1:])])
            for week in range(history.weeks):
                rows.append((week, queue * 1000 + n, queue, start - moved[week], 5))
    week, pathway, queue, position, band = np.array(rows, dtype=np.int64).T
    estimates.attach_progress(history, week, pathway, queue, position, band)


def test_a_queue_moving_as_projected_keeps_its_projections():
    history = steady_history()
    attach_moving_pathways(history, {1: np.full(40, 10.0), 2: np.full(40, 10.0)})
    assert estimates.kept_pace(history, 39, 13, 4.0) == pytest.approx([1.0, 1.0])
    assert estimates.pace_factors(history, 39) == pytest.approx([1.0, 1.0])


def test_a_queue_that_lately_moves_faster_gets_shorter_projections_and_only_that_queue():
    history = steady_history()
    faster = np.where(np.arange(40) >= 30, 20.0, 10.0)  # twice the pace from week 30
    attach_moving_pathways(history, {1: faster, 2: np.full(40, 10.0)})
    before = estimates.pace_factors(history, 29)
    after = estimates.pace_factors(history, 39)
    assert before == pytest.approx([1.0, 1.0], abs=0.01)
    assert after[0] > 1.2
    assert after[1] == pytest.approx(1.0, abs=0.05)
    rates = estimates.rates_at(history, 39)
    weeks = estimates.projections(history, rates, np.array([1, 2]), np.array([501, 501]), [5, 5])
    assert weeks[0] == pytest.approx(50 / after[0])  # 500 ahead at 10 a week, sped up
    assert weeks[1] == pytest.approx(50 / after[1])


def test_a_queue_whose_pace_changed_for_good_gets_a_wider_range_and_only_that_queue():
    history = steady_history()
    slower = np.where(np.arange(40) >= 28, 5.0, 10.0)  # half the pace from week 28, for good
    attach_moving_pathways(history, {1: slower, 2: np.full(40, 10.0)})
    rates = estimates.rates_at(history, 39)
    assert rates.pace[0] < np.exp(-estimates.FLUX_FROM)
    assert rates.pace[1] == pytest.approx(1.0, abs=0.05)
    widen = estimates.range_widening(history, rates, np.array([1, 2, 1]))
    excess = abs(np.log(rates.pace[0])) - estimates.FLUX_FROM
    assert widen == pytest.approx([estimates.FLUX_WIDENING * excess, 0.0, widen[0]])

    spread = estimates.Spread(500, np.tile([-0.2, 0.0, 0.3], (2, len(estimates.STRATA), 1)))
    weeks, band = np.array([20.0, 20.0]), np.array([5, 5])
    plain, wider = spread.apply(weeks, band), spread.apply(weeks, band, widen[:2])
    assert wider[0, 1] == plain[0, 1]  # the middle date stays
    assert wider[0, 0] < plain[0, 0] and wider[0, 2] > plain[0, 2]
    assert (wider[1] == plain[1]).all()
    assert np.log((wider[0, 2] + 1) / 21) == pytest.approx(0.3 + widen[0])


def test_no_change_in_pace_leaves_the_range_alone_and_a_great_one_widens_it_at_most_so_far():
    history = steady_history(queues=3)
    rates = estimates.Rates(
        30, np.full(3, 10.0), np.zeros((3, estimates.BANDS)), np.zeros(3),
        pace=np.array([1.1, 1 / 1.1, 4.0]),
    )  # fmt: skip
    widen = estimates.range_widening(history, rates, np.array([1, 2, 3]))
    assert widen == pytest.approx([0.0, 0.0, estimates.FLUX_MOST])
    rates.pace = None  # a trust's first weeks: no pace yet
    assert estimates.range_widening(history, rates, np.array([1, 2, 3])) == 0.0


def test_pace_pairs_only_pathways_still_ranked_later():
    history = steady_history(weeks=10, queues=1)
    # Pathway 1 is ranked in every week; pathway 2 leaves after week 3.
    week = np.array([*range(10), 0, 1, 2, 3])
    pathway = np.array([1] * 10 + [2] * 4)
    position = np.array([200 - 10 * w for w in range(10)] + [300, 290, 280, 270])
    estimates.attach_progress(history, week, pathway, np.ones(14), position, np.full(14, 5))
    assert history.progress.tolist() == [
        [w, 0, 5, 199 - 10 * w, 199 - 10 * (w + estimates.PROGRESS_WEEKS), -1]
        for w in range(10 - estimates.PROGRESS_WEEKS)
    ]


# --- Planned capacity changes ----------------------------------------------------------------


def weeks_by_iteration_with_change(ahead, clearings, removed) -> float:
    """As `weeks_by_iteration`, with each week's own clearing (the last one thereafter)."""
    weeks = 0
    while True:
        clearing = clearings[min(weeks, len(clearings) - 1)]
        after = ahead * (1 - removed) - clearing
        if after <= 0:
            return weeks + ahead / (ahead - after)
        ahead, weeks = after, weeks + 1


@pytest.mark.parametrize(
    ("ahead", "before", "after", "removed"),
    [(100, 10, 20, 0.0), (100, 10, 20, 0.01), (100, 10, 5, 0.0), (40, 10, 20, 0.0),
     (100, -2, 20, 0.01), (2000, 30, 45, 0.003)],
)  # fmt: skip
def test_a_planned_change_in_pace_matches_week_by_week_arithmetic(ahead, before, after, removed):
    # The change starts 3 weeks from now: weeks 1-3 clear `before`, later weeks `after`.
    projected = estimates.project(
        np.array([ahead], dtype=float), np.array([before], dtype=float), np.array([removed]),
        later=[(3.0, np.array([after], dtype=float))],
    )  # fmt: skip
    expected = weeks_by_iteration_with_change(ahead, [before] * 3 + [after], removed)
    assert projected[0] == pytest.approx(expected, abs=1.0 if removed else 1e-9)


def test_100_ahead_at_10_a_week_then_20_a_week_from_week_4():
    projected = estimates.project(
        np.array([100.0]), np.array([10.0]), np.array([0.0]), later=[(3.0, np.array([20.0]))]
    )
    assert projected[0] == pytest.approx(3 + 70 / 20)


def plan(history, week: int, percent: int, known_week: int, function: str = "") -> None:
    """A change of `percent` from the Monday of week `week` (counted from the history's first
    week; it may be a week to come), recorded at week `known_week`."""
    starts = history.week_endings[0] + timedelta(weeks=week, days=-6)
    known = history.week_endings[known_week]
    history.plans.append(
        estimates.Plan(function, starts.toordinal(), 1 + percent / 100, known.toordinal())
    )
    history.rates_memo.clear()


def test_a_planned_change_shortens_projections_from_when_it_is_recorded():
    history = steady_history(weeks=40, queues=2)
    history.queue_functions = np.array(["110", "120"])
    # Twice the pace for specialty 110 from 5 weeks after the last week, recorded at week 35.
    plan(history, week=39 + 5, percent=100, known_week=35, function="110")
    queue, position, band = np.array([1, 2]), np.array([101, 101]), [5, 5]

    now = estimates.projections(history, estimates.rates_at(history, 39), queue, position, band)
    before_known = estimates.projections(
        history, estimates.rates_at(history, 34), queue, position, band
    )

    # 100 ahead at 10 a week: 4 weeks at 10 (weeks 1-4), then 60 left at 20 a week.
    assert now == pytest.approx([4 + 60 / 20, 10.0])
    assert before_known == pytest.approx([10.0, 10.0])  # not yet recorded at week 34


def test_a_queue_that_speeds_up_as_planned_keeps_its_pace():
    # +100% from week 30, recorded at week 20; the queue then moves twice as fast, as planned:
    # its projections were right, so its pace stays 1. Unplanned, it looks faster than projected.
    history = steady_history(weeks=40, queues=1)
    history.queue_functions = np.array(["110"])
    history.treated[0, 30:] = 20.0
    faster = np.where(np.arange(40) >= 30, 20.0, 10.0)
    attach_moving_pathways(history, {1: faster})
    plan(history, week=30, percent=100, known_week=20)

    assert estimates.pace_factors(history, 39) == pytest.approx([1.0], abs=0.02)
    assert estimates.pace_factors(history, 29) == pytest.approx([1.0], abs=0.02)
    history.plans.clear()
    history.rates_memo.clear()
    assert estimates.pace_factors(history, 39)[0] > 1.1


def test_weeks_already_changed_are_learnt_at_the_pace_without_the_plan():
    # Specialty 110 treated 20 a week since week 30, as planned (+100% from week 30, recorded
    # at week 20): its pace is 10 without the plan, 20 with it, and the projection is not
    # doubled twice. Had the plan not been recorded, the history alone would show about 20.
    history = steady_history(weeks=40, queues=1)
    history.queue_functions = np.array(["110"])
    history.treated[0, 30:] = 20.0
    plan(history, week=30, percent=100, known_week=20)

    rates = estimates.rates_at(history, 39)

    assert rates.treated[0] == pytest.approx(10.0)
    assert rates.treated_now()[0] == pytest.approx(20.0)
    weeks = estimates.projections(history, rates, np.array([1]), np.array([201]), [5])
    assert weeks[0] == pytest.approx(10.0)
    history.plans.clear()
    history.rates_memo.clear()
    assert estimates.rates_at(history, 39).capacity is None


def test_words():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 132, 1002)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "132nd", "1,002nd",
    ]  # fmt: skip
    assert month_range(date(2027, 3, 2), date(2027, 6, 9)) == "between March and June 2027"
    assert month_range(date(2026, 11, 2), date(2027, 2, 9)) == (
        "between November 2026 and February 2027"
    )
    assert month_range(date(2027, 3, 2), date(2027, 3, 29)) == "in March 2027"
    assert [people_a_week(r) for r in (0.2, 1.2, 29.6)] == [
        "almost nobody", "about 1 person a week", "about 30 people a week",
    ]  # fmt: skip


# --- A simulated trust, imported ------------------------------------------------------------


def import_simulated(tmp_path, weeks: int, pathways: int = 800, scenario: str = "steady"):
    files = simulate_trust(
        "RXX", weeks, seed=7, out=tmp_path, pathways=pathways, scenario=scenario,
        last_week=LAST_WEEK,
    )  # fmt: skip
    run("import_waiting_list", *map(str, files))
    return files


def ranked_now(trust):
    return PathwayWeek.objects.filter(snapshot=trust.latest_snapshot, position__isnull=False)


@pytest.mark.django_db
def test_import_leaves_every_ranked_pathway_an_honest_estimate(tmp_path, trust):
    import_simulated(tmp_path, weeks=30)
    snapshot = trust.latest_snapshot
    ranked = ranked_now(trust)
    stored = {e.pathway_id: e for e in Estimate.objects.all()}
    assert set(stored) == set(ranked.values_list("pathway_id", flat=True))
    with_dates = [e for e in stored.values() if e.p50]
    assert len(with_dates) >= 0.95 * len(stored)
    for estimate in stored.values():
        pathway_ = Pathway.objects.get(pk=estimate.pathway_id)
        if estimate.basis == Estimate.Basis.BOOKED:
            booked = pathway_.booked_date
            assert estimate.p10 == estimate.p50 == estimate.p90 == booked
        elif estimate.basis == Estimate.Basis.MODEL:
            assert snapshot.week_ending <= estimate.p10 <= estimate.p50 <= estimate.p90
        else:
            assert estimate.p10 is estimate.p50 is estimate.p90 is None
    bases = {e.basis for e in stored.values()}
    assert {Estimate.Basis.BOOKED, Estimate.Basis.MODEL} <= bases
    # Further back in the queue, later: the median date never goes backwards with position.
    for queue in {p.queue_id for p in Pathway.objects.filter(left_snapshot__isnull=True)}:
        rows = sorted(
            (w.position, stored[w.pathway_id].p50)
            for w in ranked.filter(pathway__queue_id=queue, band=5)
            if stored[w.pathway_id].basis == Estimate.Basis.MODEL
        )
        medians = [p50 for _, p50 in rows]
        assert medians == sorted(medians)
    assert QueueRates.objects.filter(snapshot=snapshot).exists()


@pytest.mark.django_db
def test_the_pace_is_measured_on_pathways_seen_in_two_weeks_of_the_imported_history(
    tmp_path, trust
):
    import_simulated(tmp_path, weeks=12, pathways=300)
    history = estimates.load_history(trust)
    assert len(history.progress)
    week, q, band, before, after, waited = history.progress[0]
    there = PathwayWeek.objects.filter(
        pathway__queue_id=history.queue_ids[q], position=before + 1, band=band,
        snapshot_id=history.snapshot_ids[week],
    ).values_list("pathway_id", flat=True)  # fmt: skip
    assert there  # a real pathway stood there that week, its clock running `waited` weeks...
    clock_start = Pathway.objects.get(pk=there[0]).clock_start
    assert waited == (history.week_endings[week] - clock_start).days // 7
    later = history.snapshot_ids[week + estimates.PROGRESS_WEEKS]
    # ... and stood where the pair says it did six weeks later.
    assert PathwayWeek.objects.filter(
        pathway_id__in=list(there), snapshot_id=later, position=after + 1
    ).exists()


@pytest.mark.django_db
def test_estimates_are_deterministic_and_replaced_not_added(tmp_path, trust):
    import_simulated(tmp_path, weeks=20, pathways=500)
    first = sorted(Estimate.objects.values_list("pathway_id", "p10", "p50", "p90", "basis"))
    estimates.recompute(trust)
    again = sorted(Estimate.objects.values_list("pathway_id", "p10", "p50", "p90", "basis"))
    assert first == again
    assert len(again) == ranked_now(trust).count()


@pytest.mark.django_db
def test_too_little_history_gives_no_dates_and_says_so(tmp_path, trust):
    rows = [pathway(f"G{n}") for n in range(1, 6)]
    rows[0]["TCI_Date"] = (WEEK + timedelta(days=10)).isoformat()
    files = [
        write_extract(tmp_path / f"{w}.csv", week_of(rows, WEEK + timedelta(weeks=w)))
        for w in range(3)
    ]
    run("import_waiting_list", *map(str, files))
    bases = dict(Estimate.objects.values_list("pathway__identifier", "basis"))
    assert bases.pop("G1") == Estimate.Basis.BOOKED
    assert set(bases.values()) == {Estimate.Basis.TOO_LITTLE_HISTORY}
    assert not Estimate.objects.filter(basis="too-little-history", p50__isnull=False).exists()


@pytest.mark.django_db
def test_a_stale_booking_in_the_past_is_estimated_not_shown_as_booked(tmp_path, trust):
    rows = [pathway("G1", TCI_Date=(WEEK - timedelta(days=20)).isoformat()), pathway("G2")]
    run("import_waiting_list", str(write_extract(tmp_path / "w.csv", rows)))
    assert Estimate.objects.get(pathway__identifier="G1").basis != Estimate.Basis.BOOKED


@pytest.mark.django_db
def test_a_dry_run_leaves_estimates_alone(tmp_path, trust):
    files = import_simulated(tmp_path, weeks=12, pathways=300)
    before = sorted(Estimate.objects.values_list("pathway_id", "p50", "basis"))
    later = write_extract(
        tmp_path / "later.csv",
        week_of([pathway("G1")], LAST_WEEK + timedelta(weeks=1)),
    )
    call_command(
        "import_waiting_list", str(later), "--dry-run", "--allow-shrink", stdout=StringIO()
    )
    assert sorted(Estimate.objects.values_list("pathway_id", "p50", "basis")) == before
    assert files


@pytest.mark.django_db
def test_export_fills_every_column(tmp_path, trust):
    import_simulated(tmp_path / "x", weeks=30)
    out = tmp_path / "estimates.csv"
    run("export_estimates", "--provider", "RXX", "--out", str(out))
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == ranked_now(trust).count()
    stored = {e.pathway.identifier: e for e in Estimate.objects.select_related("pathway").all()}
    for row in rows:
        estimate = stored[row["PATIENT_PATHWAY_IDENTIFIER"]]
        assert row["basis"] == estimate.basis
        assert row["estimate_p50"] == (estimate.p50.isoformat() if estimate.p50 else "")
    assert sum(bool(r["estimate_p50"]) for r in rows) >= 0.95 * len(rows)


@pytest.mark.django_db
def test_explanation_for_a_modelled_and_a_booked_pathway(tmp_path, trust):
    import_simulated(tmp_path, weeks=30)
    model = Estimate.objects.filter(basis="model").select_related("pathway__queue")
    modelled = model.filter(pathway__queue__list_type="IRTT").first()
    text = " ".join(explain(modelled.pathway))
    position = PathwayWeek.objects.get(pathway=modelled.pathway, snapshot=modelled.snapshot)
    assert f"You are {ordinal(position.position)} in the queue for " in text
    assert "on this list had their treatment." in text
    assert "Most people in your place are treated " in text
    assert f"{modelled.p50:%B} is most likely." in text
    # On an outpatient list leaving means being seen: the estimate is of the appointment.
    outpatient = " ".join(explain(model.filter(pathway__queue__list_type="ORTT").first().pathway))
    assert "on this list had their appointment." in outpatient
    assert "because they needed to be seen sooner." in outpatient
    assert "Most people in your place have their appointment " in outpatient
    assert "you will join the list for it" in outpatient and "treated" not in outpatient
    assert not QueueRates.objects.filter(leavers_counted_as_treated=True).exists()  # booked
    booked = Estimate.objects.filter(basis="booked").select_related("pathway__queue").first()
    assert f"Your date is booked: {booked.p50:%-d %B %Y}." in explain(booked.pathway)


BOOKING_COLUMNS = ("TCI_Date", "Outpatient_Future_Appointment_Date")


def without_bookings(path) -> None:
    """Takes the booking columns out of an extract."""
    rows = list(csv.DictReader(path.open()))
    write_extract(path, rows, header=[c for c in rows[0] if c not in BOOKING_COLUMNS])


def with_late_bookings(path) -> None:
    """Keeps only the bookings 7 days or more ahead: a trust whose extract misses the rest."""
    rows = list(csv.DictReader(path.open()))
    for row in rows:
        week = date.fromisoformat(row["Week_Ending_Date"])
        for column in BOOKING_COLUMNS:
            if row[column] and date.fromisoformat(row[column]) < week + timedelta(days=7):
                row[column] = ""
    write_extract(path, rows, header=list(rows[0]))


@pytest.mark.django_db
@pytest.mark.parametrize("change", [without_bookings, with_late_bookings])
def test_a_trust_whose_extract_has_no_booking_dates_still_gets_estimates(tmp_path, trust, change):
    """`TCI_Date` and `Outpatient_Future_Appointment_Date` are optional columns. Without them
    nobody is seen booked before leaving, so every list seemed to treat nobody: no estimates
    at all, and a back-test with nothing to score. The same when the extract shows a booking
    only 7 days or more ahead: 12-16% of leavers were seen booked. Now where under half of
    a list's leavers were seen booked, every leaver counts as treated."""
    files = simulate_trust("RXX", 30, seed=7, out=tmp_path, pathways=800, last_week=LAST_WEEK)
    for path in files:
        change(path)
    run("import_waiting_list", *map(str, files))

    stored = Estimate.objects.filter(snapshot=trust.latest_snapshot)
    assert stored.count() == ranked_now(trust).count() > 500
    dated = stored.filter(basis__in=[Estimate.Basis.MODEL, Estimate.Basis.BOOKED])
    assert dated.count() >= 0.95 * stored.count() and stored.filter(basis="model").count() > 500
    rates = QueueRates.objects.filter(snapshot=trust.latest_snapshot)
    assert rates.exists() and not rates.filter(leavers_counted_as_treated=False).exists()
    admitted = stored.filter(basis="model", pathway__queue__list_type="IRTT")
    text = " ".join(explain(admitted.first().pathway))
    assert "left this list, most of them because they had their treatment." in text
    table = {line.split(",")[0]: line.split(",") for line in run("backtest", "--provider", "RXX")
             .splitlines()[2:]}  # fmt: skip
    assert float(table["wait-well"][2]) <= float(table["nhs-app-mean"][2]) / 2
    assert 0.3 < float(table["wait-well"][3]) < 0.7 and float(table["wait-well"][6]) == 1.0


@pytest.mark.django_db
def test_the_patient_is_told_why_their_range_is_wider(tmp_path, trust):
    import_simulated(tmp_path, weeks=30)
    estimate = Estimate.objects.filter(basis="model").select_related("pathway__queue").first()
    rates = QueueRates.objects.get(queue=estimate.pathway.queue, band=estimate.pathway.band)
    history = estimates.load_history(trust)
    widened = estimates.range_widening(history, estimates.rates_at(history, history.weeks - 1),
                                       np.array([rates.queue_id]))  # fmt: skip
    assert (rates.pace_change_percent is None) == (np.atleast_1d(widened)[0] == 0)
    told = "your range of dates is wider"

    rates.pace_change_percent = None
    assert told not in " ".join(sentences_for(estimate.pathway, estimate, 12, rates))
    rates.pace_change_percent = -22
    text = " ".join(sentences_for(estimate.pathway, estimate, 12, rates))
    assert "Lately this list has moved about 22% more slowly than usual. Until we can see " in text
    rates.pace_change_percent = 18
    assert "moved about 18% faster than usual" in " ".join(
        sentences_for(estimate.pathway, estimate, 12, rates)
    )


@pytest.mark.django_db
def test_a_planned_change_brings_one_specialtys_dates_forward_and_says_so(tmp_path, trust):
    import_simulated(tmp_path, weeks=30)
    before = dict(Estimate.objects.filter(basis="model").values_list("pathway_id", "p50"))
    specialty = Pathway.objects.filter(pk__in=before).values_list(
        "queue__treatment_function", flat=True
    )[0]
    CapacityChange.objects.create(
        provider=trust, treatment_function=specialty, starts=LAST_WEEK + timedelta(days=15),
        percent=50, known_from=LAST_WEEK + timedelta(days=3),  # after the latest snapshot
    )  # fmt: skip

    estimates.recompute(trust)

    after = dict(Estimate.objects.filter(basis="model").values_list("pathway_id", "p50"))
    functions = dict(Pathway.objects.values_list("pk", "queue__treatment_function"))
    ours = [p for p in before if functions[p] == specialty and p in after]
    others = [p for p in before if functions[p] != specialty and p in after]
    assert ours and others
    assert all(after[p] <= before[p] for p in ours)
    assert sum(after[p] < before[p] for p in ours) > len(ours) / 2  # those a month or more away
    assert all(after[p] == before[p] for p in others)
    rates = QueueRates.objects.filter(queue__treatment_function=specialty).first()
    assert (rates.planned_percent, rates.planned_from) == (50, LAST_WEEK + timedelta(days=15))
    assert (
        not QueueRates.objects.exclude(queue__treatment_function=specialty)
        .exclude(planned_percent=None)
        .exists()
    )
    pathway = Pathway.objects.select_related("queue").get(pk=ours[-1])
    month = LAST_WEEK + timedelta(days=15)
    assert (
        f"The hospital plans to treat about 50% more people a week on this list from "
        f"{month:%B %Y}. Your estimate allows for this."
    ) in explain(pathway)


# --- The back-test --------------------------------------------------------------------------


@pytest.mark.django_db
def test_backtest_prints_our_method_and_three_baselines(tmp_path, trust):
    import_simulated(tmp_path, weeks=40, pathways=1500)
    output = run("backtest", "--provider", "RXX").splitlines()
    assert output[0].startswith("RXX backtest: ")
    assert output[1] == (
        "method,mean_abs_error_weeks,median_abs_error_weeks,later_than_p50,inside_p10_p90,"
        "mean_range_weeks,estimated"
    )
    table = {line.split(",")[0]: line.split(",")[1:] for line in output[2:]}
    assert list(table) == ["wait-well", "nhs-app-mean", "p92-current", "position-leavers"]
    ours, nhs_app = table["wait-well"], table["nhs-app-mean"]
    assert float(ours[1]) <= float(nhs_app[1]) / 2  # median absolute error
    assert 0.0 < float(ours[3]) < 1.0 and float(ours[4]) > 0  # a real range, scored
    assert nhs_app[3] == nhs_app[4] == "-"  # a single date has no range
    assert run("backtest", "--provider", "RXX").splitlines() == output  # deterministic


@pytest.mark.django_db
def test_backtest_refuses_unknown_trusts_and_short_histories(tmp_path, trust):
    with pytest.raises(CommandError, match="RZZ is not a trust"):
        run("backtest", "--provider", "RZZ")
    run("import_waiting_list", str(write_extract(tmp_path / "w.csv", [pathway("G1")])))
    with pytest.raises(CommandError) as refusal:
        run("backtest", "--provider", "RXX")
    assert str(refusal.value) == (
        "RXX has too little history to replay: 1 weekly snapshot imported, and a back-test needs 13"
    )
    # 13 is the fewest weeks with an origin to replay from, and 12 have none.
    assert backtest.default_origins(13) and not backtest.default_origins(12)
    # 13 snapshots, but none in the weeks a back-test would start from (weeks 25 to 74 of 101).
    files = [
        write_extract(tmp_path / f"{w:03}.csv", week_of([pathway("G1")], WEEK + timedelta(weeks=w)))
        for w in [*range(1, 13), 100]
    ]
    run("import_waiting_list", *map(str, files))
    with pytest.raises(CommandError) as refusal:
        run("backtest", "--provider", "RXX")
    assert str(refusal.value) == (
        "RXX has too little history to replay: none of the weeks a back-test would start from "
        "was imported"
    )
