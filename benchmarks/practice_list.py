"""The GP practice list for a practice with 5,000 waiting patients, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/waitwell_practice_bench \\
        .venv/bin/python benchmarks/practice_list.py [--pathways 200000] [--requests 100]

Builds, in a throwaway test database on DATABASE_URL (PostgreSQL only), one trust with
`--pathways` open pathways over 12 queues (practice Y90001 referred `--practice` of them, 39
other practices the rest), `--left` pathways that have left the list, `--weeks` weekly
positions for every open pathway, an estimate for each (5% booked) and a "got worse" answer from
1 patient in 50. The rows are written by set-based SQL (not timed): the list only reads them.

Then signs in as a practice account and renders the list through Django's test client (the
whole request: middleware, access checks, queries, template, audit record), `--requests` times
per variant, and prints the median and 95th percentile in milliseconds and the queries per
page. Target: under 300 ms with the same number of queries whatever the list's size.

The tables are as the migrations make them, with the index of a practice's pathways
(`pathway_by_practice`, migrations 0005 and 0007): without it, each page read the whole
trust's pathways twice (the count and the page); `--without-index` drops it to compare.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-0123456789-0123456789-0123456789")
os.environ.setdefault("SECURE_SSL_REDIRECT", "off")
os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="waitwell-bench-")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

PRACTICE = "Y90001"
LAST_WEEK = date(2026, 11, 22)
TREATMENT_FUNCTIONS = ["110", "130", "120", "101", "100", "502"]
SEARCHED = "9434765919"  # a valid NHS number, given to one of the practice's patients


def build(practice: int, pathways: int, left: int, weeks: int):
    """The trust and its rows; returns the practice account."""
    from allauth.mfa.totp.internal.auth import TOTP

    from portal.models import User
    from portal.roles import Role
    from waitinglist.models import Provider, Queue, Snapshot

    trust = Provider.objects.create(ods_code="RBQ", name="Benchmark NHS Trust")
    snapshots = [
        Snapshot.objects.create(
            provider=trust,
            week_ending=LAST_WEEK - timedelta(weeks=w),
            file_name=f"week-{w}.csv",
            file_sha256=f"{w:064d}",
        )
        for w in reversed(range(weeks))
    ]
    queues = [
        Queue.objects.create(provider=trust, treatment_function=tf, list_type=lt)
        for tf in TREATMENT_FUNCTIONS
        for lt in ("IRTT", "ORTT")
    ]
    total = pathways + left
    params = {
        "trust": trust.pk,
        "total": total,
        "open": pathways,
        "practice": practice,
        "code": PRACTICE,
        "first_queue": queues[0].pk,
        "queues": len(queues),
        "first": snapshots[0].pk,
        "latest": snapshots[-1].pk,
        "week": LAST_WEEK,
    }
    with connection.cursor() as cursor:
        cursor.execute(PATIENTS, params)
        cursor.execute(PATHWAYS, params)
        cursor.execute(POSITIONS, {**params, "snapshots": [s.pk for s in snapshots]})
        cursor.execute(ESTIMATES, params)
        cursor.execute(RESPONSES, params)
        cursor.execute(SEARCHABLE, {**params, "number": SEARCHED})
        cursor.execute("ANALYZE")
    user = User.objects.create_user("practice@bench.invalid", provider=trust)
    user.practice_ods_code = PRACTICE
    user.save()
    user.add_role(Role.GP_PRACTICE)
    TOTP.activate(user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    return user


PATIENTS = """
INSERT INTO waitinglist_patient (provider_id, nhs_number, birth_date)
SELECT %(trust)s, lpad(g::text, 10, '0'), DATE '1940-01-01' + (g %% 25000)
FROM generate_series(1, %(total)s) g
"""
# The first `practice` open pathways belong to the practice; the rest of the list (and of those
# that left) to 39 other practices. Waits spread over 0 to 104 weeks.
PATHWAYS = """
INSERT INTO waitinglist_pathway (
    provider_id, identifier, patient_id, queue_id, clock_start, procedure_priority,
    priority_type, band, procedure_code, consultant_code, local_patient_identifier, tci_date,
    outpatient_appointment_date, last_validated, referring_organisation, email, mobile,
    first_snapshot_id, left_snapshot_id
)
SELECT %(trust)s, 'RBQ' || lpad(g::text, 9, '0'), p.id, %(first_queue)s + g %% %(queues)s,
       %(week)s::date - (g::bigint * 7919 %% 730)::int, 'P4', '1', 4,
       CASE WHEN g %% 3 = 0 THEN 'W40.1' ELSE '' END, 'C1234567', '',
       CASE WHEN g %% 20 = 0 THEN %(week)s::date + 14 + g %% 30 END, NULL,
       CASE WHEN g %% 4 = 0 THEN %(week)s::date - g %% 200 END,
       CASE WHEN g <= %(practice)s THEN %(code)s
            ELSE 'Y9' || lpad((2 + g %% 39)::text, 4, '0') END,
       '', '', %(first)s, CASE WHEN g > %(open)s THEN %(latest)s END
