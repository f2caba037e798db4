"""The validation due list (NHS England: 12 weeks waited, not validated in the last 12), and
asking its patients "Do you still need this treatment?" through the update channels."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.roles import Role
from tests.factories import ProviderFactory, UserFactory
from updates import outbox
from updates.compose import render
from updates.models import OutboxMessage, Subscription
from updates.validation import queue_questions
from waitinglist import validation
from waitinglist.models import (
    AuditEvent,
    Pathway,
    PathwayWeek,
    Patient,
    PatientLink,
    Queue,
    Snapshot,
    ValidationRequest,
)

WEEK = date(2026, 11, 22)  # the latest snapshot's week ending, a Sunday
DUE = WEEK - timedelta(days=84)  # 12 weeks before it: the rule's boundary
ORTHO = "Trauma and Orthopaedics"


def snapshot(trust, week: date = WEEK) -> Snapshot:
    return Snapshot.objects.create(
        provider=trust, week_ending=week, file_name="w.csv", file_sha256=f"{trust.pk}{week}"
    )


def pathway(trust, week: Snapshot, identifier: str, clock_start: date = DUE, **fields) -> Pathway:
    """An open pathway on the snapshot, with its own patient unless one is given."""
    function = fields.pop("treatment_function", "110")
    queue, _ = Queue.objects.get_or_create(
        provider=trust, treatment_function=function, list_type="IRTT"
    )
    patient = fields.pop("patient", None) or Patient.objects.create(
        provider=trust, nhs_number=f"9{Patient.objects.count():09d}", birth_date=date(1960, 5, 17)
    )
    made = Pathway.objects.create(
        provider=trust, identifier=identifier, patient=patient, queue=queue,
        clock_start=clock_start, first_snapshot=week, **fields,
    )  # fmt: skip
    PathwayWeek.objects.create(pathway=made, snapshot=week, position=1, band=4)
    return made


def subscriber(path: Pathway, sms: bool = True, **fields) -> Subscription:
    """A linked account for the pathway's patient, with updates by email and verified text."""
    user = UserFactory(role=Role.PATIENT)
    PatientLink.objects.create(user=user, patient=path.patient, method="activation-code")
    return Subscription.objects.create(
        user=user, by_sms=sms, mobile="+447700900123" if sms else "",
        mobile_verified_at=timezone.now() if sms else None, **fields,
    )  # fmt: skip


@pytest.fixture
def listed(trust):
    """The latest snapshot of RXX, with pathways either side of the rule's boundaries."""
    week = snapshot(trust)
    return {
        "week": week,
        "due": pathway(trust, week, "D1", DUE),
        "long": pathway(trust, week, "D2", DUE - timedelta(weeks=30), treatment_function="130"),
        "stale": pathway(trust, week, "D3", last_validated=DUE - timedelta(days=1)),
        "young": pathway(trust, week, "N1", DUE + timedelta(days=1)),
        "validated": pathway(trust, week, "N2", last_validated=DUE),
    }


def staff(trust, role: Role = Role.TRUST_EDITOR):
    return UserFactory(role=role, provider=trust)


def identifiers(pathways) -> set[str]:
    return {p.identifier for p in pathways}


# --- The rule -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_due_means_12_weeks_waited_and_not_validated_in_the_last_12(listed, trust):
    assert identifiers(validation.due(trust, listed["week"])) == {"D1", "D2", "D3"}


@pytest.mark.django_db
def test_pathways_that_left_the_list_and_other_trusts_are_not_due(listed, trust):
    older = snapshot(trust, WEEK - timedelta(weeks=1))
    pathway(trust, older, "L1", DUE - timedelta(weeks=5))  # not on the latest list any more
    other = ProviderFactory(ods_code="RYY")
    pathway(other, snapshot(other), "O1", DUE - timedelta(weeks=5))
    assert identifiers(validation.due(trust, listed["week"])) == {"D1", "D2", "D3"}


