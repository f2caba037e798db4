"""Shared fixtures, and the rule for tests that need PostgreSQL, Redis or Chromium.

Such tests carry a marker (postgres, redis, browser). Without the service they are skipped with
the reason, so `make test` works anywhere; with REQUIRE_SERVICES=1 (as `.ci/run` sets) a missing
service fails them instead, so CI can never pass by skipping.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
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
