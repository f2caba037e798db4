"""A patient who checked their activation code before signing in (or signing up, which signs
them in once their email address is verified) has their record linked as they sign in,
wherever the sign-in journey ends. And a change to anything a patient page shows makes every
cached patient page stale."""

from allauth.socialaccount.models import SocialAccount
from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from portal.nhs_login import views as nhs_login
from portal.roles import Role
from waitinglist import activation
from waitinglist.models import Patient, PatientLink, PatientResponse, Provider
from waitinglist.patient_page import patient_data_changed

PENDING = "pending_activation_code"


@receiver(user_logged_in)
def link_nhs_login_records(sender, request, user, **kwargs) -> None:
    """Signed in with NHS login: every pathway of the NHS number it verified is theirs."""
    account = SocialAccount.objects.filter(user=user, provider=nhs_login.PROVIDER_ID).first()
    if account is None:
        return
    number = nhs_login.verified_nhs_number(account.extra_data)
    if number is None:
        return
    for patient in Patient.objects.filter(nhs_number=number):
        PatientLink.objects.get_or_create(
            user=user, patient=patient, defaults={"method": PatientLink.Method.NHS_LOGIN}
        )
    user.add_role(Role.PATIENT)


@receiver(user_logged_in)
def link_pending_record(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is None or PENDING not in session:
        return
    code_id = session.pop(PENDING)
    if activation.link(user, code_id) is not None:
        messages.success(
            request, "Your hospital record is linked to your account.", fail_silently=True
        )


@receiver([post_save, post_delete], sender=PatientLink)
@receiver([post_save, post_delete], sender=PatientResponse)
@receiver([post_save, post_delete], sender=Provider)
def patient_pages_changed(sender, **kwargs) -> None:
    # Imports and estimates write in bulk, without signals: they call this themselves.
    patient_data_changed()
