"""Configuration comes from the environment and bad values are refused, not guessed at."""

import os
import secrets
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import envbool, envint, envlist, envurl
from tests.conftest import ROOT

# What pytest's own configuration sets: a subprocess gets the deployment's defaults instead.
PYTEST_ONLY = ("DEBUG", "SECRET_KEY", "SECURE_SSL_REDIRECT", "DJANGO_ALLOW_ASYNC_UNSAFE")


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Runs manage.py in a fresh interpreter, so settings are read from this environment."""
    environment = {k: v for k, v in os.environ.items() if k not in PYTEST_ONLY}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env(**extra: str) -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(64),
        "DEBUG": "off",
        "ALLOWED_HOSTS": "waitwell.example-trust.nhs.uk",
        "EMAIL_HOST": "smtp.example-trust.nhs.uk",
        **extra,
    }


def test_envbool_accepts_on_off_words(monkeypatch):
    monkeypatch.setenv("FLAG", "On")
    assert envbool("FLAG", "off") is True
    monkeypatch.setenv("FLAG", "0")
    assert envbool("FLAG", "on") is False


def test_envbool_refuses_yes(monkeypatch):
    # "yes" is not on the list: a typo must stop the deployment, not quietly mean "off".
    monkeypatch.setenv("FLAG", "yes")
    with pytest.raises(ImproperlyConfigured, match="FLAG must be one of"):
        envbool("FLAG", "off")


def test_envint_refuses_words_and_values_below_minimum(monkeypatch):
    monkeypatch.setenv("NUMBER", "ten")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        envint("NUMBER", "1")
    monkeypatch.setenv("NUMBER", "5")
    with pytest.raises(ImproperlyConfigured, match="at least 60"):
        envint("NUMBER", "1", minimum=60)


def test_envlist_drops_empty_items(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.nhs.uk, ,b.nhs.uk ")
    assert envlist("HOSTS", "") == ["a.nhs.uk", "b.nhs.uk"]


def test_envurl_refuses_other_schemes(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@localhost/db")
    with pytest.raises(ImproperlyConfigured, match="postgres://"):
        envurl("DATABASE_URL", "", ("postgres", "sqlite"))


def test_it_refuses_the_development_key_when_debug_is_off_in_one_line():
    result = run_manage("check", DEBUG="off")
    assert result.returncode == 1
    assert result.stderr == (
        "configuration error: SECRET_KEY must be set to a random value of 50 or more characters "
        "when DEBUG is off\n"
    )
    # The traceback is there for whoever asks for it.
    asked = run_manage("check", "--traceback", DEBUG="off")
    assert "Traceback (most recent call last)" in asked.stderr


def test_a_command_that_cannot_reach_the_database_says_so_in_one_line(tmp_path):
    extract = tmp_path / "w.csv"
    extract.write_text("Week_Ending_Date\n2026-03-01\n")
    result = run_manage(
        "import_waiting_list",
        str(extract),
        **production_env(DATABASE_URL="postgres://waitwell@127.0.0.1:1/none"),
    )
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("database error: connection failed:")
    assert "Connection refused" in line


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **production_env())
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_debug_is_on():
    # Proves the check above can fail: the same command with DEBUG on is not clean.
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", **production_env(DEBUG="on")
    )
    assert result.returncode != 0
    assert "security.W018" in result.stderr


def test_check_deploy_flags_a_deployment_with_no_way_to_send_email():
    environment = production_env()
    del environment["EMAIL_HOST"]
    result = run_manage("check", "--deploy", **environment)
    assert result.returncode != 0
    assert "mail.E001" in result.stderr


def test_a_bad_database_url_stops_start_up():
    result = run_manage("check", **production_env(DATABASE_URL="mysql://db/wait"))
    assert result.returncode != 0
    assert result.stderr.startswith("configuration error: DATABASE_URL must start with one of")
