"""The contract's ranking rule, and what each week's import records about who joined and left."""

import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.db import connection

from tests.conftest import database_url
from tests.extracts import WEEK, pathway, valid_nhs_number, week_of, write_extract
from waitinglist import history
from waitinglist.importer import import_snapshot
from waitinglist.models import Pathway, PathwayWeek, Patient, QueueWeek


def started(weeks_ago: int) -> str:
    return (WEEK - timedelta(weeks=weeks_ago)).isoformat()


def positions(snapshot) -> dict[str, int | None]:
    weeks = PathwayWeek.objects.filter(snapshot=snapshot).select_related("pathway")
    return {w.pathway.identifier: w.position for w in weeks}


def import_rows(tmp_path, rows, name="week.csv", **options):
    return import_snapshot(write_extract(tmp_path / name, rows), **options).snapshot


@pytest.mark.django_db
def test_bands_come_first_then_longest_wait_then_identifier(tmp_path, trust):
    both = "REFERRAL_TO_TREATMENT_PERIOD_START_DATE"
    rows = [
        pathway("A4", **{both: started(40)}, Procedure_Priority_Code="P4"),
        pathway("A3", **{both: started(5)}, Procedure_Priority_Code="P3"),
        pathway("A2", **{both: started(1)}, Procedure_Priority_Code="P2"),
        pathway("A1b", **{both: started(1)}, Procedure_Priority_Code="P1b"),
        pathway("A1a", **{both: started(1)}, Procedure_Priority_Code="P1a"),
        # Same band and clock start: the identifier breaks the tie.
        pathway("B2", **{both: started(30)}, Procedure_Priority_Code="P4"),
        pathway("B1", **{both: started(30)}, Procedure_Priority_Code="P4"),
    ]
    snapshot = import_rows(tmp_path, rows)
    assert positions(snapshot) == {
        "A1a": 1, "A1b": 2, "A2": 3, "A3": 4, "A4": 5, "B1": 6, "B2": 7
    }  # fmt: skip


@pytest.mark.django_db
def test_referral_priority_bands_apply_when_there_is_no_procedure_priority(tmp_path, trust):
    rows = [
        pathway("R1", Procedure_Priority_Code="", PRIORITY_TYPE_CODE="1"),  # band 5
        pathway("R2", Procedure_Priority_Code="", PRIORITY_TYPE_CODE="2"),  # band 3
        pathway("R3", Procedure_Priority_Code="", PRIORITY_TYPE_CODE="3"),  # band 2
        pathway("R4", Procedure_Priority_Code="", PRIORITY_TYPE_CODE=""),  # band 6
        pathway("R5", Procedure_Priority_Code="P3"),  # band 4
        pathway("R6", Procedure_Priority_Code="P1b"),  # band 2, like a two-week wait
    ]
    snapshot = import_rows(tmp_path, rows)
    assert positions(snapshot) == {"R3": 1, "R6": 2, "R2": 3, "R5": 4, "R1": 5, "R4": 6}


@pytest.mark.django_db
def test_patients_who_postpone_are_not_ranked_and_take_no_place(tmp_path, trust):
    rows = [
        pathway("P1", REFERRAL_TO_TREATMENT_PERIOD_START_DATE=started(50)),
        pathway("P2", REFERRAL_TO_TREATMENT_PERIOD_START_DATE=started(60),
                Procedure_Priority_Code="P6"),
        pathway("P3", REFERRAL_TO_TREATMENT_PERIOD_START_DATE=started(55),
                Procedure_Priority_Code="P5"),
        pathway("P4", REFERRAL_TO_TREATMENT_PERIOD_START_DATE=started(40)),
    ]  # fmt: skip
    snapshot = import_rows(tmp_path, rows)
    assert positions(snapshot) == {"P1": 1, "P4": 2, "P2": None, "P3": None}
    week = QueueWeek.objects.get(snapshot=snapshot)
    assert (week.size, week.ranked) == (4, 2)


@pytest.mark.django_db
def test_booked_pathways_keep_their_place_in_the_count(tmp_path, trust):
    rows = [
        pathway("K1", REFERRAL_TO_TREATMENT_PERIOD_START_DATE=started(30), TCI_Date="2026-03-10"),
        pathway("K2", REFERRAL_TO_TREATMENT_PERIOD_START_DATE=started(20)),
    ]
    assert positions(import_rows(tmp_path, rows)) == {"K1": 1, "K2": 2}


