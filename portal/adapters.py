"""How allauth creates accounts here: everyone who signs up is a patient, except someone
accepting a staff invitation (`portal.invitations`), who signs up with the invited address
and gets their role as they sign in."""

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.conf import settings

from portal import invitations
from portal.models import StaffInvitation
from portal.roles import Role


def pending_invitation(request) -> StaffInvitation | None:
    """The invitation this browser opened and has not yet used, if any."""
    session = getattr(request, "session", None)
    pk = session.get(invitations.PENDING) if session is not None else None
    return StaffInvitation.objects.filter(pk=pk).first() if pk else None


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # A trust may close public sign-up; people it invited can still create their account.
        if pending_invitation(request) is not None:
            return True
        return getattr(settings, "ACCOUNT_SIGNUP_OPEN", True)

    def clean_email(self, email: str) -> str:
        email = super().clean_email(email)
        invitation = pending_invitation(self.request) if self.request else None
        if invitation is not None and invitation.email.lower() != email.lower():
            raise forms.ValidationError(
                f"Use the email address your invitation was sent to: {invitation.email}"
            )
        return email

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        invitation = pending_invitation(request)
        invited = invitation is not None and invitation.email.lower() == user.email.lower()
        if commit and not invited:
            # Staff and practice accounts are created by a trust admin's invitation: their
            # role comes with it when they sign in (portal.signals), never from signing up.
            user.add_role(Role.PATIENT)
        return user
