"""Importing one open-pathways snapshot: validate while streaming, stage, then set-based SQL.

Everything happens in one transaction, so a failure at any point leaves the trust's data
exactly as it was. On PostgreSQL valid rows are streamed into an unlogged staging table,
created in that transaction, with `COPY`; on SQLite (the embedded default) into a temporary
one with batched inserts. From the staging table the same statements, with a few dialect
differences, update patients, queues and pathways, record who left, rank every queue and write
the week's history.
"""

import logging
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from django.db import connection, transaction
from psycopg.copy import QueuedLibpqWriter

from waitinglist import history
from waitinglist.extract import (
    ExtractReader,
    ExtractRefused,
    Rejection,
    copy_text,
    file_sha256,
    staging_values,
)
from waitinglist.history import STAGING, STAGING_COLUMNS
from waitinglist.models import Provider, Snapshot
from waitinglist.patient_page import patient_data_changed

log = logging.getLogger(__name__)

# A file whose rows are mostly bad, or that lists far fewer pathways than last week, is more
# likely broken or truncated than true: importing it would wrongly take patients off the list.
MOST_ROWS_REJECTED = 0.5
SHRINK_LIMIT = 0.5


@dataclass
class ImportResult:
    file_name: str
    snapshot: Snapshot | None = None
    already_imported: bool = False
    dry_run: bool = False
    rejections: list[Rejection] = field(default_factory=list)
    report_csv: str = ""
    missed_weeks: list[date] = field(default_factory=list)  # between the last import and this

    def summary(self) -> str:
        if self.already_imported:
            return f"{self.snapshot}: already imported from this file; nothing changed"
        line = self.snapshot.summary()
        return f"{line} (dry run: nothing changed)" if self.dry_run else line

    def missed_weeks_note(self) -> str:
        """What a trust should know when it skipped a week: "" if it did not."""
        if not self.missed_weeks:
            return ""
        weeks = [week.isoformat() for week in self.missed_weeks]
        listed = weeks[0] if len(weeks) == 1 else f"{', '.join(weeks[:-1])} and {weeks[-1]}"
        count = "1 week was" if len(weeks) == 1 else f"{len(weeks)} weeks were"
        return (
            f"{count} not imported before {self.snapshot.week_ending} ({listed}): pathways "
            "that left the list then count as leaving over those weeks, and weeks are imported "
            "in order, so they cannot be added later"
        )


class ImportRefused(Exception):
    """The file was refused whole; nothing changed. Carries the rejected rows found so far."""

    def __init__(self, message: str, report_csv: str = "") -> None:
        super().__init__(message)
        self.report_csv = report_csv


class _DryRunRollback(Exception):
    pass


def import_snapshot(
    path: Path,
    *,
    imported_by=None,
    dry_run: bool = False,
    allow_shrink: bool = False,
    expected_provider: Provider | None = None,
    progress: Callable[[int], None] | None = None,
    today: date | None = None,
) -> ImportResult:
    """Imports one extract file, all or nothing; raises ImportRefused with the reason."""
    path = Path(path)
    sha = file_sha256(path)
    result = ImportResult(file_name=path.name, dry_run=dry_run)
    if existing := Snapshot.objects.select_related("provider").filter(file_sha256=sha).first():
        if expected_provider is not None and existing.provider != expected_provider:
            # Never hand one trust's snapshot (and its report) to another trust's upload.
            raise ImportRefused(
                f"the file is {existing.provider.ods_code}'s list, but you are importing for "
                f"{expected_provider.ods_code}"
            )
        result.snapshot, result.already_imported = existing, True
        result.report_csv = existing.reject_report
        return result

    reader = ExtractReader(path, today=today)
    try:
        with transaction.atomic():
            result.snapshot = _import(
                reader, sha, path.name, imported_by, allow_shrink, expected_provider, progress
            )
            result.report_csv = result.snapshot.reject_report
            result.rejections = reader.rejections
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    except ExtractRefused as refusal:
        raise ImportRefused(str(refusal), reader.report_csv()) from None
    result.missed_weeks = _missed_weeks(result.snapshot)
    if not dry_run:
        patient_data_changed()
    return result


def _missed_weeks(snapshot: Snapshot) -> list[date]:
    """The weeks between the trust's snapshot before `snapshot` and it."""
    before = (
        Snapshot.objects.filter(provider=snapshot.provider, week_ending__lt=snapshot.week_ending)
        .order_by("-week_ending")
        .values_list("week_ending", flat=True)
        .first()
    )
    if before is None:
        return []
    weeks = (snapshot.week_ending - before).days // 7
    return [before + timedelta(weeks=k) for k in range(1, weeks)]