# --- The page -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_list_shows_weeks_waited_last_asked_and_how_to_reach_each_patient(
    listed, trust, client
):
    subscriber(listed["due"])
    Pathway.objects.filter(pk=listed["stale"].pk).update(email="d3@example.com")
    ValidationRequest.objects.create(pathway=listed["long"], messages_queued=1)
    client.force_login(staff(trust))
    page = client.get(reverse("waitinglist:validation")).content.decode()
    assert "Pathway </span>D2" in page and "Pathway </span>N1" not in page
    assert "Weeks waited </span>42" in page  # D2: 12 + 30 weeks
    d1 = page[page.index("Pathway </span>D1") :]
    assert "Linked, updates on" in d1[: d1.index("</tr>")]
    d3 = page[page.index("Pathway </span>D3") :]
    assert "Contact in extract </span>Email<" in d3[: d3.index("</tr>")]
    d2 = page[page.index("Pathway </span>D2") :]
    assert f"Last asked </span>{timezone.localdate():%-d %b %Y}" in d2[: d2.index("</tr>")]
    assert "Specialty </span>Ophthalmology" in d2


@pytest.mark.django_db
def test_the_list_filters_by_specialty_and_refuses_a_bad_one_clearly(listed, trust, client):
    client.force_login(staff(trust))
    page = client.get(reverse("waitinglist:validation"), {"specialty": "130"}).content.decode()
    assert "Pathway </span>D2" in page and "Pathway </span>D1" not in page
    page = client.get(reverse("waitinglist:validation"), {"specialty": "999"}).content.decode()
    assert "There is a problem" in page and "Select a valid choice" in page


@pytest.mark.django_db
def test_the_list_is_paginated_with_a_fixed_number_of_queries(listed, trust, client):
    client.force_login(staff(trust))
    url = reverse("waitinglist:validation")
    client.get(url)  # sessions and roles warmed up
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(60):
        path = pathway(trust, listed["week"], f"M{n}", DUE - timedelta(days=n))
        if n % 3 == 0:
            subscriber(path)
        if n % 4 == 0:
            ValidationRequest.objects.create(pathway=path, messages_queued=1)
    with CaptureQueriesContext(connection) as many:
        first = client.get(url).content.decode()
    assert len(many) == len(few)
    assert "63 in all" in first and 'page=2" aria-label="Page 2"' in first
    second = client.get(url, {"page": 2}).content.decode()
    assert second.count('name="on_page"') == 13


