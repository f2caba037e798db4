"""Who may see what: view decorators that check roles and log every refusal."""

import logging
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from portal.roles import STAFF_ROLES, TRUST_STAFF, Role

audit = logging.getLogger("portal.audit")

View = Callable[..., HttpResponse]


def refuse(request: HttpRequest) -> None:
    """Log a failed authorisation (ASVS 7.2.2) and answer 403."""
    audit.warning("refused user=%s path=%s", request.user.pk, request.path)
    raise PermissionDenied


def has_mfa(user) -> bool:
    return user.authenticator_set.exists()


def role_required(*roles: Role) -> Callable[[View], View]:
    """Signed-in users holding any of the roles get the view; others are refused.

    Pages for staff roles see other people's records: until the account has two-step
    verification turned on, they send the user to turn it on instead.
    """
    staff_page = any(role in STAFF_ROLES for role in roles)

    def decorator(view: View) -> View:
        @wraps(view)
        @login_required
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.has_role(*roles):
                refuse(request)
            if staff_page and not has_mfa(request.user):
                messages.info(
                    request, "Turn on two-step verification before you use the staff pages."
                )
                return redirect("mfa_activate_totp")
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