FROM generate_series(1, %(total)s) g
JOIN waitinglist_patient p ON p.provider_id = %(trust)s AND p.nhs_number = lpad(g::text, 10, '0')
"""
POSITIONS = """
INSERT INTO waitinglist_pathwayweek (pathway_id, snapshot_id, position, band)
SELECT id, s, row_number() OVER (PARTITION BY queue_id, s ORDER BY clock_start, id), 4
FROM waitinglist_pathway, unnest(%(snapshots)s::int[]) s
WHERE provider_id = %(trust)s AND left_snapshot_id IS NULL
"""
ESTIMATES = """
INSERT INTO waitinglist_estimate (pathway_id, snapshot_id, p10, p50, p90, basis)
SELECT id, %(latest)s,
       coalesce(tci_date, %(week)s::date + 30), coalesce(tci_date, %(week)s::date + 90),
       coalesce(tci_date, %(week)s::date + 200),
       CASE WHEN tci_date IS NULL THEN 'model' ELSE 'booked' END
FROM waitinglist_pathway WHERE provider_id = %(trust)s AND left_snapshot_id IS NULL
"""
RESPONSES = """
INSERT INTO waitinglist_patientresponse (pathway_id, answer, details, outcome, created_at)
SELECT id, 'worse', '', '', now() - (id %% 60) * interval '1 day'
FROM waitinglist_pathway WHERE provider_id = %(trust)s AND id %% 50 = 0
"""
SEARCHABLE = """
UPDATE waitinglist_patient SET nhs_number = %(number)s
WHERE id = (SELECT patient_id FROM waitinglist_pathway
            WHERE provider_id = %(trust)s AND referring_organisation = %(code)s
            ORDER BY id LIMIT 1 OFFSET %(practice)s / 2)
"""


VARIANTS = {
    "list, page 1": ("get", {}),
    "list, page 25": ("get", {"page": "25"}),
    "over 18 weeks": ("get", {"waited": "18"}),
    "over 52 weeks": ("get", {"waited": "52"}),
    "worse flag": ("get", {"worse": "on"}),
    "specialty": ("get", {"specialty": "130"}),
    "all filters": ("get", {"specialty": "110", "waited": "18", "worse": "on"}),
    "search by NHS number": ("post", {"nhs_number": "943 476 5919"}),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--practice", type=int, default=5_000)
    parser.add_argument("--pathways", type=int, default=200_000)
    parser.add_argument("--left", type=int, default=100_000)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--without-index", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL server: this benchmark is for production.")

    call_command("collectstatic", interactive=False, verbosity=0)
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        started = time.perf_counter()
        user = build(args.practice, args.pathways, args.left, args.weeks)
        print(
            f"built {args.pathways:,} open pathways ({args.practice:,} of practice {PRACTICE}), "
            f"{args.left:,} left, {args.weeks} weeks in {time.perf_counter() - started:.0f} s"
        )
        client = Client()
        client.force_login(user)
        print(f"{args.requests} requests per variant on {connection.vendor}")
        with connection.cursor() as cursor:
            if args.without_index:
                cursor.execute("DROP INDEX pathway_by_practice")
            cursor.execute("ANALYZE waitinglist_pathway")
        title = "without the practice index" if args.without_index else "tables as migrated"
        report(client, args.requests, title)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def report(client: Client, requests: int, title: str) -> None:
    print(f"\n{title}")
    print(f"{'variant':<24} {'rows':>6} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8}")
    for label, (method, params) in VARIANTS.items():
        timings, queries, rows = measure(client, method, params, requests)
        p95 = statistics.quantiles(timings, n=20)[-1]
        print(f"{label:<24} {rows:>6} {statistics.median(timings):>8.1f} {p95:>8.1f} {queries:>8}")


def _session_write(sql: str) -> bool:
    return "django_session" in sql or sql.startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"))


def measure(client: Client, method: str, params: dict, requests: int):
    """Times the page `requests` times after one warm-up view; (timings, queries, rows). The
    queries are the page's own: the session middleware adds its write once a minute."""
    send = getattr(client, method)
    send("/practice/", params)
    timings = []
    counts = []
    for _ in range(requests):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = send("/practice/", params)
            timings.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            sys.exit(f"{params} answered {response.status_code}")
        counts.append(sum(1 for q in queries if not _session_write(q["sql"])))
        if counts[-1] != counts[0]:
            sys.exit(f"{params}: {counts[0]} queries, then: {[q['sql'][:200] for q in queries]}")
    rows = response.content.decode().count('id="patient-')
    return timings, counts[0], rows


if __name__ == "__main__":
    main()
