"""Staff and practice accounts by invitation: a trust admin invites, the person accepts by
signing up or signing in, and must turn on two-step verification; admins withdraw invitations,
take roles away and deactivate accounts, only within their own trust."""

import contextlib
import re
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from portal import invitations
from portal.models import StaffInvitation, User
from portal.roles import Role
from tests.factories import ProviderFactory, UserFactory
from waitinglist.models import AuditEvent

PASSWORD = "correct horse battery staple"
pytestmark = pytest.mark.django_db


@pytest.fixture
def trust():
    return ProviderFactory(ods_code="RXX", name="Test Hospitals NHS Trust")


@pytest.fixture
def admin(trust):
    return UserFactory(role=Role.TRUST_ADMIN, provider=trust, email="admin@trust.nhs.uk")


def send_invitation(client, admin, **fields):
    client.force_login(admin)
    data = {"email": "new.colleague@nhs.net", "role": Role.TRUST_EDITOR, **fields}
    return client.post(reverse("team_invite"), data)


def token_from(message) -> str:
    return re.search(r"/staff/join/([A-Za-z0-9_-]+)/", message.body).group(1)


def invited(trust, admin, email="new.colleague@nhs.net", role=Role.TRUST_EDITOR, code=""):
    """An invitation made through the service, and the token its email carries."""
    invitation = invitations.invite(trust, admin, email, role, code)
    return invitation, token_from(mail.outbox[-1])


def sign_up(client, email: str):
    data = {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    return client.post(reverse("account_signup") + "?next=/staff/join/complete/", data)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# Inviting


def test_an_admin_invites_a_colleague_and_only_a_keyed_hash_of_the_token_is_kept(
    client, trust, admin
):
    response = send_invitation(client, admin, email="New.Colleague@NHS.net")
    assert response.status_code == 302
    assert response.headers["Location"] == reverse("team")
    invitation = StaffInvitation.objects.get()
    assert invitation.email == "new.colleague@nhs.net"
    assert (invitation.provider, invitation.role, invitation.invited_by) == (
        trust,
        Role.TRUST_EDITOR,
        admin,
    )
    token = token_from(mail.outbox[0])
    assert len(token) >= 43  # 32 random bytes in URL-safe base64: 256 bits
    assert token not in invitation.digest
    assert invitation.digest == invitations.digest(token)
    week = invitation.expires_at - invitation.created_at
    assert timedelta(days=7) - timedelta(seconds=5) < week <= timedelta(days=7)
    assert AuditEvent.objects.filter(
        provider=trust, user=admin, action="staff-invitation-sent"
    ).exists()


def test_the_email_names_the_trust_and_the_role_and_links_to_the_join_page(client, admin):
    send_invitation(client, admin, role=Role.CLINICAL_REVIEWER)
    [message] = mail.outbox
    assert message.to == ["new.colleague@nhs.net"]
    assert "Test Hospitals NHS Trust" in message.subject
    assert "Clinical reviewer" in message.subject
    token = token_from(message)
    link = f"http://127.0.0.1:8000/staff/join/{token}/"
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    for body in (message.body, html):
        assert "Test Hospitals NHS Trust" in body
        assert "Clinical reviewer" in body
        assert link in body
        assert "admin@trust.nhs.uk" in body
        assert "two-step verification" in body


def test_the_audit_log_names_people_by_id_not_by_email(client, admin, caplog):
    send_invitation(client, admin)
    invitation = StaffInvitation.objects.get()
    assert f"staff invitation sent invitation={invitation.pk}" in caplog.text
    assert f"by user={admin.pk}" in caplog.text
    assert "new.colleague@nhs.net" not in caplog.text
    assert token_from(mail.outbox[0]) not in caplog.text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"email": ""}, "email", "Enter their email address"),
        ({"email": "not-an-address"}, "email", "Enter an email address in the correct format"),
        ({"role": ""}, "role", "Choose a role"),
        ({"role": "Superuser"}, "role", "Choose one of the roles listed"),
        ({"role": Role.PATIENT}, "role", "Choose one of the roles listed"),
        ({"role": Role.GP_PRACTICE}, "practice_ods_code", "Enter the GP practice's ODS code"),
        (
            {"role": Role.GP_PRACTICE, "practice_ods_code": "A8100"},
            "practice_ods_code",
            "a letter then 5 digits",
        ),
        (
            {"role": Role.GP_PRACTICE, "practice_ods_code": "81001A"},
            "practice_ods_code",
            "a letter then 5 digits",
        ),
        (
            {"role": Role.GP_PRACTICE, "practice_ods_code": "AB1001"},
            "practice_ods_code",
            "a letter then 5 digits",
        ),
        (
            {"role": Role.TRUST_EDITOR, "practice_ods_code": "A81001"},
            "practice_ods_code",
            "Leave the ODS code empty unless you choose GP practice",
        ),
    ],
)
def test_bad_input_gets_a_clear_message_and_sends_nothing(client, admin, fields, field, message):
    response = send_invitation(client, admin, **fields)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert "There is a problem" in response.content.decode()
    assert not StaffInvitation.objects.exists()
    assert mail.outbox == []


