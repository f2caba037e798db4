"""Alerts after an import: a booked date, a big move in the queue, a moved estimate, new
advice; each once, and only for subscribers who asked."""

from datetime import date, timedelta

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from advice.models import Article
from tests.extracts import WEEK, pathway, week_of, write_extract
from tests.test_patient_pages import linked_client, run
from updates import services
from updates.alerts import moved_a_lot, start_alert_run
from updates.compose import render
from updates.models import EstimateTold, OutboxMessage

TODAY = WEEK + timedelta(weeks=1)


def import_week(tmp_path, rows, weeks_on: int = 0) -> None:
    path = tmp_path / f"w{weeks_on}.csv"
    write_extract(path, week_of(rows, WEEK + timedelta(weeks=weeks_on)))
    run("import_waiting_list", str(path), "--allow-shrink")


@pytest.fixture
def alerted(trust, tmp_path, client):
    import_week(tmp_path, [pathway("A2")])
    user = linked_client(client, tmp_path, "A2")
    subscription = services.subscription_for(user)
    subscription.alert_position = subscription.alert_estimate = True
    subscription.alert_advice = True
    subscription.save()
    return subscription


def alerts(subscription, kind) -> list[OutboxMessage]:
    return list(subscription.messages.filter(kind=kind))


def test_a_big_move_is_ten_places_and_a_tenth():
    assert moved_a_lot(100, 90) and moved_a_lot(20, 8)
    assert not moved_a_lot(100, 91) and not moved_a_lot(5, 1) and not moved_a_lot(None, 3)


@pytest.mark.django_db
def test_a_booked_date_alerts_once_and_a_new_date_again(alerted, trust, tmp_path):
    import_week(tmp_path, [pathway("A2", TCI_Date="2026-03-20")], weeks_on=1)
    assert start_alert_run(trust, TODAY, lambda ids: None) == 1
    assert start_alert_run(trust, TODAY, lambda ids: None) == 0
    [message] = alerts(alerted, "booked")
    subject, text, html = render(message)
    assert "booked a date" in subject and "20 March 2026" in text and "20 March 2026" in html
    import_week(tmp_path, [pathway("A2", TCI_Date="2026-03-27")], weeks_on=2)
    assert start_alert_run(trust, TODAY, lambda ids: None) == 1
    assert len(alerts(alerted, "booked")) == 2


@pytest.mark.django_db
def test_nobody_gets_an_alert_they_did_not_ask_for(alerted, trust, tmp_path):
    alerted.alert_booked = False
    alerted.save()
    import_week(tmp_path, [pathway("A2", TCI_Date="2026-03-20")], weeks_on=1)
    assert start_alert_run(trust, TODAY, lambda ids: None) == 0


@pytest.mark.django_db
def test_a_big_move_in_the_queue_alerts_once_a_week(alerted, trust, tmp_path):
    ahead = [pathway(f"C{n}", REFERRAL_TO_TREATMENT_PERIOD_START_DATE="2025-06-01")
             for n in range(10, 40)]  # fmt: skip
    import_week(tmp_path, [pathway("A2"), *ahead], weeks_on=1)
    import_week(tmp_path, [pathway("A2"), *ahead[:10]], weeks_on=2)  # 20 were treated
    assert start_alert_run(trust, TODAY, lambda ids: None) == 1
    [message] = alerts(alerted, "position")
    assert message.context["before"] == 31 and message.context["position"] == 11
    assert start_alert_run(trust, TODAY, lambda ids: None) == 0


