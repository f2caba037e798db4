"""Invitations to link a hospital record, sent by email or text to the contacts in the
trust's extract (`issue_invitations --send`), through the same outbox as updates."""

from django.db import transaction

from updates.models import OutboxMessage
from waitinglist import activation
from waitinglist.models import Provider


def to_contacts(kind: str, key: str, email: str, mobile: str, context: dict) -> list:
    """A message to each contact the extract holds (email, mobile), for a patient who may
    have no account: no subscription, so the outbox's unique key does not cover them."""
    return [
        OutboxMessage(kind=kind, period=key, channel=channel, to=to, context=context)
        for channel, to in (("email", email), ("sms", mobile))
        if to
    ]


def queue(provider: Provider, invitations: list, publish) -> tuple[int, int]:
    """One message a contact for each invitation whose pathway has an email address or a
    mobile number; returns (emails, texts) queued."""
    contacts = {
        identifier: (email, mobile)
        for identifier, email, mobile in provider.pathways.filter(
            identifier__in=[i.pathway_identifier for i in invitations]
        ).values_list("identifier", "email", "mobile")
    }
    rows = []
    for invitation in invitations:
        email, mobile = contacts.get(invitation.pathway_identifier, ("", ""))
        context = {
            "hospital": provider.name,
            "code": activation.formatted(invitation.code),
            "url": activation.activation_url(invitation.code),
            "expires": invitation.expires.strftime("%-d %B %Y"),
        }
        key = f"{invitation.pathway_identifier}:{invitation.code[:6]}"
        rows += to_contacts("invite", key, email, mobile, context)
    with transaction.atomic():
        made = OutboxMessage.objects.bulk_create(rows, batch_size=5000)
        ids = [m.pk for m in made]
        transaction.on_commit(lambda: publish(ids))
    texts = sum(1 for m in made if m.channel == "sms")
    return len(made) - texts, texts
