"""Set-based SQL that turns a filled staging table into a week of trust data.

Runs inside the import's transaction. Every statement works on the whole list at once, on
PostgreSQL and on SQLite; the few differences between them are in `_dialect()`.
"""

from django.db import connection

from waitinglist.bulk_load import has_rows, indexes_built_after
from waitinglist.models import Provider, Queue, Snapshot

STAGING = "waitinglist_staging"
STAGING_COLUMNS = [
    ("line", "integer"),
    ("identifier", "varchar(20)"),
    ("nhs_number", "varchar(10)"),
    ("birth_date", "date"),
    ("treatment_function", "varchar(3)"),
    ("list_type", "varchar(4)"),
    ("clock_start", "date"),
    ("procedure_priority", "varchar(3)"),
    ("priority_type", "varchar(1)"),
    ("band", "smallint"),
    ("procedure_code", "varchar(5)"),
    ("consultant_code", "varchar(8)"),
    ("local_patient_identifier", "varchar(10)"),
    ("tci_date", "date"),
    ("outpatient_appointment_date", "date"),
    ("last_validated", "date"),
    ("referring_organisation", "varchar(6)"),
    ("email", "varchar(254)"),
    ("mobile", "varchar(16)"),
    ("queue_consultant", "varchar(8)"),
]
# Compared byte by byte on PostgreSQL, as the pathways' and patients' own columns are
# (migration 0011, decision 0013), so that the import's sorts of them are as quick.
BYTE_ORDER = {"identifier", "nhs_number", "referring_organisation"}
# Pathway columns the extract sets, copied from staging on insert and on change.
PATHWAY_FIELDS = [
    "clock_start", "procedure_priority", "priority_type", "band", "procedure_code",
    "consultant_code", "local_patient_identifier", "tci_date", "outpatient_appointment_date",
    "last_validated", "referring_organisation", "email", "mobile",
]  # fmt: skip

PATIENT = "waitinglist_patient"
QUEUE = "waitinglist_queue"
PATHWAY = "waitinglist_pathway"
PATHWAY_WEEK = "waitinglist_pathwayweek"
PATHWAY_MOVE = "waitinglist_pathwaymove"
QUEUE_WEEK = "waitinglist_queueweek"
IMPORT_WORK_MEM = "256MB"
NEW_SHARE_TO_ANALYZE = 0.2
# The ranking's sort number: queue id, then band (1-6; 7 for unranked), then the clock start's
# day number (under 2**22 for any date to 9999).
BAND_STEP = 2**32
QUEUE_STEP = 2**36
WORK_TABLE_STATISTICS = 10
# The import's work tables, dropped before it commits (`table` in `_dialect()` says which kind).
RESOLVED = "waitinglist_resolved"
NEW_PATIENTS = "waitinglist_new_patients"
GONE = "waitinglist_gone"
WORK_TABLES = (RESOLVED, NEW_PATIENTS, GONE)
IMPORT_LOCK = 0x5757_494D  # a transaction-level advisory lock: imports take turns


def _dialect() -> dict[str, str]:
    if connection.vendor == "postgresql":
        return {
            # Unlogged, not temporary: PostgreSQL reads a temporary table in one process only,
            # while with two cores the joins over the whole list can run in parallel on an
            # unlogged one. No write-ahead log either. Created and dropped inside the import's
            # transaction, which holds a lock so that imports take turns (`create_staging`,
            # decision 0009).
            "table": "UNLOGGED TABLE",
            "distinct": "IS DISTINCT FROM",
            "collate": 'COLLATE "C"',  # the same order as SQLite's, whatever the locale
            "days_waited": "(CAST(%(week)s AS date) - r.clock_start)",
            "day_number": "(r.clock_start - DATE '0001-01-01')",
            "new_patient_id": "nextval(CAST(%(patient_ids)s AS regclass))",
        }
    return {
        "table": "TEMPORARY TABLE",
        "distinct": "IS NOT",
        "collate": "",
        "days_waited": "CAST(julianday(%(week)s) - julianday(r.clock_start) AS integer)",
        "day_number": "CAST(julianday(r.clock_start) - julianday('0001-01-01') AS integer)",
        "new_patient_id": "NULL",
    }