@pytest.mark.django_db
def test_an_estimate_that_moves_two_weeks_alerts(alerted, trust, tmp_path):
    from waitinglist.models import Estimate

    estimate = Estimate.objects.get(pathway__identifier="A2")
    estimate.basis, estimate.p10 = "model", date(2026, 5, 1)
    estimate.p50, estimate.p90 = date(2026, 6, 1), date(2026, 8, 1)
    estimate.save()
    start_alert_run(trust, TODAY, lambda ids: None)  # first known: remembered, no alert
    assert not alerts(alerted, "estimate")
    assert EstimateTold.objects.get().p50 == date(2026, 6, 1)
    Estimate.objects.filter(pk=estimate.pk).update(p50=date(2026, 6, 10))
    start_alert_run(trust, TODAY, lambda ids: None)  # 9 days: not news
    Estimate.objects.filter(pk=estimate.pk).update(p50=date(2026, 7, 20))
    start_alert_run(trust, TODAY, lambda ids: None)
    [message] = alerts(alerted, "estimate")
    assert (message.context["from"], message.context["to"]) == ("June 2026", "July 2026")
    assert EstimateTold.objects.get().p50 == date(2026, 7, 20)
    subject, text, _ = render(message)
    assert "treatment date" in subject and "most likely to be treated at" in text


@pytest.mark.django_db
def test_an_outpatients_estimate_is_of_the_appointment(trust, tmp_path, client):
    """On an outpatient list leaving means being seen: the alert and the digest say so."""
    from waitinglist.models import Estimate

    import_week(tmp_path, [pathway("A2", Waiting_List_Type="ORTT", Procedure_Priority_Code="")])
    subscription = services.subscription_for(linked_client(client, tmp_path, "A2"))
    subscription.alert_estimate = True
    subscription.save()
    estimate = Estimate.objects.get(pathway__identifier="A2")
    estimate.basis, estimate.p10 = "model", date(2026, 5, 1)
    estimate.p50, estimate.p90 = date(2026, 6, 1), date(2026, 8, 1)
    estimate.save()
    start_alert_run(trust, TODAY, lambda ids: None)
    Estimate.objects.filter(pk=estimate.pk).update(p50=date(2026, 7, 20))
    start_alert_run(trust, TODAY, lambda ids: None)
    [message] = alerts(subscription, "estimate")
    subject, text, html = render(message)
    assert "appointment date" in subject and "most likely to be seen at" in text
    assert "treated" not in text + html
    digest = render_to_string(
        "updates/digest/body.txt", {"waits": [{"months": "in June 2026", "seen": True}]}
    )
    assert "Most people in your place have their appointment in June 2026." in digest


@pytest.mark.django_db
def test_new_advice_for_the_condition_alerts_and_a_text_does_not_name_it(alerted, trust):
    alerted.by_sms, alerted.mobile = True, "+447700900123"
    alerted.mobile_verified_at = timezone.now()
    alerted.save()
    fields = {"summary": "s", "body": "b", "review_by": TODAY + timedelta(days=99),
              "status": "published", "published_at": timezone.now()}  # fmt: skip
    hips = Article.objects.create(provider=trust, title="Hip exercises", treatment_function="110",
                                  **fields)  # fmt: skip
    Article.objects.create(provider=trust, title="Eyes", treatment_function="130", **fields)
    assert start_alert_run(trust, TODAY, lambda ids: None) == 2  # email and text
    assert start_alert_run(trust, TODAY, lambda ids: None) == 0
    sms = alerted.messages.get(kind="advice", channel="sms")
    email = alerted.messages.get(kind="advice", channel="email")
    assert "Hip" not in render(sms)[1] and f"/advice/{hips.pk}/" in render(sms)[1]
    assert "Hip exercises" in render(email)[1]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.worker_queue("celery")
@pytest.mark.django_db(transaction=True)
def test_an_import_from_the_command_line_starts_the_updates(trust, tmp_path, client, request):
    from portal.celery import app
    from tests.conftest import wait_for

    app.control.purge()
    import_week(tmp_path, [pathway("A2")])
    services.subscription_for(linked_client(client, tmp_path, "A2"))
    request.getfixturevalue("celery_worker")  # a real worker on the default queue
    import_week(tmp_path, [pathway("A2", TCI_Date="2026-03-20")], weeks_on=1)
    assert wait_for(lambda: OutboxMessage.objects.filter(kind="booked").exists(), 60)
    assert wait_for(lambda: OutboxMessage.objects.filter(kind="digest", state="sent").exists(), 60)