@pytest.mark.django_db
def test_each_specialty_and_list_type_is_its_own_queue(tmp_path, trust):
    rows = [
        pathway("Q1", ACTIVITY_TREATMENT_FUNCTION_CODE="110", Waiting_List_Type="IRTT"),
        pathway("Q2", ACTIVITY_TREATMENT_FUNCTION_CODE="110", Waiting_List_Type="ORTT"),
        pathway("Q3", ACTIVITY_TREATMENT_FUNCTION_CODE="130", Waiting_List_Type="IRTT"),
        pathway("Q4", ACTIVITY_TREATMENT_FUNCTION_CODE="130", Waiting_List_Type="IRTT",
                REFERRAL_TO_TREATMENT_PERIOD_START_DATE=started(80)),
    ]  # fmt: skip
    snapshot = import_rows(tmp_path, rows)
    assert positions(snapshot) == {"Q1": 1, "Q2": 1, "Q4": 1, "Q3": 2}
    keys = set(Pathway.objects.values_list("queue__treatment_function", "queue__list_type"))
    assert keys == {("110", "IRTT"), ("110", "ORTT"), ("130", "IRTT")}


@pytest.mark.django_db
def test_a_trust_can_run_a_queue_per_consultant(tmp_path, trust):
    trust.split_queues_by_consultant = True
    trust.save()
    rows = [
        pathway("C1", CONSULTANT_CODE="C1111111"),
        pathway("C2", CONSULTANT_CODE="C2222222"),
        pathway(
            "C3", CONSULTANT_CODE="C1111111", REFERRAL_TO_TREATMENT_PERIOD_START_DATE=started(70)
        ),
    ]
    snapshot = import_rows(tmp_path, rows)
    assert positions(snapshot) == {"C3": 1, "C1": 2, "C2": 1}
    assert Pathway.objects.get(identifier="C2").queue.key == "110-IRTT-C2222222"


@pytest.mark.django_db
def test_leavers_and_joiners_across_weeks(tmp_path, trust):
    start = "REFERRAL_TO_TREATMENT_PERIOD_START_DATE"
    week1 = [
        pathway("W1", **{start: started(40)}),
        pathway("W2", **{start: started(30)}, Procedure_Priority_Code="P3"),
        pathway("W3", **{start: started(20)}),
        pathway("W4", **{start: started(10)}),
    ]
    first = import_rows(tmp_path, week1, "one.csv")
    assert positions(first) == {"W2": 1, "W1": 2, "W3": 3, "W4": 4}
    assert (first.joiners, first.leavers) == (4, 0)

    # W2 (at the front) was treated; W5 joined; W4 became urgent.
    week2 = week_of([week1[0], week1[2], {**week1[3], "Procedure_Priority_Code": "P2"},
                     pathway("W5", **{start: started(0)})], WEEK + timedelta(weeks=1))  # fmt: skip
    second = import_rows(tmp_path, week2, "two.csv")
    assert positions(second) == {"W4": 1, "W1": 2, "W3": 3, "W5": 4}
    assert (second.joiners, second.leavers) == (1, 1)
    assert Pathway.objects.get(identifier="W2").left_snapshot == second
    assert Pathway.objects.get(identifier="W1").left_snapshot is None
    # W1's history keeps both weeks.
    history = PathwayWeek.objects.filter(pathway__identifier="W1").order_by("snapshot__week_ending")
    assert [w.position for w in history] == [2, 2]

    queue_week = QueueWeek.objects.get(snapshot=second)
    assert (queue_week.size, queue_week.joiners, queue_week.leavers) == (4, 1, 1)
    assert queue_week.leavers_band_4 == 1  # W2 left as a P3
    assert queue_week.leavers_band_5 == 0


@pytest.mark.django_db
def test_a_pathway_that_comes_back_is_open_again(tmp_path, trust):
    rows = [pathway("B1"), pathway("B2")]
    import_rows(tmp_path, rows, "one.csv")
    import_rows(tmp_path, week_of(rows[:1], WEEK + timedelta(weeks=1)), "two.csv",
                allow_shrink=True)  # fmt: skip
    first_id = Pathway.objects.get(identifier="B2").pk
    back = [rows[0], {**rows[1], "Procedure_Priority_Code": "P2"}]
    third = import_rows(tmp_path, week_of(back, WEEK + timedelta(weeks=2)), "three.csv")
    b2 = Pathway.objects.get(identifier="B2")
    assert b2.left_snapshot is None
    assert third.joiners == 1
    # The same pathway as before, not a new one: its history has the first and third weeks,
    # and it takes the extract's fields again (now urgent, so ahead of B1).
    assert b2.pk == first_id and Pathway.objects.count() == 2
    weeks = PathwayWeek.objects.filter(pathway=b2).order_by("snapshot__week_ending")
    assert [(w.snapshot.file_name, w.position) for w in weeks] == [("one.csv", 2), ("three.csv", 1)]
    assert (b2.procedure_priority, b2.band) == ("P2", 3)