def test_a_practice_code_is_tidied_and_kept_for_a_gp_practice(client, admin):
    send_invitation(client, admin, role=Role.GP_PRACTICE, practice_ods_code=" a81 001 ")
    assert StaffInvitation.objects.get().practice_ods_code == "A81001"
    assert "A81001" in mail.outbox[0].body


def test_inviting_someone_who_already_has_the_role_is_refused(client, trust, admin):
    UserFactory(role=Role.TRUST_EDITOR, provider=trust, email="editor@trust.nhs.uk")
    response = send_invitation(client, admin, email="Editor@trust.nhs.uk")
    assert "already has the role Trust editor" in " ".join(response.context["form"].errors["email"])
    # Another role for the same colleague is fine: accepting adds it.
    send_invitation(client, admin, email="editor@trust.nhs.uk", role=Role.CLINICAL_REVIEWER)
    assert StaffInvitation.objects.filter(role=Role.CLINICAL_REVIEWER).exists()


def test_a_new_invitation_replaces_the_pending_one_to_the_same_address(client, trust, admin):
    _, first_token = invited(trust, admin)
    second, second_token = invited(trust, admin, role=Role.CLINICAL_REVIEWER)
    assert invitations.find(first_token) is None
    assert invitations.find(second_token) == second
    assert list(invitations.pending(trust)) == [second]


def test_a_mail_server_failure_keeps_no_invitation(client, admin):
    with mock.patch(
        "django.core.mail.EmailMultiAlternatives.send", side_effect=ConnectionRefusedError
    ):
        response = send_invitation(client, admin)
    assert response.status_code == 200
    assert "could not be emailed" in response.content.decode()
    assert not StaffInvitation.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "role", [Role.PATIENT, Role.TRUST_EDITOR, Role.CLINICAL_REVIEWER, Role.GP_PRACTICE]
)
def test_only_trust_admins_can_invite(client, trust, role):
    user = UserFactory(role=role, provider=trust, practice_ods_code="A81001")
    response = send_invitation(client, user)
    assert response.status_code == 403
    assert not StaffInvitation.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.post(reverse("team_invite"), {"email": "x@nhs.net", "role": "Trust admin"})
    assert response.headers["Location"].startswith(reverse("account_login"))


# Accepting


def test_the_join_page_says_who_invited_them_and_to_what(client, trust, admin):
    _, token = invited(trust, admin, role=Role.GP_PRACTICE, code="A81001")
    page = client.get(reverse("join", args=[token])).content.decode()
    assert "admin@trust.nhs.uk" in page
    assert "GP practice" in page and "A81001" in page
    assert "Test Hospitals NHS Trust" in page
    assert "new.colleague@nhs.net" in page


