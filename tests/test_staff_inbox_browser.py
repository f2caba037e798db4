"""The responses inbox, a response's page and the validation due list in headless Chromium:
used through their forms, and axe-core clean (WCAG 2.2 A/AA) under the real CSP at each step."""

import pytest
from playwright.sync_api import expect

from portal.roles import Role
from tests.factories import UserFactory
from tests.test_browser import PASSWORD, check_page, follow, sign_in_staff
from tests.test_validation_due import pathway, snapshot, subscriber
from updates.models import OutboxMessage
from waitinglist.models import PatientResponse, ValidationRequest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def reviewer(trust):
    return UserFactory(role=Role.CLINICAL_REVIEWER, provider=trust, password=PASSWORD)


def test_a_clinician_filters_assigns_and_records_an_outcome(page, trust, reviewer):
    week = snapshot(trust)
    PatientResponse.objects.create(
        pathway=pathway(trust, week, "B1"), answer="worse", details="More pain at night"
    )
    PatientResponse.objects.create(pathway=pathway(trust, week, "B2"), answer="still-need")
    sign_in_staff(page, reviewer.email)
    page.goto("/staff/")
    follow(page, page.get_by_role("link", name="Patients' responses"))
    check_page(page)
    page.get_by_label("Answer").select_option("worse")
    follow(page, page.get_by_role("button", name="Filter responses"))
    expect(page.get_by_text("More pain at night")).to_be_visible()
    expect(page.get_by_role("cell", name="B2")).to_have_count(0)
    check_page(page)

    follow(page, page.get_by_role("link", name="Open the response for pathway B1"))
    check_page(page)
    page.get_by_label("Assign to").select_option(label=reviewer.email)
    follow(page, page.get_by_role("button", name="Assign", exact=True))
    expect(page.get_by_text(f"Assigned to {reviewer.email}.")).to_be_visible()
    check_page(page)

    follow(page, page.get_by_role("button", name="Record the outcome"))  # nothing chosen
    expect(page.get_by_text("Choose the outcome")).to_be_visible()
    check_page(page)
    page.get_by_label("Postpones treatment").check()
    follow(page, page.get_by_role("button", name="Record the outcome"))
    expect(page.get_by_role("cell", name="Outcome: Postpones treatment")).to_be_visible()
    check_page(page)
    assert PatientResponse.objects.get(outcome="postpones").pathway.identifier == "B1"


def test_the_team_asks_the_patients_due_for_validation(page, trust, reviewer):
    from datetime import timedelta

    from tests.test_validation_due import DUE

    week = snapshot(trust)
    subscriber(pathway(trust, week, "V1", DUE - timedelta(weeks=4)), sms=False)
    pathway(trust, week, "V2", DUE, email="v2@example.com")
    sign_in_staff(page, reviewer.email)
    page.goto("/staff/")
    follow(page, page.get_by_role("link", name="Validation due"))
    check_page(page)
    follow(page, page.get_by_role("button", name="Ask the patients selected"))  # none chosen
    expect(page.get_by_text("Choose at least one patient to ask.")).to_be_visible()
    check_page(page)
    page.get_by_label("Ask about pathway V1").check()
    follow(page, page.get_by_role("button", name="Ask the patients selected"))
    expect(page.get_by_text("Asked 1 patient: 1 message queued.")).to_be_visible()
    follow(page, page.get_by_role("button", name="Ask everyone on this page"))
    expect(page.get_by_text("1 not asked again")).to_be_visible()
    check_page(page)
    assert ValidationRequest.objects.count() == 2
    assert OutboxMessage.objects.filter(kind="validation").count() == 2