@pytest.mark.django_db
def test_queue_waits_are_the_mean_median_and_92nd_percentile(tmp_path, trust):
    rows = [
        pathway(
            f"M{n}", REFERRAL_TO_TREATMENT_PERIOD_START_DATE=(WEEK - timedelta(days=d)).isoformat()
        )
        for n, d in enumerate([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 500], start=1)
    ]
    week = QueueWeek.objects.get(snapshot=import_rows(tmp_path, rows))
    assert week.mean_wait_days == pytest.approx(1160 / 12)
    assert week.median_wait_days == 60  # nearest rank: the 6th of 12
    assert week.p92_wait_days == 500  # nearest rank: ceil(0.92 x 12) = the 12th of 12


@pytest.mark.django_db
def test_queue_waits_count_every_pathway_that_waited_the_same_days(tmp_path, trust):
    rows = [
        pathway(
            f"M{n}", REFERRAL_TO_TREATMENT_PERIOD_START_DATE=(WEEK - timedelta(days=d)).isoformat()
        )
        for n, d in enumerate([10, 20, 10, 30, 20, 10, 40], start=1)
    ]
    week = QueueWeek.objects.get(snapshot=import_rows(tmp_path, rows))
    assert week.mean_wait_days == pytest.approx(140 / 7)
    assert week.median_wait_days == 20  # the 4th of 10, 10, 10, 20, 20, 30, 40
    assert week.p92_wait_days == 40  # ceil(0.92 x 7) = the 7th


def every_field(n: int) -> dict[str, str]:
    """Every optional column of the extract set, differently for each `n`."""
    return {
        "LOCAL_PATIENT_IDENTIFIER": f"H{n}",
        "Procedure_Priority_Code": ["P2", "P3", "P4"][n % 3],
        "PRIORITY_TYPE_CODE": str(1 + n % 2),
        "Proposed_Procedure_OPCS_Code": f"W3{n % 10}.{n % 7}",
        "CONSULTANT_CODE": f"C{n}",
        "TCI_Date": (WEEK + timedelta(weeks=n)).isoformat(),
        "Outpatient_Future_Appointment_Date": (WEEK + timedelta(days=n)).isoformat(),
        "Last_PAS_Validation_Date": (WEEK - timedelta(days=n)).isoformat(),
        "ORGANISATION_IDENTIFIER_REFERRING_ORGANISATION": f"Y{n:05d}",
        "Patient_Email_Address": f"p{n}@example.com",
        "Patient_Mobile_Number": f"07700 900{n:03d}",
    }


def stored(identifier: str) -> tuple:
    p = Pathway.objects.get(identifier=identifier)
    return (
        p.local_patient_identifier, p.procedure_priority, p.priority_type, p.procedure_code,
        p.consultant_code, p.tci_date.isoformat(), p.outpatient_appointment_date.isoformat(),
        p.last_validated.isoformat(), p.referring_organisation, p.email, p.mobile,
    )  # fmt: skip


def expected(n: int) -> tuple:
    """`stored` of a pathway written from `every_field(n)`: the mobile in international form."""
    return (*list(every_field(n).values())[:10], f"+447700900{n:03d}")


@pytest.mark.django_db
def test_every_field_is_stored_in_a_first_week_and_in_a_later_one(tmp_path, trust):
    """A trust's first list and later weeks' new and changed pathways are written by
    different statements (`history._insert_pathways`)."""
    import_rows(tmp_path, [pathway("F1", **every_field(1)), pathway("F2", **every_field(2))])
    assert [stored("F1"), stored("F2")] == [expected(1), expected(2)]
    rows = [
        pathway("F1", **every_field(3)),  # every field changed
        pathway("F2", **every_field(2)),  # none changed
        pathway("F4", **every_field(4)),  # new
    ]
    import_rows(tmp_path, week_of(rows, WEEK + timedelta(weeks=1)), name="2.csv")
    assert [stored("F1"), stored("F2"), stored("F4")] == [expected(3), expected(2), expected(4)]


@pytest.mark.django_db
def test_the_import_records_the_week_each_booked_date_first_appeared(tmp_path, trust):
    tci = "TCI_Date"
    later = (WEEK + timedelta(weeks=6)).isoformat()
    first = import_rows(tmp_path, [pathway("K1", **{tci: later}), pathway("K2"), pathway("K3")])
    rows = [
        pathway("K1", **{tci: later}),  # the same date: still booked since the first week
        pathway("K2", **{tci: later}),  # newly booked
        pathway("K3"),  # still not booked
        pathway("K4", **{tci: later}),  # joined booked
    ]
    second = import_rows(tmp_path, week_of(rows, WEEK + timedelta(weeks=1)), name="2.csv")
    moved = (WEEK + timedelta(weeks=8)).isoformat()
    rows = [
        pathway("K1", **{tci: moved}),
        pathway("K2"),
        pathway("K3"),
        pathway("K4", **{tci: later}),
    ]
    third = import_rows(tmp_path, week_of(rows, WEEK + timedelta(weeks=2)), name="3.csv")

    booked = dict(Pathway.objects.values_list("identifier", "booked_snapshot"))
    assert booked == {"K1": third.pk, "K2": None, "K3": None, "K4": second.pk}
    assert first.pk not in booked.values()


