"""The GP practice list: who may see it, what it shows, search, filters, pages and its cost."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.roles import Role
from tests.factories import UserFactory
from tests.practice_data import (
    PRACTICE,
    many_pathways,
    pathway,
    practice_user,
    today,
    trust_with_snapshot,
)
from waitinglist.models import AuditEvent, Estimate, PatientResponse
from waitinglist.practice_views import SHOWN

LIST = reverse("waitinglist:practice_patients")


@pytest.fixture
def trust_and_snapshot(db):
    return trust_with_snapshot()


@pytest.fixture
def ours(trust_and_snapshot):
    """A knee replacement waited 30 weeks, 12th in the queue, booked, validated, and the
    patient said their condition got worse."""
    trust, snapshot = trust_and_snapshot
    made = pathway(
        trust,
        snapshot,
        weeks_waited=30,
        position=12,
        procedure="W40.1",
        tci_date=today() + timedelta(days=20),
        last_validated=today() - timedelta(days=40),
        estimate=Estimate.Basis.BOOKED,
    )
    PatientResponse.objects.create(pathway=made, answer=PatientResponse.Answer.STILL_NEED)
    PatientResponse.objects.create(pathway=made, answer=PatientResponse.Answer.WORSE)
    return made


@pytest.fixture
def gp(trust_and_snapshot):
    return practice_user(trust_and_snapshot[0])


def listed(client, **params) -> str:
    response = client.get(LIST, params)
    assert response.status_code == 200
    return response.content.decode()


def searched(client, typed: str) -> str:
    response = client.post(LIST, {"nhs_number": typed})
    assert response.status_code == 200
    return response.content.decode()


def number(p) -> str:
    n = p.patient.nhs_number
    return f"{n[:3]} {n[3:6]} {n[6:]}"


# --- Who may see it ------------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(client, ours):
    for url in (LIST, reverse("waitinglist:practice_summary", args=[ours.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith(reverse("account_login"))
    response = client.post(reverse("waitinglist:practice_show_nhs_number", args=[ours.pk]))
    assert response.headers["Location"].startswith(reverse("account_login"))
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role", [Role.PATIENT, Role.TRUST_EDITOR, Role.CLINICAL_REVIEWER, Role.TRUST_ADMIN]
)
def test_other_roles_are_refused_every_practice_page(client, ours, role):
    # Even with the trust and a practice code: the role is what counts.
    client.force_login(UserFactory(role=role, provider=ours.provider, practice_ods_code=PRACTICE))
    pages = [
        ("get", LIST),
        ("get", reverse("waitinglist:practice_summary", args=[ours.pk])),
        ("post", reverse("waitinglist:practice_show_nhs_number", args=[ours.pk])),
    ]
    for method, url in pages:
        assert getattr(client, method)(url).status_code == 403, url
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["provider", "practice_ods_code"])
def test_a_practice_account_without_a_trust_or_practice_is_refused(client, ours, missing):
    user = practice_user(ours.provider)
    setattr(user, missing, None if missing == "provider" else "")
    user.save()
    client.force_login(user)
    assert client.get(LIST).status_code == 403
    assert client.get(reverse("waitinglist:practice_summary", args=[ours.pk])).status_code == 403


@pytest.mark.django_db
def test_a_practice_account_without_two_step_verification_is_sent_to_turn_it_on(client, ours):
    client.force_login(practice_user(ours.provider, mfa=False))
    response = client.get(LIST)
    assert response.status_code == 302
    assert response.headers["Location"] == reverse("mfa_activate_totp")


@pytest.mark.django_db
def test_another_practice_sees_none_of_ours_and_cannot_reach_them_by_id(client, ours):
    other = pathway(ours.provider, ours.first_snapshot, practice="Y90002")
    client.force_login(practice_user(ours.provider, practice="Y90002"))
    page = listed(client)
    assert f"patient-{ours.pk}" not in page and f"patient-{other.pk}" in page
    assert client.get(reverse("waitinglist:practice_summary", args=[ours.pk])).status_code == 404
    shown = client.post(reverse("waitinglist:practice_show_nhs_number", args=[ours.pk]))
    assert shown.status_code == 404
    assert not AuditEvent.objects.filter(pathway=ours).exists()


@pytest.mark.django_db
def test_the_same_practice_code_at_another_trust_sees_only_that_trusts_lists(client, ours):
    elsewhere, snapshot = trust_with_snapshot("RYY")
    theirs = pathway(elsewhere, snapshot)
    client.force_login(practice_user(elsewhere))
    page = listed(client)
    assert f"patient-{theirs.pk}" in page and f"patient-{ours.pk}" not in page
    assert client.get(reverse("waitinglist:practice_summary", args=[ours.pk])).status_code == 404
    shown = client.post(reverse("waitinglist:practice_show_nhs_number", args=[ours.pk]))
    assert shown.status_code == 404


@pytest.mark.django_db
def test_patients_who_left_the_list_are_not_shown(client, ours, gp):
    ours.left_snapshot = ours.first_snapshot
    ours.save()
    client.force_login(gp)
    assert f"patient-{ours.pk}" not in listed(client)
    assert client.get(reverse("waitinglist:practice_summary", args=[ours.pk])).status_code == 404


# --- What it shows -------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_row_shows_the_wait_with_the_nhs_number_masked(client, ours, gp):
    client.force_login(gp)
    page = listed(client)
    assert f"*** *** {ours.patient.nhs_number[-4:]}" in page
    assert number(ours) not in page and ours.patient.nhs_number not in page
    booked = ours.tci_date
    for shown in [
        "1 Jan 1950",  # date of birth
        "Trauma and Orthopaedics",
        "knee replacement",
        ">30</td>",  # weeks waited
        ">12</td>",  # position
        "Booked",
        f"{booked.day} {booked:%b %Y}",
        f"{ours.last_validated.day} {ours.last_validated:%b %Y}",
        "Worse</strong>",
    ]:
        assert shown in page, shown
    assert AuditEvent.objects.filter(user=gp, action="practice-list-viewed").count() == 1


@pytest.mark.django_db
def test_estimates_are_a_range_of_months_or_the_reason_there_is_none(
    client, trust_and_snapshot, gp
):
    trust, snapshot = trust_and_snapshot
    pathway(trust, snapshot)
    pathway(trust, snapshot, estimate=Estimate.Basis.QUEUE_NOT_MOVING)
    pathway(trust, snapshot, estimate=Estimate.Basis.TOO_LITTLE_HISTORY)
    pathway(trust, snapshot, estimate=None, band=None, position=None)
    pathway(trust, snapshot, estimate=None)
    client.force_login(gp)
    page = listed(client)
    for said in [
        "Between January and May 2027",
        "None: the queue is not moving",
        "None: too little history yet",
        "None: on hold at the patient&#x27;s request",
        "Not ranked",
        "Not estimated yet",
    ]:
        assert said in page, said


@pytest.mark.django_db
def test_show_reveals_one_full_number_once_and_records_who_asked(client, ours, gp):
    client.force_login(gp)
    response = client.post(
        reverse("waitinglist:practice_show_nhs_number", args=[ours.pk]),
        {"query": "waited=18&page=1"},
    )
    assert response.headers["Location"] == f"{LIST}?waited=18&page=1#patient-{ours.pk}"
    event = AuditEvent.objects.get(action="practice-show-nhs-number")
    assert (event.user, event.pathway, event.provider) == (gp, ours, ours.provider)
    assert number(ours) in listed(client, waited="18", page="1")
    # Shown once: the next view masks it again.
    assert number(ours) not in listed(client)
    assert SHOWN not in client.session


@pytest.mark.django_db
def test_show_takes_only_a_query_string_back_never_another_address(client, ours, gp):
    client.force_login(gp)
    response = client.post(
        reverse("waitinglist:practice_show_nhs_number", args=[ours.pk]),
        {"query": "next=https://evil.example/&worse=on&nhs_number=9434765919"},
    )
    assert response.headers["Location"] == f"{LIST}?worse=on#patient-{ours.pk}"


@pytest.mark.django_db
def test_show_needs_a_post(client, ours, gp):
    client.force_login(gp)
    assert (
        client.get(reverse("waitinglist:practice_show_nhs_number", args=[ours.pk])).status_code
        == 405
    )
    assert not AuditEvent.objects.filter(action="practice-show-nhs-number").exists()


# --- Search and filters --------------------------------------------------------------------


@pytest.mark.django_db
def test_search_finds_a_patient_by_nhs_number_typed_with_spaces(client, ours, gp):
    pathway(ours.provider, ours.first_snapshot)
    client.force_login(gp)
    page = searched(client, f" {number(ours)} ")
    assert f"patient-{ours.pk}" in page and page.count('id="patient-') == 1
    # The user typed the number: it is shown in full.
    assert f"Found 1 wait for NHS number {number(ours)}." in page
    event = AuditEvent.objects.get(action="practice-search-nhs-number")
    assert event.pathway == ours


@pytest.mark.django_db
def test_search_says_when_the_number_is_not_a_valid_nhs_number(client, ours, gp):
    client.force_login(gp)
    wrong_check_digit = ours.patient.nhs_number[:9] + str(
        (int(ours.patient.nhs_number[9]) + 1) % 10
    )
    said = "This is not a valid NHS number. Check it has 10 digits"
    for typed, message in [
        (wrong_check_digit, said),
        ("12345", said),
        ("abcdefghij", said),
        ("", "Enter the patient&#x27;s NHS number"),
    ]:
        page = searched(client, typed)
        assert message in page and "nhsuk-error-summary" in page
        assert f"patient-{ours.pk}" not in page


@pytest.mark.django_db
def test_search_says_when_no_patient_of_the_practice_has_the_number(client, ours, gp):
    elsewhere = pathway(ours.provider, ours.first_snapshot, practice="Y90002")
    client.force_login(gp)
    page = searched(client, elsewhere.patient.nhs_number)
    assert "No patient of your practice" in page
    assert f"patient-{elsewhere.pk}" not in page
    event = AuditEvent.objects.get(action="practice-search-nhs-number")
    assert event.pathway is None


@pytest.mark.django_db
def test_filters_select_specialty_long_waits_and_worse_flags(client, trust_and_snapshot, gp):
    trust, snapshot = trust_and_snapshot
    eyes = pathway(trust, snapshot, treatment_function="130", weeks_waited=5)
    knees_20 = pathway(trust, snapshot, weeks_waited=20)
    knees_60 = pathway(trust, snapshot, weeks_waited=60)
    worse = pathway(trust, snapshot, weeks_waited=2)
    PatientResponse.objects.create(pathway=worse, answer=PatientResponse.Answer.WORSE)
    PatientResponse.objects.create(pathway=eyes, answer=PatientResponse.Answer.NOT_SURE)
    client.force_login(gp)

    def ids(**params) -> set[int]:
        page = listed(client, **params)
        return {p.pk for p in (eyes, knees_20, knees_60, worse) if f"patient-{p.pk}" in page}

    assert ids() == {eyes.pk, knees_20.pk, knees_60.pk, worse.pk}
    assert ids(specialty="130") == {eyes.pk}
    assert ids(waited="18") == {knees_20.pk, knees_60.pk}
    assert ids(waited="52") == {knees_60.pk}
    assert ids(worse="on") == {worse.pk}
    assert ids(specialty="110", waited="18") == {knees_20.pk, knees_60.pk}
    assert "Ophthalmology" in listed(client)  # the specialty filter names the trust's lists


@pytest.mark.django_db
def test_an_unknown_specialty_is_an_error_not_everyone(client, ours, gp):
    client.force_login(gp)
    page = listed(client, specialty="999")
    assert "nhsuk-error-summary" in page and f"patient-{ours.pk}" not in page


# --- Pages and cost ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_list_comes_in_pages_of_100_longest_wait_first(client, trust_and_snapshot, gp):
    trust, snapshot = trust_and_snapshot
    many_pathways(trust, snapshot, 205)
    client.force_login(gp)
    first = listed(client)
    assert first.count('id="patient-') == 100
    assert "205 patient waits: showing 1 to 100, longest wait first" in first
    assert 'aria-label="Page 3"' in first and 'rel="next"' in first
    weeks = [int(w) for w in _weeks_column(first)]
    assert weeks == sorted(weeks, reverse=True) and weeks[0] == 79
    last = listed(client, page="3", worse="")
    assert last.count('id="patient-') == 5 and 'rel="prev"' in last
    assert "page=2" in last and "worse=" in last  # the pages keep the filters
    assert listed(client, page="99").count('id="patient-') == 5  # past the end: the last page


def _weeks_column(page: str) -> list[str]:
    marker = 'aria-hidden="true">Weeks waited </span>'
    return [part.split("<", 1)[0] for part in page.split(marker)[1:]]


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{}, {"waited": "18", "worse": "on", "specialty": "110"}])
def test_the_list_costs_the_same_queries_for_10_or_200_patients(client, gp, params):
    trust = gp.provider
    snapshot = trust.latest_snapshot
    client.force_login(gp)
    counts = []
    for size in (10, 200):
        many_pathways(trust, snapshot, size - (10 if size == 200 else 0))
        listed(client, **params)  # the session and caches as on any later view
        with CaptureQueriesContext(connection) as queries:
            page = listed(client, **params)
        assert page.count('id="patient-') > 0
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[0] <= 12, [q["sql"] for q in queries.captured_queries]


@pytest.mark.django_db
def test_the_list_page_costs_a_fixed_number_of_queries(client, gp, django_assert_num_queries):
    trust = gp.provider
    many_pathways(trust, trust.latest_snapshot, 200)
    client.force_login(gp)
    listed(client)
    with CaptureQueriesContext(connection) as baseline:
        listed(client)
    many_pathways(trust, trust.latest_snapshot, 150)
    with django_assert_num_queries(len(baseline)):
        assert listed(client).count('id="patient-') == 100