def create_staging() -> None:
    """Creates the empty table the import streams valid rows into.

    On PostgreSQL it first waits for any other import to finish: the work tables have fixed
    names, and an import uses both of this machine's cores anyway.
    """
    postgres = connection.vendor == "postgresql"
    byte_order = ' COLLATE "C"' if postgres else ""
    columns = ", ".join(
        f"{name} {kind}{byte_order if name in BYTE_ORDER else ''}" for name, kind in STAGING_COLUMNS
    )
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])
        cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
        cursor.execute(f"CREATE {_dialect()['table']} {STAGING} ({columns})")


def analyze_work_table(cursor, table: str) -> None:
    """Gives PostgreSQL's planner a work table's figures from a sample of 3,000 rows, not
    30,000: plenty to plan hash joins by, in 0.03 s instead of 0.35 s for a million rows."""
    cursor.execute(f"SET LOCAL default_statistics_target = {WORK_TABLE_STATISTICS}")
    cursor.execute(f"ANALYZE {table}")
    cursor.execute("SET LOCAL default_statistics_target = DEFAULT")


def record_week(provider: Provider, snapshot: Snapshot, previous: Snapshot | None) -> tuple:
    """Writes the snapshot's patients, queues, pathways, positions and history.

    Returns (joiners, leavers): pathways on the list now that were not last week, and the reverse.
    """
    params = {
        "provider": provider.pk,
        "snapshot": snapshot.pk,
        "previous": previous.pk if previous else None,
        "week": snapshot.week_ending.isoformat(),
    }
    sql = _dialect()
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            # Sorting and hashing a million rows in memory, not in temporary files on disk;
            # for this transaction only.
            cursor.execute(f"SET LOCAL work_mem = '{IMPORT_WORK_MEM}'")
            # Named once: asking for a table's sequence in each row took 3 s a million rows.
            cursor.execute(
                "SELECT pg_get_serial_sequence(%s, 'id'), pg_get_serial_sequence(%s, 'id')",
                [PATHWAY, PATIENT],
            )
            params["pathway_ids"], params["patient_ids"] = cursor.fetchone()
        _add_queues(cursor, provider)
        # Tables with no rows at all (the first import into a new portal) are filled in bulk.
        empty = {t: postgres and not has_rows(cursor, t) for t in (PATIENT, PATHWAY, PATHWAY_WEEK)}
        for table in WORK_TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        if postgres:
            # The resolving join reads the whole list, so hash joins are right; PostgreSQL
            # misjudges the three-column join on the queue key as matching almost nothing and
            # would otherwise probe the indexes a million times (7.6 s against 4.8).
            cursor.execute("SET LOCAL enable_nestloop = off")
        # A trust's first list is all new pathways: they are numbered as they are resolved,
        # rather than by rewriting a million resolved rows after (5 s). Later weeks' joins
        # read the trust's million patients and pathways, and run in parallel instead, which
        # a sequence in the query would prevent; their few new pathways are numbered after.
        number_now = postgres and previous is None
        cursor.execute(_resolve(sql, number_now), params)
        if postgres:
            cursor.execute("SET LOCAL enable_nestloop = on")
            analyze_work_table(cursor, RESOLVED)
        if previous is not None and provider.snapshots.filter(leavers__gt=0).exists():
            if postgres:
                # One look-up in the identifier's index per row not found: PostgreSQL would
                # rather read the whole index in order (0.51 s against 0.17 s for 55,845 rows).
                cursor.execute("SET LOCAL enable_mergejoin = off")
                cursor.execute("SET LOCAL enable_hashjoin = off")
            cursor.execute(_FIND_RETURNING, params)
            if postgres:
                cursor.execute("SET LOCAL enable_mergejoin = on")
                cursor.execute("SET LOCAL enable_hashjoin = on")
        cursor.execute(_UPDATE_BIRTH_DATES, params)
        cursor.execute(_NEW_PATIENTS.format(**sql), params)
        with indexes_built_after(cursor, PATIENT, empty=empty[PATIENT]):
            cursor.execute(_INSERT_PATIENTS, params)
        if not postgres:
            cursor.execute(_NEW_PATIENT_IDS, params)
            cursor.execute(f"CREATE INDEX {NEW_PATIENTS}_nhs ON {NEW_PATIENTS} (nhs_number)")
        if previous is not None:
            cursor.execute(_RECORD_MOVES, params)
        if postgres and not number_now:
            cursor.execute(_NUMBER_NEW_PATHWAYS, params)  # SQLite numbers them as it inserts them
        with indexes_built_after(cursor, PATHWAY, empty=empty[PATHWAY]):
            for statement in (_UPDATE_PATHWAYS, _insert_pathways(every_field_kept=number_now)):
                cursor.execute(statement, params)
        if not postgres:
            cursor.execute(_NEW_IDS, params)
            # Without it (and the column's integer type) SQLite plans the leavers' NOT
            # EXISTS as a scan of this table per pathway: minutes for 50,000 rows.
            cursor.execute(f"CREATE INDEX {RESOLVED}_pathway ON {RESOLVED} (pathway_id)")
        with indexes_built_after(cursor, PATHWAY_WEEK, empty=empty[PATHWAY_WEEK]):
            cursor.execute(_RANK_AND_RECORD.format(**sql), params)
        cursor.execute(_FIND_LEAVERS.format(**sql), params)
        cursor.execute(_RECORD_LEAVERS, params)
        leavers = cursor.rowcount
        cursor.execute(_QUEUE_WEEKS.format(**sql), params)
        cursor.execute(
            f"SELECT COALESCE(SUM(joiner), 0), COUNT(known_id), COUNT(*) FROM {RESOLVED}"
        )
        joiners, known, rows = cursor.fetchone()
        if postgres and rows - known > NEW_SHARE_TO_ANALYZE * rows:
            # Mostly new rows (a trust's first import): refresh the planner's figures now
            # rather than when autovacuum next looks, or the next import and the estimates
            # that follow this one are planned for tables PostgreSQL believes empty.
            cursor.execute(f"ANALYZE {PATIENT}, {PATHWAY}, {PATHWAY_WEEK}")
        for table in WORK_TABLES:
            cursor.execute(f"DROP TABLE {table}")
    return int(joiners), leavers


