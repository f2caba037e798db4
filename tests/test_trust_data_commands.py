"""The command-line contract: add_trust, import_waiting_list (with capacity plans), simulate_trust
and export_estimates."""

import csv
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.extracts import WEEK, pathway, week_of, write_extract
from updates import tasks
from waitinglist.models import Provider, QueueRates, Snapshot
from waitinglist.simulation import simulate_trust


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_import_prints_one_summary_line_per_file(tmp_path, trust):
    rows = [pathway(f"G{n}") for n in range(1, 6)]
    first = write_extract(tmp_path / "one.csv", rows)
    rows2 = week_of(
        [*rows[1:], pathway("G9"), {**pathway("G8"), "NHS_NUMBER": "1"}], WEEK + timedelta(7)
    )
    second = write_extract(tmp_path / "two.csv", rows2)
    output = run("import_waiting_list", str(first), str(second))
    assert output.splitlines() == [
        "RXX 2026-03-01: 5 pathways imported, 0 rows rejected, 0 left the list, 5 joined",
        "RXX 2026-03-08: 5 pathways imported, 1 rows rejected, 1 left the list, 1 joined",
    ]


@pytest.mark.django_db
def test_import_writes_the_report_as_csv(tmp_path, trust):
    rows = [pathway("G1"), pathway("G2", NHS_NUMBER="12"), pathway("G3")]
    report = tmp_path / "report.csv"
    run(
        "import_waiting_list", str(write_extract(tmp_path / "w.csv", rows)), "--report", str(report)
    )
    assert list(csv.reader(report.open())) == [
        ["line", "column", "reason"],
        ["3", "NHS_NUMBER", "is not 10 digits"],
    ]


@pytest.mark.django_db
def test_a_refused_file_fails_the_command_with_one_line(tmp_path, trust):
    rows = [pathway("G1", Week_Ending_Date="2026-03-03")]
    with pytest.raises(CommandError) as error:
        run("import_waiting_list", str(write_extract(tmp_path / "w.csv", rows)))
    assert str(error.value) == (
        "w.csv: refused: Week_Ending_Date 2026-03-03 (line 2) is not a Sunday: a snapshot "
        "describes the week ending on a Sunday"
    )
    assert "\n" not in str(error.value)


@pytest.mark.django_db
def test_dry_run_changes_nothing(tmp_path, trust):
    path = write_extract(tmp_path / "w.csv", [pathway("G1")])
    assert "(dry run: nothing changed)" in run("import_waiting_list", str(path), "--dry-run")
    assert not Snapshot.objects.exists()


@pytest.mark.django_db
def test_a_missing_file_is_a_clear_error(tmp_path, trust):
    with pytest.raises(CommandError, match="no such file"):
        run("import_waiting_list", str(tmp_path / "nowhere.csv"))


def test_simulation_is_the_same_for_the_same_seed(tmp_path):
    sunday = date(2026, 11, 22)
    a = simulate_trust("RSIM", 6, 7, tmp_path / "a", pathways=800, last_week=sunday)
    b = simulate_trust("RSIM", 6, 7, tmp_path / "b", pathways=800, last_week=sunday)
    c = simulate_trust("RSIM", 6, 8, tmp_path / "c", pathways=800, last_week=sunday)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert a[-1].read_bytes() != c[-1].read_bytes()
    assert (tmp_path / "a" / "truth.csv").read_bytes() == (
        tmp_path / "b" / "truth.csv"
    ).read_bytes()


