"""The allauth provider: allauth's OpenID Connect provider with NHS login's token request."""

from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from django.urls import reverse

from portal.nhs_login.views import PROVIDER_ID, NHSLoginAdapter


class NHSLoginProvider(OpenIDConnectProvider):
    id = PROVIDER_ID
    name = "NHS login"
    oauth2_adapter_class = NHSLoginAdapter

    def get_oauth2_adapter(self, request):
        return NHSLoginAdapter(request)

    def get_login_url(self, request, **kwargs):
        return reverse(f"{PROVIDER_ID}_login")

    def get_callback_url(self):
        return reverse(f"{PROVIDER_ID}_callback")


provider_classes = [NHSLoginProvider]