def _add_queues(cursor, provider: Provider) -> None:
    """Adds the queues the staged rows name that the trust does not have yet.

    Asked for first and added after: a plain query reads the million staged rows in parallel
    on PostgreSQL, where an INSERT's own query cannot (0.13 s against 0.31-0.37 s).
    """
    cursor.execute(
        f"SELECT treatment_function, list_type, queue_consultant FROM {STAGING} "
        "GROUP BY treatment_function, list_type, queue_consultant"
    )
    queues = [
        Queue(provider=provider, treatment_function=function, list_type=kind, consultant_code=who)
        for function, kind, who in cursor.fetchall()
    ]
    Queue.objects.bulk_create(queues, ignore_conflicts=True)


# Every staged row, resolved once to its patient (if known), queue and pathway (known or
# new), with what the later statements need to know of the pathway as it was before this
# week: whether it was on last week's list, whether the extract changed it, and since when it
# has been booked. Joining the million-row list once, here, instead of in each statement, is
# most of what keeps a week's import fast. In a later week only what every row's later
# statements read is kept (what ranks it, and what the history counts); the few rows written
# to pathways take the rest of their fields from staging, by line: for 1,016,116 rows the
# join took 1.4 s instead of 1.6 s with every field kept. A trust's first list writes every
# row to pathways, and keeps every field (fetching them again cost 1.2 s). In a later week the
# join reads only the pathways still on the list; `_FIND_RETURNING` finds any that come back.
_COPIED = ["patient_id", "queue_id", *PATHWAY_FIELDS]
_KEPT = ["clock_start", "band"]  # of PATHWAY_FIELDS: the ranking's and the history's


