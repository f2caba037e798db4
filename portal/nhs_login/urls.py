from allauth.socialaccount.providers.oauth2.urls import default_urlpatterns

from portal.nhs_login.provider import NHSLoginProvider

urlpatterns = default_urlpatterns(NHSLoginProvider)
