"""Planned capacity changes: a trust admin records and withdraws them for their own trust only,
and each one sends the trust's estimates to be recomputed."""

from datetime import date

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from portal.roles import Role
from tests.factories import ProviderFactory, UserFactory
from waitinglist import tasks
from waitinglist.forms import CapacityChangeForm
from waitinglist.importer import import_snapshot
from waitinglist.models import AuditEvent, CapacityChange, Estimate
from waitinglist.simulation import simulate_trust
from waitinglist.tasks import refresh_estimates

pytestmark = pytest.mark.django_db

PAGE = reverse("waitinglist:capacity_changes")
HUB = {"treatment_function": "110", "starts": "06/04/2027", "percent": "30", "note": "New hub"}


@pytest.fixture
def admin(trust):
    return UserFactory(role=Role.TRUST_ADMIN, provider=trust, email="admin@rxx.nhs.uk")


@pytest.fixture
def refreshed(monkeypatch) -> list[int]:
    """The trusts sent to have their estimates recomputed, kept here instead of sent to a worker.
    Each is sent with no digest run after (a digest goes with an import)."""
    sent = []

    def send(provider_id, after_import=True):
        assert after_import is False
        sent.append(provider_id)

    monkeypatch.setattr(refresh_estimates, "delay", send)
    return sent


def change(trust, **fields) -> CapacityChange:
    values = {"starts": date(2027, 1, 4), "percent": -20, "known_from": date(2026, 11, 2)}
    return CapacityChange.objects.create(provider=trust, **{**values, **fields})


def withdraw(client, pk: int):
    return client.post(reverse("waitinglist:capacity_change_withdraw", args=[pk]))


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# Recording


def test_an_admin_records_a_change_for_their_own_trust(
    client, trust, admin, refreshed, django_capture_on_commit_callbacks
):
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(PAGE, HUB)
    assert response.status_code == 302 and response.headers["Location"] == PAGE
    recorded = CapacityChange.objects.get()
    assert (recorded.provider, recorded.treatment_function, recorded.starts) == (
        trust, "110", date(2027, 4, 6)
    )  # fmt: skip
    assert (recorded.percent, recorded.note) == (30, "New hub")
    assert recorded.known_from == timezone.localdate()
    assert recorded.recorded_by == admin
    assert messages_of(response)[0].startswith(
        "Recorded: +30% patients treated a week in Trauma and Orthopaedics from 6 April 2027."
    )
    assert AuditEvent.objects.filter(
        provider=trust, user=admin, action="capacity-change-recorded"
    ).exists()
    # Patients see the change only once the trust's estimates are recomputed.
    assert refreshed == [trust.pk]


def test_a_blank_specialty_means_every_specialty(client, trust, admin, refreshed):
    client.force_login(admin)
    client.post(PAGE, {**HUB, "treatment_function": "", "percent": "-20", "note": ""})
    recorded = CapacityChange.objects.get()
    assert (recorded.treatment_function, recorded.percent, recorded.note) == ("", -20, "")


def test_the_trust_the_day_and_the_recorder_never_come_from_the_form(client, trust, admin):
    other, stranger = ProviderFactory(ods_code="ROT"), UserFactory()
    client.force_login(admin)
    forged = {"provider": other.pk, "known_from": "2020-01-01", "recorded_by": stranger.pk}
    client.post(PAGE, {**HUB, **forged})
    recorded = CapacityChange.objects.get()
    assert recorded.provider == trust
    assert recorded.known_from == timezone.localdate()
    assert recorded.recorded_by == admin


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("percent", "0", "Enter a change other than 0%: 0% changes nothing"),
        ("percent", "400", "Enter a change from -90% to 300%"),
        ("percent", "-95", "Enter a change from -90% to 300%"),
        ("percent", "thirty", "Enter the change as a whole number, for example 30 or -20"),
        ("starts", "", "Enter the date the change starts"),
        ("starts", "31/02/2027", "Enter a real date as DD/MM/YYYY, for example 06/04/2027"),
        ("treatment_function", "999", "Choose a specialty from the list"),
        ("note", "x" * 201, "The note must be 200 characters or fewer"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_stored(
    client, admin, refreshed, django_capture_on_commit_callbacks, field, value, message
):
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(PAGE, {**HUB, field: value})
    assert response.status_code == 200
    page = response.content.decode()
    assert "There is a problem" in page
    assert f'<a href="#id_{field}">{message}</a>' in page  # the summary links to the field
    assert CapacityChange.objects.count() == 0
    assert not AuditEvent.objects.exists()
    assert refreshed == []


@pytest.mark.parametrize(
    ("percent", "starts"), [("+30%", "2027-04-06"), (" 30 % ", "6/4/2027"), ("30", "06/04/27")]
)
def test_a_plus_sign_a_percent_sign_and_common_date_forms_are_understood(percent, starts):
    form = CapacityChangeForm({**HUB, "percent": percent, "starts": starts})
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["percent"], form.cleaned_data["starts"]) == (30, date(2027, 4, 6))