def _resolve(sql: dict[str, str], number_new: bool) -> str:
    """The resolving join; `number_new` (a trust's first list, on PostgreSQL) numbers the
    new pathways as it goes and keeps every field."""
    new = ["pt.id", "q.id", *(f"s.{name}" for name in PATHWAY_FIELDS)]
    kept = PATHWAY_FIELDS if number_new else _KEPT
    known = ", ".join(f"p.{column}" for column in [*_COPIED, "left_snapshot_id"])
    booked = "(p.tci_date, p.outpatient_appointment_date)"
    return f"""
CREATE {sql["table"]} {RESOLVED} AS
SELECT s.line, s.identifier, s.nhs_number, s.birth_date,
    CASE WHEN pt.birth_date <> s.birth_date THEN 1 ELSE 0 END AS birth_changed,
    pt.id AS patient_id, q.id AS queue_id, {", ".join(f"s.{name}" for name in kept)},
    p.id AS known_id,
    CAST({f"COALESCE(p.id, {NEW_PATHWAY_ID})" if number_new else "p.id"} AS integer)
        AS pathway_id,
    CASE WHEN p.id IS NULL OR p.left_snapshot_id IS NOT NULL THEN 1 ELSE 0 END AS joiner,
    CASE WHEN p.left_snapshot_id IS NULL AND p.queue_id <> q.id THEN p.queue_id END
        AS moved_from,
    CASE WHEN p.id IS NOT NULL AND ({known}) {sql["distinct"]} ({", ".join(new)}, NULL)
        THEN 1 ELSE 0 END AS changed,
    CASE WHEN s.tci_date IS NULL AND s.outpatient_appointment_date IS NULL THEN NULL
        WHEN p.id IS NULL OR p.left_snapshot_id IS NOT NULL
            OR {booked} {sql["distinct"]} (s.tci_date, s.outpatient_appointment_date)
            THEN %(snapshot)s
        ELSE p.booked_snapshot_id END AS booked_snapshot_id
FROM {STAGING} s
LEFT JOIN {PATIENT} pt ON pt.provider_id = %(provider)s AND pt.nhs_number = s.nhs_number
JOIN {QUEUE} q ON q.provider_id = %(provider)s AND q.treatment_function = s.treatment_function
    AND q.list_type = s.list_type AND q.consultant_code = s.queue_consultant
LEFT JOIN {PATHWAY} p ON p.provider_id = %(provider)s AND p.identifier = s.identifier
    {"" if number_new else "AND p.left_snapshot_id IS NULL"}
"""


# The resolving join above looks for a later week's rows among the pathways still on the list
# only. Those that left in earlier weeks pile up (after a year, three times as many as are
# open, all hashed every week); the few rows it found no open pathway for (new, or back on
# the list) are looked for among them here, by the identifier's index. A pathway back on the
# list is a joiner and booked this week if booked, as the resolving join took it to be, and
# changed: it is open again. Its stay on the list it left is recorded (`_RECORD_MOVES`).
_FIND_RETURNING = f"""
UPDATE {RESOLVED} SET known_id = p.id, pathway_id = p.id, changed = 1, moved_from = p.queue_id
FROM {PATHWAY} p
WHERE {RESOLVED}.known_id IS NULL AND p.provider_id = %(provider)s
    AND p.identifier = {RESOLVED}.identifier
"""


def _written_field(name: str, every_field_kept: bool = False) -> str:
    """A written row's field: from the resolved table if it kept it, else from staging."""
    return f"r.{name}" if every_field_kept or name in ("queue_id", *_KEPT) else f"s.{name}"