def _import(reader, sha, file_name, imported_by, allow_shrink, expected_provider, progress):
    state: dict = {}

    def on_week_known(code: str, week: date) -> None:
        # Known from the first valid row: check it before streaming the rest of the file.
        if expected_provider is not None and code != expected_provider.ods_code:
            raise ExtractRefused(
                f"the file is {code}'s list, but you are importing for {expected_provider.ods_code}"
            )
        provider = Provider.objects.select_for_update().filter(ods_code=code).first()
        if provider is None:
            raise ExtractRefused(
                f"{code} is not a trust in this portal: add it first (manage.py add_trust)"
            )
        latest = provider.latest_snapshot
        if latest and week < latest.week_ending:
            raise ExtractRefused(
                f"{code} {week} is older than the latest snapshot already imported "
                f"({latest.week_ending}): import weeks in order"
            )
        if latest and week == latest.week_ending:
            raise ExtractRefused(
                f"{code} {week} is already imported from a different file; a week is imported once"
            )
        state.update(provider=provider, previous=latest)

    reader.on_week_known = on_week_known
    staging = _Staging()
    staging.create()
    rows = staging.fill(reader, state, progress)
    repeats = staging.remove_repeated_identifiers()
    reader.reject_repeats(repeats)
    rows -= len(repeats)
    if not rows:
        raise ExtractRefused(
            f"no valid rows: all {reader.rows_read} rows were rejected (see the report)"
            if reader.rows_read
            else "the file has a header but no pathway rows"
        )
    if reader.rows_rejected > MOST_ROWS_REJECTED * reader.rows_read:
        raise ExtractRefused(
            f"{reader.rows_rejected} of {reader.rows_read} rows were rejected: the file looks "
            "broken, so nothing was imported (see the report)"
        )
    provider, previous = state["provider"], state["previous"]
    if previous and not allow_shrink and rows < SHRINK_LIMIT * previous.pathways_imported:
        raise ExtractRefused(
            f"the file lists {rows} pathways against {previous.pathways_imported} last week: "
            "it may be truncated; import it with --allow-shrink if the list really shrank"
        )
    snapshot = Snapshot.objects.create(
        provider=provider,
        week_ending=reader.week_ending,
        file_name=file_name[:255],
        file_sha256=sha,
        imported_by=imported_by,
        rows_read=reader.rows_read,
        pathways_imported=rows,
        rows_rejected=reader.rows_rejected,
        reject_report=reader.report_csv(),
    )
    snapshot.joiners, snapshot.leavers = history.record_week(provider, snapshot, previous)
    snapshot.save(update_fields=["joiners", "leavers"])
    staging.drop()
    log.info("imported snapshot=%s provider=%s rows=%s", snapshot.pk, provider.ods_code, rows)
    return snapshot


class _Staging:
    """The work table the valid rows are streamed into (`history.create_staging`)."""

    def create(self) -> None:
        history.create_staging()

    def remove_repeated_identifiers(self) -> list[tuple[int, int]]:
        """Takes out rows whose identifier an earlier row had; returns (line, first line)."""
        repeats = f"""
            SELECT line, first_line FROM (
                SELECT line, MIN(line) OVER (PARTITION BY identifier) AS first_line
                FROM {STAGING}
            ) lines WHERE line <> first_line
        """
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Usually there are none. As many distinct 64-bit hashes of the identifiers as
                # rows says so for certain, in 0.2 s for a million rows against 0.7 s for
                # counting the identifiers themselves; two hashes alike (a repeat, or once in
                # millions of imports two identifiers) and the identifiers are counted.
                cursor.execute(
                    f"SELECT COUNT(*) = COUNT(DISTINCT hashtextextended(identifier, 0)) "
                    f"FROM {STAGING}"
                )
                if cursor.fetchone()[0]:
                    return []
            # Counting by identifier (a hash, in parallel on PostgreSQL) takes a third of the
            # time that ordering every row would.
            cursor.execute(
                f"SELECT 1 FROM {STAGING} GROUP BY identifier HAVING COUNT(*) > 1 LIMIT 1"
            )
            if cursor.fetchone() is None:
                return []
            cursor.execute(f"{repeats} ORDER BY line")
            found = cursor.fetchall()
            if found:
                cursor.execute(
                    f"DELETE FROM {STAGING} WHERE line IN (SELECT line FROM ({repeats}) r)"
                )
        return found

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {STAGING}")

    def fill(self, reader: ExtractReader, state: dict, progress) -> int:
        """Streams the reader's valid rows into staging; returns how many there were."""
        # Reading the first valid row runs the checks that query the database (which trust,
        # which week): they must run before COPY takes over the connection.
        if not reader.read_first_row():
            return 0
        split = state["provider"].split_queues_by_consultant
        copying = connection.vendor == "postgresql"
        with closing(reader.batches(copy_text if copying else staging_values, split)) as batches:
            write = self._copy if copying else self._insert
            write(_reporting(batches, reader, progress))
        if progress:
            progress(reader.rows_read)
        if copying:
            with connection.cursor() as cursor:
                history.analyze_work_table(cursor, STAGING)
        return reader.rows_read - reader.rows_rejected

    @staticmethod
    def _copy(batches) -> None:
        """COPY in PostgreSQL's text format, a batch of rows per write (much faster per row).

        psycopg sends the rows from a thread of its own (`QueuedLibpqWriter`, at most 128 MB
        queued), so checking the next chunk overlaps PostgreSQL's storing of the last: for the
        million-row week, 2.06-2.20 s to check and stage against 2.35-2.47 s writing in turn.
        """
        names = ", ".join(name for name, _ in STAGING_COLUMNS)
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                f"COPY {STAGING} ({names}) FROM STDIN", writer=QueuedLibpqWriter(cursor.cursor)
            ) as copy,
        ):
            for text in batches:
                copy.write(text)

    @staticmethod
    def _insert(batches) -> None:
        names = ", ".join(name for name, _ in STAGING_COLUMNS)
        marks = ", ".join(["%s"] * len(STAGING_COLUMNS))
        sql = f"INSERT INTO {STAGING} ({names}) VALUES ({marks})"
        with connection.cursor() as cursor:
            for values in batches:
                cursor.executemany(sql, values)


def _reporting(batches, reader: ExtractReader, progress):
    """The batches, telling `progress` after each how many rows were read so far."""
    for batch in batches:
        yield batch
        if progress:
            progress(reader.rows_read)
