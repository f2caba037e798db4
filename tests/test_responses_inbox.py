"""The patients' responses inbox: filters, assigning to a clinician, recording the outcome,
the audit trail, and who may see and do what."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.roles import Role
from tests.factories import ProviderFactory, UserFactory
from tests.test_validation_due import pathway, snapshot
from waitinglist.models import (
    AuditEvent,
    NotAssignable,
    Pathway,
    PathwayWeek,
    PatientLink,
    PatientResponse,
    ResponseEvent,
)

Outcome = PatientResponse.Outcome


def respond(path: Pathway, answer: str = "still-need", details: str = "") -> PatientResponse:
    return PatientResponse.objects.create(pathway=path, answer=answer, details=details)


@pytest.fixture
def week(trust):
    return snapshot(trust)


@pytest.fixture
def response(trust, week):
    return respond(pathway(trust, week, "R1"), "worse", "More pain at night")


@pytest.fixture
def reviewer(trust):
    return UserFactory(role=Role.CLINICAL_REVIEWER, provider=trust)


def fresh(response: PatientResponse) -> PatientResponse:
    return PatientResponse.objects.select_related("pathway").get(pk=response.pk)


# --- The rules, as model methods ------------------------------------------------------------


@pytest.mark.django_db
def test_a_response_can_be_given_to_a_clinical_reviewer_or_admin_of_its_trust(response, trust):
    editor = UserFactory(role=Role.TRUST_EDITOR, provider=trust)
    admin = UserFactory(role=Role.TRUST_ADMIN, provider=trust)
    reviewer = UserFactory(role=Role.CLINICAL_REVIEWER, provider=trust)
    assert response.assign(reviewer, editor, "10.0.0.1")
    assert fresh(response).assigned_to == reviewer
    assert response.assign(admin, editor)
    assert fresh(response).assigned_to == admin
    notes = list(response.events.values_list("action", "note", "user"))
    assert notes == [
        ("assigned", f"Assigned to {reviewer.email}", editor.pk),
        ("assigned", f"Assigned to {admin.email}", editor.pk),
    ]
    audit = AuditEvent.objects.filter(action="response-assigned", provider=trust)
    assert audit.count() == 2 and audit.filter(ip_address="10.0.0.1").count() == 1


@pytest.mark.django_db
def test_nobody_else_can_be_given_a_response_and_they_are_told_why(response, trust):
    other_trust = ProviderFactory(ods_code="RYY")
    gone = UserFactory(role=Role.CLINICAL_REVIEWER, provider=trust, is_active=False)
    refused = {
        "editor": UserFactory(role=Role.TRUST_EDITOR, provider=trust),
        "patient": UserFactory(role=Role.PATIENT),
        "gp": UserFactory(role=Role.GP_PRACTICE, provider=trust, practice_ods_code="A81001"),
        "other trust": UserFactory(role=Role.CLINICAL_REVIEWER, provider=other_trust),
        "left": gone,
    }
    for who, person in refused.items():
        with pytest.raises(NotAssignable) as error:
            response.assign(person, person)
        assert str(error.value), who
    with pytest.raises(NotAssignable, match="not a clinical reviewer or trust admin"):
        response.assign(refused["editor"], refused["editor"])
    assert fresh(response).assigned_to is None and not ResponseEvent.objects.exists()


@pytest.mark.django_db
def test_of_two_assigning_at_once_the_second_is_told(response, reviewer, trust):
    admin = UserFactory(role=Role.TRUST_ADMIN, provider=trust)
    seen_by_other = fresh(response)
    assert response.assign(reviewer, reviewer)
    assert not seen_by_other.assign(admin, admin)  # it changed since they looked
    assert fresh(response).assigned_to == reviewer
    assert ResponseEvent.objects.count() == 1


@pytest.mark.django_db
def test_an_outcome_is_recorded_once_counts_as_reviewed_and_removes_nobody(
    response, reviewer, trust, week
):
    before = list(Pathway.objects.values_list("pk", "left_snapshot_id"))
    weeks = PathwayWeek.objects.count()
    seen_by_other = fresh(response)
    assert response.record_outcome(Outcome.REMOVED, reviewer)
    assert not seen_by_other.record_outcome(Outcome.STAYS, reviewer)
    stored = fresh(response)
    assert (stored.outcome, stored.outcome_by, stored.reviewed_by) == (
        "removed", reviewer, reviewer
    )  # fmt: skip
    assert stored.outcome_at and stored.reviewed_at
    assert list(response.events.values_list("note", flat=True)) == [
        "Outcome: Removed after clinical review"
    ]
    assert AuditEvent.objects.filter(action="response-outcome").count() == 1
    # The list is the PAS's: nothing here takes anyone off it.
    assert list(Pathway.objects.values_list("pk", "left_snapshot_id")) == before
    assert PathwayWeek.objects.count() == weeks
    with pytest.raises(NotAssignable):
        stored.assign(reviewer, reviewer)  # decided: no clinician needed any more


@pytest.mark.django_db
def test_an_earlier_review_is_kept_when_the_outcome_is_recorded(response, reviewer, trust):
    editor = UserFactory(role=Role.TRUST_EDITOR, provider=trust)
    assert response.mark_reviewed(editor)
    assert not fresh(response).mark_reviewed(reviewer)  # once only
    reviewed_at = fresh(response).reviewed_at
    assert fresh(response).record_outcome(Outcome.POSTPONES, reviewer)
    stored = fresh(response)
    assert (stored.reviewed_by, stored.reviewed_at) == (editor, reviewed_at)


@pytest.mark.django_db
def test_an_outcome_that_is_not_one_of_the_three_is_refused(response, reviewer):
    with pytest.raises(ValueError):
        response.record_outcome("discharged", reviewer)
    assert fresh(response).outcome == ""


@pytest.mark.django_db
def test_the_patient_sees_that_the_team_has_seen_their_answer(response, reviewer, client):
    patient = UserFactory(role=Role.PATIENT)
    PatientLink.objects.create(user=patient, patient=response.pathway.patient, method="nhs-login")
    client.force_login(patient)
    before = client.get(reverse("waitinglist:my_wait")).content.decode()
    assert "You told us" in before and "the waiting-list team has seen this" not in before
    response.record_outcome(Outcome.STAYS, reviewer)  # a conditional update: no signal
    page = client.get(reverse("waitinglist:my_wait")).content.decode()
    assert "the waiting-list team has seen this" in page


# --- The inbox page -------------------------------------------------------------------------


def inbox(client, **filters) -> str:
    return client.get(reverse("waitinglist:responses"), filters).content.decode()


def row(identifier: str) -> str:
    return f'aria-hidden="true">Pathway </span>{identifier}'


@pytest.mark.django_db
def test_the_inbox_filters_by_answer_status_specialty_and_assignee(trust, week, reviewer, client):
    worse = respond(pathway(trust, week, "W1"), "worse", "Worse")
    eyes = respond(pathway(trust, week, "E1", treatment_function="130"), "not-sure")
    mine = respond(pathway(trust, week, "M1"), "still-need")
    done = respond(pathway(trust, week, "H1"), "no-longer-need")
    mine.assign(reviewer, reviewer)
    done.record_outcome(Outcome.STAYS, reviewer)
    client.force_login(reviewer)
    waiting = inbox(client)
    assert all(row(i) in waiting for i in ("W1", "E1", "M1")) and row("H1") not in waiting
    assert "3 responses waiting for review" in waiting
    only_worse = inbox(client, answer="worse")
    assert row("W1") in only_worse and row("M1") not in only_worse
    handled = inbox(client, status="handled")
    assert row("H1") in handled and row("W1") not in handled
    assert "Stays on the list" in handled
    assert row("H1") in inbox(client, show="all")  # the older link still works
    eyes_only = inbox(client, specialty="130")
    assert row("E1") in eyes_only and row("W1") not in eyes_only
    assigned = inbox(client, mine="on")
    assert row("M1") in assigned and row("W1") not in assigned
    assert row("E1") not in inbox(client, answer="worse", specialty="130")
    assert "Select a valid choice" in inbox(client, answer="angry")
    assert worse.pk and eyes.pk


@pytest.mark.django_db
def test_the_inbox_is_paginated_with_a_fixed_number_of_queries(trust, week, reviewer, client):
    respond(pathway(trust, week, "Q0"))
    client.force_login(reviewer)
    inbox(client)
    with CaptureQueriesContext(connection) as few:
        inbox(client)
    for n in range(1, 60):
        made = respond(pathway(trust, week, f"Q{n}"), "worse" if n % 2 else "not-sure")
        if n % 3 == 0:
            made.assign(reviewer, reviewer)
        if n % 5 == 0:
            made.mark_reviewed(reviewer)
    with CaptureQueriesContext(connection) as many:
        page = inbox(client, status="all")
    assert len(many) == len(few)
    assert "60 in all" in page and 'status=all&amp;page=2" aria-label="Page 2"' in page


@pytest.mark.django_db
def test_the_inbox_downloads_as_csv_formula_safe(trust, week, reviewer, client):
    respond(pathway(trust, week, "C1"), "worse", '=HYPERLINK("http://x")')
    client.force_login(reviewer)
    response = client.get(reverse("waitinglist:responses_csv"), {"status": "all"})
    assert response["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["pathway"] for r in rows] == ["C1"]
    assert rows[0]["details"].startswith("'=") and rows[0]["answer"] == "My condition has got worse"


@pytest.mark.django_db
def test_the_detail_page_assigns_records_and_shows_the_trail(response, reviewer, trust, client):
    client.force_login(reviewer)
    url = reverse("waitinglist:response", args=[response.pk])
    page = client.get(url).content.decode()
    assert "More pain at night" in page and "Trauma and Orthopaedics" in page
    assert "the trust&#x27;s PAS is the source" in page or "trust's PAS is the source" in page
    assigned = client.post(
        reverse("waitinglist:response_assign", args=[response.pk]),
        {"clinician": reviewer.pk}, follow=True,
    ).content.decode()  # fmt: skip
    assert f"Assigned to {reviewer.email}." in assigned
    assert f'<option value="{reviewer.pk}" selected>' in assigned  # the current assignee
    recorded = client.post(
        reverse("waitinglist:response_outcome", args=[response.pk]),
        {"outcome": "postpones"}, follow=True,
    ).content.decode()  # fmt: skip
    assert "Outcome recorded: Postpones treatment." in recorded
    assert "Outcome: Postpones treatment" in recorded  # the trail
    again = client.post(
        reverse("waitinglist:response_outcome", args=[response.pk]),
        {"outcome": "removed"}, follow=True,
    ).content.decode()  # fmt: skip
    assert "Someone else changed this response" in again
    assert fresh(response).outcome == "postpones"


@pytest.mark.django_db
def test_assigning_someone_who_cannot_take_it_is_refused_with_a_clear_message(
    response, trust, client
):
    editor = UserFactory(role=Role.TRUST_EDITOR, provider=trust)
    client.force_login(editor)
    page = client.post(
        reverse("waitinglist:response_assign", args=[response.pk]),
        {"clinician": editor.pk}, follow=True,
    ).content.decode()  # fmt: skip
    assert "Choose a clinical reviewer or trust admin of your trust" in page
    bad = client.post(
        reverse("waitinglist:response_outcome", args=[response.pk]), {"outcome": "gone"}
    )
    assert bad.status_code == 403  # editors do not record outcomes
    assert fresh(response).assigned_to is None


@pytest.mark.django_db
def test_a_bad_outcome_is_refused_with_a_clear_message(response, reviewer, client):
    client.force_login(reviewer)
    page = client.post(
        reverse("waitinglist:response_outcome", args=[response.pk]), {"outcome": "gone"},
        follow=True,
    ).content.decode()  # fmt: skip
    assert "Select a valid choice" in page and fresh(response).outcome == ""


# --- Who may see and do what ----------------------------------------------------------------


def urls(response: PatientResponse) -> dict[str, str]:
    """Each page and action of the inbox, and what a trust member's request posts to it."""
    return {
        reverse("waitinglist:responses"): {"response": response.pk},
        reverse("waitinglist:responses_csv"): None,
        reverse("waitinglist:response", args=[response.pk]): None,
        reverse("waitinglist:response_assign", args=[response.pk]): {"clinician": 0},
        reverse("waitinglist:response_outcome", args=[response.pk]): {"outcome": "stays"},
        reverse("waitinglist:response_review", args=[response.pk]): {},
    }


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(response, client):
    for url, data in urls(response).items():
        answer = client.post(url, data) if data is not None else client.get(url)
        assert answer.headers["Location"].startswith(reverse("account_login")), url


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.PATIENT, Role.GP_PRACTICE])
def test_patients_and_gp_practices_are_refused(response, trust, client, role):
    client.force_login(UserFactory(role=role, provider=trust, practice_ods_code="A81001"))
    for url, data in urls(response).items():
        answer = client.post(url, data) if data is not None else client.get(url)
        assert answer.status_code == 403, url
    assert not ResponseEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "outcome"),
    [(Role.TRUST_EDITOR, 403), (Role.CLINICAL_REVIEWER, 302), (Role.TRUST_ADMIN, 302)],
)
def test_each_trust_role_uses_the_inbox_and_only_clinicians_and_admins_decide(
    response, trust, client, role, outcome
):
    client.force_login(UserFactory(role=role, provider=trust))
    for name in ("waitinglist:responses", "waitinglist:responses_csv"):
        assert client.get(reverse(name)).status_code == 200
    assert client.get(reverse("waitinglist:response", args=[response.pk])).status_code == 200
    url = reverse("waitinglist:response_outcome", args=[response.pk])
    assert client.post(url, {"outcome": "stays"}).status_code == outcome
    review = reverse("waitinglist:response_review", args=[response.pk])
    assert client.post(review).status_code == 302
    assert fresh(response).reviewed_at is not None


@pytest.mark.django_db
def test_another_trusts_staff_get_404_for_every_response_id(response, client):
    other = ProviderFactory(ods_code="RYY")
    client.force_login(UserFactory(role=Role.TRUST_ADMIN, provider=other))
    assert row("R1") not in inbox(client, status="all")
    assert "R1" not in client.get(reverse("waitinglist:responses_csv")).content.decode()
    for url, data in urls(response).items():
        if url == reverse("waitinglist:responses_csv"):
            continue
        answer = client.post(url, data) if data is not None else client.get(url)
        assert answer.status_code == 404, url
    assert not ResponseEvent.objects.exists() and fresh(response).reviewed_at is None