# One patient per NHS number; the birth date follows the latest extract (the latest date,
# should two rows disagree). Only the patients the resolving join found a new date for are
# looked at.
_UPDATE_BIRTH_DATES = f"""
UPDATE {PATIENT} SET birth_date = m.birth_date
FROM (
    SELECT patient_id, MAX(birth_date) AS birth_date FROM {RESOLVED}
    WHERE patient_id IN (SELECT patient_id FROM {RESOLVED} WHERE birth_changed = 1)
    GROUP BY patient_id
) m
WHERE {PATIENT}.id = m.patient_id AND {PATIENT}.birth_date <> m.birth_date
"""

# Patients the portal did not know, numbered in NHS number order on PostgreSQL (so both of
# the table's indexes are filled in order); SQLite numbers them as they are inserted.
_NEW_PATIENTS = f"""
CREATE {{table}} {NEW_PATIENTS} AS
SELECT nhs_number, birth_date, CAST({{new_patient_id}} AS bigint) AS id FROM (
    SELECT nhs_number, MAX(birth_date) AS birth_date FROM {RESOLVED}
    WHERE patient_id IS NULL GROUP BY nhs_number ORDER BY nhs_number
) new
"""

_INSERT_PATIENTS = f"""
INSERT INTO {PATIENT} (id, provider_id, nhs_number, birth_date)
SELECT id, %(provider)s, nhs_number, birth_date FROM {NEW_PATIENTS} ORDER BY nhs_number
"""

_NEW_PATIENT_IDS = f"""
UPDATE {NEW_PATIENTS} SET id = (
    SELECT pt.id FROM {PATIENT} pt
    WHERE pt.provider_id = %(provider)s AND pt.nhs_number = {NEW_PATIENTS}.nhs_number
)
"""

# A resolved row's patient: the one it was resolved to, or the one just added for it.
_NEW_PATIENT_OF_ROW = (
    f"LEFT JOIN {NEW_PATIENTS} np ON r.patient_id IS NULL AND np.nhs_number = r.nhs_number"
)


# An open pathway the extract lists on another of the trust's lists (same identifier) has
# moved: from the outpatient list to the admitted one, say. Recorded before the pathway is
# rewritten, with its band as last seen on the list it left: for that list it is a leaver, and
# for the new one a joiner (docs/estimates.md). It left by being treated (seen, for an
# outpatient list) if it was booked when last seen there, or arrives on the new list booked
# (a pooled list: booked with whichever consultant had the slot). A pathway back on a list
# after weeks off the lists (`_FIND_RETURNING`) is recorded too, with the week it went and
# whether it was booked then: rewritten, it would keep no trace of that stay's end.
_RECORD_MOVES = f"""
INSERT INTO {PATHWAY_MOVE} (
    pathway_id, snapshot_id, left_snapshot_id, from_queue_id, to_queue_id, band, was_booked
)
SELECT r.pathway_id, %(snapshot)s, p.left_snapshot_id, r.moved_from, r.queue_id, p.band,
    p.tci_date IS NOT NULL OR p.outpatient_appointment_date IS NOT NULL
        OR (p.left_snapshot_id IS NULL AND r.booked_snapshot_id IS NOT NULL)
FROM {RESOLVED} r JOIN {PATHWAY} p ON p.id = r.pathway_id
WHERE r.moved_from IS NOT NULL
"""

# A known pathway is rewritten only where the extract changed it (or it had left).
_UPDATE_PATHWAYS = f"""
UPDATE {PATHWAY} SET patient_id = COALESCE(r.patient_id, np.id),
    {", ".join(f"{c} = {_written_field(c)}" for c in _COPIED[1:])},
    left_snapshot_id = NULL, booked_snapshot_id = r.booked_snapshot_id
FROM {RESOLVED} r JOIN {STAGING} s ON s.line = r.line {_NEW_PATIENT_OF_ROW}
WHERE {PATHWAY}.id = r.pathway_id AND r.changed = 1
"""


