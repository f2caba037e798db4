"""Shared fixtures, and the rule for tests that need PostgreSQL, Redis or Chromium.

Such tests carry a marker (postgres, redis, browser). Without the service they are skipped with
the reason, so `make test` works anywhere; with REQUIRE_SERVICES=1 (as `.ci/run` sets) a missing
service fails them instead, so CI can never pass by skipping.
"""

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import override_settings

from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def _missing(marker: str) -> str | None:
    """Why the service a marker needs is unavailable, or None if it is there."""
    if marker == "postgres" and settings.DATABASES["default"]["ENGINE"] != (
        "django.db.backends.postgresql"
    ):
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if marker == "redis" and not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL=redis://..."
    if marker == "browser":
        if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
            return f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
        if not AXE.exists():
            return "needs axe-core from npm (make install)"
    return None


def pytest_runtest_setup(item):
    required = os.environ.get("REQUIRE_SERVICES") == "1"
    for marker in ("postgres", "redis", "browser"):
        if marker in item.keywords and (reason := _missing(marker)):
            if required:
                pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
            pytest.skip(reason)


def session_reads() -> int:
    """Queries a signed-in request spends on its session: none where sessions are cached (with
    Redis, as in CI), one where each request reads it from the database (`make test` alone)."""
    return 0 if settings.SESSION_ENGINE.endswith("cached_db") else 1


@pytest.fixture(autouse=True, scope="session")
def _plain_static_storage():
    # Pages name static files without needing collectstatic's manifest first; test_static.py
    # checks the production storage itself.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    with override_settings(
        # Hashing passwords at full strength would make the suite several times slower.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ):
        yield


@pytest.fixture(autouse=True)
def _empty_cache():
    # Rate-limit counters live in the cache (Redis in CI): each test starts with none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def password() -> str:
    return "a-long-enough-test-passphrase"


@pytest.fixture
def patient(db, password):
    return UserFactory(role="Patient", password=password)


@pytest.fixture
def trust(db):
    """The trust the test extracts belong to (ODS code RXX)."""
    from tests.factories import ProviderFactory

    return ProviderFactory(ods_code="RXX", name="Test Hospitals NHS Trust")


def database_url() -> str:
    """The test database, as a URL the worker process can use."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def celery_worker(request):
    """A real `celery worker` process on the test database; yields the queue it listens to.

    Tests that use it need Redis and PostgreSQL (the worker is another process, so it cannot
    share the in-memory SQLite test database). A test may name the queue with
    @pytest.mark.worker_queue("celery").
    """
    marker = request.node.get_closest_marker("worker_queue")
    queue = marker.args[0] if marker else f"test-{uuid.uuid4().hex}"
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


RECORD_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  (window.__cspViolations = window.__cspViolations || []).push(
    e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture(scope="module")
def chromium():
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls in the tests
    # are still synchronous, so allow them.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(chromium, live_server, settings):
    # The live server speaks plain HTTP, so cookies cannot be marked Secure here.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1024, "height": 768}
    )
    context.set_default_timeout(10_000)
    # The NHS.UK font host is out of reach from a test machine: fail those requests at once.
    context.route("https://assets.nhs.uk/**", lambda route: route.abort())
    context.add_init_script(RECORD_CSP_VIOLATIONS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def notify(settings):
    """A GOV.UK Notify stand-in on loopback, with the portal configured to send through it."""
    from tests.notify_server import (
        API_KEY,
        CALLBACK_TOKEN,
        EMAIL_TEMPLATE,
        SMS_TEMPLATE,
        FakeNotify,
    )

    with FakeNotify() as server:
        settings.GOVUK_NOTIFY_API_KEY = API_KEY
        settings.GOVUK_NOTIFY_BASE_URL = server.url
        settings.GOVUK_NOTIFY_EMAIL_TEMPLATE_ID = EMAIL_TEMPLATE
        settings.GOVUK_NOTIFY_SMS_TEMPLATE_ID = SMS_TEMPLATE
        settings.GOVUK_NOTIFY_CALLBACK_TOKEN = CALLBACK_TOKEN
        yield server
