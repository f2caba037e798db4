"""Sending with real parts: a real Celery worker process on Redis and PostgreSQL, the real
GOV.UK Notify client, a Notify stand-in on loopback. Killing the worker with SIGKILL in the
middle of a run of 1,000 subscribers, then starting another, ends with every subscriber sent
exactly one message."""

import os
import signal
import subprocess
import sys
import tempfile
from collections import Counter

import pytest
from django.utils import timezone

from portal.celery import app
from portal.models import User
from tests.conftest import ROOT, database_url, wait_for
from tests.notify_server import API_KEY, EMAIL_TEMPLATE, SMS_TEMPLATE, FakeNotify
from updates import outbox
from updates.models import OutboxMessage, Subscription
from updates.tasks import publish, send_message

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]
SUBSCRIBERS = 1000


def start_worker(notify: FakeNotify, log, redis_url: str | None = None) -> subprocess.Popen:
    env = {
        **os.environ,
        **({"REDIS_URL": redis_url} if redis_url else {}),
        "DATABASE_URL": database_url(),
        "GOVUK_NOTIFY_API_KEY": API_KEY,
        "GOVUK_NOTIFY_BASE_URL": notify.url,
        "GOVUK_NOTIFY_EMAIL_TEMPLATE_ID": EMAIL_TEMPLATE,
        "GOVUK_NOTIFY_SMS_TEMPLATE_ID": SMS_TEMPLATE,
        "UPDATES_RATE_PER_MINUTE": "600000",
        "UPDATES_LEASE_SECONDS": "2",
    }
    command = [
        sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "-Q", "celery",
        "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=WARNING",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def a_run(count: int) -> list[int]:
    """A digest run's outbox: one queued email for each of `count` subscribers."""
    users = User.objects.bulk_create(User(email=f"patient{n}@example.com") for n in range(count))
    subscriptions = Subscription.objects.bulk_create(Subscription(user=u) for u in users)
    context = {"hospital": "Test Hospitals NHS Trust", "waits": [{"position": 12}]}
    messages = OutboxMessage.objects.bulk_create(
        OutboxMessage(subscription=s, kind="digest", period="2026-11", channel="email",
                      to=s.user.email, context=context)
        for s in subscriptions
    )  # fmt: skip
    return [m.pk for m in messages]


def test_a_worker_killed_mid_run_leaves_every_subscriber_one_message(settings):
    settings.UPDATES_LEASE_SECONDS = 2
    app.control.purge()
    ids = a_run(SUBSCRIBERS)
    with FakeNotify(delay=0.005) as notify, tempfile.TemporaryFile() as log:
        worker = start_worker(notify, log)
        try:
            publish(ids)
            assert wait_for(lambda: len(notify.sent) >= SUBSCRIBERS // 4, 120)
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
            assert len(notify.sent) < SUBSCRIBERS  # it died mid-run
            worker = start_worker(notify, log)

            def all_sent() -> bool:
                # The sweeper's job (every 5 minutes in production): publish what is stuck.
                publish(outbox.stuck())
                return OutboxMessage.objects.filter(state="sent").count() == SUBSCRIBERS

            assert wait_for(all_sent, 180), OutboxMessage.objects.exclude(state="sent").count()
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            log.seek(0)
            print(log.read().decode(errors="replace")[-5000:])
        references = notify.references()
        repeated = [int(r.removeprefix("ww-")) for r, n in Counter(references).items() if n > 1]
        assert not repeated, list(
            OutboxMessage.objects.filter(pk__in=repeated).values("pk", "state", "attempts")
        )
        assert sorted(references) == sorted(f"ww-{pk}" for pk in ids)  # each exactly once
    assert not OutboxMessage.objects.filter(sent_at__gt=timezone.now()).exists()


def start_redis(port: int) -> subprocess.Popen:
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    assert wait_for(lambda: _answers(port), 10)
    return server


def _answers(port: int) -> bool:
    import redis

    try:
        return redis.Redis(port=port).ping()
    except redis.ConnectionError:
        return False


def test_a_redis_restart_mid_run_loses_nothing(settings):
    """Redis keeps nothing on disk here: a restart loses every task queued in it. The outbox
    is in PostgreSQL, so the sweeper publishes the lost messages again."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    settings.UPDATES_LEASE_SECONDS = 2
    ids = a_run(300)
    redis_server = start_redis(port)
    with FakeNotify(delay=0.01) as notify, tempfile.TemporaryFile() as log:
        worker = start_worker(notify, log, redis_url=url)

        def publish_here(message_ids):
            with app.connection_for_write(url) as connection:
                for pk in message_ids:
                    send_message.apply_async((pk,), connection=connection)

        try:
            publish_here(ids)
            assert wait_for(lambda: len(notify.sent) >= 50, 60)
            redis_server.kill()
            redis_server.wait()
            redis_server = start_redis(port)  # empty: the queued tasks are gone
            assert len(notify.sent) < 300

            def all_sent() -> bool:
                publish_here(outbox.stuck())
                return OutboxMessage.objects.filter(state="sent").count() == 300

            assert wait_for(all_sent, 180), OutboxMessage.objects.exclude(state="sent").count()
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            redis_server.terminate()
            redis_server.wait(timeout=10)
            log.seek(0)
            print(log.read().decode(errors="replace")[-5000:])
        assert sorted(notify.references()) == sorted(f"ww-{pk}" for pk in ids)