def test_accepting_by_signing_up_gives_the_role_then_asks_for_two_step_verification(
    client, trust, admin
):
    invitation, token = invited(trust, admin)
    client.get(reverse("join", args=[token]))
    response = sign_up(client, "New.Colleague@nhs.net")
    # The link proved the address is theirs: signed in at once, no second email to check.
    assert response.headers["Location"] == reverse("join_complete")
    user = User.objects.get(email="new.colleague@nhs.net")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert user.provider == trust
    assert user.role_names == {Role.TRUST_EDITOR}  # not a patient account
    invitation.refresh_from_db()
    assert (invitation.accepted_by, invitation.accepted_at is not None) == (user, True)
    assert client.get(reverse("join_complete")).headers["Location"] == reverse("mfa_activate_totp")
    # No staff page works until two-step verification is on.
    for page in ["staff_workspace", "waitinglist:responses", "advice:staff_list"]:
        assert client.get(reverse(page)).headers["Location"] == reverse("mfa_activate_totp")
    assert AuditEvent.objects.filter(user=user, action="staff-invitation-accepted").exists()


def test_signing_up_with_another_address_is_refused(client, trust, admin):
    _, token = invited(trust, admin)
    client.get(reverse("join", args=[token]))
    response = sign_up(client, "someone.else@nhs.net")
    assert response.status_code == 200
    assert "Use the email address your invitation was sent to" in response.content.decode()
    assert not User.objects.filter(email="someone.else@nhs.net").exists()


def test_sign_up_stays_open_to_invited_people_when_the_trust_closed_it(
    client, trust, admin, settings
):
    settings.ACCOUNT_SIGNUP_OPEN = False
    sign_up(client, "walk.in@nhs.net")
    assert not User.objects.filter(email="walk.in@nhs.net").exists()
    _, token = invited(trust, admin)
    client.get(reverse("join", args=[token]))
    sign_up(client, "new.colleague@nhs.net")
    assert User.objects.get(email="new.colleague@nhs.net").has_role(Role.TRUST_EDITOR)


def test_accepting_by_signing_in_to_an_existing_account(client, trust, admin):
    person = UserFactory(role=Role.PATIENT, email="new.colleague@nhs.net", password=PASSWORD)
    _, token = invited(trust, admin, email="NEW.colleague@nhs.net")
    client.get(reverse("join", args=[token]))
    response = client.post(
        reverse("account_login") + "?next=/staff/join/complete/",
        {"login": person.email, "password": PASSWORD},
    )
    assert response.headers["Location"] == reverse("join_complete")
    person = User.objects.get(pk=person.pk)
    assert person.provider == trust
    assert person.role_names == {Role.PATIENT, Role.TRUST_EDITOR}
    assert "You have joined Test Hospitals NHS Trust as Trust editor." in messages_of(response)
    assert client.get(reverse("join_complete")).headers["Location"] == reverse("mfa_activate_totp")


def test_staff_who_already_use_two_step_verification_go_straight_to_the_workspace(
    client, trust, admin
):
    reviewer = UserFactory(role=Role.CLINICAL_REVIEWER, provider=trust)
    _, token = invited(trust, admin, email=reviewer.email, role=Role.TRUST_ADMIN)
    client.force_login(reviewer)
    response = client.post(reverse("join", args=[token]))
    assert response.headers["Location"] == reverse("join_complete")
    assert client.get(reverse("join_complete")).headers["Location"] == reverse("staff_workspace")
    assert User.objects.get(pk=reviewer.pk).role_names == {
        Role.CLINICAL_REVIEWER,
        Role.TRUST_ADMIN,
    }


def test_a_practice_with_two_step_verification_goes_straight_to_its_patients(client, trust):
    practice = UserFactory(role=Role.GP_PRACTICE, provider=trust, practice_ods_code="A81001")
    client.force_login(practice)
    assert client.get(reverse("join_complete")).headers["Location"] == reverse(
        "waitinglist:practice_patients"
    )