# The list


def test_the_page_lists_the_trusts_changes_and_no_other_trusts(client, trust, admin):
    change(trust, treatment_function="120", percent=-20, note="Theatres refit", recorded_by=admin)
    change(trust, treatment_function="", percent=30, starts=date(2027, 5, 3))
    change(ProviderFactory(ods_code="ROT"), note="THEIR-NOTE")
    client.force_login(admin)
    page = client.get(PAGE).content.decode()
    refit = page.index("Ear, Nose and Throat")
    assert refit < page.index("All specialties", refit)  # by the day they start
    assert "-20%" in page and "+30%" in page and "Theatres refit" in page
    assert "4 Jan 2027" in page and "3 May 2027" in page
    assert "2 Nov 2026 by admin@rxx.nhs.uk" in page
    assert "a former colleague" in page  # the second change has no recorder
    assert "THEIR-NOTE" not in page


def test_a_trust_with_no_changes_is_told_so(client, admin):
    client.force_login(admin)
    assert "None yet." in client.get(PAGE).content.decode()


def test_the_workspace_links_admins_only_to_the_page(client, trust, admin):
    client.force_login(admin)
    assert PAGE in client.get(reverse("staff_workspace")).content.decode()
    client.force_login(UserFactory(role=Role.TRUST_EDITOR, provider=trust))
    assert PAGE not in client.get(reverse("staff_workspace")).content.decode()


# Withdrawing


def test_an_admin_withdraws_a_change(
    client, trust, admin, refreshed, django_capture_on_commit_callbacks
):
    kept, gone = change(trust, note="Kept"), change(trust, treatment_function="130")
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = withdraw(client, gone.pk)
    assert response.status_code == 302 and response.headers["Location"] == PAGE
    assert list(CapacityChange.objects.all()) == [kept]
    assert messages_of(response)[0].startswith(
        "Withdrawn: -20% patients treated a week in Ophthalmology from 4 January 2027."
    )
    assert AuditEvent.objects.filter(
        provider=trust, user=admin, action="capacity-change-withdrawn"
    ).exists()
    assert refreshed == [trust.pk]


def test_withdrawing_takes_only_post(client, trust, admin):
    ours = change(trust)
    client.force_login(admin)
    address = reverse("waitinglist:capacity_change_withdraw", args=[ours.pk])
    assert client.get(address).status_code == 405
    assert CapacityChange.objects.filter(pk=ours.pk).exists()


def test_withdrawing_one_already_withdrawn_gives_404(client, trust, admin):
    ours = change(trust)
    client.force_login(admin)
    withdraw(client, ours.pk)
    assert withdraw(client, ours.pk).status_code == 404


# Who may


def test_another_trusts_admin_cannot_see_or_withdraw_our_change(client, trust, refreshed):
    ours = change(trust, note="OUR-NOTE")
    other = ProviderFactory(ods_code="ROT")
    client.force_login(UserFactory(role=Role.TRUST_ADMIN, provider=other))
    assert "OUR-NOTE" not in client.get(PAGE).content.decode()
    assert withdraw(client, ours.pk).status_code == 404
    assert CapacityChange.objects.filter(pk=ours.pk).exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "role", [Role.TRUST_EDITOR, Role.CLINICAL_REVIEWER, Role.GP_PRACTICE, Role.PATIENT]
)
def test_everyone_but_the_trusts_admins_is_refused(client, trust, role):
    ours = change(trust)
    practice = "A81001" if role == Role.GP_PRACTICE else ""
    provider = None if role == Role.PATIENT else trust
    client.force_login(UserFactory(role=role, provider=provider, practice_ods_code=practice))
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, HUB).status_code == 403
    assert withdraw(client, ours.pk).status_code == 403
    assert list(CapacityChange.objects.all()) == [ours]


def test_anonymous_visitors_are_sent_to_sign_in(client, trust):
    ours = change(trust)
    for response in (client.get(PAGE), withdraw(client, ours.pk)):
        assert response.status_code == 302
        assert response.headers["Location"].startswith(reverse("account_login"))
    assert CapacityChange.objects.filter(pk=ours.pk).exists()


def test_a_refresh_after_a_plan_recomputes_estimates_without_a_digest_run(
    trust, monkeypatch, tmp_path
):
    files = simulate_trust("RXX", 8, 3, tmp_path, pathways=300, last_week=date(2026, 11, 22))
    for path in files:
        import_snapshot(path)
    digests = []  # the digest run is handed to a worker: kept here instead
    monkeypatch.setattr(tasks.digests_after_import, "delay", digests.append)
    Estimate.objects.all().delete()

    tasks.refresh_estimates(trust.pk, after_import=False)
    assert Estimate.objects.filter(snapshot=trust.latest_snapshot).count() > 250
    assert digests == []

    tasks.refresh_estimates(trust.pk)  # after an import
    assert digests == [trust.pk]
