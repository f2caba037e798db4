"""A large extract is checked in worker processes, a chunk at a time, with exactly the outcome
of reading it whole in one process: the same rows, rejections, line numbers and refusals."""

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.extracts import HEADER, WEEK, pathway, write_extract
from waitinglist import extract, extract_workers
from waitinglist.extract import ExtractReader, ExtractRefused, staging_values

# Worker processes import this module to find its stages (as_rows), without setting Django up:
# it must not import models.

CHUNK = 1024  # a few rows: a small file makes many chunks
LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def as_rows(rows, split_by_consultant):
    # A stage for the tests (found by name in the worker processes): the rows themselves.
    return list(rows)


def dying_in_a_worker(rows, split_by_consultant):
    # Ends the worker process that stages pathway G250, as running out of memory would.
    in_a_worker = os.getpid() != int(os.environ["TEST_PARENT_PID"])
    if in_a_worker and any(row.identifier == "G250" for row in rows):
        os._exit(1)
    return list(rows)


def outcome(reader: ExtractReader, rows) -> dict:
    """What reading gave: the rows (unless refused), and everything the reader kept."""
    staged, refusal = [], None
    try:
        for row in rows:
            staged.append(row)
    except ExtractRefused as error:
        refusal, staged = str(error), None  # rows before a refusal are rolled back anyway
    return {
        "rows": staged,
        "rejections": reader.rejections,
        "rows_read": reader.rows_read,
        "rows_rejected": reader.rows_rejected,
        "refusal": refusal,
    }


def read_whole(path: Path) -> dict:
    reader = ExtractReader(path)
    return outcome(reader, reader)


class Spy:
    """Records the chunks planned and whether any rows were read again in this process."""

    def __init__(self, monkeypatch):
        self.chunks, self.read_here = [], 0
        plan, rest = extract_workers._plan_chunks, extract_workers._rest_in_this_process

        def planning(*args):
            for chunk in plan(*args):
                self.chunks.append(chunk)
                yield chunk

        def reading_here(reader, *args):
            self.read_here += 1
            return rest(reader, *args)

        monkeypatch.setattr(extract_workers, "_plan_chunks", planning)
        monkeypatch.setattr(extract_workers, "_rest_in_this_process", reading_here)