@pytest.mark.django_db
def test_the_list_downloads_as_csv_without_contacts_and_formula_safe(listed, trust, client):
    Pathway.objects.filter(pk=listed["due"].pk).update(
        local_patient_identifier="=1+1", email="d1@example.com"
    )
    client.force_login(staff(trust))
    response = client.get(reverse("waitinglist:validation_csv"))
    assert response["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {r["pathway"] for r in rows} == {"D1", "D2", "D3"}
    d1 = next(r for r in rows if r["pathway"] == "D1")
    assert d1["local_patient_identifier"] == "'=1+1"
    assert d1["extract_email"] == "yes" and "d1@example.com" not in response.content.decode()
    assert d1["weeks_waited"] == "12" and d1["specialty"] == ORTHO


# --- Asking ---------------------------------------------------------------------------------


def ask(client, *pathways, scope="selected"):
    return client.post(
        reverse("waitinglist:validation_ask"),
        {"pathway": [p.pk for p in pathways], "scope": scope},
        follow=True,
    )


@pytest.mark.django_db
def test_subscribers_are_asked_on_their_channels_and_others_at_the_extracts_contacts(
    listed, trust, client, django_capture_on_commit_callbacks
):
    subscription = subscriber(listed["due"])
    Pathway.objects.filter(pk=listed["long"].pk).update(
        email="d2@example.com", mobile="+447700900456"
    )
    client.force_login(staff(trust))
    with django_capture_on_commit_callbacks() as callbacks:
        page = ask(client, listed["due"], listed["long"], listed["stale"]).content.decode()
    assert "Asked 2 patients: 4 messages queued." in page
    assert "1 could not be sent the question" in page  # D3: no account and no contact
    assert len(callbacks) >= 1  # published once the transaction commits
    mine = OutboxMessage.objects.filter(subscription=subscription, kind="validation")
    assert sorted(m.channel for m in mine) == ["email", "sms"]
    theirs = OutboxMessage.objects.filter(subscription=None, kind="validation")
    assert {(m.channel, m.to) for m in theirs} == {
        ("email", "d2@example.com"), ("sms", "+447700900456")
    }  # fmt: skip
    requests = {r.pathway.identifier: r.messages_queued for r in ValidationRequest.objects.all()}
    assert requests == {"D1": 2, "D2": 2, "D3": 0}
    assert AuditEvent.objects.filter(action="validation-asked").count() == 3


@pytest.mark.django_db
def test_texts_never_name_the_specialty_and_emails_name_it_only_to_subscribers(listed, trust):
    subscriber(listed["due"])
    Pathway.objects.filter(pk=listed["long"].pk).update(
        email="d2@example.com", mobile="+447700900456"
    )
    validation.ask(trust, staff(trust), [listed["due"].pk, listed["long"].pk], lambda ids: None)
    for message in OutboxMessage.objects.filter(kind="validation"):
        subject, body, html = render(message)
        words = f"{subject} {body} {html}"
        assert "still need" in words
        if message.channel == "sms":
            assert ORTHO not in body and "Ophthalmology" not in body and "Orthopaedic" not in body
        elif message.subscription_id:
            assert ORTHO in body and "/my-wait/#pathway-" in body and "unsubscribe" in body
        else:
            assert "Ophthalmology" not in words and "/activate/" in body


@pytest.mark.django_db
def test_asking_twice_in_a_week_queues_once(listed, trust):
    subscriber(listed["due"])
    Pathway.objects.filter(pk=listed["long"].pk).update(
        email="d2@example.com", mobile="+447700900456"
    )
    chosen = list(Pathway.objects.filter(pk__in=[listed["due"].pk, listed["long"].pk]))
    now = timezone.now()
    assert queue_questions(trust, chosen, now, lambda ids: None) == {
        listed["due"].pk: 2, listed["long"].pk: 2
    }  # fmt: skip
    later = now + timedelta(hours=1)  # the same ISO week, whatever the outbox rows say
    assert queue_questions(trust, chosen, later, lambda ids: None) == {}
    assert OutboxMessage.objects.filter(kind="validation").count() == 4


@pytest.mark.django_db
def test_patients_asked_in_the_last_4_weeks_are_not_asked_again(listed, trust, client):
    subscriber(listed["due"], sms=False)
    subscriber(listed["long"], sms=False)
    old = ValidationRequest.objects.create(pathway=listed["due"], messages_queued=1)
    recent = ValidationRequest.objects.create(pathway=listed["long"], messages_queued=1)
    ValidationRequest.objects.filter(pk=old.pk).update(
        requested_at=timezone.now() - timedelta(days=29)
    )
    ValidationRequest.objects.filter(pk=recent.pk).update(
        requested_at=timezone.now() - timedelta(days=27)
    )
    client.force_login(staff(trust))
    page = ask(client, listed["due"], listed["long"]).content.decode()
    assert "Asked 1 patient: 1 message queued." in page
    assert "1 not asked again: they were asked in the last 4 weeks" in page
    assert not OutboxMessage.objects.filter(
        subscription__user__patient_links__patient=listed["long"].patient
    ).exists()
    again = ask(client, listed["due"]).content.decode()
    assert "Asked 0 patients" in again and "1 not asked again" in again


@pytest.mark.django_db
def test_patients_who_stopped_their_updates_are_not_sent_it(listed, trust):
    subscriber(listed["due"], stopped_at=timezone.now())
    Pathway.objects.filter(pk=listed["due"].pk).update(email="d1@example.com")
    asked = validation.ask(trust, staff(trust), [listed["due"].pk], lambda ids: None)
    assert (asked.asked, asked.unreachable, asked.messages) == (0, 1, 0)
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_ask_everyone_on_the_page_and_pathways_not_due_are_left_out(listed, trust, client):
    for p in ("due", "long", "stale"):
        subscriber(listed[p], sms=False)
    client.force_login(staff(trust))
    response = client.post(
        reverse("waitinglist:validation_ask"),
        {"on_page": [listed[p].pk for p in ("due", "long", "stale", "young")], "scope": "page"},
        follow=True,
    )
    page = response.content.decode()
    assert "Asked 3 patients: 3 messages queued." in page
    assert "1 skipped: no longer due for validation" in page
    assert not ValidationRequest.objects.filter(pathway=listed["young"]).exists()
    empty = client.post(reverse("waitinglist:validation_ask"), {"scope": "selected"}, follow=True)
    assert "Choose at least one patient to ask." in empty.content.decode()


@pytest.mark.django_db
def test_the_message_is_sent_once_and_nobody_leaves_the_list(listed, trust, notify):
    subscriber(listed["due"])
    before = list(Pathway.objects.order_by("pk").values_list("pk", "left_snapshot_id"))
    weeks = PathwayWeek.objects.count()
    validation.ask(trust, staff(trust), [listed["due"].pk], lambda ids: None)
    for message in OutboxMessage.objects.filter(kind="validation"):
        assert outbox.send(message.pk) == "sent"
        assert outbox.send(message.pk) == "not mine"
    assert len(notify.sent) == 2
    text = next(n for n in notify.sent if n["type"] == "sms")
    assert ORTHO not in text["personalisation"]["body"]
    assert list(Pathway.objects.order_by("pk").values_list("pk", "left_snapshot_id")) == before
    assert PathwayWeek.objects.count() == weeks


# --- Who may see and do what ----------------------------------------------------------------


PAGES = ["waitinglist:validation", "waitinglist:validation_csv"]


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(client):
    for name in [*PAGES, "waitinglist:validation_ask"]:
        response = client.get(reverse(name))
        assert response.headers["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.PATIENT, Role.GP_PRACTICE])
def test_patients_and_gp_practices_are_refused(listed, trust, client, role):
    client.force_login(UserFactory(role=role, provider=trust, practice_ods_code="A81001"))
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 403
    assert ask(client, listed["due"]).status_code == 403
    assert not ValidationRequest.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.TRUST_EDITOR, Role.CLINICAL_REVIEWER, Role.TRUST_ADMIN])
