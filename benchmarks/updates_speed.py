"""How fast a digest run is composed and queued, and whether sending holds the configured rate.

    .venv/bin/python benchmarks/updates_speed.py compose --subscribers 100000
    .venv/bin/python benchmarks/updates_speed.py rate --per-minute 3000 --seconds 60

`compose` simulates and imports a trust big enough (not timed), subscribes that many patients
(one linked wait each), then times `start_digest_run`: the facts of every wait read, one
outbox row per subscriber written, one Celery task each published to Redis (target under 60
seconds for 100,000). `rate` queues messages for two real worker processes sending to a
GOV.UK Notify stand-in on loopback through the real client, and prints the rate Notify saw,
second by second and over the whole run (target: within 5% of the configured rate, never
above it). Uses BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/waitwell_updates_bench,
dropped and recreated) and BENCH_REDIS_URL (default redis://127.0.0.1:6379/11, emptied).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/waitwell_updates_bench"
)
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
os.environ.update(
    {
        "DATABASE_URL": DATABASE,
        "REDIS_URL": REDIS,
        "SECRET_KEY": "benchmark-only-secret-key-0123456789-0123456789-0123456789",
        "LOG_LEVEL": "WARNING",
        "VAR_DIR": tempfile.mkdtemp(prefix="waitwell-updates-bench-"),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
)


def fresh_database() -> None:
    base, name = DATABASE.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)


def compose(subscribers: int) -> None:
    import django

    django.setup()
    from django.core.cache import cache

    from portal.celery import app
    from portal.models import User
    from updates.compose import start_digest_run
    from updates.models import Subscription
    from updates.tasks import publish
    from waitinglist.estimates import recompute
    from waitinglist.importer import import_snapshot
    from waitinglist.models import Patient, PatientLink, Provider
    from waitinglist.simulation import simulate_trust

    cache.clear()
    app.control.purge()
    trust = Provider.objects.create(ods_code="RBU", name="Benchmark Hospitals NHS Trust")
    started = time.perf_counter()
    folder = Path(os.environ["VAR_DIR"]) / "extracts"
    files = simulate_trust("RBU", 6, 1, folder, int(subscribers * 1.6), last_week=LAST_WEEK)
    for path in files:
        import_snapshot(path)
    recompute(trust)
    patients = list(
        Patient.objects.filter(provider=trust, pathways__left_snapshot__isnull=True)
        .distinct()
        .values_list("pk", flat=True)[:subscribers]
    )
    users = User.objects.bulk_create(
        (User(email=f"patient{n}@bench.invalid") for n in range(subscribers)), batch_size=5000
    )
    PatientLink.objects.bulk_create(
        (
            PatientLink(user=u, patient_id=p, method="nhs-login")
            for u, p in zip(users, patients, strict=False)
        ),
        batch_size=5000,
    )
    Subscription.objects.bulk_create((Subscription(user=u) for u in users), batch_size=5000)
    print(f"set up {subscribers} subscribers in {time.perf_counter() - started:.0f} s")

    # Two worker processes read only the fanout queue: they publish the run's chunks, and the
    # send tasks they publish wait in the default queue, where they can be counted.
    command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo",
               "-Q", "fanout", "--without-heartbeat", "--without-gossip", "--without-mingle",
               "--loglevel=WARNING"]  # fmt: skip
    workers = [
        subprocess.Popen(
            [*command, "-n", f"fanout{n}@%h"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n in range(2)
    ]
    broker = app.connection_for_read()
    try:
        time.sleep(5)  # the workers start
        started = time.perf_counter()
        queued = start_digest_run(trust, date(2026, 11, 24), publish)
        handed = time.perf_counter() - started
        waiting = broker.default_channel.client
        while waiting.llen("celery") < queued and time.perf_counter() - started < 300:
            time.sleep(0.1)
        took = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=30)
        broker.release()
    print(f"digest run: {queued} messages composed and written, and the run handed to the "
          f"workers, in {handed:.1f} s; all {waiting.llen('celery')} send tasks queued in "
          f"Redis after {took:.1f} s (target under 60 s for 100,000)")  # fmt: skip
    started = time.perf_counter()
    again = start_digest_run(trust, date(2026, 11, 24), publish)
    print(f"the same run again: {again} queued in {time.perf_counter() - started:.1f} s")


LAST_WEEK = date(2026, 11, 22)


def rate(per_minute: int, seconds: int) -> None:
    import django

    os.environ["UPDATES_RATE_PER_MINUTE"] = str(per_minute)
    django.setup()
    from django.core.cache import cache

    from portal.celery import app
    from portal.models import User
    from tests.notify_server import API_KEY, EMAIL_TEMPLATE, SMS_TEMPLATE, FakeNotify
    from updates.models import OutboxMessage, Subscription
    from updates.tasks import publish

    cache.clear()
    app.control.purge()
    count = int(per_minute / 60 * seconds * 1.2)  # more than the rate allows in the time
    users = User.objects.bulk_create(User(email=f"p{n}@bench.invalid") for n in range(count))
    subscriptions = Subscription.objects.bulk_create(Subscription(user=u) for u in users)
    messages = OutboxMessage.objects.bulk_create(
        OutboxMessage(subscription=s, kind="digest", period="2026-11", channel="email",
                      to=s.user.email, context={"hospital": "Bench", "waits": []})
        for s in subscriptions
    )  # fmt: skip
    with FakeNotify() as notify, tempfile.TemporaryFile() as log:
        env = {**os.environ, "GOVUK_NOTIFY_API_KEY": API_KEY,
               "GOVUK_NOTIFY_BASE_URL": notify.url,
               "GOVUK_NOTIFY_EMAIL_TEMPLATE_ID": EMAIL_TEMPLATE,
               "GOVUK_NOTIFY_SMS_TEMPLATE_ID": SMS_TEMPLATE}  # fmt: skip
        command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo",
                   "--without-heartbeat", "--without-gossip", "--without-mingle",
                   "--loglevel=WARNING"]  # fmt: skip
        workers = [
            subprocess.Popen([*command, "-n", f"bench{n}@%h"], cwd=ROOT, env=env, stdout=log,
                             stderr=subprocess.STDOUT)
            for n in range(2)
        ]  # fmt: skip
        try:
            time.sleep(3)
            publish([m.pk for m in messages])
            start = time.time()
            time.sleep(seconds)
            with notify.lock:
                times = sorted(n["received_at"] for n in notify.sent)
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(timeout=30)
    window = [t for t in times if start + 5 <= t < start + seconds]  # workers warmed up
    span = seconds - 5
    achieved = len(window) / span * 60
    per_second = Counter(int(t) for t in times)
    busiest = max(per_second.values()) if per_second else 0
    # Notify's limit is per minute: the most sent in any 60 seconds (each message starting one).
    most, ahead = 0, 0
    for n, t in enumerate(times):
        while times[ahead] < t - 60:
            ahead += 1
        most = max(most, n - ahead + 1)
    print(f"configured {per_minute}/min; Notify saw {achieved:.0f}/min over {span} s "
          f"({achieved / per_minute - 1:+.1%}); at most {most} in any 60 s; busiest second "
          f"{busiest} (the limiter allows {max(1, per_minute // 61)}); "
          f"{len(times)} sent in all")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["compose", "rate"])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--per-minute", type=int, default=3000)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    fresh_database()
    if args.mode == "compose":
        compose(args.subscribers)
    else:
        rate(args.per_minute, args.seconds)


if __name__ == "__main__":
    main()
