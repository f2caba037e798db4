"""Values every template needs: the service's name and the trust it is run by."""

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from waitinglist.models import Provider

SERVICE_NAME = "Wait Well"


def site(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.provider_id:
        trust = user.provider
    else:
        trust = site_trust()
    return {
        "service_name": SERVICE_NAME,
        "trust": trust,
        "nhs_login_enabled": bool(settings.NHS_LOGIN_CLIENT_ID),
    }


SITE_TRUST = "site-trust"
SITE_TRUST_SECONDS = 300


def site_trust() -> Provider | None:
    """The trust the site presents itself as, from the cache: every page shows its name, and
    changes to trusts clear it (`portal.signals`); five minutes bounds anything missed."""
    trust = cache.get(SITE_TRUST)
    if trust is None:
        trust = Provider.objects.for_site(settings.TRUST_ODS_CODE) or False
        cache.set(SITE_TRUST, trust, SITE_TRUST_SECONDS)
    return trust or None


def forget_site_trust() -> None:
    """A trust was added, changed or removed: the next page looks the site's trust up again."""
    cache.delete(SITE_TRUST)
