"""A structurally broken file is refused whole, with one clear line, and changes nothing."""

from datetime import timedelta

import pytest

from tests.extracts import HEADER, WEEK, pathway, week_of, write_extract
from waitinglist import history
from waitinglist.importer import ImportRefused, import_snapshot
from waitinglist.models import Pathway, PathwayWeek, QueueWeek, Snapshot


def refused(path, **options) -> str:
    with pytest.raises(ImportRefused) as refusal:
        import_snapshot(path, **options)
    return str(refusal.value)


@pytest.fixture
def first_week(tmp_path, trust):
    """A first week already imported, so refusals can be checked to change nothing."""
    rows = [pathway(f"G{n}") for n in range(1, 11)]
    import_snapshot(write_extract(tmp_path / "first.csv", rows))
    return rows


def state():
    return (
        Snapshot.objects.count(),
        sorted(Pathway.objects.values_list("identifier", "procedure_priority", "left_snapshot")),
        PathwayWeek.objects.count(),
        QueueWeek.objects.count(),
    )


@pytest.mark.django_db
def test_a_missing_required_column_is_refused(tmp_path, trust):
    header = [c for c in HEADER if c != "NHS_NUMBER"]
    path = write_extract(tmp_path / "x.csv", [pathway("G1")], header=header)
    assert refused(path) == "missing required column(s): NHS_NUMBER"


@pytest.mark.django_db
def test_a_file_that_is_not_an_extract_is_refused(tmp_path, trust):
    path = tmp_path / "notes.csv"
    path.write_text("name,colour\nhip,blue\n")
    assert "not an open-pathways extract" in refused(path)


@pytest.mark.django_db
def test_binary_data_is_refused(tmp_path, trust):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert "not a CSV file" in refused(path)


@pytest.mark.django_db
def test_a_file_that_is_not_utf8_is_refused(first_week, tmp_path):
    before = state()
    rows = week_of(first_week, WEEK + timedelta(weeks=1))
    path = write_extract(tmp_path / "latin1.csv", rows)
    # A Windows-1252 "é" in the last row, after valid rows were already staged.
    path.write_bytes(path.read_bytes()[:-3] + b"\xe9\r\n")
    assert "not UTF-8" in refused(path)
    assert state() == before


@pytest.mark.django_db
def test_more_than_one_provider_is_refused(tmp_path, trust):
    rows = [pathway("G1"), pathway("G2", ORGANISATION_IDENTIFIER_CODE_OF_PROVIDER="RYY")]
    assert "more than one provider" in refused(write_extract(tmp_path / "x.csv", rows))


@pytest.mark.django_db
def test_more_than_one_week_is_refused(tmp_path, trust):
    other = (WEEK + timedelta(weeks=1)).isoformat()
    rows = [pathway("G1"), pathway("G2", Week_Ending_Date=other)]
    assert "more than one Week_Ending_Date" in refused(write_extract(tmp_path / "x.csv", rows))


@pytest.mark.django_db
def test_a_week_that_does_not_end_on_a_sunday_is_refused(tmp_path, trust):
    rows = [pathway("G1", Week_Ending_Date="2026-03-02")]
    assert "is not a Sunday" in refused(write_extract(tmp_path / "x.csv", rows))


@pytest.mark.django_db
def test_an_unknown_trust_is_refused(tmp_path, trust):
    rows = [pathway("G1", ORGANISATION_IDENTIFIER_CODE_OF_PROVIDER="RZZ")]
    assert refused(write_extract(tmp_path / "x.csv", rows)).startswith("RZZ is not a trust")


@pytest.mark.django_db
def test_an_empty_file_and_a_header_alone_are_refused(tmp_path, trust):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "the file is empty" in refused(empty)
    assert "no pathway rows" in refused(write_extract(tmp_path / "header.csv", []))


@pytest.mark.django_db
def test_an_older_week_after_a_newer_one_is_refused(first_week, tmp_path):
    before = state()
    older = write_extract(tmp_path / "older.csv", week_of(first_week, WEEK - timedelta(weeks=1)))
    assert "older than the latest snapshot" in refused(older)
    assert state() == before


@pytest.mark.django_db
def test_the_same_week_from_a_different_file_is_refused(first_week, tmp_path):
    changed = [*first_week[:-1], pathway("G99")]
    assert "already imported from a different file" in refused(
        write_extract(tmp_path / "again.csv", changed)
    )


@pytest.mark.django_db
def test_a_file_with_mostly_bad_rows_is_refused_and_keeps_its_report(first_week, tmp_path):
    before = state()
    rows = week_of(first_week, WEEK + timedelta(weeks=1))
    for row in rows[:6]:
        row["NHS_NUMBER"] = "123"
    with pytest.raises(ImportRefused) as refusal:
        import_snapshot(write_extract(tmp_path / "bad.csv", rows))
    assert "6 of 10 rows were rejected" in str(refusal.value)
    assert refusal.value.report_csv.count("is not 10 digits") == 6
    assert state() == before


@pytest.mark.django_db
def test_a_list_that_shrinks_by_more_than_half_is_refused_unless_allowed(first_week, tmp_path):
    before = state()
    path = write_extract(tmp_path / "short.csv", week_of(first_week[:4], WEEK + timedelta(7)))
    assert "may be truncated" in refused(path)
    assert state() == before
    assert import_snapshot(path, allow_shrink=True).snapshot.leavers == 6


@pytest.mark.django_db
def test_a_failure_mid_import_leaves_the_previous_snapshot_intact(
    first_week, tmp_path, monkeypatch
):
    before = state()
    rows = week_of(first_week, WEEK + timedelta(weeks=1))
    rows[0]["Procedure_Priority_Code"] = "P2"  # a change the failed import must not keep
    del rows[1]  # and a leaver it must not record
    # Break the last statement, after patients, pathways and positions were written.
    monkeypatch.setattr(history, "_QUEUE_WEEKS", "INSERT INTO no_such_table VALUES (1)")
    with pytest.raises(Exception, match="no_such_table"):
        import_snapshot(write_extract(tmp_path / "second.csv", rows))
    assert state() == before


@pytest.mark.django_db
def test_importing_the_same_file_twice_changes_nothing(tmp_path, trust):
    path = write_extract(tmp_path / "week.csv", [pathway(f"G{n}") for n in range(1, 4)])
    first = import_snapshot(path)
    before = state()
    again = import_snapshot(path)
    assert again.already_imported
    assert again.snapshot == first.snapshot
    assert "already imported" in again.summary()
    assert state() == before


@pytest.mark.django_db
def test_a_dry_run_reports_but_changes_nothing(first_week, tmp_path):
    before = state()
    rows = week_of([*first_week[1:], pathway("G50")], WEEK + timedelta(weeks=1))
    result = import_snapshot(write_extract(tmp_path / "next.csv", rows), dry_run=True)
    assert result.summary() == (
        "RXX 2026-03-08: 10 pathways imported, 0 rows rejected, 1 left the list, 1 joined "
        "(dry run: nothing changed)"
    )
    assert state() == before


@pytest.mark.django_db
def test_a_row_with_the_wrong_number_of_fields_is_refused(first_week, tmp_path):
    before = state()
    path = write_extract(tmp_path / "ragged.csv", week_of(first_week, WEEK + timedelta(weeks=1)))
    path.write_text(path.read_text() + "2026-03-08,RXX,G77\n")
    assert refused(path) == (
        "line 12 has 3 fields but the header has 19: the file is not well-formed CSV"
    )
    assert state() == before