@pytest.mark.django_db
def test_one_patient_per_nhs_number_following_the_latest_extract(tmp_path, trust):
    shared = valid_nhs_number(50)
    rows = [
        pathway("P1", NHS_NUMBER=shared, PERSON_BIRTH_DATE="1950-01-01"),
        # The same patient on another list; where two rows disagree, the later date is kept.
        pathway("P2", NHS_NUMBER=shared, PERSON_BIRTH_DATE="1950-01-02"),
        pathway("P3"),
    ]
    import_rows(tmp_path, rows)
    one, two, three = (Pathway.objects.get(identifier=i) for i in ("P1", "P2", "P3"))
    assert one.patient_id == two.patient_id != three.patient_id
    assert str(one.patient.birth_date) == "1950-01-02"
    assert Patient.objects.filter(provider=trust).count() == 2

    corrected = [
        {**rows[0], "PERSON_BIRTH_DATE": "1949-12-30"},
        {**rows[1], "PERSON_BIRTH_DATE": "1949-12-31"},
        # The trust corrects the NHS number on P3's pathway: it moves to a new patient.
        {**rows[2], "NHS_NUMBER": valid_nhs_number(51)},
    ]
    import_rows(tmp_path, week_of(corrected, WEEK + timedelta(weeks=1)), name="2.csv")
    one, three_now = (Pathway.objects.get(identifier=i) for i in ("P1", "P3"))
    assert str(one.patient.birth_date) == "1949-12-31"
    assert one.patient_id == two.patient_id
    assert three_now.patient.nhs_number == valid_nhs_number(51)
    assert three_now.patient_id != three.patient_id
    assert Patient.objects.filter(provider=trust).count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_import_waits_for_another_import_to_finish(tmp_path, trust):
    # Another import, in another connection, holds the lock its transaction takes.
    other = psycopg.connect(database_url())
    other.execute("SELECT pg_advisory_xact_lock(%s)", [history.IMPORT_LOCK])
    path = write_extract(tmp_path / "week.csv", [pathway("T1")])
    done: list = []

    def run_import():
        try:
            done.append(import_snapshot(path).snapshot)
        finally:
            connection.close()

    waiting = threading.Thread(target=run_import)
    waiting.start()
    try:
        assert _an_import_is_waiting_for_the_lock(), "the import did not wait"
        assert not done
    finally:
        other.rollback()  # the other import ends
        other.close()
        waiting.join(timeout=30)
    assert done and positions(done[0]) == {"T1": 1}


def _an_import_is_waiting_for_the_lock() -> bool:
    with psycopg.connect(database_url(), autocommit=True) as watcher:
        for _ in range(100):
            waiting = watcher.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event = 'advisory'"
                " AND query LIKE '%%pg_advisory_xact_lock%%'"
            ).fetchone()[0]
            if waiting:
                return True
            time.sleep(0.05)
    return False


@pytest.mark.postgres
@pytest.mark.django_db
def test_new_pathways_are_numbered_in_identifier_order_not_file_order(tmp_path, trust):
    # The estimates sample pathways by id: ids must follow from the data alone.
    import_rows(tmp_path, [pathway("A1")])
    later = [pathway("N3"), pathway("A1"), pathway("N1"), pathway("N2")]
    import_rows(tmp_path, week_of(later, WEEK + timedelta(weeks=1)), name="2.csv")
    ids = dict(Pathway.objects.values_list("identifier", "pk"))
    assert ids["A1"] < ids["N1"] < ids["N2"] < ids["N3"]


@pytest.mark.django_db
def test_ranking_holds_for_the_earliest_clock_starts_and_across_queues(tmp_path, trust):
    start = "REFERRAL_TO_TREATMENT_PERIOD_START_DATE"
    rows = [
        pathway("E1", **{start: "2026-01-01"}),
        pathway("E2", **{start: "0001-01-01"}),  # the earliest date there is waits longest
        pathway("E3", **{start: "1900-02-28"}, Procedure_Priority_Code="P5"),  # not ranked
        pathway("E4", **{start: "1999-12-31"}, Procedure_Priority_Code="P2"),  # band 3: first
        pathway("O1", **{start: "2025-06-01"}, ACTIVITY_TREATMENT_FUNCTION_CODE="130"),
        pathway("O2", **{start: "2024-06-01"}, ACTIVITY_TREATMENT_FUNCTION_CODE="130"),
    ]
    assert positions(import_rows(tmp_path, rows)) == {
        "E4": 1, "E2": 2, "E1": 3, "E3": None, "O2": 1, "O1": 2
    }  # fmt: skip
