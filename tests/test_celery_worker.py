"""A real Celery worker, started as its own process, runs the portal's tasks from Redis."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from portal.tasks import clear_expired_sessions
from tests.conftest import wait_for


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_worker_clears_expired_sessions_and_keeps_live_ones(celery_worker):
    now = timezone.now()
    Session.objects.create(session_key="a" * 32, session_data="", expire_date=now - timedelta(1))
    Session.objects.create(session_key="b" * 32, session_data="", expire_date=now + timedelta(1))

    clear_expired_sessions.apply_async(queue=celery_worker)

    assert wait_for(lambda: not Session.objects.filter(session_key="a" * 32).exists())
    assert Session.objects.filter(session_key="b" * 32).exists()


def test_beat_runs_the_session_sweep_every_night():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["clear-expired-sessions"]
    assert entry["task"] == clear_expired_sessions.name
    assert entry["schedule"].hour == {3}


def test_every_scheduled_task_is_one_the_workers_know():
    # A misspelt task name in the schedule would fail only in production, every time it ran.
    from django.conf import settings

    from portal.celery import app

    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name
