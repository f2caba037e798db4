"""Set-based SQL that turns a filled staging table into a week of trust data.

Runs inside the import's transaction. Every statement works on the whole list at once, on
PostgreSQL and on SQLite; the few differences between them are in `_dialect()`.
"""

from django.db import connection

from waitinglist.models import Provider, Snapshot

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
QUEUE_WEEK = "waitinglist_queueweek"


def _dialect() -> dict[str, str]:
    if connection.vendor == "postgresql":
        return {
            "distinct": "IS DISTINCT FROM",
            "collate": 'COLLATE "C"',  # the same order as SQLite's, whatever the locale
            "days_waited": "(CAST(%(week)s AS date) - p.clock_start)",
        }
    return {
        "distinct": "IS NOT",
        "collate": "",
        "days_waited": "CAST(julianday(%(week)s) - julianday(p.clock_start) AS integer)",
    }


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
    with connection.cursor() as cursor:
        for statement in (
            _UPDATE_PATIENTS,
            _INSERT_PATIENTS,
            _UPSERT_QUEUES,
            _update_pathways(sql),
            _INSERT_PATHWAYS,
            _RANK_AND_RECORD.format(**sql),
        ):
            cursor.execute(statement, params)
        cursor.execute(_RECORD_LEAVERS, params)
        leavers = cursor.rowcount
        cursor.execute(_QUEUE_WEEKS.format(**sql), params)
        cursor.execute(
            f"SELECT COALESCE(SUM(joiners), 0) FROM {QUEUE_WEEK} WHERE snapshot_id = %(snapshot)s",
            params,
        )
        joiners = cursor.fetchone()[0]
    return int(joiners), leavers


# One patient per NHS number; the birth date follows the latest extract. Updates and inserts
# are separate set-based statements: faster than per-row conflict handling on a whole list.
_UPDATE_PATIENTS = f"""
UPDATE {PATIENT} SET birth_date = s.birth_date
FROM (SELECT nhs_number, MAX(birth_date) AS birth_date FROM {STAGING} GROUP BY nhs_number) s
WHERE {PATIENT}.provider_id = %(provider)s AND {PATIENT}.nhs_number = s.nhs_number
    AND {PATIENT}.birth_date <> s.birth_date
"""

_INSERT_PATIENTS = f"""
INSERT INTO {PATIENT} (provider_id, nhs_number, birth_date)
SELECT %(provider)s, s.nhs_number, MAX(s.birth_date) FROM {STAGING} s
WHERE NOT EXISTS (
    SELECT 1 FROM {PATIENT} pt WHERE pt.provider_id = %(provider)s AND pt.nhs_number = s.nhs_number
)
GROUP BY s.nhs_number
"""

_UPSERT_QUEUES = f"""
INSERT INTO {QUEUE} (provider_id, treatment_function, list_type, consultant_code)
SELECT DISTINCT %(provider)s, treatment_function, list_type, queue_consultant FROM {STAGING}
WHERE 1 = 1
ON CONFLICT (provider_id, treatment_function, list_type, consultant_code) DO NOTHING
"""


_PATHWAY_SOURCE = f"""
FROM {STAGING} s
JOIN {PATIENT} pt ON pt.provider_id = %(provider)s AND pt.nhs_number = s.nhs_number
JOIN {QUEUE} q ON q.provider_id = %(provider)s AND q.treatment_function = s.treatment_function
    AND q.list_type = s.list_type AND q.consultant_code = s.queue_consultant
"""
_COPIED = ["patient_id", "queue_id", *PATHWAY_FIELDS, "left_snapshot_id"]
_NEW_VALUES = ["pt.id", "q.id", *(f"s.{name}" for name in PATHWAY_FIELDS), "NULL"]


def _update_pathways(sql: dict[str, str]) -> str:
    """Rewrites a known pathway only where the extract changed it (or it had left)."""
    assignments = ", ".join(f"{c} = {v}" for c, v in zip(_COPIED, _NEW_VALUES, strict=True))
    booked = f"({PATHWAY}.tci_date, {PATHWAY}.outpatient_appointment_date)"
    return f"""
UPDATE {PATHWAY} SET {assignments}, booked_snapshot_id = CASE
    WHEN s.tci_date IS NULL AND s.outpatient_appointment_date IS NULL THEN NULL
    WHEN {PATHWAY}.left_snapshot_id IS NOT NULL
        OR {booked} {sql["distinct"]} (s.tci_date, s.outpatient_appointment_date)
        THEN %(snapshot)s
    ELSE {PATHWAY}.booked_snapshot_id END
{_PATHWAY_SOURCE}
WHERE {PATHWAY}.provider_id = %(provider)s AND {PATHWAY}.identifier = s.identifier
    AND ({", ".join(f"{PATHWAY}.{c}" for c in _COPIED)})
    {sql["distinct"]} ({", ".join(_NEW_VALUES)})
"""


