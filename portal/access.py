"""Who may see what: view decorators that check roles and log every refusal."""

import logging
from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from portal.roles import TRUST_STAFF, Role

audit = logging.getLogger("portal.audit")

View = Callable[..., HttpResponse]


def refuse(request: HttpRequest) -> None:
    """Log a failed authorisation (ASVS 7.2.2) and answer 403."""
    audit.warning("refused user=%s path=%s", request.user.pk, request.path)
    raise PermissionDenied


def role_required(*roles: Role) -> Callable[[View], View]:
    """Signed-in users holding any of the roles get the view; others are refused."""

    def decorator(view: View) -> View:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.has_role(*roles):
                refuse(request)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def trust_role_required(*roles: Role) -> Callable[[View], View]:
    """Holders of any of the roles who belong to a trust: their views are scoped to it."""

    def decorator(view: View) -> View:
        @wraps(view)
        @role_required(*roles)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.user.provider_id is None:
                refuse(request)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# Trust editors, clinical reviewers and admins who belong to a trust.
trust_staff_required = trust_role_required(*TRUST_STAFF)
trust_admin_required = trust_role_required(Role.TRUST_ADMIN)
