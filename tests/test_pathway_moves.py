"""A pathway that moves from one of the trust's lists to another keeping its identifier (an
outpatient listed for an operation after a decision to treat), at once or after weeks off the
lists: recorded at import, counted as a leaver of the list it left and a joiner of the new
one, and shown to the patient on the new list only."""

from datetime import timedelta

import numpy as np
import pytest
from django.urls import reverse

from tests.extracts import WEEK, pathway, week_of, write_extract
from tests.test_patient_pages import linked_client, run
from tests.test_update_alerts import alerts, import_week
from updates import services
from updates.alerts import start_alert_run
from waitinglist import backtest, estimates
from waitinglist.importer import import_snapshot
from waitinglist.models import Pathway, PathwayMove, PathwayWeek, Queue, QueueWeek

START = "REFERRAL_TO_TREATMENT_PERIOD_START_DATE"
BOOKED = "Outpatient_Future_Appointment_Date"
M1_START = (WEEK - timedelta(weeks=5)).isoformat()  # after the other outpatients' clocks


def outpatient(identifier: str, **fields) -> dict[str, str]:
    return pathway(identifier, Waiting_List_Type="ORTT", Procedure_Priority_Code="", **fields)


def import_weeks(tmp_path, weeks: list[list[dict]]) -> list:
    snapshots = []
    for w, rows in enumerate(weeks):
        path = write_extract(tmp_path / f"w{w}.csv", week_of(rows, WEEK + timedelta(weeks=w)))
        snapshots.append(import_snapshot(path, allow_shrink=True).snapshot)
    return snapshots


def queue(list_type: str) -> Queue:
    return Queue.objects.get(treatment_function="110", list_type=list_type)


@pytest.fixture
def moved(tmp_path, trust):
    """M1, seen in outpatients (booked), is listed for an operation in week 1 with the same
    identifier; M2, unbooked, is moved to the admitted list too (a transfer, not a treatment);
    M3 stays an outpatient; M4 leaves in week 1 and comes back on the admitted list in week 2;
    R6 leaves in week 1 and comes back on the outpatient list in week 2."""
    weeks = [
        [
            outpatient("M1", **{START: M1_START, BOOKED: (WEEK + timedelta(days=3)).isoformat()}),
            outpatient("M2"),
            outpatient("M3"),
            outpatient("M4"),
            pathway("S5", **{START: "2025-06-01"}),
            outpatient("R6"),
        ],
        [
            pathway("M1", **{START: M1_START}, Procedure_Priority_Code="P3"),
            pathway("M2"),
            outpatient("M3"),
            pathway("S5", **{START: "2025-06-01"}),
        ],
        [
            pathway("M1", **{START: M1_START}, Procedure_Priority_Code="P3"),
            pathway("M2"),
            outpatient("M3"),
            pathway("M4"),
            pathway("S5", **{START: "2025-06-01"}),
            outpatient("R6"),
        ],
    ]
    return import_weeks(tmp_path, weeks)


