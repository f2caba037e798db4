"""Values every template needs: the service's name and the trust it is run by."""

from django.conf import settings
from django.http import HttpRequest

from waitinglist.models import Provider

SERVICE_NAME = "Wait Well"


def site(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.provider_id:
        trust = user.provider
    else:
        trust = Provider.objects.for_site(settings.TRUST_ODS_CODE)
    return {
        "service_name": SERVICE_NAME,
        "trust": trust,
        "nhs_login_enabled": bool(settings.NHS_LOGIN_CLIENT_ID),
    }
