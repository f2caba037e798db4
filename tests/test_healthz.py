"""/healthz tells a load balancer whether this instance can reach its database and broker."""

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from portal.celery import app as celery_app


@pytest.mark.django_db
def test_it_reports_ok_when_database_and_broker_answer(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert "no-cache" in response.headers["Cache-Control"]


@pytest.mark.django_db
def test_it_reports_503_when_the_broker_is_unreachable(client, monkeypatch):
    # Nothing listens on port 1: a real connection attempt that is refused.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "unreachable"}


# On SQLite the test database lives in memory and its connection is never really closed.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_reports_503_when_the_database_is_unreachable(client):
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        response = client.get(reverse("healthz"))
    finally:
        connection.close()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unreachable"


@pytest.mark.redis
@pytest.mark.django_db
def test_it_checks_the_real_redis_broker(client):
    assert settings.CELERY_BROKER_URL.startswith("redis")
    assert client.get(reverse("healthz")).json()["checks"]["broker"] == "ok"


@pytest.mark.postgres
@pytest.mark.django_db
def test_it_checks_the_real_postgresql_database(client):
    assert connection.vendor == "postgresql"
    assert client.get(reverse("healthz")).json()["checks"]["database"] == "ok"
