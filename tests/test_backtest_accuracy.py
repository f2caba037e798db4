"""The back-test's accuracy, queue by queue, stored for the trust workspace."""

from datetime import date
from io import StringIO

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command

from tests.factories import ProviderFactory
from waitinglist import backtest
from waitinglist.models import QueueAccuracy
from waitinglist.simulation import simulate_trust
from waitinglist.tasks import BACKTEST_STEP, backtest_trust

LAST_WEEK = date(2026, 8, 30)


@pytest.fixture
def history(tmp_path, trust):
    files = simulate_trust("RXX", 30, seed=5, out=tmp_path, pathways=600, last_week=LAST_WEEK)
    call_command("import_waiting_list", *map(str, files), stdout=StringIO())
    return trust


def _printed(provider) -> dict[str, list[str]]:
    out = StringIO()
    call_command("backtest", "--provider", provider.ods_code, stdout=out)
    lines = out.getvalue().splitlines()
    return {line.split(",")[0]: line.split(",")[1:] for line in lines[2:]}


@pytest.mark.django_db
def test_the_queues_split_the_whole_trusts_scores_without_changing_them(history):
    result = backtest.run(history, step=2)
    assert len(result.by_queue) > 1
    for method, whole in result.scores.items():
        parts = [scores[method] for scores in result.by_queue.values()]
        assert sum(p.ranked for p in parts) == whole.ranked
        assert sum(p.estimated for p in parts) == whole.estimated
        assert sum(p.scored for p in parts) == whole.scored
        joined = np.sort(np.concatenate([e for p in parts for e in p.errors]))
        assert np.array_equal(joined, np.sort(np.concatenate(whole.errors)))
    assert result.scores["wait-well"].scored == result.scored


@pytest.mark.django_db
def test_the_command_prints_as_before_and_stores_the_trust_and_each_queue(history):
    printed = _printed(history)
    stored = QueueAccuracy.objects.filter(provider=history)
    queues = set(stored.exclude(queue=None).values_list("queue_id", flat=True))
    assert queues and queues <= set(history.queues.values_list("pk", flat=True))
    assert stored.count() == (len(queues) + 1) * len(backtest.METHODS)
    for method, values in printed.items():
        row = stored.get(queue=None, method=method)
        figures = [row.mean_abs_error_weeks, row.median_abs_error_weeks]
        figures += [row.later_than_p50, row.inside_p10_p90]
        expected = [None if v == "-" else float(v) for v in values[:4]]
        got = [None if f is None else round(f, 3) for f in figures]
        assert got == expected, method
        assert row.last_week == LAST_WEEK and row.origins > 0 and row.scored > 0
    assert stored.get(queue=None, method="nhs-app-mean").inside_p10_p90 is None  # no range


@pytest.mark.django_db
def test_storing_again_replaces_the_rows_and_leaves_other_trusts_alone(history):
    other = ProviderFactory(ods_code="RYY")
    QueueAccuracy.objects.create(
        provider=other, method="wait-well", computed_at="2026-08-30T22:00Z",
        last_week=LAST_WEEK, origins=1, scored=1,
    )  # fmt: skip
    result = backtest.run(history, step=4)
    first = backtest.store(history, result)
    assert backtest.store(history, result) == first
    assert QueueAccuracy.objects.filter(provider=history).count() == first
    assert QueueAccuracy.objects.filter(provider=other).count() == 1


@pytest.mark.django_db
def test_the_weekly_task_back_tests_every_fourth_week_and_stores(history):
    backtest_trust(history.pk)
    row = QueueAccuracy.objects.get(provider=history, queue=None, method="wait-well")
    assert row.origins == len(backtest.run(history, step=BACKTEST_STEP).origins)
    assert row.median_abs_error_weeks is not None
    backtest_trust(987654)  # a trust removed since: nothing to do


def test_beat_runs_the_back_test_each_week():
    entry = settings.CELERY_BEAT_SCHEDULE["backtest-trusts"]
    assert entry["task"] == "waitinglist.tasks.backtest_all"
    assert entry["schedule"].day_of_week == {0}


def test_calibration_is_scored_where_the_history_reaches_the_estimates_own_dates():
    """Which pathways count is chosen by the estimate, never by the outcome: otherwise the
    pathways still waiting at the end drop out and only the early outcomes are left."""
    score = backtest.Score()
    horizon = 20.0
    # p10, p50, p90 in weeks after the origin, and what happened (20.0: still waiting).
    predicted = np.array(
        [
            [2.0, 5.0, 8.0],  # treated at 4.5: before p50, inside
            [2.0, 5.0, 8.0],  # still waiting at the end: after p50, beyond p90
            [10.0, 15.0, 30.0],  # treated at 12.5: p50 counts, p90 is beyond the history
            [20.0, 25.0, 30.0],  # treated early, at 3.5, but p50 is beyond the history
            [22.0, 26.0, 34.0],  # still waiting: nothing is settled for it
        ]
    )
    actual = np.array([4.5, horizon, 12.5, 3.5, horizon])
    censored = np.array([False, True, False, False, True])
    backtest._score(score, predicted, actual, censored, horizon)

    figures = score.figures()
    assert figures["later_than_p50"] == pytest.approx(1 / 3)  # of the first three
    assert figures["inside_p10_p90"] == pytest.approx(1 / 2)  # of the first two
    # Absolute errors are for treated pathways, whatever their dates.
    assert figures["median_abs_error_weeks"] == pytest.approx(2.5)
