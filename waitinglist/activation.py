"""Activation codes: how a patient links their portal account to their hospital record.

A code is 12 characters from an alphabet without look-alikes (no I, L, O, U, 0, 1): about 59
bits, far beyond guessing, and each code locks after `ActivationCode.MAX_FAILURES` wrong birth
dates. Only a keyed hash (HMAC-SHA-256 with the site's secret key) is stored and looked up, and
the birth date is compared in constant time. Every failure gets the same answer, so nobody can
learn whether a code exists.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.roles import Role
from waitinglist.models import ActivationCode, Patient, PatientLink, Provider

ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
LENGTH = 12
DEFAULT_VALID_DAYS = 90


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def normalise(code: str) -> str:
    """The code as typed, without spaces, dashes or case: 'abcd-efgh-jkmn' -> 'ABCDEFGHJKMN'."""
    return "".join(c for c in code.upper() if c.isalnum())


def formatted(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def digest(code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, normalise(code).encode(), hashlib.sha256).hexdigest()


def activation_url(code: str) -> str:
    return f"{settings.SITE_URL}{reverse('waitinglist:activate')}?code={formatted(code)}"


@dataclass
class Invitation:
    pathway_identifier: str
    code: str
    expires: date


def issue(provider: Provider, days: int = DEFAULT_VALID_DAYS) -> list[Invitation]:
    """A new code for every patient on the latest snapshot who has no linked account yet.

    A patient's earlier unused codes stop working: only the newest letter is valid.
    """
    snapshot = provider.latest_snapshot
    if snapshot is None:
        raise ValueError(f"{provider.ods_code} has no imported snapshot yet")
    now = timezone.now()
    expires = now + timedelta(days=days)
    patients = (
        Patient.objects.filter(pathways__weeks__snapshot=snapshot, links__isnull=True)
        .distinct()
        .order_by("pk")
    )
    first_pathway = _first_pathways(provider, snapshot)
    invitations = []
    with transaction.atomic():
        ActivationCode.objects.filter(
            patient__provider=provider, used_at__isnull=True, expires_at__gt=now
        ).update(expires_at=now)
        for patient in patients.iterator(chunk_size=2000):
            code = new_code()
            ActivationCode.objects.create(patient=patient, digest=digest(code), expires_at=expires)
            invitations.append(Invitation(first_pathway[patient.pk], code, expires.date()))
    return invitations


def _first_pathways(provider: Provider, snapshot) -> dict[int, str]:
    """Each patient's first open pathway identifier: the letter's mail-merge key."""
    first: dict[int, str] = {}
    rows = (
        provider.pathways.filter(weeks__snapshot=snapshot)
        .order_by("patient_id", "identifier")
        .values_list("patient_id", "identifier")
    )
    for patient_id, identifier in rows.iterator(chunk_size=5000):
        first.setdefault(patient_id, identifier)
    return first


class CodeRefused(Exception):
    """The one answer to every failure, so that it reveals nothing."""

    message = (
        "The activation code and date of birth do not match our records, or the code has "
        "expired or been used. Check your letter and try again, or contact the waiting-list "
        "team for a new code."
    )


def check(code: str, birth_date: date) -> ActivationCode:
    """The code's record if it is usable and the birth date matches; counts failures."""
    now = timezone.now()
    with transaction.atomic():
        found = (
            ActivationCode.objects.select_for_update()
            .select_related("patient")
            .filter(digest=digest(code))
            .first()
        )
        matches = found is not None and hmac.compare_digest(
            found.patient.birth_date.isoformat().encode(), birth_date.isoformat().encode()
        )
        if found is not None and found.usable(now) and not matches:
            found.failures += 1  # kept: the refusal below is raised after the commit
            found.save(update_fields=["failures"])
    if found is None or not found.usable(now) or not matches:
        raise CodeRefused
    return found


def link(user, code_id: int) -> PatientLink | None:
    """Uses the checked code to link `user` to its patient; None if it was used meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        code = ActivationCode.objects.select_for_update().filter(pk=code_id).first()
        if code is None or not code.usable(now):
            return None
        code.used_at, code.used_by = now, user
        code.save(update_fields=["used_at", "used_by"])
        linked, _ = PatientLink.objects.get_or_create(
            user=user,
            patient_id=code.patient_id,
            defaults={"method": PatientLink.Method.ACTIVATION_CODE},
        )
        user.add_role(Role.PATIENT)
    return linked