def _insert_pathways(every_field_kept: bool) -> str:
    staged = "" if every_field_kept else f"JOIN {STAGING} s ON s.line = r.line"
    fields = ", ".join(_written_field(c, every_field_kept) for c in _COPIED[1:])
    return f"""
INSERT INTO {PATHWAY} (
    id, provider_id, identifier, first_snapshot_id, booked_snapshot_id, left_snapshot_id,
    {", ".join(_COPIED)}
)
SELECT r.pathway_id, %(provider)s, r.identifier, %(snapshot)s, r.booked_snapshot_id, NULL,
    COALESCE(r.patient_id, np.id), {fields}
FROM {RESOLVED} r {staged} {_NEW_PATIENT_OF_ROW}
WHERE r.known_id IS NULL
"""


NEW_PATHWAY_ID = "nextval(CAST(%(pathway_ids)s AS regclass))"
# In identifier order: the parallel join returns rows in no fixed order, and ids must not
# depend on it (the estimates sample pathways by id, and the same files must give the same
# estimates).
_NUMBER_NEW_PATHWAYS = f"""
UPDATE {RESOLVED} SET pathway_id = numbered.id
FROM (
    SELECT identifier, {NEW_PATHWAY_ID} AS id FROM (
        SELECT identifier FROM {RESOLVED} WHERE known_id IS NULL
        ORDER BY identifier COLLATE "C"
    ) new
) numbered
WHERE {RESOLVED}.identifier = numbered.identifier
"""

# SQLite numbered the new pathways as it inserted them (an id of NULL takes the next one).
_NEW_IDS = f"""
UPDATE {RESOLVED} SET pathway_id = (
    SELECT p.id FROM {PATHWAY} p
    WHERE p.provider_id = %(provider)s AND p.identifier = {RESOLVED}.identifier
) WHERE pathway_id IS NULL
"""

# The ranking rule: within each queue, ranked pathways (band not null) ordered by band, clock
# start, then identifier; unranked ones (P5/P6) get no position. One sort of the whole list,
# by a single number that orders queue, band (unranked last) and clock start, then by
# identifier: twice as fast as partitioning by queue and sorting on four columns (1.0 s
# against 2.1 s for a million rows; the statement as a whole, 3.1 s against 3.3-3.7). A
# pathway's position is then its place in the whole list, less the pathways of the queues
# sorted before its own. The same positions as the partitioned ranking, row for row, for
# the two benchmark weeks (2,042,832 rows). Written in pathway order, so
# the history's key (snapshot, pathway) is filled in order (decision 0010).
_RANK_AND_RECORD = f"""
WITH sized AS (
    SELECT queue_id, COUNT(*) AS n FROM {RESOLVED} GROUP BY queue_id
), queues_before AS (
    SELECT queue_id, CAST(SUM(n) OVER (ORDER BY queue_id) - n AS bigint) AS rows_before
    FROM sized
), ranked AS (
    SELECT r.pathway_id, r.queue_id, r.band, ROW_NUMBER() OVER (
        ORDER BY CAST(r.queue_id AS bigint) * {QUEUE_STEP} + COALESCE(r.band, 7) * {BAND_STEP}
            + {{day_number}}, r.identifier {{collate}}
    ) AS place
    FROM {RESOLVED} r
)
INSERT INTO {PATHWAY_WEEK} (pathway_id, snapshot_id, band, position)
SELECT ranked.pathway_id, %(snapshot)s, ranked.band,
    CASE WHEN ranked.band IS NULL THEN NULL ELSE ranked.place - q.rows_before END
FROM ranked JOIN queues_before q ON q.queue_id = ranked.queue_id
ORDER BY ranked.pathway_id
"""

# On the list last week (open), not this week: left (treated, or removed by validation). A
# pathway's queue and band are still those it had last week: the extract no longer lists it.
# A trust's first snapshot has nobody to lose, and the list need not be read.
_FIND_LEAVERS = f"""
CREATE {{table}} {GONE} AS
SELECT p.id, p.queue_id, p.band FROM {PATHWAY} p
WHERE %(previous)s IS NOT NULL AND p.provider_id = %(provider)s AND p.left_snapshot_id IS NULL
    AND NOT EXISTS (SELECT 1 FROM {RESOLVED} r WHERE r.pathway_id = p.id)
"""

