"""A plain extract checked column by column (`extract_columns`) gives exactly what reading it row
by row in one process gives: the same staged rows, rejections, counts and refusals."""

import random
from pathlib import Path

import pytest

from tests.extracts import HEADER, WEEK, pathway, write_extract
from waitinglist import extract, extract_columns, extract_workers
from waitinglist.extract import ExtractReader, ExtractRefused, copy_text

# Values each column may hold in a plain file: accepted, accepted after tidying, or rejected.
VARIANTS = {
    "PATIENT_PATHWAY_IDENTIFIER": ["", " ", "X" * 20, "X" * 21, " P1 "],
    "NHS_NUMBER": ["12345", "999 000 0000", "9990000001", "abcdefghij", "0101010000"],
    "PERSON_BIRTH_DATE": ["2099-01-01", "1960-02-30", "17/05/1960", "", "1960-5-17",
                          "0000-01-01", " 1960-05-17 "],
    "ACTIVITY_TREATMENT_FUNCTION_CODE": ["999", " 110 ", "101", ""],
    "Waiting_List_Type": ["irtt", "XXXX", "ORTT", ""],
    "REFERRAL_TO_TREATMENT_PERIOD_START_DATE": ["2026-03-02", "2026-03-01", "2026-13-01", ""],
    "LOCAL_PATIENT_IDENTIFIER": ["H" * 10, "H" * 11, ""],
    "Procedure_Priority_Code": ["p1a", "P1B", "P7", "P5", "p6", "", "P2", " P3 "],
    "PRIORITY_TYPE_CODE": ["2", "3", "4", ""],
    "Proposed_Procedure_OPCS_Code": ["w371", "W37.1", "W37", "W37.", "W37.12", "W37.123", "W3",
                                     "123", ""],
    "CONSULTANT_CODE": ["c1234567", "C123456789", "C-1", ""],
    "TCI_Date": ["2026-03-20", "2026-02-30", ""],
    "Outpatient_Future_Appointment_Date": ["2026-03-09", "soon", ""],
    "Last_PAS_Validation_Date": ["2026-01-10", "2026-1-10", ""],
    "ORGANISATION_IDENTIFIER_REFERRING_ORGANISATION": ["y90019", "Y9", "TOOLONG1", ""],
    "Patient_Email_Address": ["a@example.com", "not-an-email", "x@[127.0.0.1]", "A.B@NHS.NET",
                              ""],
    "Patient_Mobile_Number": ["07700 900123", "+44 7700 900123", "+447700900123",
                              "0044 7700 900123", "(07700) 900123", "020 7946 0000", "7700", ""],
}  # fmt: skip


