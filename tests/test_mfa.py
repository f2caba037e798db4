"""Two-step verification: turning on an authenticator app; signing in with it or a recovery code."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse

from tests.totp import totp

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def sign_in(client, user, password):
    return client.post(reverse("account_login"), {"login": user.email, "password": password})


@pytest.mark.django_db
def test_a_patient_turns_on_an_authenticator_app(client, patient, password):
    sign_in(client, patient, password)
    # Changing how the account is protected asks for the password again first.
    asked = client.get(reverse("mfa_activate_totp"))
    assert asked.headers["Location"].startswith(reverse("account_reauthenticate"))
    client.post(asked.headers["Location"], {"password": password})
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret

    wrong = client.post(reverse("mfa_activate_totp"), {"code": "000000"})
    assert wrong.status_code == 200
    assert not Authenticator.objects.filter(user=patient).exists()

    right = client.post(reverse("mfa_activate_totp"), {"code": totp(secret)})
    assert right.status_code == 302
    types = set(Authenticator.objects.filter(user=patient).values_list("type", flat=True))
    # Recovery codes come with the app, so losing the phone does not lock the patient out.
    assert types == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}


@pytest.mark.django_db
def test_signing_in_with_mfa_needs_the_apps_code(client, patient, password):
    TOTP.activate(patient, SECRET)
    response = sign_in(client, patient, password)
    assert response.headers["Location"] == reverse("mfa_authenticate")
    # The password alone does not sign the patient in.
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("home")).status_code == 302

    wrong = client.post(reverse("mfa_authenticate"), {"code": "123456"})
    assert wrong.status_code == 200
    assert "_auth_user_id" not in client.session

    right = client.post(reverse("mfa_authenticate"), {"code": totp(SECRET)})
    assert right.status_code == 302
    assert right.headers["Location"] == reverse("home")
    assert client.session["_auth_user_id"] == str(patient.pk)
    assert client.get(reverse("home")).status_code == 200


@pytest.mark.django_db
def test_a_recovery_code_works_once(client, patient, password):
    TOTP.activate(patient, SECRET)
    code = RecoveryCodes.activate(patient).get_unused_codes()[0]

    sign_in(client, patient, password)
    assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
    assert client.session["_auth_user_id"] == str(patient.pk)

    client.post(reverse("account_logout"))
    sign_in(client, patient, password)
    again = client.post(reverse("mfa_authenticate"), {"code": code})
    assert again.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_account_page_urges_turning_on_mfa_until_it_is_on(client, patient):
    client.force_login(patient)
    assert b"Turn on two-step verification" in client.get(reverse("home")).content
    TOTP.activate(patient, SECRET)
    page = client.get(reverse("home")).content
    assert b"Turn on two-step verification" not in page
    assert b"Two-step verification is turned on" in page
