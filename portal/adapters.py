"""How allauth creates accounts here: everyone who signs up is a patient."""

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

from portal.roles import Role


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return getattr(settings, "ACCOUNT_SIGNUP_OPEN", True)

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            # Staff and practice accounts are created by a trust admin, never by signing up.
            user.add_role(Role.PATIENT)
        return user
