"""Every response carries the browser protections a trust's security review asks for."""

import re

import pytest
from django.urls import reverse

PAGES = ["start", "account_login", "account_signup", "accessibility"]


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_it_sends_a_strict_content_security_policy(client, page):
    response = client.get(reverse(page))
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    nonce = re.search(r"'nonce-([\w-]+)'", policy).group(1)
    # Every script tag carries this response's nonce and none has inline code.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", response.content.decode(), re.S)
    assert scripts
    for attributes, body in scripts:
        if 'type="application/json"' in attributes:
            continue  # data blocks are never executed
        assert f'nonce="{nonce}"' in attributes
        assert "src=" in attributes and body.strip() == ""


@pytest.mark.django_db
def test_nonces_differ_between_responses(client):
    first = client.get(reverse("start")).headers["Content-Security-Policy"]
    second = client.get(reverse("start")).headers["Content-Security-Policy"]
    assert first != second


@pytest.mark.django_db
def test_it_forbids_framing_and_leaking_referrers(client):
    response = client.get(reverse("start"))
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_it_redirects_plain_http_to_https_in_production(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(reverse("start"))
    assert response.status_code == 301
    assert response.headers["Location"].startswith("https://")


@pytest.mark.django_db
def test_healthz_answers_over_plain_http_for_load_balancers(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(reverse("healthz")).status_code == 200
