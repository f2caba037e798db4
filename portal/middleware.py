"""Session lifetime: signed out after 30 minutes idle or 12 hours in all (OWASP ASVS 3.3)."""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

LOGIN_AT = "portal_login_at"
LAST_SEEN = "portal_last_seen"
LAST_SEEN_PRECISION = 60  # seconds

audit = logging.getLogger("portal.audit")


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            self.enforce_timeouts(request)
        return self.get_response(request)

    def enforce_timeouts(self, request: HttpRequest) -> None:
        now = int(time.time())
        session = request.session
        login_at = session.setdefault(LOGIN_AT, now)
        last_seen = session.get(LAST_SEEN, now)
        idle = now - last_seen > settings.SESSION_IDLE_TIMEOUT
        too_old = now - login_at > settings.SESSION_ABSOLUTE_TIMEOUT
        if idle or too_old:
            audit.info(
                "session ended user=%s reason=%s", request.user.pk, "idle" if idle else "age"
            )
            logout(request)
            messages.info(request, "You have been signed out to keep your information safe.")
        elif LAST_SEEN not in session or now - last_seen >= LAST_SEEN_PRECISION:
            # Saving the session is a database write: once a minute is precise enough for a
            # 30-minute idle limit, and spares the write on most page views.
            session[LAST_SEEN] = now