def test_signing_in_with_another_account_does_not_accept(client, trust, admin):
    other = UserFactory(role=Role.PATIENT, email="other@example.com", password=PASSWORD)
    invitation, token = invited(trust, admin)
    client.get(reverse("join", args=[token]))
    response = client.post(reverse("account_login"), {"login": other.email, "password": PASSWORD})
    assert invitations.WRONG_EMAIL in messages_of(response)
    other = User.objects.get(pk=other.pk)
    assert (other.provider, other.role_names) == (None, {Role.PATIENT})
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_a_signed_in_person_accepts_with_the_button(client, trust, admin):
    person = UserFactory(role=Role.PATIENT, email="new.colleague@nhs.net")
    invitation, token = invited(trust, admin, role=Role.GP_PRACTICE, code="A81001")
    client.force_login(person)
    page = client.get(reverse("join", args=[token]))
    assert "Accept the invitation" in page.content.decode()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None  # looking at the page changes nothing
    response = client.post(reverse("join", args=[token]))
    assert response.headers["Location"] == reverse("join_complete")
    person = User.objects.get(pk=person.pk)
    assert (person.provider, person.practice_ods_code) == (trust, "A81001")
    assert person.is_practice_staff
    assert client.get(reverse("join_complete")).headers["Location"] == reverse("mfa_activate_totp")


def test_a_signed_in_person_with_another_address_is_told_and_cannot_accept(client, trust, admin):
    other = UserFactory(role=Role.PATIENT, email="other@example.com")
    invitation, token = invited(trust, admin)
    client.force_login(other)
    assert invitations.WRONG_EMAIL in client.get(reverse("join", args=[token])).content.decode()
    client.post(reverse("join", args=[token]))
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_an_account_of_another_trust_cannot_accept(client, trust, admin):
    elsewhere = UserFactory(
        role=Role.TRUST_EDITOR, provider=ProviderFactory(), email="new.colleague@nhs.net"
    )
    invitation, token = invited(trust, admin, role=Role.TRUST_ADMIN)
    client.force_login(elsewhere)
    page = client.get(reverse("join", args=[token])).content.decode()
    assert "Your account belongs to another trust" in page
    assert "Accept the invitation" not in page
    client.post(reverse("join", args=[token]))
    elsewhere = User.objects.get(pk=elsewhere.pk)
    assert elsewhere.provider != trust
    assert not elsewhere.has_role(Role.TRUST_ADMIN)
    with pytest.raises(invitations.Refused, match="another trust"):
        invitations.accept(invitation.pk, elsewhere)


def test_a_practice_account_cannot_join_as_another_practice(trust, admin):
    practice = UserFactory(
        role=Role.GP_PRACTICE, provider=trust, practice_ods_code="A81001", email="gp@nhs.net"
    )
    invitation, _ = invited(trust, admin, email="gp@nhs.net", role=Role.GP_PRACTICE, code="B82002")
    with pytest.raises(invitations.Refused, match="another GP practice"):
        invitations.accept(invitation.pk, practice)


def expired(invitation, token):
    StaffInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now())
    return token


def used(invitation, token):
    invitations.accept(invitation.pk, UserFactory(email=invitation.email))
    return token


def revoked(invitation, token):
    assert invitations.revoke(invitation.provider, invitation.pk, invitation.invited_by)
    return token


def unknown(invitation, token):
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize("spoil", [expired, used, revoked, unknown])
def test_unusable_links_all_get_the_same_answer(client, trust, admin, spoil):
    invitation, token = invited(trust, admin)
    response = client.get(reverse("join", args=[spoil(invitation, token)]))
    assert response.status_code == 404
    assert invitations.NOT_VALID in response.content.decode()
    assert invitations.PENDING not in client.session


def test_an_invitation_works_once(client, trust, admin):
    invitation, _ = invited(trust, admin)
    person = UserFactory(email="new.colleague@nhs.net")
    invitations.accept(invitation.pk, person)
    with pytest.raises(invitations.Refused) as refused:
        invitations.accept(invitation.pk, person)
    assert refused.value.message == invitations.NOT_VALID
    assert person.groups.filter(name=Role.TRUST_EDITOR).count() == 1
    assert AuditEvent.objects.filter(action="staff-invitation-accepted").count() == 1