def varied_rows(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for n in range(1, count + 1):
        row = pathway(f"C{n}", CONSULTANT_CODE=rng.choice(["C1", "C2", "c3"]))
        for column in rng.sample(sorted(VARIANTS), k=rng.choice([0, 0, 1, 1, 2, 3])):
            row[column] = rng.choice(VARIANTS[column])
        rows.append(row)
    return rows


def read(path: Path, monkeypatch, columnar: bool, split: bool = False) -> dict:
    """What importing would stage and keep, reading column by column or row by row."""
    monkeypatch.setattr(extract, "COLUMNAR_MIN_BYTES", 0 if columnar else 1 << 60)
    if extract_columns.CHUNK_BYTES > 3000:
        monkeypatch.setattr(extract_columns, "CHUNK_BYTES", 3000)  # many chunks of a small file
    monkeypatch.setattr(extract_workers, "PARALLEL_MIN_BYTES", 1 << 60)  # one process
    reader = ExtractReader(path)
    text, refusal = "", None
    try:
        if reader.read_first_row():
            text = "".join(reader.batches(copy_text, split))
    except ExtractRefused as error:
        text, refusal = None, str(error)
    return {
        # Rows are staged in no fixed order (the table is ordered by line when it matters).
        "staged": None if text is None else sorted(text.splitlines()),
        "rejections": reader.rejections,
        "rows_read": reader.rows_read,
        "rows_rejected": reader.rows_rejected,
        "refusal": refusal,
    }


@pytest.fixture
def checked(monkeypatch) -> list[int]:
    """The number of rows checked column by column, chunk by chunk."""
    sizes = []
    check = extract_columns._checked

    def counting(reader, frame, *args):
        sizes.append(len(frame))
        return check(reader, frame, *args)

    monkeypatch.setattr(extract_columns, "_checked", counting)
    return sizes


def both(path: Path, monkeypatch, split: bool = False) -> tuple[dict, dict]:
    return read(path, monkeypatch, True, split), read(path, monkeypatch, False, split)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_column_by_column_gives_what_row_by_row_gives(tmp_path, monkeypatch, checked, seed):
    path = write_extract(tmp_path / "week.csv", varied_rows(600, seed))

    columns, rows = both(path, monkeypatch, split=seed == 2)

    assert columns == rows
    assert 300 < len(rows["staged"]) < 580 and rows["rows_rejected"] > 20
    assert sum(checked) > 500  # nearly all rows were checked column by column


def test_line_feeds_alone_a_missing_last_line_break_and_columns_in_another_order(
    tmp_path, monkeypatch, checked
):
    header = [*reversed(HEADER[:12]), "EXTRA_COLUMN"]  # some optional columns left out
    path = write_extract(tmp_path / "week.csv", varied_rows(300, 4), header=header)
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").rstrip(b"\n"))

    columns, rows = both(path, monkeypatch)

    assert columns == rows and len(rows["staged"]) > 150 and sum(checked) > 250


@pytest.mark.parametrize(
    "damage",
    [
        (b"\r\n2026-03-01,RXX,C101,", b"\r\n\r\n2026-03-01,RXX,C101,"),  # a blank line
        (b"\r\n2026-03-01,RXX,C101,", b"\r\n   \r\n2026-03-01,RXX,C101,"),  # spaces only
        (b"\r\n2026-03-01,RXX,C101,", b"\r\n2026-03-01,RXX\r\n2026-03-01,RXX,C101,"),  # too few
        (b",RXX,C150,", b",RXX,C150,,"),  # a field too many
        (b",RXX,C150,", b",RXY,C150,"),  # another trust, half-way
        (b"2026-03-01,RXX,C150,", b"2026-03-08,RXX,C150,"),  # another week
    ],
)
def test_damage_half_way_has_the_same_outcome(tmp_path, monkeypatch, damage):
    path = write_extract(tmp_path / "week.csv", varied_rows(300, 5))
    data = path.read_bytes()
    assert data.count(damage[0]) == 1
    path.write_bytes(data.replace(*damage))

    columns, rows = both(path, monkeypatch)

    assert columns == rows


def test_a_long_line_and_a_short_one_with_as_many_commas_as_whole_lines_have(tmp_path, monkeypatch):
    path = write_extract(tmp_path / "week.csv", [pathway(f"C{n}") for n in range(1, 40)])
    data = path.read_bytes()
    data = data.replace(b",RXX,C20,", b",RXX,C20,,", 1).replace(b",RXX,C21,", b",RXX,C21", 1)
    path.write_bytes(data)
    monkeypatch.setattr(extract_columns, "CHUNK_BYTES", 1 << 20)  # both lines in one chunk

    columns, rows = both(path, monkeypatch)

    assert columns == rows and "line 21 has 20 fields" in rows["refusal"]


@pytest.mark.parametrize(
    ("old", "new"),
    [(b"C77,", b'"C77",'), (b"C77,", b"C\xc3\xa977,"), (b"C77,", b"C7\t7,"), (b"C77,", b"C7\\7,"),
     (b"C77,", b"C7\r7,")],
)  # fmt: skip
def test_from_a_chunk_that_is_not_plain_the_rest_is_read_row_by_row(
    tmp_path, monkeypatch, checked, old, new
):
    path = write_extract(tmp_path / "week.csv", varied_rows(200, 6))
    path.write_bytes(path.read_bytes().replace(old, new, 1))
    assert not extract_columns.plain(path.read_bytes())

    columns, rows = both(path, monkeypatch)

    # Chunks of 3,000 bytes: the rows before C77's chunk were checked column by column.
    assert columns == rows and 40 < sum(checked) < 77


def test_a_quoted_field_over_two_lines_is_read_whole(tmp_path, monkeypatch, checked):
    path = write_extract(tmp_path / "week.csv", varied_rows(200, 8))
    data = path.read_bytes().replace(b"C150,", b'"C1\n50",', 1)
    path.write_bytes(data)

    columns, rows = both(path, monkeypatch)

    assert columns == rows and 100 < sum(checked) < 150
    assert any(line.startswith(f"{rows['rows_read']}\t") for line in rows["staged"])


@pytest.mark.parametrize("start", [b'"C1"', b"C\xc3\xa91"])
def test_a_file_not_plain_from_the_start_is_read_as_before(tmp_path, monkeypatch, checked, start):
    path = write_extract(tmp_path / "week.csv", varied_rows(50, 9))
    assert extract_columns.starts_plain(path)
    path.write_bytes(path.read_bytes().replace(b"C1,", start + b",", 1))
    assert not extract_columns.starts_plain(path)

    columns, rows = both(path, monkeypatch)

    assert columns == rows and checked == []


def test_a_lone_carriage_return_at_the_end_is_read_row_by_row(tmp_path, monkeypatch, checked):
    path = write_extract(tmp_path / "week.csv", [pathway(f"C{n}") for n in range(1, 60)])
    path.write_bytes(path.read_bytes() + b"\r")

    columns, rows = both(path, monkeypatch)

    assert columns == rows and sum(checked) > 30


def test_plain_rows_are_staged_as_row_by_row_reading_stages_them(tmp_path, monkeypatch):
    rows = [
        pathway("C1", NHS_NUMBER="999 000 0018"),
        pathway("C2", Procedure_Priority_Code="p1a", Proposed_Procedure_OPCS_Code="w371"),
        pathway("C3", Patient_Mobile_Number="0044 7700 900123", CONSULTANT_CODE="c9"),
        pathway("C4", TCI_Date="2026-03-20", Patient_Email_Address="a@example.com"),
    ]
    path = write_extract(tmp_path / "week.csv", [pathway("C0"), *rows])
    columns, whole = both(path, monkeypatch, split=True)
    assert columns == whole
    staged = "\n".join(whole["staged"])
    assert "3\tC1\t9990000018\t1960-05-17\t110\tIRTT\t" in staged  # spaces taken out
    assert f"4\tC2\t{rows[1]['NHS_NUMBER']}\t1960-05-17\t110\tIRTT\t" in staged
    assert any("\tP1a\t1\t1\tW37.1\t" in line for line in whole["staged"])
    assert any(line.endswith("\t+447700900123\tC9") for line in whole["staged"])
    assert any("\t2026-03-20\t\\N\t\\N\t" in line for line in whole["staged"])
    assert WEEK.isoformat() not in "\n".join(whole["staged"])  # the week is not staged


def test_reads_shorter_than_a_line_carry_it_to_the_next(tmp_path, monkeypatch, checked):
    path = write_extract(tmp_path / "week.csv", varied_rows(40, 7))
    path.write_bytes(path.read_bytes().rstrip(b"\r\n"))
    rows = read(path, monkeypatch, False)
    monkeypatch.setattr(extract_columns, "CHUNK_BYTES", 64)  # a line spans two or three reads

    columns = read(path, monkeypatch, True)

    assert columns == rows and sum(checked) > 30