def read_in_chunks(path: Path, monkeypatch, stage=as_rows) -> dict:
    monkeypatch.setattr(extract_workers, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(extract_workers, "CHUNK_BYTES", CHUNK)
    reader = ExtractReader(path)

    def rows():
        if reader.read_first_row():
            for batch in reader.batches(stage, False):
                yield from batch

    return outcome(reader, rows())


def varied_rows(count: int) -> list[dict]:
    """Valid and rejected rows, many with quoted commas, quotes and line breaks."""
    rows = []
    for n in range(1, count + 1):
        row = pathway(f"G{n}")
        if n % 3 == 0:
            row["PATIENT_PATHWAY_IDENTIFIER"] = f"G{n}\nA,B"
        if n % 4 == 0:
            row["LOCAL_PATIENT_IDENTIFIER"] = 'H"1\r\n2'
        if n % 5 == 0:
            row["Patient_Email_Address"] = f"patient.{n}@example.nhs.uk"
        if n % 7 == 0:
            column, value = [
                ("NHS_NUMBER", "12345"),
                ("PERSON_BIRTH_DATE", "2099-01-01"),
                ("Patient_Email_Address", "not-an-email"),
                ("Patient_Mobile_Number", "020 7946 0000"),
                ("TCI_Date", "2026-02-30"),
            ][n % 5]
            row[column] = value
        rows.append(row)
    return rows


def damaged(path: Path, old: bytes, new: bytes, count: int = 1) -> Path:
    data = path.read_bytes()
    assert data.count(old) >= count
    path.write_bytes(data.replace(old, new, count))
    return path


def test_a_file_read_in_chunks_gives_what_reading_it_whole_gives(tmp_path, monkeypatch):
    path = write_extract(tmp_path / "week.csv", varied_rows(400))
    # Blank lines, and a line ended by a lone carriage return.
    damaged(path, b"\r\n2026-03-01,RXX,G101,", b"\r\n\r\n  \r\n2026-03-01,RXX,G101,")
    damaged(path, b"\r\n2026-03-01,RXX,G202,", b"\r2026-03-01,RXX,G202,")
    spy = Spy(monkeypatch)

    chunked = read_in_chunks(path, monkeypatch)

    assert chunked == read_whole(path)
    assert len(chunked["rows"]) > 300 and len(chunked["rejections"]) > 50
    assert len(spy.chunks) > 20 and spy.read_here == 0
    # Some chunk would have been cut at a quoted line break, had quotes not been counted.
    data = path.read_bytes()
    first_breaks = [LINE_BREAK.search(data, c.start + CHUNK).end() for c in spy.chunks[:-1]]
    assert any(end < chunk.end for end, chunk in zip(first_breaks, spy.chunks, strict=False))


def test_staging_values_come_back_from_the_workers_in_file_order(tmp_path, monkeypatch):
    path = write_extract(tmp_path / "week.csv", varied_rows(200))
    reader = ExtractReader(path)
    expected = staging_values(list(reader), True)
    monkeypatch.setattr(extract_workers, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(extract_workers, "CHUNK_BYTES", CHUNK)

    reader = ExtractReader(path)
    assert reader.read_first_row()
    assert [values for batch in reader.batches(staging_values, True) for values in batch] == (
        expected
    )


LATER = (WEEK + timedelta(weeks=1)).isoformat()


@pytest.mark.parametrize(
    "old, new",
    [
        (b"\r\n2026-03-01,RXX,G350,", b"\r\n2026-03-01,RXX,G35\xe9,"),  # Windows-1252
        (b"\r\n2026-03-01,RXX,G350,", b"\r\n2026-03-01,RXX,G35\xc3,"),  # a cut-off character
        (b"\r\n2026-03-01,RXX,G350,", b"\r\n2026-03-01,RXX,G3\x0050,"),  # NUL
        (b"\r\n2026-03-01,RXX,G350,", b"\r\n2026-03-01,RXX,G350,,"),  # one field too many
        (b"\r\n2026-03-01,RXX,G350,", b"\r\n2026-03-01,RYY,G350,"),  # a second trust
        (b"\r\n2026-03-01,RXX,G350,", f"\r\n{LATER},RXX,G350,".encode()),  # a second week
        (b"\r\n2026-03-01,RXX,G350,", b'\r\n2026-03-01,RXX,"G350,'),  # a quote never closed
        (b"\r\n2026-03-01,RXX,G398,", b'\r\n2026-03-01,RXX,"G398,'),  # the same, at the end
        (b"\r\n2026-03-01,RXX,G2,", b"\r\n\r\n\r\n2026-03-01,RXX,G2,"),  # blank lines early
    ],
)
def test_a_damaged_file_has_the_same_outcome_read_in_chunks(tmp_path, monkeypatch, old, new):
    path = damaged(write_extract(tmp_path / "week.csv", varied_rows(400)), old, new)
    assert read_in_chunks(path, monkeypatch) == read_whole(path)


def test_a_quote_left_open_for_long_is_refused_as_csv_on_the_same_line(tmp_path, monkeypatch):
    # Over csv's 131,072-character field limit, as one whole-file reading also finds.
    path = write_extract(tmp_path / "week.csv", [pathway(f"G{n}") for n in range(1, 3000)])
    damaged(path, b"\r\n2026-03-01,RXX,G200,", b'\r\n2026-03-01,RXX,"G200,')

    chunked = read_in_chunks(path, monkeypatch)

    assert chunked == read_whole(path)
    assert "field larger than field limit" in chunked["refusal"]


def test_a_refusal_in_a_later_chunk_keeps_the_rejections_before_it(tmp_path, monkeypatch):
    path = write_extract(tmp_path / "week.csv", varied_rows(400))
    damaged(path, b"\r\n2026-03-01,RXX,G380,", b"\r\n2026-03-01,RXX,G380,,")
    spy = Spy(monkeypatch)

    chunked = read_in_chunks(path, monkeypatch)

    assert chunked == read_whole(path)
    refused_line = int(chunked["refusal"].split()[1])
    assert chunked["refusal"].endswith(
        "has 20 fields but the header has 19: the file is not well-formed CSV"
    )
    assert refused_line > spy.chunks[20].first_line
    assert (
        len({chunk.first_line < r.line for r in chunked["rejections"] for chunk in spy.chunks}) == 2
    )


def test_a_bom_and_a_header_with_rows_rejected_before_the_first_valid_one(tmp_path, monkeypatch):
    rows = [pathway("G1", NHS_NUMBER="1"), pathway("G2", Waiting_List_Type="X")]
    path = write_extract(tmp_path / "week.csv", rows + varied_rows(300)[2:])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert read_in_chunks(path, monkeypatch) == read_whole(path)


def test_stray_quotes_that_mislead_the_cut_are_caught_and_read_here(tmp_path, monkeypatch):
    rows = [pathway(f"G{n}") for n in range(1, 301)]
    triples = range(10, 290, 3)
    for n in triples:
        # An unquoted field holding a quote, a quoted line break, then another stray quote:
        # counting quotes puts that line break outside quotes, but it is inside.
        rows[n]["CONSULTANT_CODE"] = "STRAY1"
        rows[n + 1]["PATIENT_PATHWAY_IDENTIFIER"] = f"G{n + 2}\nX"
        rows[n + 2]["CONSULTANT_CODE"] = "STRAY2"
    path = write_extract(tmp_path / "week.csv", rows)
    damaged(path, b"STRAY1", b'C1"2', count=len(triples))
    damaged(path, b"STRAY2", b'C"12', count=len(triples))
    spy = Spy(monkeypatch)

    chunked = read_in_chunks(path, monkeypatch)

    assert chunked == read_whole(path)
    assert len(chunked["rejections"]) == 2 * len(triples)
    assert spy.read_here == 1


def test_a_worker_that_dies_leaves_the_rest_to_this_process(tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_PARENT_PID", str(os.getpid()))
    path = write_extract(tmp_path / "week.csv", varied_rows(400))
    spy = Spy(monkeypatch)

    chunked = read_in_chunks(path, monkeypatch, stage=dying_in_a_worker)

    assert chunked == read_whole(path)
    assert spy.read_here == 1


class PoolThatCannotStart:
    """As in a daemonic process, such as a Celery prefork worker, that may have no children."""

    started = 0

    def __init__(self, *args, **kwargs):
        pass

    def submit(self, *args):
        PoolThatCannotStart.started += 1
        raise AssertionError("daemonic processes are not allowed to have children")

    def shutdown(self, **kwargs):
        pass


def test_without_worker_processes_the_file_is_read_here(tmp_path, monkeypatch):
    path = write_extract(tmp_path / "week.csv", varied_rows(300))
    monkeypatch.setattr(extract_workers, "ProcessPoolExecutor", PoolThatCannotStart)
    PoolThatCannotStart.started = 0
    spy = Spy(monkeypatch)

    assert read_in_chunks(path, monkeypatch) == read_whole(path)
    assert PoolThatCannotStart.started == 1
    assert spy.chunks == []


def test_a_small_file_is_read_here_without_starting_workers(tmp_path, monkeypatch):
    path = write_extract(tmp_path / "week.csv", varied_rows(50))
    monkeypatch.setattr(extract_workers, "ProcessPoolExecutor", PoolThatCannotStart)
    PoolThatCannotStart.started = 0
    reader = ExtractReader(path)
    assert reader.read_first_row()
    assert sum(len(batch) for batch in reader.batches(as_rows, False)) == 43
    assert PoolThatCannotStart.started == 0


def test_the_header_alone_has_no_first_row(tmp_path):
    reader = ExtractReader(write_extract(tmp_path / "week.csv", [], header=HEADER))
    assert not reader.read_first_row()


def test_a_quote_left_open_in_the_last_row_ends_with_the_file_in_a_worker(tmp_path, monkeypatch):
    path = write_extract(tmp_path / "week.csv", varied_rows(400))
    # The file ends inside the quoted mobile number: csv takes it as the last record.
    damaged(
        path, b"patient.400@example.nhs.uk,\r\n", b'patient.400@example.nhs.uk,"07700 900123\r\n'
    )
    spy = Spy(monkeypatch)

    chunked = read_in_chunks(path, monkeypatch)

    assert chunked == read_whole(path)
    assert chunked["rows"][-1].mobile == "+447700900123"
    assert spy.read_here == 0 and len(spy.chunks) > 20


@pytest.mark.django_db
def test_an_import_read_in_chunks_stores_every_row_as_read_whole(tmp_path, monkeypatch, trust):
    from waitinglist.importer import import_snapshot
    from waitinglist.models import Pathway

    rows = varied_rows(400)
    rows[301]["PATIENT_PATHWAY_IDENTIFIER"] = "G20"  # a repeat, found in the staging table
    path = write_extract(tmp_path / "week.csv", rows)
    whole = import_snapshot(path, dry_run=True)
    expected = {
        (row.identifier, row.local_patient_identifier, row.email) for row in ExtractReader(path)
    }
    monkeypatch.setattr(extract_workers, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(extract_workers, "CHUNK_BYTES", CHUNK)
    progress = []

    chunked = import_snapshot(path, progress=progress.append)

    assert chunked.summary() == whole.summary().removesuffix(" (dry run: nothing changed)")
    assert (chunked.rejections, chunked.report_csv) == (whole.rejections, whole.report_csv)
    assert "appears more than once in the file" in chunked.report_csv
    stored = Pathway.objects.values_list("identifier", "local_patient_identifier", "email")
    assert set(stored) == expected - {("G20", "", "")}
    assert len(progress) > 10 and progress == sorted(progress) and progress[-1] == 400


UNGUARDED_SCRIPT = """
import sys
from waitinglist import extract, extract_workers
extract_workers.PARALLEL_MIN_BYTES, extract_workers.CHUNK_BYTES = 0, 1024
reader = extract.ExtractReader(sys.argv[1])
reader.read_first_row()
print(sum(len(batch) for batch in reader.batches(extract.staging_values, False)))
"""


def test_a_script_without_a_main_guard_is_read_here_not_again_by_each_worker(tmp_path):
    # Each worker process runs such a script again while it starts. Were that an import, it
    # would wait for ever on the first one's lock: the worker stops instead.
    path = write_extract(tmp_path / "week.csv", varied_rows(300))
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(extract.__file__).parents[1])}

    done = subprocess.run(
        [sys.executable, str(script), str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )

    assert done.stdout.split() == [str(len(list(ExtractReader(path))))]
    assert "guard the top level of the script" in done.stderr
    assert "a worker process stopped: reading the rest of the file here" in done.stderr
