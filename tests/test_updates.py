"""Updates by email and text: subscribing, the outbox's once-only sending through the real
GOV.UK Notify client (against a stand-in on loopback), failures, receipts, unsubscribing."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from portal.roles import Role
from tests.factories import UserFactory
from tests.notify_server import CALLBACK_TOKEN
from tests.test_patient_pages import linked_client, run, write_extract
from updates import outbox, ratelimit, services
from updates.models import OutboxMessage, Subscription


@pytest.fixture
def subscriber(trust, tmp_path, client):
    """A patient with a wait at the trust, subscribed by email and by verified text."""
    from tests.extracts import pathway

    run("import_waiting_list", str(write_extract(tmp_path / "w.csv", [pathway("A2")])))
    user = linked_client(client, tmp_path, "A2")
    subscription = services.subscription_for(user)
    subscription.by_sms, subscription.mobile = True, "+447700900123"
    subscription.mobile_verified_at = timezone.now()
    subscription.save()
    return subscription


def queued(subscription, channel="email") -> OutboxMessage:
    return subscription.messages.get(channel=channel)


def test_new_subscriptions_are_gentle(db):
    subscription = services.subscription_for(UserFactory(role=Role.PATIENT))
    assert subscription.frequency == "monthly" and subscription.by_email
    assert subscription.alert_booked and not subscription.alert_position
    assert subscription.channels == ["email"]  # no texts without a checked number


@pytest.mark.django_db
def test_a_run_queues_one_message_a_channel_and_none_the_second_time(subscriber):
    out = StringIO()
    call_command("send_updates", "--provider", "RXX", stdout=out)
    assert out.getvalue().strip() == "RXX: 2 update(s) queued"
    call_command("send_updates", "--provider", "RXX", stdout=out)
    assert out.getvalue().splitlines()[-1] == "RXX: 0 update(s) queued"
    assert subscriber.messages.count() == 2


@pytest.mark.django_db
def test_a_message_is_sent_once_however_often_its_task_runs(subscriber, notify):
    call_command("send_updates", "--provider", "RXX", stdout=StringIO())
    message = queued(subscriber)
    assert outbox.send(message.pk) == "sent"
    assert outbox.send(message.pk) == "not mine"  # the same task delivered again
    message.refresh_from_db()
    assert message.state == "sent" and message.sender_id == notify.sent[0]["id"]
    assert notify.references() == [message.reference]
    assert notify.sent[0]["one_click_unsubscribe_url"].endswith(
        f"/updates/unsubscribe/{subscriber.unsubscribe_token}/"
    )


@pytest.mark.django_db
def test_a_text_never_names_the_condition(subscriber, notify):
    call_command("send_updates", "--provider", "RXX", stdout=StringIO())
    outbox.send(queued(subscriber, "sms").pk)
    text = notify.sent[0]["personalisation"]["body"]
    assert subscriber.user.patient_links.get().patient.provider.name in text
    assert "number 1 in the queue" in text and "/my-wait/" in text
    assert "Orthopaedics" not in text and "hip" not in text.lower()
    outbox.send(queued(subscriber).pk)
    assert "Trauma and Orthopaedics" in notify.sent[1]["personalisation"]["body"]


@pytest.mark.django_db
def test_a_worker_that_died_after_sending_is_not_followed_by_a_second_send(
    subscriber, notify, settings
):
    settings.UPDATES_LEASE_SECONDS = 1
    call_command("send_updates", "--provider", "RXX", stdout=StringIO())
    message = queued(subscriber)
    outbox.send(message.pk)
    # As if the worker died between Notify's answer and recording it.
    OutboxMessage.objects.filter(pk=message.pk).update(
        state="sending", sender_id="", claimed_at=timezone.now() - timezone.timedelta(seconds=5)
    )
    assert outbox.stuck() == [message.pk]
    assert outbox.send(message.pk) == "found sent"
    assert notify.references() == [message.reference]  # still one


@pytest.mark.django_db
def test_a_worker_that_stalled_past_its_lease_does_not_send_what_another_sent(
    subscriber, notify, settings
):
    call_command("send_updates", "--provider", "RXX", stdout=StringIO())
    message = queued(subscriber)
    stalled = outbox.claim(message.pk)  # a worker claims it, then stalls before sending
    settings.UPDATES_LEASE_SECONDS = 0  # ... until its lease has run out
    assert outbox.send(message.pk) == "sent"  # another worker takes it over and sends it
    assert outbox.deliver(stalled) == "not mine"  # the first wakes up and must not send
    assert notify.references() == [message.reference]
    message.refresh_from_db()
    assert message.state == "sent" and message.attempts == 2


@pytest.mark.django_db
@pytest.mark.parametrize("status, retry", [(500, 2), (503, 2), (429, 5)])
def test_server_errors_and_rate_limits_are_retried(subscriber, notify, status, retry):
    call_command("send_updates", "--provider", "RXX", stdout=StringIO())
    message = queued(subscriber)
    notify.failures.append(status)
    with pytest.raises(outbox.Retry) as raised:
        outbox.send(message.pk)
    assert raised.value.seconds == retry
    assert OutboxMessage.objects.get(pk=message.pk).state == "queued"
    assert outbox.send(message.pk) == "sent"
    assert len(notify.sent) == 1


@pytest.mark.django_db
def test_a_permanent_error_gives_up_with_the_reason_and_prompts_the_patient(
    subscriber, notify, client
):
    call_command("send_updates", "--provider", "RXX", stdout=StringIO())
    notify.failures.append(400)
    assert outbox.send(queued(subscriber).pk) == "failed"
    message = queued(subscriber)
    assert message.state == "failed" and "400" in message.error
    assert Subscription.objects.get(pk=subscriber.pk).failures == 1
    page = client.get(reverse("updates:manage")).content.decode()
    assert "We could not reach you" in page
    assert (
        "We could not send you an update"
        in client.get(reverse("waitinglist:my_wait")).content.decode()
    )


@pytest.mark.django_db
def test_delivery_receipts_move_forward_only_and_need_the_token(subscriber, notify, client):
    call_command("send_updates", "--provider", "RXX", stdout=StringIO())
    message = queued(subscriber)
    outbox.send(message.pk)
    message.refresh_from_db()
    url = reverse("updates:notify_callback")
    body = {"id": message.sender_id, "status": "delivered"}
    wrong = client.post(url, body, content_type="application/json", HTTP_AUTHORIZATION="Bearer x")
    assert wrong.status_code == 401
    auth = {"HTTP_AUTHORIZATION": f"Bearer {CALLBACK_TOKEN}"}
    assert client.post(url, body, content_type="application/json", **auth).json()["changed"]
    late = {"id": message.sender_id, "status": "temporary-failure"}
    assert not client.post(url, late, content_type="application/json", **auth).json()["changed"]
    assert not client.post(url, body, content_type="application/json", **auth).json()["changed"]
    assert OutboxMessage.objects.get(pk=message.pk).state == "delivered"


@pytest.mark.django_db
def test_one_click_unsubscribe_works_without_signing_in(subscriber, client):
    client.logout()
    url = reverse("updates:unsubscribe", args=[subscriber.unsubscribe_token])
    assert "Stop my updates" in client.get(url).content.decode()
    assert client.post(url, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert Subscription.objects.get(pk=subscriber.pk).stopped_at
    out = StringIO()
    call_command("send_updates", "--provider", "RXX", stdout=out)
    assert out.getvalue().strip() == "RXX: 0 update(s) queued"
    assert client.post(reverse("updates:unsubscribe", args=["nobody"])).status_code == 404


@pytest.mark.django_db
def test_a_mobile_number_is_confirmed_by_a_texted_code(trust, client, notify):
    user = UserFactory(role=Role.PATIENT)
    client.force_login(user)
    form = {"by_email": "on", "by_sms": "on", "frequency": "weekly",
            "mobile_number": "07700 900 456", "alert_booked": "on"}  # fmt: skip
    assert client.post(reverse("updates:manage"), form).url == reverse("updates:verify")
    code_message = OutboxMessage.objects.get(kind="code")
    assert outbox.send(code_message.pk) == "sent"
    code = notify.sent[0]["personalisation"]["body"].split("code is ")[1][:6]
    assert notify.sent[0]["to"] == "+447700900456"
    wrong = client.post(reverse("updates:verify"), {"code": "000000" if code != "000000" else "1"})
    assert "The code is wrong" in wrong.content.decode()
    client.post(reverse("updates:verify"), {"code": code})
    subscription = Subscription.objects.get(user=user)
    assert subscription.channels == ["email", "sms"] and subscription.mobile == "+447700900456"
    assert subscription.frequency == "weekly"


@pytest.mark.django_db
def test_a_number_that_is_not_a_uk_mobile_is_refused_clearly(client):
    client.force_login(UserFactory(role=Role.PATIENT))
    form = {"by_sms": "on", "frequency": "monthly", "mobile_number": "020 7946 0000"}
    page = client.post(reverse("updates:manage"), form).content.decode()
    assert "Enter a UK mobile number" in page


@pytest.mark.django_db
def test_the_rate_limit_is_shared_and_never_exceeded(settings):
    settings.UPDATES_RATE_PER_MINUTE = 122  # 2 a second
    clock = {"now": 1_000_000.0}
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        clock["now"] += seconds

    for _ in range(5):
        ratelimit.take_a_slot(now=lambda: clock["now"], sleep=sleep)
    assert len(waits) == 2  # 2 in the first second, 2 in the next, 1 in the third


@pytest.mark.redis
@pytest.mark.django_db
def test_a_big_run_is_handed_to_the_workers_in_chunks(monkeypatch):
    from portal.celery import app
    from updates import tasks

    monkeypatch.setattr(tasks, "FAN_OUT", 2)
    with app.connection_for_read() as connection:
        redis = connection.default_channel.client
        redis.delete("fanout", "celery")
        tasks.publish([1, 2, 3, 4, 5])
        assert (redis.llen("fanout"), redis.llen("celery")) == (3, 0)
        tasks.publish_batch([1, 2])  # what a worker reading the fanout queue does
        assert redis.llen("celery") == 2
        tasks.publish([6])  # a small run goes straight to the senders
        assert redis.llen("celery") == 3
        redis.delete("fanout", "celery")


@pytest.mark.django_db
def test_trust_admins_see_their_own_trusts_sending_figures(subscriber, notify, client, trust):
    from tests.factories import ProviderFactory

    call_command("send_updates", "--provider", "RXX", stdout=StringIO())
    outbox.send(queued(subscriber).pk)
    notify.failures.append(400)
    outbox.send(queued(subscriber, "sms").pk)
    client.force_login(UserFactory(role=Role.TRUST_ADMIN, provider=trust))
    page = client.get(reverse("updates:sending")).content.decode()
    assert "1 patient gets updates; 1 by text message" in page
    email_row = page[page.index("Email") : page.index("Text message")]
    assert "Sent </span>1" in email_row
    assert "Failed </span>1" in page[page.index("Text message") :]
    client.force_login(UserFactory(role=Role.TRUST_ADMIN, provider=ProviderFactory()))
    assert "0 patients get updates" in client.get(reverse("updates:sending")).content.decode()
    client.force_login(UserFactory(role=Role.TRUST_EDITOR, provider=trust))
    assert client.get(reverse("updates:sending")).status_code == 403


@pytest.mark.django_db
def test_invitations_go_to_the_extracts_contacts_and_the_code_is_not_kept(trust, tmp_path, notify):
    from tests.extracts import pathway

    rows = [
        pathway("A1", Patient_Email_Address="a1@example.com"),
        pathway("B2", Patient_Mobile_Number="07700 900 222"),
        pathway("C3"),  # no contact: a letter only
    ]
    run("import_waiting_list", str(write_extract(tmp_path / "w.csv", rows)))
    out = StringIO()
    path = tmp_path / "letters.csv"
    call_command("issue_invitations", "--provider", "RXX", "--out", str(path), "--send",
                 stdout=out)  # fmt: skip
    assert "queued 1 invitations by email and 1 by text" in out.getvalue()
    for message in OutboxMessage.objects.filter(kind="invite"):
        assert outbox.send(message.pk) == "sent"
    email, text = sorted(notify.sent, key=lambda n: n["type"])
    assert (
        email["to"] == "a1@example.com" and "/activate/?code=" in email["personalisation"]["body"]
    )
    assert email["one_click_unsubscribe_url"] is None  # nobody has subscribed to anything
    assert text["to"] == "+447700900222" and "Orthopaedics" not in text["personalisation"]["body"]
    letters = path.read_text()
    code = letters.splitlines()[1].split(",")[1]
    assert code in email["personalisation"]["body"] or code in text["personalisation"]["body"]
    for message in OutboxMessage.objects.filter(kind="invite"):
        assert message.context == {} and message.body == ""  # the code is not kept


@pytest.mark.django_db
def test_a_stop_reply_stops_texts_to_that_number_only(subscriber, notify, client):
    url = reverse("updates:notify_inbound")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {CALLBACK_TOKEN}"}
    body = {"source_number": "447700900123", "content": "Stop"}
    assert client.post(url, body, content_type="application/json").status_code == 401
    other = {"source_number": "447700900999", "content": "STOP"}
    assert client.post(url, other, content_type="application/json", **auth).json() == {"stopped": 0}
    chat = {"source_number": "447700900123", "content": "when is my operation?"}
    assert client.post(url, chat, content_type="application/json", **auth).json()["stopped"] == 0
    assert client.post(url, body, content_type="application/json", **auth).json()["stopped"] == 1
    subscription = Subscription.objects.get(pk=subscriber.pk)
    assert subscription.channels == ["email"]  # emails go on


@pytest.mark.django_db
def test_smtp_emails_carry_one_click_unsubscribe_headers(subscriber, settings):
    from django.core import mail

    settings.UPDATES_EMAIL_BY_SMTP = True
    call_command("send_updates", "--provider", "RXX", stdout=StringIO())
    assert outbox.send(queued(subscriber).pk) == "sent"
    assert outbox.send(queued(subscriber, "sms").pk) == "failed"  # texts need Notify
    [email] = mail.outbox
    token = subscriber.unsubscribe_token
    assert email.extra_headers["List-Unsubscribe"].endswith(f"/updates/unsubscribe/{token}/>")
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email.alternatives  # an HTML part too


@pytest.mark.django_db
def test_the_daily_cap_holds_messages_back_until_later(subscriber, notify, settings):
    settings.UPDATES_DAILY_CAP = 1
    call_command("send_updates", "--provider", "RXX", stdout=StringIO())
    assert outbox.send(queued(subscriber).pk) == "sent"
    with pytest.raises(outbox.Retry) as raised:
        outbox.send(queued(subscriber, "sms").pk)
    assert raised.value.seconds == 3600
    assert queued(subscriber, "sms").state == "queued" and len(notify.sent) == 1


@pytest.mark.django_db
def test_new_advice_for_the_condition_is_in_the_next_update(subscriber, trust):
    from datetime import timedelta

    from advice.models import Article

    fields = {"summary": "s", "body": "b", "status": "published",
              "review_by": timezone.localdate() + timedelta(days=99)}  # fmt: skip
    Article.objects.create(provider=trust, title="Hip exercises", treatment_function="110",
                           published_at=timezone.now(), **fields)  # fmt: skip
    Article.objects.create(provider=trust, title="Cataract care", treatment_function="130",
                           published_at=timezone.now(), **fields)  # fmt: skip
    Article.objects.create(provider=trust, title="Old news", published_at=timezone.now()
                           - timedelta(days=60), **fields)  # fmt: skip
    call_command("send_updates", "--provider", "RXX", stdout=StringIO())
    from updates.compose import render

    _, text, html = render(queued(subscriber))
    assert "New advice for you: Hip exercises" in text and "Hip exercises</a>" in html
    assert "Cataract care" not in text and "Old news" not in text
    sms = render(queued(subscriber, "sms"))[1]
    assert "New advice for you on Wait Well" in sms and "Hip" not in sms