def test_an_invitation_expires_after_seven_days(trust, admin):
    invitation, token = invited(trust, admin)
    with mock.patch("django.utils.timezone.now", return_value=invitation.expires_at):
        assert invitations.find(token) is None
        with pytest.raises(invitations.Refused):
            invitations.accept(invitation.pk, UserFactory(email=invitation.email))
    assert invitations.find(token) == invitation


def test_an_invitation_that_expired_during_sign_up_is_not_applied(client, trust, admin):
    invitation, token = invited(trust, admin)
    client.get(reverse("join", args=[token]))
    expired(invitation, token)
    response = sign_up(client, "new.colleague@nhs.net")
    user = User.objects.get(email="new.colleague@nhs.net")
    assert user.provider is None and not user.has_role(Role.TRUST_EDITOR)
    assert invitations.NOT_VALID in messages_of(response)


# The team page


def test_the_team_page_lists_the_trusts_accounts_and_pending_invitations_only(client, trust, admin):
    colleague = UserFactory(role=Role.TRUST_EDITOR, provider=trust, email="ed@trust.nhs.uk")
    practice = UserFactory(
        role=Role.GP_PRACTICE, provider=trust, practice_ods_code="A81001", mfa=False
    )
    other_trust = ProviderFactory()
    stranger = UserFactory(role=Role.TRUST_ADMIN, provider=other_trust, email="x@else.nhs.uk")
    invitations.invite(other_trust, stranger, "their.invite@nhs.net", Role.TRUST_EDITOR)
    invited(trust, admin, email="our.invite@nhs.net")
    gone, _ = invited(trust, admin, email="withdrawn@nhs.net")
    invitations.revoke(trust, gone.pk, admin)
    client.force_login(admin)
    page = client.get(reverse("team")).content.decode()
    assert colleague.email in page and practice.email in page and "A81001" in page
    assert "Not turned on yet" in page  # the practice has no authenticator
    assert "our.invite@nhs.net" in page
    assert stranger.email not in page and "their.invite@nhs.net" not in page
    assert "withdrawn@nhs.net" not in page


def test_the_workspace_links_admins_to_the_team_page(client, trust, admin):
    client.force_login(admin)
    assert reverse("team") in client.get(reverse("staff_workspace")).content.decode()
    client.force_login(UserFactory(role=Role.TRUST_EDITOR, provider=trust))
    assert reverse("team") not in client.get(reverse("staff_workspace")).content.decode()


def test_an_admin_withdraws_an_invitation(client, trust, admin):
    invitation, token = invited(trust, admin)
    client.force_login(admin)
    response = client.post(reverse("team_revoke", args=[invitation.pk]))
    assert response.headers["Location"] == reverse("team")
    assert invitations.find(token) is None
    assert AuditEvent.objects.filter(action="staff-invitation-revoked", user=admin).exists()
    # Withdrawing again finds nothing to withdraw.
    assert client.post(reverse("team_revoke", args=[invitation.pk])).status_code == 404


def test_an_admin_cannot_withdraw_another_trusts_invitation(client, admin):
    other_trust = ProviderFactory()
    theirs = UserFactory(role=Role.TRUST_ADMIN, provider=other_trust)
    invitation, token = invited(other_trust, theirs)
    client.force_login(admin)
    assert client.post(reverse("team_revoke", args=[invitation.pk])).status_code == 404
    assert invitations.find(token) == invitation


def test_an_admin_takes_a_role_away_from_a_colleague(client, trust, admin):
    colleague = UserFactory(role=Role.TRUST_EDITOR, provider=trust)
    colleague.add_role(Role.CLINICAL_REVIEWER)
    client.force_login(admin)
    page = client.get(reverse("team_member", args=[colleague.pk])).content.decode()
    assert 'Remove<span class="nhsuk-u-visually-hidden"> the role Trust editor' in page
    url = reverse("team_remove_role", args=[colleague.pk])
    response = client.post(url, {"role": Role.TRUST_EDITOR})
    assert response.headers["Location"] == reverse("team_member", args=[colleague.pk])
    assert User.objects.get(pk=colleague.pk).role_names == {Role.CLINICAL_REVIEWER}
    assert AuditEvent.objects.filter(action="staff-role-removed", user=admin).exists()


