"""A patient who checked their activation code before signing in (or signing up, which signs
them in once their email address is verified) has their record linked as they sign in,
wherever the sign-in journey ends."""

from django.contrib import messages
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from waitinglist import activation

PENDING = "pending_activation_code"


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