_RECORD_LEAVERS = f"""
UPDATE {PATHWAY} SET left_snapshot_id = %(snapshot)s WHERE id IN (SELECT id FROM {GONE})
"""

# Each queue's week: size, joiners, leavers by the band they had, and current waits (mean,
# median and 92nd percentile by nearest rank, in whole days). A pathway that moved between
# lists left the one and joined the other (`_RECORD_MOVES`); one back after weeks off the
# lists left in the week it went, and joins now. The waits are counted per queue
# and day first: a few thousand rows to order instead of the whole list.
_QUEUE_WEEKS = f"""
WITH days AS (
    SELECT r.queue_id, {{days_waited}} AS waited, COUNT(*) AS n,
        SUM(CASE WHEN r.band IS NULL THEN 0 ELSE 1 END) AS ranked,
        SUM(CASE WHEN r.joiner = 1 OR r.moved_from IS NOT NULL THEN 1 ELSE 0 END) AS joiners
    FROM {RESOLVED} r GROUP BY r.queue_id, {{days_waited}}
), running AS (
    SELECT queue_id, waited,
        CAST(SUM(n) OVER (PARTITION BY queue_id ORDER BY waited) AS bigint) AS upto,
        CAST(SUM(n) OVER (PARTITION BY queue_id) AS bigint) AS total
    FROM days
), waits AS (
    SELECT queue_id,
        MIN(CASE WHEN upto >= (total + 1) / 2 THEN waited END) AS median,
        MIN(CASE WHEN upto >= (92 * total + 99) / 100 THEN waited END) AS p92
    FROM running GROUP BY queue_id
), sizes AS (
    SELECT queue_id, SUM(n) AS size, SUM(ranked) AS ranked, SUM(joiners) AS joiners,
        SUM(waited * n) * 1.0 / SUM(n) AS mean_wait
    FROM days GROUP BY queue_id
), gone AS (
    SELECT queue_id, COUNT(*) AS total,
        SUM(CASE WHEN band IS NULL THEN 1 ELSE 0 END) AS b0,
        SUM(CASE WHEN band = 1 THEN 1 ELSE 0 END) AS b1,
        SUM(CASE WHEN band = 2 THEN 1 ELSE 0 END) AS b2,
        SUM(CASE WHEN band = 3 THEN 1 ELSE 0 END) AS b3,
        SUM(CASE WHEN band = 4 THEN 1 ELSE 0 END) AS b4,
        SUM(CASE WHEN band = 5 THEN 1 ELSE 0 END) AS b5,
        SUM(CASE WHEN band = 6 THEN 1 ELSE 0 END) AS b6
    FROM (
        SELECT queue_id, band FROM {GONE}
        UNION ALL
        SELECT from_queue_id, band FROM {PATHWAY_MOVE}
        WHERE snapshot_id = %(snapshot)s AND left_snapshot_id IS NULL
    ) left_list GROUP BY queue_id
), queues AS (
    SELECT queue_id FROM sizes UNION SELECT queue_id FROM gone
)
INSERT INTO {QUEUE_WEEK} (
    queue_id, snapshot_id, size, ranked, joiners, leavers, leavers_band_0, leavers_band_1,
    leavers_band_2, leavers_band_3, leavers_band_4, leavers_band_5, leavers_band_6,
    mean_wait_days, median_wait_days, p92_wait_days
)
SELECT q.queue_id, %(snapshot)s, COALESCE(s.size, 0), COALESCE(s.ranked, 0),
    COALESCE(s.joiners, 0), COALESCE(g.total, 0), COALESCE(g.b0, 0), COALESCE(g.b1, 0),
    COALESCE(g.b2, 0), COALESCE(g.b3, 0), COALESCE(g.b4, 0), COALESCE(g.b5, 0),
    COALESCE(g.b6, 0), s.mean_wait, w.median, w.p92
FROM queues q
LEFT JOIN sizes s ON s.queue_id = q.queue_id
LEFT JOIN gone g ON g.queue_id = q.queue_id
LEFT JOIN waits w ON w.queue_id = q.queue_id
"""