def test_taking_away_the_practice_role_forgets_the_practice(client, trust, admin):
    practice = UserFactory(role=Role.GP_PRACTICE, provider=trust, practice_ods_code="A81001")
    client.force_login(admin)
    client.post(reverse("team_remove_role", args=[practice.pk]), {"role": Role.GP_PRACTICE})
    practice = User.objects.get(pk=practice.pk)
    assert practice.practice_ods_code == ""
    assert not practice.is_practice_staff


@pytest.mark.parametrize("role", ["", "Superuser", Role.PATIENT, Role.CLINICAL_REVIEWER])
def test_taking_away_a_role_they_do_not_have_gets_a_clear_message(client, trust, admin, role):
    colleague = UserFactory(role=Role.TRUST_EDITOR, provider=trust)
    client.force_login(admin)
    response = client.post(reverse("team_remove_role", args=[colleague.pk]), {"role": role})
    assert any("does not have that role" in m for m in messages_of(response))
    assert User.objects.get(pk=colleague.pk).role_names == {Role.TRUST_EDITOR}


def test_the_last_admin_cannot_remove_their_own_admin_role(client, trust, admin):
    client.force_login(admin)
    response = client.post(reverse("team_remove_role", args=[admin.pk]), {"role": "Trust admin"})
    assert invitations.LAST_ADMIN in messages_of(response)
    assert User.objects.get(pk=admin.pk).has_role(Role.TRUST_ADMIN)
    # With a second admin, they can step down.
    UserFactory(role=Role.TRUST_ADMIN, provider=trust)
    client.post(reverse("team_remove_role", args=[admin.pk]), {"role": "Trust admin"})
    assert not User.objects.get(pk=admin.pk).has_role(Role.TRUST_ADMIN)


def test_a_deactivated_admin_does_not_count_as_the_other_admin(client, trust, admin):
    UserFactory(role=Role.TRUST_ADMIN, provider=trust, is_active=False)
    client.force_login(admin)
    client.post(reverse("team_remove_role", args=[admin.pk]), {"role": "Trust admin"})
    assert User.objects.get(pk=admin.pk).has_role(Role.TRUST_ADMIN)


def test_an_admin_deactivates_a_colleague_who_is_then_signed_out(client, trust, admin):
    colleague = UserFactory(role=Role.TRUST_EDITOR, provider=trust)
    client.force_login(colleague)
    assert client.get(reverse("staff_workspace")).status_code == 200
    admins = client.__class__()
    admins.force_login(admin)
    response = admins.post(reverse("team_deactivate", args=[colleague.pk]))
    assert response.headers["Location"] == reverse("team")
    assert not User.objects.get(pk=colleague.pk).is_active
    assert AuditEvent.objects.filter(action="staff-account-deactivated", user=admin).exists()
    # Their open session no longer works, and the team page no longer lists them.
    assert (
        client.get(reverse("staff_workspace"))
        .headers["Location"]
        .startswith(reverse("account_login"))
    )
    assert colleague not in admins.get(reverse("team")).context["members"]


def test_an_admin_cannot_deactivate_themselves(client, trust, admin):
    UserFactory(role=Role.TRUST_ADMIN, provider=trust)
    client.force_login(admin)
    response = client.post(reverse("team_deactivate", args=[admin.pk]))
    assert "You cannot deactivate your own account" in " ".join(messages_of(response))
    assert User.objects.get(pk=admin.pk).is_active


def test_the_last_admin_cannot_be_deactivated(trust, admin):
    # Only an admin can deactivate anyone, so this guards the service against a future caller.
    other = UserFactory(role=Role.TRUST_EDITOR, provider=trust)
    with pytest.raises(invitations.Refused, match="at least one trust admin"):
        invitations.deactivate(trust, admin, other)


