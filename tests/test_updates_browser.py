"""The update pages in headless Chromium: axe-core finds no WCAG 2.2 A/AA violations on the
patient's choices, the mobile check (with its error), unsubscribing without signing in, and the
trust's sending figures."""

import pytest

from portal.roles import Role
from tests.factories import UserFactory
from tests.test_browser import PASSWORD, check_page, follow, sign_in, sign_in_staff
from updates.models import Subscription

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_update_pages_are_accessible(page, trust):
    UserFactory(email="patient@example.com", role=Role.PATIENT, password=PASSWORD)
    sign_in(page, "patient@example.com")
    page.goto("/updates/")
    check_page(page)
    page.get_by_label("Send me text messages").check()
    page.get_by_label("UK mobile number").fill("020 7946 0000")
    follow(page, page.get_by_role("button", name="Save my choices"))
    assert page.locator(".nhsuk-error-summary").is_visible()
    check_page(page)
    page.get_by_label("UK mobile number").fill("07700 900 123")
    follow(page, page.get_by_role("button", name="Save my choices"))
    page.get_by_label("Code").fill("000000")
    follow(page, page.get_by_role("button", name="Confirm"))
    assert page.get_by_text("The code is wrong").first.is_visible()
    check_page(page)

    token = Subscription.objects.get().unsubscribe_token
    follow(page, page.get_by_role("button", name="Sign out"))
    page.goto(f"/updates/unsubscribe/{token}/")
    check_page(page)
    follow(page, page.get_by_role("button", name="Stop my updates"))
    assert page.get_by_role("heading", name="Your updates have stopped").is_visible()
    check_page(page)
    assert Subscription.objects.get().stopped_at

    UserFactory(email="admin@trust.nhs.uk", role=Role.TRUST_ADMIN, provider=trust,
                password=PASSWORD)  # fmt: skip
    sign_in_staff(page, "admin@trust.nhs.uk")
    page.goto("/staff/updates/")
    check_page(page)
