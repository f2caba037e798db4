"""NHS login end to end, against a real OpenID Connect provider set up like NHS login.

The provider is the OpenID-certified `oidc-provider` package from npm, run by Node.js on
loopback (tests/oidc/nhs_login.mjs): authorisation-code flow, private_key_jwt client
authentication signed RS512, RS512 ID tokens with `nhs_number`, `birthdate` and `vot`. Nothing
of ours is mocked: the browser signs in on the provider's own pages.
"""

import json
import shutil
import socket
import subprocess
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from portal.nhs_login import views as nhs_login
from tests.extracts import WEEK, pathway, week_of, write_extract
from tests.factories import ProviderFactory
from tests.test_browser import check_page, follow
from waitinglist.models import PatientLink

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "tests" / "oidc" / "nhs_login.mjs"
CLIENT_ID = "wait-well-test-client"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def nhs_login_server(tmp_path, live_server, settings):
    """Starts the provider; points the portal at it with a fresh client key pair."""
    if not shutil.which("node"):
        pytest.fail("Node.js is needed to run the OpenID Connect provider")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "client-key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    port = free_port()
    accounts = {
        "verified-patient": {
            "nhs_number": pathway("N1")["NHS_NUMBER"],
            "birthdate": "1960-05-17",
            "family_name": "Example",
            "email": "verified.patient@example.com",
            "email_verified": True,
            "vot": "P9.Cp.Cd",
            "identity_proofing_level": "P9",
        },
        "low-level": {
            "nhs_number": pathway("N1")["NHS_NUMBER"],
            "email": "unverified.patient@example.com",
            "email_verified": True,
            "vot": "P0.Cp",
        },
    }
    config = tmp_path / "oidc.json"
    config.write_text(
        json.dumps(
            {
                "port": port,
                "client_id": CLIENT_ID,
                "redirect_uri": f"{live_server.url}/accounts/nhs_login/login/callback/",
                "client_public_jwk": {**public_jwk, "alg": "RS512", "use": "sig"},
                "accounts": accounts,
            }
        )
    )
    process = subprocess.Popen(
        ["node", str(SERVER), str(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started = []  # Node may print warnings first
    while len(started) < 10 and "ready" not in started:
        started.append(process.stdout.readline().strip())
    assert "ready" in started, f"the OpenID provider did not start: {started}"
    server_url = f"http://127.0.0.1:{port}"
    settings.NHS_LOGIN_CLIENT_ID = CLIENT_ID
    settings.SECURE_CSP = {**settings.SECURE_CSP, "form-action": ["'self'", server_url]}
    settings.NHS_LOGIN_PRIVATE_KEY_FILE = str(key_file)
    settings.SOCIALACCOUNT_PROVIDERS = {
        "nhs_login": {
            "APPS": [
                {
                    "provider_id": nhs_login.PROVIDER_ID,
                    "name": "NHS login",
                    "client_id": CLIENT_ID,
                    "secret": "",
                    "settings": {
                        "server_url": server_url,
                        "scope": ["openid", "profile", "email"],
                        "auth_params": {"vtr": settings.NHS_LOGIN_VTR},
                        "fetch_userinfo": False,
                    },
                }
            ],
        }
    }
    yield server_url
    process.terminate()
    process.wait(timeout=10)


def import_waits(tmp_path):
    ProviderFactory(ods_code="RXX")
    rows = [pathway("N1"), pathway("N1B", NHS_NUMBER=pathway("N1")["NHS_NUMBER"]), pathway("Q2")]
    files = [
        write_extract(tmp_path / f"w{w}.csv", week_of(rows, WEEK + timedelta(weeks=w)))
        for w in range(2)
    ]
    call_command("import_waiting_list", *map(str, files))


def sign_in_with_nhs_login(page, account: str) -> None:
    page.goto("/accounts/login/")
    check_page(page)
    follow(page, page.get_by_role("button", name="Continue with NHS login"))
    # The provider's own sign-in and consent pages.
    page.locator("input[name=login]").fill(account)
    page.locator("input[name=password]").fill("any password")
    follow(page, page.locator("button[type=submit]"))
    follow(page, page.locator("button[type=submit]"))


def test_nhs_login_links_every_pathway_of_the_verified_nhs_number(page, nhs_login_server, tmp_path):
    import_waits(tmp_path)
    sign_in_with_nhs_login(page, "verified-patient")
    page.goto("/my-wait/")
    expect(page.get_by_role("heading", name="Your hospital waits")).to_be_visible()
    links = PatientLink.objects.select_related("user", "patient")
    assert [(link.user.email, link.method) for link in links] == [
        ("verified.patient@example.com", "nhs-login")
    ]
    assert set(links[0].patient.pathways.values_list("identifier", flat=True)) == {"N1", "N1B"}
    assert page.locator("section[id^=pathway-]").count() == 2
    body = page.content()
    assert links[0].patient.nhs_number not in body  # never shown to the patient
    check_page(page)


def test_nhs_login_below_p9_links_nothing(page, nhs_login_server, tmp_path):
    import_waits(tmp_path)
    sign_in_with_nhs_login(page, "low-level")
    page.goto("/my-wait/")
    expect(page.get_by_text("You have no hospital waits linked to your account.")).to_be_visible()
    assert not PatientLink.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["nhs_login_login", "nhs_login_callback"])
def test_without_nhs_login_configured_its_pages_are_not_found(client, settings, page):
    settings.SOCIALACCOUNT_PROVIDERS = {"nhs_login": {"APPS": []}}
    assert client.get(reverse(page)).status_code == 404
