"""Staff and practice accounts: a trust admin invites a colleague or a GP practice by email,
the person accepts through the link, and admins take roles away or close accounts.

An invitation's token is 32 random bytes from `secrets` (256 bits) in the link. Only a keyed
hash of it (HMAC-SHA-256 with the site's secret key) is stored and looked up, as for patients'
activation codes (`waitinglist.activation`): a copy of the database opens no invitation, and a
lookup by keyed hash tells an attacker nothing about near misses. An invitation works once,
for 7 days, and only for an account with the address it was sent to. Every refusal of a link
gets the same message, so nobody learns whether a token ever existed.

The audit log names people by user id only, never by email address (`portal.signals`).
"""

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from portal.mail import send_templated_email
from portal.models import StaffInvitation, User
from portal.roles import STAFF_ROLES, Role
from waitinglist.models import AuditEvent, Provider

audit = logging.getLogger("portal.audit")

VALID_FOR = timedelta(days=7)
# The session key that holds the invitation a visitor opened until they have signed in.
PENDING = "pending_staff_invitation"


class Refused(Exception):
    """An invitation or a change to someone's account that cannot go ahead; says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


NOT_VALID = (
    "This invitation link cannot be used: it may have expired, been used already or been "
    "withdrawn, or it was not copied in full. Ask the trust admin who invited you to send a "
    "new invitation."
)
WRONG_EMAIL = (
    "This invitation was sent to a different email address from the one on your account. "
    "Sign out, then sign in or create an account with the address the invitation was sent to."
)
OTHER_TRUST = (
    "Your account belongs to another trust, so it cannot join this one. Ask the trust admin "
    "who invited you to invite a different email address."
)
OTHER_PRACTICE = (
    "Your account belongs to another GP practice, so it cannot join this one. Ask the trust "
    "admin who invited you to invite a different email address."
)
LAST_ADMIN = (
    "Your trust must keep at least one trust admin. Invite another trust admin before you "
    "take this role away."
)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    # Tokens are case-sensitive (unlike activation codes), so they are hashed as given; the
    # prefix keeps these hashes apart from any other keyed hash of the same secret key.
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, b"staff-invitation:" + token.encode(), hashlib.sha256).hexdigest()


def join_url(token: str) -> str:
    return f"{settings.SITE_URL}{reverse('join', args=[token])}"


def pending(provider: Provider) -> QuerySet[StaffInvitation]:
    """The trust's invitations that can still be accepted, newest first."""
    return provider.staff_invitations.filter(
        accepted_at__isnull=True, expires_at__gt=timezone.now()
    )


def find(token: str) -> StaffInvitation | None:
    """The usable invitation the token opens, or None for any token that opens nothing."""
    return (
        StaffInvitation.objects.filter(
            digest=digest(token), accepted_at__isnull=True, expires_at__gt=timezone.now()
        )
        .select_related("provider", "invited_by")
        .first()
    )


def invite(
    provider: Provider, invited_by: User, email: str, role: Role, practice_ods_code: str = ""
) -> StaffInvitation:
    """Emails a new invitation. It replaces any pending one to the same address at the trust;
    if the email cannot be sent, nothing is kept and the error is raised."""
    token = new_token()
    now = timezone.now()
    with transaction.atomic():
        pending(provider).filter(email__iexact=email).update(expires_at=now)
        invitation = StaffInvitation.objects.create(
            provider=provider,
            email=email.lower(),
            role=role,
            practice_ods_code=practice_ods_code if role == Role.GP_PRACTICE else "",
            digest=digest(token),
            invited_by=invited_by,
            expires_at=now + VALID_FOR,
        )
        AuditEvent.objects.create(
            provider=provider, user=invited_by, action="staff-invitation-sent"
        )
        send(invitation, token)
    audit.info(
        "staff invitation sent invitation=%s trust=%s by user=%s",
        invitation.pk,
        provider.pk,
        invited_by.pk,
    )
    return invitation


def send(invitation: StaffInvitation, token: str) -> None:
    """The invitation email: subject, text and HTML, naming the trust and the role."""
    context = {
        "invitation": invitation,
        "trust": invitation.provider,
        "role": invitation.role,
        "is_practice": invitation.role == Role.GP_PRACTICE,
        "url": join_url(token),
    }
    send_templated_email("portal/email/staff_invitation", context, invitation.email)


