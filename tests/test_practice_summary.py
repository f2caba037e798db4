"""The printable summary of one patient's wait, and the weekly email to practices."""

from datetime import date, datetime, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from portal.roles import Role
from tests.factories import UserFactory
from tests.practice_data import pathway, practice_user, today, trust_with_snapshot
from waitinglist.models import AuditEvent, Estimate, PatientResponse, QueueRates, Snapshot
from waitinglist.practice_email import practice_changes, send_practice_summaries, week_start
from waitinglist.tasks import send_practice_summaries as weekly_task

MONDAY = date(2026, 11, 23)


@pytest.fixture
def trust_and_snapshot(db):
    return trust_with_snapshot()


def summary_url(p) -> str:
    return reverse("waitinglist:practice_summary", args=[p.pk])


# --- The printable summary -----------------------------------------------------------------


@pytest.mark.django_db
def test_the_summary_says_the_wait_in_words_the_gp_can_hand_over(client, trust_and_snapshot):
    trust, snapshot = trust_and_snapshot
    ours = pathway(trust, snapshot, weeks_waited=40, position=132, procedure="W40.1")
    QueueRates.objects.create(
        queue=ours.queue,
        band=4,
        snapshot=snapshot,
        weeks_of_history=12,
        treated_per_week=9.6,
        joined_ahead_per_week=2.2,
        removed_share_per_week=0.01,
    )
    gp = practice_user(trust)
    client.force_login(gp)
    page = client.get(summary_url(ours)).content.decode()
    n = ours.patient.nhs_number
    for said in [
        f"{n[:3]} {n[3:6]} {n[6:]}",
        "1 January 1950",
        "Trauma and Orthopaedics treatment: knee replacement",
        "40 weeks since you were referred",
        "132nd in the queue for Trauma and Orthopaedics treatment",
        "Between January and May 2027",
        "Not booked yet",
        "about 10 people a week on this list had their treatment",
        "Most people in your place are treated between January and May 2027.",
        "Contact your GP practice.",
        "call 111",
        "Call 999",
        f"on {trust.waiting_list_phone} or at {trust.waiting_list_email}",
        f"for the week ending {snapshot.week_ending:%-d %B %Y}",
        "portal/css/print.css",
        'media="print"',
    ]:
        assert said in page, said
    event = AuditEvent.objects.get(action="practice-summary-viewed")
    assert (event.user, event.pathway, event.provider) == (gp, ours, trust)


@pytest.mark.django_db
def test_the_summary_gives_the_booked_date(client, trust_and_snapshot):
    trust, snapshot = trust_and_snapshot
    booked = today() + timedelta(days=12)
    ours = pathway(trust, snapshot, tci_date=booked, estimate=Estimate.Basis.BOOKED)
    client.force_login(practice_user(trust))
    page = client.get(summary_url(ours)).content.decode()
    assert f"{booked:%A} {booked.day} {booked:%B %Y}" in page
    assert "Your date is booked" in page


@pytest.mark.django_db
def test_the_summary_has_no_inline_style_or_script(client, trust_and_snapshot):
    trust, snapshot = trust_and_snapshot
    ours = pathway(trust, snapshot)
    client.force_login(practice_user(trust))
    page = client.get(summary_url(ours)).content.decode()
    assert "style=" not in page and "<style" not in page
    assert "portal/js/print.js" in page


@pytest.mark.django_db
def test_other_practices_and_trusts_get_404_for_every_summary_id(client, trust_and_snapshot):
    trust, snapshot = trust_and_snapshot
    ours = [pathway(trust, snapshot) for _ in range(3)]
    elsewhere, other_snapshot = trust_with_snapshot("RYY")
    theirs = pathway(elsewhere, other_snapshot)
    for intruder in [practice_user(trust, "Y90002"), practice_user(elsewhere)]:
        client.force_login(intruder)
        for p in ours:
            assert client.get(summary_url(p)).status_code == 404
    client.force_login(practice_user(trust))
    assert client.get(summary_url(theirs)).status_code == 404
    assert client.get(summary_url(ours[0])).status_code == 200
    assert AuditEvent.objects.filter(action="practice-summary-viewed").count() == 1


# --- The weekly email ----------------------------------------------------------------------


def at(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()) + timedelta(hours=hour))


@pytest.fixture
def week_of_changes(trust_and_snapshot):
    """Practice Y90001: one patient says they got worse last week, one crossed 52 weeks this
    week, one waited long before; practice Y90002 has nothing new."""
    trust, snapshot = trust_and_snapshot
    worse = pathway(trust, snapshot, weeks_waited=3)
    response = PatientResponse.objects.create(pathway=worse, answer=PatientResponse.Answer.WORSE)
    PatientResponse.objects.filter(pk=response.pk).update(created_at=at(MONDAY - timedelta(3)))
    old = PatientResponse.objects.create(pathway=worse, answer=PatientResponse.Answer.WORSE)
    PatientResponse.objects.filter(pk=old.pk).update(created_at=at(MONDAY - timedelta(10)))
    crossed = pathway(trust, snapshot)
    crossed.clock_start = MONDAY - timedelta(weeks=52, days=2)
    crossed.save()
    long_ago = pathway(trust, snapshot)
    long_ago.clock_start = MONDAY - timedelta(weeks=70)
    long_ago.save()
    pathway(trust, snapshot, practice="Y90002", weeks_waited=3)
    return trust