def test_a_simulated_trust_looks_like_a_real_list(tmp_path):
    files = simulate_trust("RSIM", 12, 3, tmp_path, pathways=3000, last_week=date(2026, 11, 22))
    rows = list(csv.DictReader(files[-1].open()))
    assert len({(r["ACTIVITY_TREATMENT_FUNCTION_CODE"], r["Waiting_List_Type"]) for r in rows}) >= 8
    priorities = {r["Procedure_Priority_Code"] for r in rows}
    assert {"P2", "P3", "P4", "P6"} <= priorities
    assert any(r["TCI_Date"] for r in rows) and any(
        r["Outpatient_Future_Appointment_Date"] for r in rows
    )
    waits = sorted(
        (date(2026, 11, 22) - date.fromisoformat(r["REFERRAL_TO_TREATMENT_PERIOD_START_DATE"])).days
        for r in rows
    )
    assert waits[len(waits) // 2] < 7 * 30 < waits[-1]  # a long tail beyond the median
    truth = list(csv.DictReader((tmp_path / "truth.csv").open()))
    reasons = {r["reason"] for r in truth}
    assert {"treated", "validation", "still-waiting"} <= reasons


def test_the_capacity_step_is_planned_a_quarter_ahead_and_other_scenarios_plan_nothing(tmp_path):
    sunday = date(2026, 11, 22)
    simulate_trust("RSIM", 10, 3, tmp_path / "s", pathways=300, last_week=sunday)
    files = simulate_trust(
        "RSIM", 10, 3, tmp_path / "c", pathways=300, scenario="capacity-step", last_week=sunday
    )
    assert list(csv.DictReader((tmp_path / "s" / "capacity-plans.csv").open())) == []
    [plan] = csv.DictReader((tmp_path / "c" / "capacity-plans.csv").open())
    # The step's first week is the 6th of 10 (week 5 from 0): it starts on that week's Monday.
    sixth_week = date.fromisoformat(files[5].stem.removeprefix("RSIM-"))
    assert plan["starts"] == (sixth_week - timedelta(days=6)).isoformat()
    assert plan["known_from"] == (sixth_week - timedelta(days=6, weeks=13)).isoformat()
    assert (plan["treatment_function"], plan["percent"]) == ("", "30")


@pytest.mark.django_db
def test_simulated_weeks_import_cleanly_and_agree_with_the_truth(tmp_path, trust):
    files = simulate_trust("RXX", 5, 11, tmp_path, pathways=600, last_week=date(2026, 11, 22))
    output = run("import_waiting_list", *map(str, files))
    assert all(", 0 rows rejected," in line for line in output.splitlines())
    truth = list(csv.DictReader((tmp_path / "truth.csv").open()))
    left = {
        r["PATIENT_PATHWAY_IDENTIFIER"]: r["left_week_ending"]
        for r in truth
        if r["left_week_ending"]
    }
    from waitinglist.models import Pathway

    recorded = dict(
        Pathway.objects.filter(left_snapshot__isnull=False).values_list(
            "identifier", "left_snapshot__week_ending"
        )
    )
    assert {k: v.isoformat() for k, v in recorded.items()} == left


@pytest.mark.django_db
def test_export_gives_each_ranked_pathway_its_queue_and_position(tmp_path, trust):
    rows = [
        pathway("E1", TCI_Date="2026-03-20"),
        pathway("E2", REFERRAL_TO_TREATMENT_PERIOD_START_DATE="2025-01-01"),
        pathway("E3", Procedure_Priority_Code="P6"),
    ]
    run("import_waiting_list", str(write_extract(tmp_path / "w.csv", rows)))
    out = tmp_path / "estimates.csv"
    assert run("export_estimates", "--provider", "rxx", "--out", str(out)).startswith("wrote 2")
    exported = list(csv.DictReader(out.open()))
    assert [(r["PATIENT_PATHWAY_IDENTIFIER"], r["queue"], r["position"]) for r in exported] == [
        ("E2", "110-IRTT", "1"),
        ("E1", "110-IRTT", "2"),
    ]
    booked, waiting = exported[1], exported[0]
    assert [booked[k] for k in ("estimate_p10", "estimate_p50", "estimate_p90", "basis")] == [
        "2026-03-20", "2026-03-20", "2026-03-20", "booked"
    ]  # fmt: skip
    assert waiting["estimate_p50"] == "" and waiting["basis"] == "too-little-history"


@pytest.mark.django_db
def test_export_for_an_unknown_trust_is_a_clear_error(tmp_path, trust):
    with pytest.raises(CommandError, match="RZZ is not a trust"):
        run("export_estimates", "--provider", "RZZ", "--out", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="no imported snapshot"):
        run("export_estimates", "--provider", "RXX", "--out", str(tmp_path / "x.csv"))


def write_plans(path, *rows: str) -> str:
    path.write_text("treatment_function,starts,percent,known_from,note\n" + "".join(rows))
    return str(path)


@pytest.mark.django_db
def test_a_simulated_folder_imports_whole_with_its_plans_and_without_its_truth(tmp_path, trust):
    simulate_trust(
        "RXX", 4, 5, tmp_path, pathways=200, scenario="capacity-step", last_week=date(2026, 11, 22)
    )
    folder = sorted(str(path) for path in tmp_path.glob("*.csv"))
    lines = run("import_waiting_list", *folder).splitlines()
    assert lines[0] == (
        "truth.csv: skipped: simulate_trust's record of when each pathway left, not an extract"
    )
    assert [line[:15] for line in lines[1:5]] == [
        "RXX 2026-11-01:", "RXX 2026-11-08:", "RXX 2026-11-15:", "RXX 2026-11-22:"
    ]  # fmt: skip
    assert lines[5] == "RXX capacity-plans.csv: 1 planned capacity change, 1 newly recorded"
    [plan] = csv.DictReader((tmp_path / "capacity-plans.csv").open())
    [change] = trust.capacity_changes.all()
    assert (change.starts.isoformat(), change.percent, change.known_from.isoformat()) == (
        plan["starts"],
        30,
        plan["known_from"],
    )
    # The same folder again, named as a folder this time, changes nothing: the plan is not
    # recorded twice.
    again = run("import_waiting_list", str(tmp_path)).splitlines()
    assert again[-1] == "RXX capacity-plans.csv: 1 planned capacity change, 0 newly recorded"
    assert trust.capacity_changes.count() == 1


@pytest.mark.django_db
def test_the_estimates_made_after_the_import_allow_for_the_plans(tmp_path, trust):
    files = simulate_trust("RXX", 8, 5, tmp_path, pathways=300, last_week=date(2026, 11, 22))
    plans = write_plans(tmp_path / "plans.csv", ",2027-04-05,25,2026-11-20,new theatres\n")
    run("import_waiting_list", *map(str, files), plans)
    rates = QueueRates.objects.filter(queue__provider=trust)
    assert set(rates.values_list("planned_percent", "planned_from")) == {(25, date(2027, 4, 5))}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("999,2027-04-05,25,2026-11-20,\n", "line 2, treatment_function: '999' is not a"),
        (",5 April 2027,25,2026-11-20,\n", "line 2, starts: is not a date in the form YYYY-MM-DD"),
        (",2027-04-05,lots,2026-11-20,\n", "line 2, percent: is not a whole number"),
        (
            ",2027-04-05,-95,2026-11-20,\n",
            "line 2, percent: Ensure this value is greater than or equal to -90.",
        ),
        (
            f",2027-04-05,25,2026-11-20,{'x' * 201}\n",
            "line 2, note: Ensure this value has at most 200 characters (it has 201).",
        ),
        (",2027-04-05,25,,\n", "line 2, known_from: is not a date in the form YYYY-MM-DD"),
        (",2027-04-05,25\n", "line 2: needs 5 columns, as the header"),
    ],
)
def test_a_bad_plan_refuses_the_command_before_anything_is_imported(tmp_path, trust, row, reason):
    extract = write_extract(tmp_path / "w.csv", [pathway("G1")])
    plans = write_plans(tmp_path / "plans.csv", ",2027-01-04,10,2026-11-20,\n", row)
    with pytest.raises(CommandError) as error:
        run("import_waiting_list", str(extract), plans)
    assert str(error.value).startswith(f"plans.csv: refused: {reason}".replace("line 2", "line 3"))
    assert not Snapshot.objects.exists()
    assert not trust.capacity_changes.exists()