@pytest.mark.django_db
def test_a_move_between_lists_is_recorded_with_how_it_left(moved):
    first, second, third = moved
    m1 = Pathway.objects.get(identifier="M1")
    assert m1.queue == queue("IRTT") and m1.left_snapshot is None  # the same pathway, moved
    assert Pathway.objects.filter(identifier="M1").count() == 1
    moves = {
        m.pathway.identifier: (
            m.snapshot,
            m.left_snapshot,
            m.from_queue,
            m.to_queue,
            m.band,
            m.was_booked,
        )
        for m in PathwayMove.objects.select_related("pathway")
    }
    # Outpatients without a clinical priority are ranked by referral priority: routine, band 5.
    # M4 and R6 came back after a week off the lists: their stay ended in week 1.
    assert moves == {
        "M1": (second, None, queue("ORTT"), queue("IRTT"), 5, True),
        "M2": (second, None, queue("ORTT"), queue("IRTT"), 5, False),
        "M4": (third, second, queue("ORTT"), queue("IRTT"), 5, False),
        "R6": (third, second, queue("ORTT"), queue("ORTT"), 5, False),
    }
    # The trust's list as a whole: M4 and R6 left and came back; nobody left by moving.
    assert (second.joiners, second.leavers) == (0, 2)
    assert (third.joiners, third.leavers) == (2, 0)
    # Each list: the outpatients lost M1 and M2 (and M4 and R6); the admitted list gained M1
    # and M2. In week 2 M4 and R6 join again, and nobody leaves twice.
    outpatients = QueueWeek.objects.get(queue=queue("ORTT"), snapshot=second)
    admitted = QueueWeek.objects.get(queue=queue("IRTT"), snapshot=second)
    assert (outpatients.size, outpatients.joiners, outpatients.leavers) == (1, 0, 4)
    assert outpatients.leavers_band_5 == 4
    assert (admitted.size, admitted.joiners, admitted.leavers) == (3, 2, 0)
    weeks = QueueWeek.objects.filter(snapshot=third).order_by("queue__list_type")
    assert [(w.joiners, w.leavers) for w in weeks] == [(1, 0), (1, 0)]
    # M1 and M2 are ranked on the admitted list now: M1 (P3) ahead of S5 (P4), M2 behind it.
    positions = dict(
        PathwayWeek.objects.filter(snapshot=second).values_list("pathway__identifier", "position")
    )
    assert positions == {"M1": 1, "S5": 2, "M2": 3, "M3": 1}
    assert PathwayWeek.objects.get(snapshot=first, pathway=m1).position == 5


@pytest.mark.django_db
def test_the_history_counts_a_move_for_both_lists(moved):
    history = estimates.load_history(moved[0].provider)
    out, into = history.queue_index([queue("ORTT").pk, queue("IRTT").pk])
    # Week 1: the outpatient list treated M1 (booked) and lost M2, M4 and R6 (unbooked).
    assert (history.treated[out, 1], history.removed[out, 1]) == (1, 3)
    assert history.treated[into].sum() == history.removed[into].sum() == 0
    # All but S5 joined the outpatient list in week 0, S5 the admitted list; M1 and M2 joined
    # the admitted list in week 1, in the bands they had there (P3 is band 4, P4 band 5); in
    # week 2 M4 joined it and R6 the outpatient list again.
    assert list(history.joined[out].sum(axis=1)) == [5, 0, 1]
    assert history.joined[into, 0].sum() == 1
    assert list(history.joined[into, 1]) == [0, 0, 0, 0, 1, 1, 0]
    assert history.joined[into, 2].sum() == 1
    # M1 was on the outpatient list in week 0, on the admitted one since.
    m1 = Pathway.objects.get(identifier="M1").pk
    assert list(history.queue_then([m1, m1, m1], [0, 1, 2], [queue("IRTT").pk] * 3)) == [
        queue("ORTT").pk,
        queue("IRTT").pk,
        queue("IRTT").pk,
    ]


@pytest.mark.django_db
def test_a_stay_on_a_list_ends_with_the_move(moved):
    history = estimates.load_history(moved[0].provider)
    outcomes = estimates.load_outcomes(history)
    ids = {p.identifier: p.pk for p in Pathway.objects.all()}
    pathways = np.array([ids["M1"], ids["M2"], ids["M3"], ids["M1"], ids["M4"], ids["M4"]])
    left, treated, when = outcomes.after(pathways, np.array([0, 0, 0, 1, 0, 2]))
    # From week 0: M1 left the outpatient list in week 1, seen (booked), M2 moved unbooked,
    # M3 is still waiting; M4 went unbooked in week 1. From week 1, M1 is on the admitted list
    # and still waiting; so is M4 from week 2.
    assert list(left) == [1, 1, -1, -1, 1, -1]
    assert list(treated) == [True, False, False, False, False, False]
    assert when[0] == 0.5
    # The back-test ranks each on the list it was on that week.
    ranked = backtest._ranked_at(history, 0)
    on = dict(zip(ranked[:, 0].tolist(), ranked[:, 1].tolist(), strict=True))
    assert on[ids["M1"]] == on[ids["M2"]] == queue("ORTT").pk
    assert on[ids["S5"]] == queue("IRTT").pk