_INSERT_PATHWAYS = f"""
INSERT INTO {PATHWAY} (
    provider_id, identifier, first_snapshot_id, booked_snapshot_id, {", ".join(_COPIED)}
)
SELECT %(provider)s, s.identifier, %(snapshot)s,
    CASE WHEN s.tci_date IS NOT NULL OR s.outpatient_appointment_date IS NOT NULL
        THEN %(snapshot)s END,
    {", ".join(_NEW_VALUES)}
{_PATHWAY_SOURCE}
WHERE NOT EXISTS (
    SELECT 1 FROM {PATHWAY} known
    WHERE known.provider_id = %(provider)s AND known.identifier = s.identifier
)
"""


# The ranking rule, in one pass: within each queue, ranked pathways (band not null) ordered by
# band, clock start, then identifier; unranked ones (P5/P6) get no position.
_RANK_AND_RECORD = f"""
INSERT INTO {PATHWAY_WEEK} (pathway_id, snapshot_id, band, position)
SELECT p.id, %(snapshot)s, s.band,
    CASE WHEN s.band IS NULL THEN NULL ELSE ROW_NUMBER() OVER (
        PARTITION BY p.queue_id, s.band IS NULL
        ORDER BY s.band, s.clock_start, s.identifier {{collate}}
    ) END
FROM {STAGING} s
JOIN {PATHWAY} p ON p.provider_id = %(provider)s AND p.identifier = s.identifier
"""

# On the list last week, not this week: left (treated, or removed by validation).
_RECORD_LEAVERS = f"""
UPDATE {PATHWAY} SET left_snapshot_id = %(snapshot)s
WHERE id IN (
    SELECT prev.pathway_id FROM {PATHWAY_WEEK} prev
    WHERE prev.snapshot_id = %(previous)s AND NOT EXISTS (
        SELECT 1 FROM {PATHWAY_WEEK} cur
        WHERE cur.pathway_id = prev.pathway_id AND cur.snapshot_id = %(snapshot)s
    )
)
"""

# Each queue's week: size, joiners, leavers by the band they had, and current waits (mean,
# median and 92nd percentile by nearest rank, in whole days).
_QUEUE_WEEKS = f"""
WITH cur AS (
    SELECT p.queue_id, pw.band, {{days_waited}} AS waited,
        CASE WHEN prev.pathway_id IS NULL THEN 1 ELSE 0 END AS joiner
    FROM {PATHWAY_WEEK} pw
    JOIN {PATHWAY} p ON p.id = pw.pathway_id
    LEFT JOIN {PATHWAY_WEEK} prev
        ON prev.pathway_id = pw.pathway_id AND prev.snapshot_id = %(previous)s
    WHERE pw.snapshot_id = %(snapshot)s
), ordered AS (
    SELECT queue_id, waited,
        ROW_NUMBER() OVER (PARTITION BY queue_id ORDER BY waited) AS n,
        COUNT(*) OVER (PARTITION BY queue_id) AS total
    FROM cur
), waits AS (
    SELECT queue_id,
        MAX(CASE WHEN n = (total + 1) / 2 THEN waited END) AS median,
        MAX(CASE WHEN n = (92 * total + 99) / 100 THEN waited END) AS p92
    FROM ordered GROUP BY queue_id
), sizes AS (
    SELECT queue_id, COUNT(*) AS size,
        SUM(CASE WHEN band IS NULL THEN 0 ELSE 1 END) AS ranked,
        SUM(joiner) AS joiners, AVG(waited * 1.0) AS mean_wait
    FROM cur GROUP BY queue_id
), gone AS (
    SELECT p.queue_id, COUNT(*) AS total,
        SUM(CASE WHEN prev.band IS NULL THEN 1 ELSE 0 END) AS b0,
        SUM(CASE WHEN prev.band = 1 THEN 1 ELSE 0 END) AS b1,
        SUM(CASE WHEN prev.band = 2 THEN 1 ELSE 0 END) AS b2,
        SUM(CASE WHEN prev.band = 3 THEN 1 ELSE 0 END) AS b3,
        SUM(CASE WHEN prev.band = 4 THEN 1 ELSE 0 END) AS b4,
        SUM(CASE WHEN prev.band = 5 THEN 1 ELSE 0 END) AS b5,
        SUM(CASE WHEN prev.band = 6 THEN 1 ELSE 0 END) AS b6
    FROM {PATHWAY} p
    JOIN {PATHWAY_WEEK} prev ON prev.pathway_id = p.id AND prev.snapshot_id = %(previous)s
    WHERE p.provider_id = %(provider)s AND p.left_snapshot_id = %(snapshot)s
    GROUP BY p.queue_id
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
