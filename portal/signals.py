"""Audit log of sign-ins and refusals (OWASP ASVS 7.2): user ids only, never credentials. And
the cached trust every page names, forgotten when trusts change. And a staff invitation opened
before signing in (or signing up) is accepted the moment its person signs in."""

import logging
import time

from django.contrib import messages
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from portal import invitations
from portal.context_processors import forget_site_trust
from portal.middleware import LAST_SEEN, LOGIN_AT
from waitinglist.models import Provider

audit = logging.getLogger("portal.audit")


@receiver(user_logged_in)
def record_login(sender, request, user, **kwargs) -> None:
    now = int(time.time())
    request.session[LOGIN_AT] = now
    request.session[LAST_SEEN] = now
    audit.info("login user=%s", user.pk)


@receiver(user_logged_out)
def record_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit.info("logout user=%s", user.pk)


@receiver(user_login_failed)
def record_login_failure(sender, credentials, request=None, **kwargs) -> None:
    # The email typed is personal data and may belong to nobody: log only that it failed.
    audit.warning("login failed ip=%s", request.META.get("REMOTE_ADDR") if request else "-")


@receiver([post_save, post_delete], sender=Provider)
def trust_changed(sender, **kwargs) -> None:
    forget_site_trust()


@receiver(user_logged_in)
def accept_pending_invitation(sender, request, user, **kwargs) -> None:
    """Like activation codes (`waitinglist.signals`): wherever the sign-in journey ends, the
    invitation opened on the way is applied, once, to the account that signed in."""
    session = getattr(request, "session", None)
    if session is None or invitations.PENDING not in session:
        return
    invitation_id = session.pop(invitations.PENDING)
    try:
        invitation = invitations.accept(invitation_id, user)
    except invitations.Refused as refused:
        messages.error(request, refused.message, fail_silently=True)
    else:
        messages.success(
            request,
            f"You have joined {invitation.provider.name} as {invitation.role}.",
            fail_silently=True,
        )
