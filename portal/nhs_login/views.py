"""NHS login: OpenID Connect as NHS login requires it, on top of allauth's generic provider.

NHS login accepts only the authorisation-code flow with `private_key_jwt` client
authentication: instead of a secret, the token request carries a short-lived JWT signed RS512
with the service's private key (RFC 7523). allauth's OpenID Connect provider sends only client
secrets, so `NHSLoginAdapter` adds the signed `client_assertion` to the token request. The
verified `nhs_number` claim then links every pathway of that patient (`link_patient`); the
patient is never shown it.
"""

import time
import uuid

import jwt
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from allauth.utils import build_absolute_uri, get_request_param
from django.conf import settings
from django.http import Http404, HttpRequest
from django.urls import reverse

from portal.roles import Role

PROVIDER_ID = "nhs_login"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 60  # seconds
VERIFIED = "P9"  # the vector of trust that proves who the patient is (NHS login "high")


def client_assertion(client_id: str, token_url: str) -> str:
    """The signed JWT that authenticates this service to NHS login's token endpoint."""
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
    }
    with open(settings.NHS_LOGIN_PRIVATE_KEY_FILE, "rb") as key:
        return jwt.encode(claims, key.read(), algorithm="RS512")


class NHSLoginAdapter(OpenIDConnectOAuth2Adapter):
    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request, PROVIDER_ID)

    def get_callback_url(self, request: HttpRequest, app) -> str:
        return build_absolute_uri(
            request, reverse("nhs_login_callback"), self.redirect_uri_protocol
        )

    def get_access_token_data(self, request, app, client, pkce_code_verifier=None):
        code = get_request_param(self.request, "code")
        assertion = {
            "client_assertion_type": JWT_BEARER,
            "client_assertion": client_assertion(app.client_id, self.access_token_url),
        }
        data = client.get_access_token(
            code, pkce_code_verifier=pkce_code_verifier, extra_data=assertion
        )
        self.did_fetch_access_token = True
        return data


oauth2_login = OAuth2LoginView.adapter_view(NHSLoginAdapter)
oauth2_callback = OAuth2CallbackView.adapter_view(NHSLoginAdapter)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_app(self, request, provider, client_id=None):
        # A service without NHS login configured (NHS_LOGIN_CLIENT_ID unset) has no such
        # pages: a clear "not found", not a server error.
        try:
            return super().get_app(request, provider, client_id)
        except SocialApp.DoesNotExist:
            raise Http404("NHS login is not set up for this service") from None

    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form)
        user.add_role(Role.PATIENT)
        return user


def verified_nhs_number(extra_data: dict) -> str | None:
    """The NHS number NHS login traced, if it proved who the patient is to P9."""
    claims = {**extra_data.get("userinfo", {}), **extra_data.get("id_token", {})}
    vot = str(claims.get("vot", ""))
    number = str(claims.get("nhs_number", "")).replace(" ", "")
    if not vot.startswith(VERIFIED) or not (len(number) == 10 and number.isdigit()):
        return None
    return number
