"""Renders every Django form with NHS.UK components (error summary, label, hint, error message);
and the portal's own forms."""

import re

from django import forms
from django.forms.renderers import TemplatesSetting

from portal.roles import STAFF_ROLES, Role

# A GP practice's ODS code: a letter then five digits (A81001; Y90001 for some practices).
PRACTICE_ODS_CODE = re.compile(r"[A-Z][0-9]{5}")


class NHSFormRenderer(TemplatesSetting):
    form_template_name = "nhsuk/forms/form.html"
    field_template_name = "nhsuk/forms/field.html"


class InvitationForm(forms.Form):
    """A trust admin's invitation: who, with which role, and for a GP practice, which one."""

    email = forms.EmailField(
        label="Email address",
        help_text="Their work email address. The invitation is sent there and works for 7 days.",
        max_length=254,
        error_messages={
            "required": "Enter their email address",
            "invalid": "Enter an email address in the correct format, like name@nhs.net",
        },
    )
    role = forms.ChoiceField(
        label="Role",
        choices=[(role.value, role.value) for role in STAFF_ROLES],
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose a role",
            "invalid_choice": "Choose one of the roles listed",
        },
    )
    practice_ods_code = forms.CharField(
        label="GP practice ODS code",
        help_text="Only for a GP practice: 6 characters, a letter then 5 digits, like A81001.",
        required=False,
        max_length=20,
    )

    def __init__(self, *args, provider, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.provider = provider

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean_practice_ods_code(self) -> str:
        return "".join(self.cleaned_data["practice_ods_code"].split()).upper()

    def clean(self) -> dict:
        data = super().clean()
        code = data.get("practice_ods_code", "")
        if data.get("role") == Role.GP_PRACTICE:
            if not code:
                self.add_error("practice_ods_code", "Enter the GP practice's ODS code")
            elif not PRACTICE_ODS_CODE.fullmatch(code):
                self.add_error(
                    "practice_ods_code",
                    "The ODS code must be a letter then 5 digits, like A81001",
                )
        elif code:
            self.add_error(
                "practice_ods_code",
                "Leave the ODS code empty unless you choose GP practice",
            )
        email, role = data.get("email"), data.get("role")
        if (
            email
            and role
            and self.provider.staff.filter(
                email__iexact=email, is_active=True, groups__name=role
            ).exists()
        ):
            self.add_error("email", f"{email} already has the role {role} at your trust")
        return data
