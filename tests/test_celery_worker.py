"""A real Celery worker, started as its own process, runs the portal's tasks from Redis."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from portal.tasks import clear_expired_sessions
from tests.conftest import ROOT


def database_url() -> str:
    """The test database, as a URL the worker process can use."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker():
    queue = f"test-{uuid.uuid4().hex}"
    env = {**os.environ, "DATABASE_URL": database_url()}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield queue
    process.terminate()
    output, _ = process.communicate(timeout=30)
    print(output)


def wait_for(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_worker_clears_expired_sessions_and_keeps_live_ones(worker):
    now = timezone.now()
    Session.objects.create(session_key="a" * 32, session_data="", expire_date=now - timedelta(1))
    Session.objects.create(session_key="b" * 32, session_data="", expire_date=now + timedelta(1))

    clear_expired_sessions.apply_async(queue=worker)

    assert wait_for(lambda: not Session.objects.filter(session_key="a" * 32).exists())
    assert Session.objects.filter(session_key="b" * 32).exists()


def test_beat_runs_the_session_sweep_every_night():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["clear-expired-sessions"]
    assert entry["task"] == clear_expired_sessions.name
    assert entry["schedule"].hour == {3}
