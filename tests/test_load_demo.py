"""`load_demo` gives `make run` a demo trust and one account per role."""

import pytest
from django.core.management import CommandError, call_command

from portal.management.commands import load_demo
from portal.management.commands.load_demo import DEMO_PASSWORD
from portal.models import User
from portal.roles import Role
from waitinglist.models import Provider


@pytest.fixture(autouse=True)
def small_demo(monkeypatch):
    # A few weeks of a small trust: the same code path as make run's year, in a second.
    monkeypatch.setattr(load_demo, "DEMO_WEEKS", 3)
    monkeypatch.setattr(load_demo, "DEMO_PATHWAYS", 300)


@pytest.mark.django_db
def test_it_creates_a_trust_and_an_account_for_each_role(settings, capsys):
    settings.DEBUG = True
    call_command("load_demo")
    trust = Provider.objects.get(ods_code="RXX")
    expected = {
        "patient@example.com": Role.PATIENT,
        "editor@example.com": Role.TRUST_EDITOR,
        "reviewer@example.com": Role.CLINICAL_REVIEWER,
        "admin@example.com": Role.TRUST_ADMIN,
        "practice@example.com": Role.GP_PRACTICE,
    }
    for email, role in expected.items():
        user = User.objects.get(email=email)
        assert user.has_role(role)
        assert user.check_password(DEMO_PASSWORD)
        assert user.emailaddress_set.get().verified
        assert user.provider == (None if role == Role.PATIENT else trust)
    assert User.objects.get(email="admin@example.com").is_superuser
    assert User.objects.get(email="practice@example.com").practice_ods_code == "Y90001"
    # Every account but the patient's must use two-step verification.
    with_mfa = set(User.objects.filter(authenticator__type="totp").values_list("email", flat=True))
    assert with_mfa == set(expected) - {"patient@example.com"}
    assert "patient@example.com" in capsys.readouterr().out
    assert trust.snapshots.count() == 3
    assert trust.latest_snapshot.pathways_imported > 250


@pytest.mark.django_db
def test_running_it_twice_changes_nothing(settings):
    settings.DEBUG = True
    call_command("load_demo")
    call_command("load_demo")
    assert Provider.objects.count() == 1
    assert Provider.objects.get().snapshots.count() == 3
    assert User.objects.count() == 5
    assert User.objects.get(email="editor@example.com").groups.count() == 1


@pytest.mark.django_db
def test_it_refuses_to_run_in_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG must be on"):
        call_command("load_demo")
    assert not User.objects.exists()
