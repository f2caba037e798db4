"""Staff and practice accounts in headless Chromium: the team pages and the invitation's
pages have no axe-core WCAG 2.2 A/AA violations under the Content-Security-Policy, and a
colleague joins by the emailed link, through sign-up and two-step verification, to the
workspace."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from portal import invitations
from portal.models import User
from portal.roles import Role
from tests.factories import UserFactory
from tests.test_browser import PASSWORD, check_page, follow, sign_in_staff
from tests.totp import totp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_trust_admin_invites_withdraws_and_changes_roles_through_accessible_pages(page, trust):
    admin = UserFactory(role=Role.TRUST_ADMIN, provider=trust, password=PASSWORD)
    editor = UserFactory(role=Role.TRUST_EDITOR, provider=trust, email="editor@trust.nhs.uk")
    editor.add_role(Role.CLINICAL_REVIEWER)
    sign_in_staff(page, admin.email)
    page.goto("/staff/")
    follow(page, page.get_by_role("link", name="Staff and practice accounts"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff and practice accounts")
    check_page(page)

    follow(page, page.get_by_role("button", name="Invite someone"))
    check_page(page)
    # A GP practice without its code: the error summary must be accessible too.
    page.get_by_label("Email address").fill("gp@nhs.net")
    page.get_by_label("GP practice", exact=True).check()
    follow(page, page.get_by_role("button", name="Send invitation"))
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("Enter the GP practice's ODS code")
    check_page(page)
    page.get_by_label("GP practice ODS code").fill("A81001")
    follow(page, page.get_by_role("button", name="Send invitation"))
    expect(page.get_by_text("Invitation sent to gp@nhs.net.")).to_be_visible()
    check_page(page)
    assert mail.outbox[-1].to == ["gp@nhs.net"]

    follow(page, page.get_by_role("button", name="Withdraw the invitation to gp@nhs.net"))
    expect(page.get_by_text("The invitation is withdrawn")).to_be_visible()
    assert not invitations.pending(trust).exists()

    follow(page, page.get_by_role("link", name="editor@trust.nhs.uk"))
    check_page(page)
    follow(page, page.get_by_role("button", name="Remove the role Trust editor"))
    expect(page.get_by_text("no longer has the role Trust editor")).to_be_visible()
    check_page(page)
    assert User.objects.get(pk=editor.pk).role_names == {Role.CLINICAL_REVIEWER}

    # A link meant for someone else, opened while signed in: it says why it cannot be used.
    invitations.invite(trust, admin, "someone.else@nhs.net", Role.TRUST_EDITOR)
    page.goto(re.search(r"/staff/join/[\w-]+/", mail.outbox[-1].body).group(0))
    expect(page.get_by_text("You cannot accept this invitation")).to_be_visible()
    check_page(page)


def test_a_colleague_joins_by_the_link_signs_up_and_turns_on_two_step_verification(page, trust):
    admin = UserFactory(role=Role.TRUST_ADMIN, provider=trust, email="admin@trust.nhs.uk")
    invitations.invite(trust, admin, "new.colleague@nhs.net", Role.CLINICAL_REVIEWER)
    link = re.search(r"/staff/join/[\w-]+/", mail.outbox[-1].body).group(0)

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Join Test Hospitals NHS Trust")
    expect(page.get_by_text("admin@trust.nhs.uk")).to_be_visible()
    check_page(page)

    follow(page, page.get_by_role("button", name="Create an account"))
    check_page(page)
    page.get_by_label("Email").fill("new.colleague@nhs.net")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    follow(page, page.get_by_role("button", name="Create account"))

    # Straight to setting up the authenticator app (no staff page works without it), after
    # the password again, as before any change to how the account signs in.
    expect(page.get_by_text("Turn on two-step verification")).to_be_visible()
    check_page(page)
    page.get_by_label("Password").fill(PASSWORD)
    follow(page, page.get_by_role("button", name="Confirm"))
    check_page(page)
    secret = page.get_by_label("Authenticator secret").input_value()
    page.get_by_label("Authenticator code").fill(totp(secret))
    follow(page, page.get_by_role("button", name="Activate"))
    page.goto("/staff/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Trust workspace")
    user = User.objects.get(email="new.colleague@nhs.net")
    assert user.provider == trust and user.role_names == {Role.CLINICAL_REVIEWER}

    # The link has been used: opening it again says so, accessibly.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This invitation link cannot be used")
    check_page(page)