@pytest.mark.django_db
def test_a_pair_of_places_on_two_lists_says_nothing_of_the_pace(moved):
    history = estimates.load_history(moved[0].provider)
    week, pathway_id = np.array([0, 6, 0, 6]), np.array([1, 1, 2, 2])
    lists = np.array([10, 20, 10, 10])  # pathway 1 moved between its two weeks
    estimates.attach_progress(history, week, pathway_id, lists, np.array([9, 3, 9, 3]), 4 * [1])
    assert history.progress[:, 3:5].tolist() == [[8, 2]]  # pathway 2's pair only


@pytest.mark.django_db
def test_a_patient_who_moved_lists_sees_places_on_the_new_list_only(moved, tmp_path, client):
    linked_client(client, tmp_path, "M1")
    page = client.get(reverse("waitinglist:my_wait")).content.decode()
    # First on the admitted list since week 1; fifth on the outpatient list before that,
    # which is no place to compare with.
    assert "You moved to this list from another of the hospital&#x27;s lists" in page
    assert "in the week to 8 March 2026" in page
    assert "The same as last week." in page and "Up 4 places" not in page


@pytest.mark.django_db
def test_a_patient_back_on_the_same_list_is_not_told_they_moved(moved, tmp_path, client):
    linked_client(client, tmp_path, "R6")
    page = client.get(reverse("waitinglist:my_wait")).content.decode()
    assert "You moved to this list" not in page


@pytest.mark.django_db
def test_a_move_to_another_list_sends_no_alert_about_places(trust, tmp_path, client):
    ahead = [pathway(f"C{n}", **{START: "2025-06-01"}) for n in range(10, 40)]
    import_week(tmp_path, [outpatient("A2")])
    subscription = services.subscription_for(linked_client(client, tmp_path, "A2"))
    subscription.alert_position = True
    subscription.save()
    # First on the outpatient list; 31st on the admitted one: not 30 places down.
    import_week(tmp_path, [pathway("A2"), *ahead], weeks_on=1)
    start_alert_run(trust, WEEK + timedelta(weeks=1), lambda ids: None)
    assert alerts(subscription, "position") == []
    run("import_waiting_list", str(write_extract(tmp_path / "w2.csv", week_of(
        [pathway("A2"), *ahead[:10]], WEEK + timedelta(weeks=2)))), "--allow-shrink")  # fmt: skip
    start_alert_run(trust, WEEK + timedelta(weeks=2), lambda ids: None)
    [message] = alerts(subscription, "position")  # on the same list, 20 treated ahead
    assert (message.context["before"], message.context["position"]) == (31, 11)


@pytest.mark.django_db
def test_a_move_that_arrives_booked_left_by_being_treated(tmp_path, trust):
    """A pooled list: booked with whichever list had the slot, the pathway arrives on it booked.
    The list it left counts it as treated; unbooked, and not booked on arrival, as removed."""
    tci = (WEEK + timedelta(weeks=2)).isoformat()
    import_weeks(tmp_path, [
        [outpatient("P1"), outpatient("P2")],
        [pathway("P1", TCI_Date=tci), pathway("P2")],
    ])  # fmt: skip
    booked = dict(PathwayMove.objects.values_list("pathway__identifier", "was_booked"))
    assert booked == {"P1": True, "P2": False}
    history = estimates.load_history(trust)
    out = history.queue_index(queue("ORTT").pk)
    assert (history.treated[out, 1], history.removed[out, 1]) == (1, 1)
