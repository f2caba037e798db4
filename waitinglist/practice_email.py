"""The weekly email to GP practice staff: what changed for their practice's patients.

Email is not a secure channel, so the email holds counts only, never an NHS number or a
clinical detail, and links to the list behind the sign-in. Practices with nothing new that
week get no email.

Once a week per person: each send is claimed first by an audit record (`AuditEvent`, action
`practice-summary-emailed`), written under a lock on the user's row, so two runs of the task
(or two workers) can never both send to the same person in the same week.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.mail import send_templated_email
from portal.models import User
from portal.roles import Role
from waitinglist.models import AuditEvent, PatientResponse, Provider
from waitinglist.practices import practice_pathways

log = logging.getLogger(__name__)

EMAILED = "practice-summary-emailed"
LONG_WAIT_WEEKS = 52


@dataclass(frozen=True)
class PracticeChanges:
    """A practice's week, in counts."""

    newly_booked: int
    long_waiters: int
    newly_long_waiters: int
    new_worse: int

    @property
    def anything_new(self) -> bool:
        return bool(self.newly_booked or self.newly_long_waiters or self.new_worse)


def practice_changes(user: User, today: date) -> PracticeChanges:
    """The changes for the user's practice in the week before `today` (a Monday, when the task
    runs)."""
    pathways = practice_pathways(user)
    this_week = week_start(today)
    last_week = this_week - timedelta(weeks=1)
    long_ago = today - timedelta(weeks=LONG_WAIT_WEEKS)
    # Booked dates first seen in an extract imported last week. The trust's first extract is
    # left out: every booking in it is new to the portal, not to the patient.
    first = user.provider.snapshots.order_by("week_ending").values("pk")[:1]
    newly_booked = (
        pathways.filter(
            booked_snapshot__imported_at__gte=last_week,
            booked_snapshot__imported_at__lt=this_week,
        )
        .exclude(booked_snapshot__in=first)
        .count()
    )
    return PracticeChanges(
        newly_booked=newly_booked,
        long_waiters=pathways.filter(clock_start__lt=long_ago).count(),
        newly_long_waiters=pathways.filter(
            clock_start__lt=long_ago, clock_start__gte=long_ago - timedelta(weeks=1)
        ).count(),
        new_worse=PatientResponse.objects.filter(
            pathway__in=pathways,
            answer=PatientResponse.Answer.WORSE,
            created_at__gte=last_week,
            created_at__lt=this_week,
        ).count(),
    )


def practice_users():
    """Active practice accounts with a trust and a practice, grouped by practice."""
    return (
        User.objects.filter(is_active=True, groups__name=Role.GP_PRACTICE)
        .exclude(provider__isnull=True)
        .exclude(practice_ods_code="")
        .select_related("provider")
        .order_by("provider_id", "practice_ods_code", "pk")
        .distinct()
    )


def week_start(today: date) -> datetime:
    """Monday 00:00, local time, of the week `today` is in."""
    monday = today - timedelta(days=today.weekday())
    return timezone.make_aware(datetime.combine(monday, time.min))


def send_practice_summaries(today: date) -> int:
    """Emails each practice account its practice's week, at most once a week. Returns the
    number of emails sent."""
    since = week_start(today)
    changes: dict[tuple[int, str], PracticeChanges] = {}
    sent = 0
    for user in practice_users():
        practice = (user.provider_id, user.practice_ods_code)
        if practice not in changes:
            changes[practice] = practice_changes(user, today)
        if not changes[practice].anything_new:
            continue
        claim = _claim(user, since)
        if claim is None:
            continue
        try:
            _send(user, changes[practice], today)
        except Exception:
            # Let a later run this week try again; the person is named by id only.
            log.exception("practice summary to user %s failed", user.pk)
            claim.delete()
        else:
            sent += 1
    return sent


def _claim(user: User, since: datetime) -> AuditEvent | None:
    """The audit record of this week's email, or None if someone already sent it."""
    with transaction.atomic():
        list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk"))
        done = AuditEvent.objects.filter(user=user, action=EMAILED, at__gte=since).exists()
        if done:
            return None
        return AuditEvent.objects.create(provider_id=user.provider_id, user=user, action=EMAILED)


def _send(user: User, changes: PracticeChanges, today: date) -> None:
    trust: Provider = user.provider
    context = {
        "changes": changes,
        "trust": trust,
        "practice": user.practice_ods_code,
        "week_of": (week_start(today) - timedelta(weeks=1)).date(),
        "url": settings.SITE_URL + reverse("waitinglist:practice_patients"),
    }
    send_templated_email("waitinglist/email/practice_summary", context, user.email)
