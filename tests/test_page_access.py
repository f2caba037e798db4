"""Each page against each role: who may see it, who is sent to sign in, who is refused."""

import pytest
from django.urls import reverse

from portal.roles import Role
from tests.factories import ProviderFactory, UserFactory

ENTRANCE = ["account_login", "account_signup"]
PUBLIC = ["start", "accessibility", "privacy", "contact", "healthz", "account_reset_password"]
SIGNED_IN = ["home", "mfa_index", "account_change_password", "account_email"]
TRUST_STAFF_ONLY = ["staff_workspace"]

TRUST_ROLES = [Role.TRUST_EDITOR, Role.CLINICAL_REVIEWER, Role.TRUST_ADMIN]
OTHER_ROLES = [Role.PATIENT, Role.GP_PRACTICE]


def user_with(role: Role, with_trust: bool = True):
    trust = ProviderFactory() if with_trust and role in TRUST_ROLES else None
    return UserFactory(role=role, provider=trust)


@pytest.mark.django_db
@pytest.mark.parametrize("page", PUBLIC + ENTRANCE)
def test_anyone_can_see_public_pages(client, page):
    assert client.get(reverse(page)).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("page", ENTRANCE)
def test_signed_in_users_skip_sign_in_and_sign_up(client, page):
    client.force_login(user_with(Role.PATIENT))
    response = client.get(reverse(page))
    assert response.status_code == 302
    assert response.headers["Location"] == reverse("home")


@pytest.mark.django_db
@pytest.mark.parametrize("page", SIGNED_IN + TRUST_STAFF_ONLY)
def test_anonymous_visitors_are_sent_to_sign_in(client, page):
    response = client.get(reverse(page))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("page", PUBLIC + SIGNED_IN)
def test_every_role_can_see_its_own_account_pages(client, role, page):
    client.force_login(user_with(role))
    assert client.get(reverse(page)).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", TRUST_ROLES)
def test_trust_staff_see_the_workspace(client, role):
    client.force_login(user_with(role))
    assert client.get(reverse("staff_workspace")).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", OTHER_ROLES)
def test_patients_and_practices_are_refused_the_workspace(client, role):
    client.force_login(user_with(role))
    response = client.get(reverse("staff_workspace"))
    assert response.status_code == 403
    assert b"You cannot see this page" in response.content


@pytest.mark.django_db
def test_staff_role_without_a_trust_is_refused(client):
    client.force_login(user_with(Role.TRUST_ADMIN, with_trust=False))
    assert client.get(reverse("staff_workspace")).status_code == 403


@pytest.mark.django_db
def test_refusals_are_logged_without_personal_details(client, caplog):
    user = user_with(Role.PATIENT)
    client.force_login(user)
    client.get(reverse("staff_workspace"))
    assert f"refused user={user.pk} path=/staff/" in caplog.text
    assert user.email not in caplog.text


@pytest.mark.django_db
def test_the_workspace_lists_only_the_staff_of_the_users_own_trust(client):
    ours, theirs = ProviderFactory(), ProviderFactory()
    me = UserFactory(role=Role.TRUST_ADMIN, provider=ours)
    colleague = UserFactory(role=Role.TRUST_EDITOR, provider=ours)
    stranger = UserFactory(role=Role.TRUST_EDITOR, provider=theirs)
    client.force_login(me)
    page = client.get(reverse("staff_workspace")).content.decode()
    assert colleague.email in page
    assert stranger.email not in page


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_only_superusers_reach_the_admin(client, role):
    client.force_login(user_with(role))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
def test_a_superuser_reaches_the_admin(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.django_db
def test_a_superuser_without_two_step_verification_is_kept_out_of_the_admin(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True, mfa=False))
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("admin:login"))
    assert client.get(reverse("admin:waitinglist_provider_changelist")).status_code == 302


@pytest.mark.django_db
def test_the_admin_sign_in_goes_through_the_sites_own_sign_in(client):
    # So the admin gets the same rate limits and MFA as every other page.
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
@pytest.mark.parametrize("role", [*TRUST_ROLES, Role.GP_PRACTICE])
def test_staff_without_two_step_verification_are_sent_to_turn_it_on(client, role):
    trust = ProviderFactory()
    user = UserFactory(role=role, provider=trust, practice_ods_code="Y90001", mfa=False)
    client.force_login(user)
    for page in ["staff_workspace", "waitinglist:responses"]:
        response = client.get(reverse(page))
        if role == Role.GP_PRACTICE:
            assert response.status_code == 403  # not their page at all
        else:
            assert response.status_code == 302
            assert response.headers["Location"] == reverse("mfa_activate_totp")
