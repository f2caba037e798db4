"""Signing up, verifying the email address by code, signing in and resetting a password."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from portal.roles import Role
from tests.factories import UserFactory

GOOD_PASSWORD = "correct horse battery staple"


def sign_up(client, email: str, password: str = GOOD_PASSWORD):
    return client.post(
        reverse("account_signup"), {"email": email, "password1": password, "password2": password}
    )


def code_from(message) -> str:
    # allauth's codes are two groups of four letters and digits, on a line of their own.
    return re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", message.body, re.M).group(1)


@pytest.mark.django_db
def test_signing_up_needs_the_code_sent_to_the_email_address(client):
    response = sign_up(client, "new.patient@example.com")
    assert response.status_code == 302
    assert response.headers["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session
    assert len(mail.outbox) == 1
    code = code_from(mail.outbox[0])
    # Every email is a triplet: subject, text body and HTML body.
    assert mail.outbox[0].subject == "Wait Well: Confirm your email address"
    html, mimetype = mail.outbox[0].alternatives[0]
    assert mimetype == "text/html"
    assert code in html

    wrong = client.post(reverse("account_email_verification_sent"), {"code": "AAAAAA"})
    assert wrong.status_code == 200
    assert "_auth_user_id" not in client.session

    right = client.post(reverse("account_email_verification_sent"), {"code": code})
    assert right.status_code == 302
    assert right.headers["Location"] == reverse("home")
    user = UserFactory._meta.model.objects.get(email="new.patient@example.com")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert user.has_role(Role.PATIENT)
    assert not user.has_role(Role.TRUST_ADMIN)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "password, complaint",
    [
        ("short pass", "at least 12 characters"),
        ("password1234", "too common"),
        ("283749102938475", "entirely numeric"),
    ],
)
def test_weak_passwords_are_refused_with_an_nhs_error_summary(client, password, complaint):
    response = sign_up(client, "someone@example.com", password)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="nhsuk-error-summary"' in page
    assert complaint in page
    assert 'href="#id_password1"' in page
    assert "nhsuk-input--error" in page
    assert not UserFactory._meta.model.objects.filter(email="someone@example.com").exists()


@pytest.mark.django_db
def test_signing_up_with_a_taken_address_looks_the_same_as_a_new_one(client, patient):
    # No account enumeration: the answer must not say the address is registered.
    taken = sign_up(client, patient.email)
    fresh = sign_up(Client(), "nobody.yet@example.com")
    assert taken.status_code == fresh.status_code == 302
    assert taken.headers["Location"] == fresh.headers["Location"]
    # The owner of the address is told by email instead.
    assert [m.to for m in mail.outbox] == [[patient.email], ["nobody.yet@example.com"]]


@pytest.mark.django_db
def test_password_reset_answers_the_same_for_unknown_addresses(client, patient):
    known = client.post(reverse("account_reset_password"), {"email": patient.email})
    unknown = Client().post(reverse("account_reset_password"), {"email": "ghost@example.com"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    reset_mail = [m for m in mail.outbox if m.to == [patient.email]]
    assert len(reset_mail) == 1
    assert "/accounts/password/reset/key/" in reset_mail[0].body


@pytest.mark.django_db
def test_password_reset_link_sets_a_new_password(client, patient):
    client.post(reverse("account_reset_password"), {"email": patient.email})
    link = re.search(r"https?://[^/]+(/accounts/password/reset/key/\S+)", mail.outbox[0].body)
    form_page = client.get(link.group(1), follow=True)
    new_password = "a brand new long passphrase"
    done = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link.group(1),
        {"password1": new_password, "password2": new_password},
    )
    assert done.status_code == 302
    patient.refresh_from_db()
    assert patient.check_password(new_password)


@pytest.mark.django_db
def test_signing_in_starts_a_new_session(client, patient, password):
    client.get(reverse("start"))
    session = client.session
    session["before_login"] = True
    session.save()
    key_before = session.session_key
    response = client.post(reverse("account_login"), {"login": patient.email, "password": password})
    assert response.status_code == 302
    assert client.session.session_key != key_before
    assert client.session["_auth_user_id"] == str(patient.pk)


@pytest.mark.django_db
def test_a_wrong_password_gets_the_same_message_as_an_unknown_address(client, patient):
    wrong = client.post(reverse("account_login"), {"login": patient.email, "password": "nope" * 4})
    unknown = Client().post(
        reverse("account_login"), {"login": "ghost@example.com", "password": "nope" * 4}
    )
    assert wrong.status_code == unknown.status_code == 200
    assert wrong.context["form"].errors == unknown.context["form"].errors


@pytest.mark.django_db
def test_an_unverified_address_cannot_sign_in(client, password):
    user = UserFactory(password=password, verified_email=False)
    user.emailaddress_set.all().delete()
    response = client.post(reverse("account_login"), {"login": user.email, "password": password})
    assert "_auth_user_id" not in client.session
    assert response.headers["Location"] == reverse("account_email_verification_sent")


@pytest.mark.django_db
def test_signing_in_and_out_is_logged_by_user_id_only(client, patient, password, caplog):
    client.post(reverse("account_login"), {"login": patient.email, "password": password})
    client.post(reverse("account_logout"))
    assert f"login user={patient.pk}" in caplog.text
    assert f"logout user={patient.pk}" in caplog.text
    assert patient.email not in caplog.text
