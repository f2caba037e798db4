"""Repeated wrong passwords lock an account's sign-in for a while (OWASP ASVS 2.2.1)."""

import pytest
import redis
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory


def attempt(client, email, password):
    return client.post(reverse("account_login"), {"login": email, "password": password})


@pytest.mark.django_db
def test_five_wrong_passwords_lock_out_even_the_right_one(client, patient, password):
    for _ in range(5):
        assert attempt(client, patient.email, "not the password at all").status_code == 200
    locked = attempt(client, patient.email, password)
    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in locked.content.decode()


@pytest.mark.django_db
def test_four_wrong_passwords_do_not_lock_out(client, patient, password):
    for _ in range(4):
        attempt(client, patient.email, "not the password at all")
    attempt(client, patient.email, password)
    assert client.session["_auth_user_id"] == str(patient.pk)


@pytest.mark.django_db
def test_one_locked_account_does_not_lock_another(client, patient, password):
    other = UserFactory(password=password)
    for _ in range(5):
        attempt(client, patient.email, "not the password at all")
    fresh = Client()
    attempt(fresh, other.email, password)
    assert fresh.session["_auth_user_id"] == str(other.pk)


@pytest.mark.redis
@pytest.mark.django_db
def test_the_lockout_is_kept_in_redis_so_every_web_worker_sees_it(client, patient, password):
    for _ in range(5):
        attempt(client, patient.email, "not the password at all")
    keys = redis.Redis.from_url(settings.REDIS_URL).keys("waitwell:*")
    assert any(b"login_failed" in key for key in keys)
    # A second client (as another web worker would) is refused too.
    other = Client()
    attempt(other, patient.email, password)
    assert "_auth_user_id" not in other.session