@pytest.mark.parametrize("name", ["team_member", "team_remove_role", "team_deactivate"])
def test_another_trusts_accounts_are_not_found(client, admin, name):
    stranger = UserFactory(role=Role.TRUST_EDITOR, provider=ProviderFactory())
    client.force_login(admin)
    method = client.get if name == "team_member" else client.post
    assert method(reverse(name, args=[stranger.pk]), {"role": "Trust editor"}).status_code == 404
    stranger = User.objects.get(pk=stranger.pk)
    assert stranger.is_active and stranger.has_role(Role.TRUST_EDITOR)


@pytest.mark.parametrize("role", [Role.TRUST_EDITOR, Role.CLINICAL_REVIEWER, Role.GP_PRACTICE])
def test_only_admins_change_accounts(client, trust, role):
    colleague = UserFactory(role=Role.TRUST_EDITOR, provider=trust)
    client.force_login(UserFactory(role=role, provider=trust, practice_ods_code="A81001"))
    assert client.get(reverse("team")).status_code == 403
    assert client.post(reverse("team_deactivate", args=[colleague.pk])).status_code == 403
    assert User.objects.get(pk=colleague.pk).is_active


def at_once(*calls) -> list:
    """Runs each call in its own thread and database connection, all started together;
    returns what each returned or raised."""
    import threading

    from django.db import connections

    results: list = [None] * len(calls)

    def run(i, call):
        try:
            results[i] = call()
        except Exception as error:  # the caller looks at what was raised
            results[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_invitation_accepted_twice_at_the_same_moment_is_applied_once(trust, admin):
    import threading

    invitation, _ = invited(trust, admin)
    person = UserFactory(email="new.colleague@nhs.net")
    both_checked = threading.Barrier(2, timeout=10)
    check = invitations._check_acceptable

    def check_then_wait(*args):
        # Both tabs have seen the invitation unused before either claims it.
        check(*args)
        both_checked.wait()

    with mock.patch.object(invitations, "_check_acceptable", check_then_wait):
        results = at_once(
            lambda: invitations.accept(invitation.pk, person),
            lambda: invitations.accept(invitation.pk, person),
        )
    refusals = [r for r in results if isinstance(r, invitations.Refused)]
    assert len(refusals) == 1 and refusals[0].message == invitations.NOT_VALID
    assert AuditEvent.objects.filter(action="staff-invitation-accepted").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_admins_removing_each_other_at_once_leave_one(trust, admin):
    import threading

    other = UserFactory(role=Role.TRUST_ADMIN, provider=trust)
    checked = threading.Barrier(2, timeout=2)
    keep = invitations._keep_an_admin

    def keep_then_wait(*args):
        keep(*args)
        # Without the trust's row lock both would pass the check before either removed a
        # role; with it, the second waits at the lock and this wait times out.
        with contextlib.suppress(threading.BrokenBarrierError):
            checked.wait()

    with mock.patch.object(invitations, "_keep_an_admin", keep_then_wait):
        results = at_once(
            lambda: invitations.remove_role(trust, other, Role.TRUST_ADMIN, admin),
            lambda: invitations.remove_role(trust, admin, Role.TRUST_ADMIN, other),
        )
    assert sum(isinstance(r, invitations.Refused) for r in results) == 1
    admins = User.objects.filter(provider=trust, groups__name=Role.TRUST_ADMIN)
    assert admins.count() == 1


def test_the_team_page_takes_the_same_queries_for_a_big_team(client, trust, admin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("team")).status_code == 200
        return len(captured)

    client.force_login(admin)
    UserFactory(role=Role.TRUST_EDITOR, provider=trust)
    invited(trust, admin, email="one@nhs.net")
    few = queries()
    for n in range(30):
        UserFactory(role=Role.CLINICAL_REVIEWER, provider=trust, mfa=n % 2 == 0)
        invited(trust, admin, email=f"invited{n}@nhs.net")
    assert queries() == few
