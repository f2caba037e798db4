"""The advice pages in headless Chromium: axe-core finds no WCAG 2.2 A/AA violations, the
editor's live preview works under the Content-Security-Policy, and nothing needs a sign-in to
read."""

import pytest
from django.utils import timezone

from advice import starter
from advice.models import Article
from portal.roles import Role
from tests.factories import UserFactory
from tests.test_browser import PASSWORD, check_page, follow, sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_public_library_and_an_article_are_accessible_without_signing_in(page, trust):
    starter.load(trust, publish=True, today=timezone.localdate())
    page.goto("/advice/")
    check_page(page)
    follow(page, page.get_by_role("link", name="Waiting for cataract surgery"))
    assert page.get_by_role("heading", name="Waiting for cataract surgery", level=1).is_visible()
    assert page.get_by_text("The hospital's clinicians must review it").is_visible()
    check_page(page)
    page.get_by_label("Yes").check()
    follow(page, page.get_by_role("button", name="Send feedback"))
    assert page.get_by_text("Thank you for your feedback").is_visible()
    check_page(page)
    assert Article.objects.get(title="Waiting for cataract surgery").feedback.count() == 1


def test_an_editor_sees_the_live_preview_as_they_type(page, trust):
    UserFactory(email="editor@trust.nhs.uk", role=Role.TRUST_EDITOR, provider=trust,
                password=PASSWORD)  # fmt: skip
    sign_in_staff(page, "editor@trust.nhs.uk")
    page.goto("/staff/advice/")
    check_page(page)
    follow(page, page.get_by_role("link", name="Write new advice"))
    page.get_by_label("Title").fill("Walking every day")
    page.get_by_label("Body").fill("Walk a little more each day. " * 12)
    preview = page.locator("#advice-preview-region")
    preview.get_by_role("heading", name="Walking every day").wait_for()
    assert "Reading age:" in preview.inner_text()
    check_page(page)
