"""Sessions end after 30 minutes idle and 12 hours in all, however active (OWASP ASVS 3.3)."""

import time

import pytest
from django.conf import settings
from django.urls import reverse

from portal.middleware import LAST_SEEN, LOGIN_AT


def signed_in(client, user, password):
    client.post(reverse("account_login"), {"login": user.email, "password": password})
    assert client.get(reverse("home")).status_code == 200
    return client


def set_session(client, **values):
    session = client.session
    session.update(values)
    session.save()


@pytest.mark.django_db
def test_an_active_session_carries_on(client, patient, password):
    signed_in(client, patient, password)
    now = int(time.time())
    set_session(client, **{LAST_SEEN: now - settings.SESSION_IDLE_TIMEOUT + 60})
    assert client.get(reverse("home")).status_code == 200
    assert client.session[LAST_SEEN] >= now


@pytest.mark.django_db
def test_it_signs_out_after_30_minutes_idle(client, patient, password):
    assert settings.SESSION_IDLE_TIMEOUT == 30 * 60
    signed_in(client, patient, password)
    set_session(client, **{LAST_SEEN: int(time.time()) - 30 * 60 - 1})
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_it_signs_out_12_hours_after_sign_in_even_when_active(client, patient, password):
    assert settings.SESSION_ABSOLUTE_TIMEOUT == 12 * 60 * 60
    signed_in(client, patient, password)
    now = int(time.time())
    set_session(client, **{LOGIN_AT: now - 12 * 60 * 60 - 1, LAST_SEEN: now})
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain[0][0].startswith(reverse("account_login"))
    assert b"You have been signed out to keep your information safe." in response.content


@pytest.mark.django_db
def test_the_session_cookie_does_not_outlive_the_absolute_limit(client, patient, password):
    signed_in(client, patient, password)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["secure"]
    # Without "remember me" the cookie ends with the browser; the server enforces the rest.
    assert cookie["max-age"] in ("", None) or int(cookie["max-age"]) <= 12 * 60 * 60