@pytest.mark.django_db
def test_new_plans_alone_recompute_the_estimates_without_a_digest_run(tmp_path, trust, monkeypatch):
    files = simulate_trust("RXX", 8, 5, tmp_path, pathways=300, last_week=date(2026, 11, 22))
    digests = []  # the digest run is handed to a worker: kept here instead
    monkeypatch.setattr(tasks.digests_after_import, "delay", digests.append)
    run("import_waiting_list", *map(str, files))
    assert digests == [trust.pk]
    assert set(QueueRates.objects.values_list("planned_percent", flat=True)) == {None}

    plans = write_plans(tmp_path / "plans.csv", ",2027-04-05,25,2026-11-20,new theatres\n")
    run("import_waiting_list", plans, "--provider", "RXX")
    assert set(QueueRates.objects.values_list("planned_percent", flat=True)) == {25}
    assert digests == [trust.pk]  # no second run: no new week for subscribers
    run("import_waiting_list", plans, "--provider", "RXX")  # nothing new: nothing recomputed
    assert digests == [trust.pk]


@pytest.mark.django_db
def test_plans_given_alone_need_to_be_told_whose_they_are(tmp_path, trust):
    plans = write_plans(tmp_path / "plans.csv", "100,2027-04-05,-20,2026-11-20,refit\n")
    with pytest.raises(CommandError, match=r"say which trust they are for with --provider ODS$"):
        run("import_waiting_list", plans)
    with pytest.raises(CommandError, match="--provider RZZ: not a trust in this portal"):
        run("import_waiting_list", plans, "--provider", "RZZ")
    assert run("import_waiting_list", plans, "--provider", "rxx", "--dry-run") == (
        "RXX plans.csv: 1 planned capacity change checked (dry run: nothing changed)\n"
    )
    assert not trust.capacity_changes.exists()
    run("import_waiting_list", plans, "--provider", "RXX")
    [change] = trust.capacity_changes.all()
    assert (change.treatment_function, change.percent, change.note) == ("100", -20, "refit")


