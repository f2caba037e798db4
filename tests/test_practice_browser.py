"""A GP practice's pages in headless Chromium: axe-core clean under the real CSP, and the
"Show" and search controls working through the pages."""

import pytest
from playwright.sync_api import expect

from tests.practice_data import many_pathways, pathway, practice_user, trust_with_snapshot
from tests.test_browser import PASSWORD, check_page, follow, sign_in_staff
from waitinglist.models import AuditEvent, PatientResponse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def practice():
    trust, snapshot = trust_with_snapshot()
    many_pathways(trust, snapshot, 120)
    worse = pathway(trust, snapshot, weeks_waited=90, position=3)
    PatientResponse.objects.create(pathway=worse, answer=PatientResponse.Answer.WORSE)
    return practice_user(trust, password=PASSWORD), worse


def test_a_practice_finds_its_patients_through_accessible_pages(page, practice):
    gp, worse = practice
    sign_in_staff(page, gp.email)
    follow(page, page.get_by_role("link", name="Your practice's patients"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your practice's patients")
    check_page(page)

    # The first row is the longest wait; its number is masked until "Show".
    last_four = worse.patient.nhs_number[-4:]
    row = page.locator(f"#patient-{worse.pk}")
    expect(row).to_contain_text(f"*** *** {last_four}")
    follow(page, row.get_by_role("button", name=f"Show the NHS number ending {last_four}"))
    n = worse.patient.nhs_number
    expect(page.locator(f"#patient-{worse.pk}")).to_contain_text(f"{n[:3]} {n[3:6]} {n[6:]}")
    assert AuditEvent.objects.filter(action="practice-show-nhs-number", pathway=worse).exists()

    # Filters, and the second page.
    page.get_by_label("More than 52 weeks").check()
    page.get_by_label("Only patients who told the hospital their condition got worse").check()
    follow(page, page.get_by_role("button", name="Show patients"))
    expect(page.locator("tbody tr")).not_to_have_count(0)
    check_page(page)
    page.goto("/practice/")
    follow(page, page.get_by_role("link", name="Page 2"))
    check_page(page)

    # A mistyped number: the error summary must be accessible too.
    page.get_by_label("NHS number").fill("123 456 7890")
    follow(page, page.get_by_role("button", name="Search"))
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("not a valid NHS number")
    check_page(page)
    page.get_by_label("NHS number").fill(f"{n[:3]} {n[3:6]} {n[6:]}")
    follow(page, page.get_by_role("button", name="Search"))
    expect(page.locator("tbody tr")).to_have_count(1)
    check_page(page)


def test_the_printable_summary_is_accessible_and_prints_without_the_site(page, practice):
    gp, worse = practice
    sign_in_staff(page, gp.email)
    page.goto(f"/practice/patients/{worse.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Your wait for")
    expect(page.get_by_role("button", name="Print this summary")).to_be_visible()
    check_page(page)
    page.emulate_media(media="print")
    expect(page.locator(".nhsuk-header")).to_be_hidden()
    expect(page.locator(".nhsuk-footer")).to_be_hidden()
    expect(page.get_by_role("button", name="Print this summary")).to_be_hidden()
    expect(page.get_by_text("Call 999")).to_be_visible()