def test_each_trust_role_sees_the_list_and_can_ask(listed, trust, client, role):
    subscriber(listed["due"], sms=False)
    client.force_login(staff(trust, role))
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 200
    assert "Asked 1 patient" in ask(client, listed["due"]).content.decode()


@pytest.mark.django_db
def test_another_trusts_staff_see_none_of_it_and_its_ids_give_404(listed, trust, client):
    other = ProviderFactory(ods_code="RYY")
    pathway(other, snapshot(other), "O1", DUE - timedelta(weeks=2))
    subscriber(listed["due"])
    client.force_login(staff(other, Role.TRUST_ADMIN))
    page = client.get(reverse("waitinglist:validation")).content.decode()
    assert "Pathway </span>O1" in page and "Pathway </span>D1" not in page
    assert "D1" not in client.get(reverse("waitinglist:validation_csv")).content.decode()
    assert ask(client, listed["due"]).status_code == 404
    assert not ValidationRequest.objects.exists() and not OutboxMessage.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_of_the_team_asking_at_once_ask_each_patient_once(trust):
    import threading

    from django.db import connections

    week = snapshot(trust)
    chosen = [pathway(trust, week, f"T{n}", DUE) for n in range(20)]
    for path in chosen:
        subscriber(path, sms=False)
    ids = [p.pk for p in chosen]
    people = [staff(trust), staff(trust)]
    start = threading.Barrier(2)
    results = []

    def asking(person):
        try:
            start.wait()
            results.append(validation.ask(trust, person, ids, lambda ids: None))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=asking, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted((r.asked, r.recently) for r in results) == [(0, 20), (20, 0)]
    assert OutboxMessage.objects.filter(kind="validation").count() == 20
    assert ValidationRequest.objects.filter(messages_queued__gt=0).count() == 20


@pytest.mark.django_db
def test_texts_and_plain_emails_are_not_html_escaped(listed, trust):
    trust.name = "St Mary's & St Anne's Hospitals"
    trust.save()
    subscriber(listed["due"])
    validation.ask(trust, staff(trust), [listed["due"].pk], lambda ids: None)
    for message in OutboxMessage.objects.filter(kind="validation"):
        subject, body, html = render(message)
        assert body.startswith("St Mary's & St Anne's Hospitals")
        if message.channel == "email":
            assert subject.endswith("St Mary's & St Anne's Hospitals")
            assert "St Mary&#x27;s &amp; St Anne&#x27;s" in html  # HTML stays escaped