def revoke(provider: Provider, pk: int, by: User) -> bool:
    """Withdraws one of the trust's pending invitations; False if there was none to withdraw."""
    with transaction.atomic():
        if not pending(provider).filter(pk=pk).update(expires_at=timezone.now()):
            return False
        AuditEvent.objects.create(provider=provider, user=by, action="staff-invitation-revoked")
    audit.info("staff invitation revoked invitation=%s by user=%s", pk, by.pk)
    return True


def accept(invitation_id: int, user: User) -> StaffInvitation:
    """Gives `user` the invitation's trust, role and practice, once; raises Refused."""
    now = timezone.now()
    with transaction.atomic():
        invitation = (
            StaffInvitation.objects.select_related("provider").filter(pk=invitation_id).first()
        )
        if invitation is None:
            raise Refused(NOT_VALID)
        _check_acceptable(invitation, user)
        # Two tabs, or a sign-in racing the "accept" button: only one can change this row.
        claimed = StaffInvitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, expires_at__gt=now
        ).update(accepted_at=now, accepted_by=user)
        if claimed != 1:
            raise Refused(NOT_VALID)
        user.provider = invitation.provider
        if invitation.role == Role.GP_PRACTICE:
            user.practice_ods_code = invitation.practice_ods_code
        user.save(update_fields=["provider", "practice_ods_code"])
        user.add_role(Role(invitation.role))
        AuditEvent.objects.create(
            provider=invitation.provider, user=user, action="staff-invitation-accepted"
        )
    audit.info("staff invitation accepted invitation=%s by user=%s", invitation.pk, user.pk)
    return invitation


def _check_acceptable(invitation: StaffInvitation, user: User) -> None:
    if invitation.accepted_at is not None or invitation.expires_at <= timezone.now():
        raise Refused(NOT_VALID)
    if invitation.email.lower() != user.email.lower():
        raise Refused(WRONG_EMAIL)
    if user.provider_id not in (None, invitation.provider_id):
        raise Refused(OTHER_TRUST)
    if (
        invitation.role == Role.GP_PRACTICE
        and user.practice_ods_code
        and user.practice_ods_code != invitation.practice_ods_code
    ):
        raise Refused(OTHER_PRACTICE)


def problem_accepting(invitation: StaffInvitation, user: User) -> str | None:
    """Why this signed-in user cannot accept the invitation, or None if they can."""
    try:
        _check_acceptable(invitation, user)
    except Refused as refused:
        return refused.message
    return None


def team(provider: Provider) -> QuerySet[User]:
    """The trust's active staff and practice accounts."""
    return provider.staff.filter(is_active=True)


def remove_role(provider: Provider, member: User, role: str, by: User) -> None:
    """Takes one staff role away from a member of the trust; raises Refused."""
    if role not in STAFF_ROLES or role not in member.role_names:
        raise Refused(f"{member.email} does not have that role.")
    with transaction.atomic():
        if role == Role.TRUST_ADMIN:
            _keep_an_admin(provider, member)
        member.groups.remove(Group.objects.get(name=role))
        member.__dict__.pop("_role_names", None)
        if role == Role.GP_PRACTICE:
            member.practice_ods_code = ""
            member.save(update_fields=["practice_ods_code"])
        AuditEvent.objects.create(provider=provider, user=by, action="staff-role-removed")
    audit.info("staff role removed user=%s role=%s by user=%s", member.pk, role, by.pk)


def deactivate(provider: Provider, member: User, by: User) -> None:
    """Closes a member's account: they can no longer sign in. Never the admin's own."""
    if member.pk == by.pk:
        raise Refused("You cannot deactivate your own account. Ask another trust admin.")
    with transaction.atomic():
        if member.has_role(Role.TRUST_ADMIN):
            _keep_an_admin(provider, member)
        member.is_active = False
        member.save(update_fields=["is_active"])
        AuditEvent.objects.create(provider=provider, user=by, action="staff-account-deactivated")
    audit.info("staff account deactivated user=%s by user=%s", member.pk, by.pk)


def _keep_an_admin(provider: Provider, leaving: User) -> None:
    # Locking the trust's row serialises team changes, so two admins removing each other at
    # the same moment cannot leave the trust with none.
    Provider.objects.select_for_update().filter(pk=provider.pk).first()
    others = team(provider).filter(groups__name=Role.TRUST_ADMIN).exclude(pk=leaving.pk)
    if not others.exists():
        raise Refused(LAST_ADMIN)