@pytest.mark.django_db
def test_each_practice_account_gets_its_practices_week_in_counts_only(week_of_changes, settings):
    settings.SITE_URL = "https://waitwell.example.nhs.uk"
    trust = week_of_changes
    first, second = practice_user(trust), practice_user(trust)
    practice_user(trust, "Y90002")  # nothing new: no email
    practice_user(trust, is_active=False)
    UserFactory(role=Role.TRUST_ADMIN, provider=trust)

    assert send_practice_summaries(MONDAY) == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([first.email, second.email])
    message = mail.outbox[0]
    assert message.subject == (
        f"Your practice's patients on {trust.name}'s waiting lists: week of 16 November 2026"
    )
    html = message.alternatives[0][0]
    for body in (message.body, html):
        assert "Newly waiting more than 52 weeks: " in body
        assert "Told the hospital their condition got worse: " in body
        assert "https://waitwell.example.nhs.uk/practice/" in body
    assert "Newly waiting more than 52 weeks: 1 (2 in all)" in message.body
    assert "Told the hospital their condition got worse: 1" in message.body
    assert "Newly booked for treatment or an appointment: 0" in message.body
    for p in trust.pathways.select_related("patient"):
        for body in (message.subject, message.body, html):
            assert p.patient.nhs_number not in body
            assert p.patient.nhs_number[-4:] not in body
    assert "Trauma" not in message.body and "knee" not in message.body


@pytest.mark.django_db
def test_nobody_gets_two_in_a_week_however_often_it_runs(week_of_changes):
    gp = practice_user(week_of_changes)
    assert send_practice_summaries(MONDAY) == 1
    assert send_practice_summaries(MONDAY) == 0
    assert send_practice_summaries(MONDAY + timedelta(days=3)) == 0
    assert len(mail.outbox) == 1
    event = AuditEvent.objects.get(action="practice-summary-emailed")
    assert event.user == gp and event.pathway is None
    # The week after, with something new again, another.
    worse = week_of_changes.pathways.first()
    PatientResponse.objects.create(pathway=worse, answer=PatientResponse.Answer.WORSE)
    PatientResponse.objects.filter(pathway=worse).update(created_at=at(MONDAY + timedelta(2)))
    assert send_practice_summaries(MONDAY + timedelta(weeks=1)) == 1


@pytest.mark.django_db
def test_a_practice_with_nothing_new_gets_no_email(trust_and_snapshot):
    trust, snapshot = trust_and_snapshot
    pathway(trust, snapshot, weeks_waited=60)  # a long waiter, but not new this week
    practice_user(trust)
    assert send_practice_summaries(MONDAY) == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_newly_booked_counts_dates_first_seen_in_last_weeks_import(trust_and_snapshot):
    trust, first = trust_and_snapshot
    later = Snapshot.objects.create(
        provider=trust,
        week_ending=first.week_ending + timedelta(weeks=1),
        file_name="later.csv",
        file_sha256="later".ljust(64, "0"),
    )
    # Both extracts were imported last week. A booking in the trust's first extract is new to
    # the portal, not to the patient, so only the later extract's booking counts.
    Snapshot.objects.filter(pk__in=[first.pk, later.pk]).update(
        imported_at=at(MONDAY - timedelta(days=6))
    )
    pathway(trust, first, tci_date=MONDAY + timedelta(days=30), booked_snapshot=first)
    pathway(trust, later, tci_date=MONDAY + timedelta(days=9), booked_snapshot=later)
    pathway(trust, later)  # waiting, not booked
    gp = practice_user(trust)

    assert send_practice_summaries(MONDAY) == 1
    assert "Newly booked for treatment or an appointment: 1" in mail.outbox[0].body
    # The next week, that booking is no longer new.
    assert practice_changes(gp, MONDAY + timedelta(weeks=1)).newly_booked == 0


@pytest.mark.django_db
def test_a_failed_send_is_tried_again_by_a_later_run(week_of_changes, monkeypatch):
    practice_user(week_of_changes)

    def broken(self, fail_silently=False):
        raise ConnectionRefusedError

    with monkeypatch.context() as patched:
        patched.setattr("django.core.mail.EmailMultiAlternatives.send", broken)
        assert send_practice_summaries(MONDAY) == 0
    assert not AuditEvent.objects.filter(action="practice-summary-emailed").exists()
    assert send_practice_summaries(MONDAY) == 1


@pytest.mark.django_db
def test_the_celery_task_sends_this_weeks_summaries(week_of_changes, monkeypatch):
    practice_user(week_of_changes)
    monkeypatch.setattr(timezone, "localdate", lambda: MONDAY)
    assert weekly_task() == 1
    assert week_start(MONDAY + timedelta(days=6)) == at(MONDAY, 0)


def test_the_weekly_email_is_scheduled_on_monday_mornings(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["practice-summaries"]
    assert entry["task"] == "waitinglist.tasks.send_practice_summaries"
    assert entry["schedule"].day_of_week == {1} and entry["schedule"].hour == {7}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_running_at_once_send_one_email_each_person(week_of_changes):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    practice_user(week_of_changes)
    practice_user(week_of_changes)

    def run() -> int:
        try:
            return send_practice_summaries(MONDAY)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        sent = list(pool.map(lambda _: run(), range(4)))
    assert sum(sent) == 2 and len(mail.outbox) == 2
    assert AuditEvent.objects.filter(action="practice-summary-emailed").count() == 2