@pytest.mark.django_db
def test_a_trust_added_from_the_command_line_takes_its_extracts(tmp_path):
    extract = str(write_extract(tmp_path / "w.csv", [pathway("G1")]))
    with pytest.raises(CommandError, match="RXX is not a trust in this portal: add it first"):
        run("import_waiting_list", extract)
    assert run("add_trust", "--provider", " rxx", "--name", "Test  Hospitals") == (
        "RXX: added: Test Hospitals\n"
    )
    assert run("import_waiting_list", extract).startswith("RXX 2026-03-01: 1 pathways imported")
    assert run("add_trust", "--provider", "RXX", "--name", "Test NHS Trust") == (
        "RXX: already in the portal, now named: Test NHS Trust\n"
    )
    [trust] = Provider.objects.all()
    assert (trust.ods_code, trust.name, trust.snapshots.count()) == ("RXX", "Test NHS Trust", 1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "name", "reason"),
    [
        ("R1", "Test Hospitals", "--provider: An ODS code is 3 to 5 capital letters or digits"),
        ("RXX", " ", "--name: This field cannot be blank."),
    ],
)
def test_a_trust_with_a_bad_code_or_name_is_not_added(code, name, reason):
    with pytest.raises(CommandError, match=f"^{reason}"):
        run("add_trust", "--provider", code, "--name", name)
    assert not Provider.objects.exists()


@pytest.mark.django_db
def test_a_folder_with_no_extracts_is_refused(tmp_path, trust):
    with pytest.raises(CommandError, match=r"a folder with no \.csv files in it"):
        run("import_waiting_list", str(tmp_path))
