"""The engagement page and its CSV, the import history CSV, and the patient page's question
"Did this page answer your question about your wait?"."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from advice.models import Article, Feedback
from portal.roles import Role
from tests import test_patient_pages
from tests.conftest import session_reads
from tests.factories import ProviderFactory, UserFactory
from tests.test_patient_pages import linked_client
from updates.models import OutboxMessage, Subscription
from waitinglist.models import PageFeedback, Pathway, PatientLink, Snapshot
from waitinglist.patient_page import PAGES_VERSION

imported = test_patient_pages.imported  # the fixture: a small list over three weeks
QUESTION = "Did this page answer your question about your wait?"
TRUST_ROLES = [Role.TRUST_EDITOR, Role.CLINICAL_REVIEWER, Role.TRUST_ADMIN]


def rows_of(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def link(trust, identifier: str, method: str = "nhs-login"):
    """A patient account linked to the pathway's patient."""
    user = UserFactory(role=Role.PATIENT)
    patient = Pathway.objects.get(provider=trust, identifier=identifier).patient
    PatientLink.objects.create(user=user, patient=patient, method=method)
    return user


def subscribe(user, **choices) -> Subscription:
    return Subscription.objects.create(user=user, **choices)


def answer(trust, user, answered: bool, days_ago: int = 0) -> None:
    feedback = PageFeedback.objects.create(provider=trust, user=user, answered=answered)
    PageFeedback.objects.filter(pk=feedback.pk).update(at=timezone.now() - timedelta(days=days_ago))


@pytest.fixture
def engaged(imported):
    """Patients of the imported list (RXX), their accounts, updates and answers; and one of
    another trust whose figures must not show."""
    trust = imported
    a2 = link(trust, "A2", "activation-code")
    b3 = link(trust, "B3")
    c6 = link(trust, "C6")
    email = subscribe(a2)
    both = subscribe(b3, by_sms=True, mobile="+447700900123", mobile_verified_at=timezone.now())
    subscribe(c6, stopped_at=timezone.now())
    for n, state in enumerate(["delivered", "delivered", "failed"]):
        OutboxMessage.objects.create(subscription=email, kind="digest", period=f"p{n}",
                                     channel="email", to="a@example.com", state=state)  # fmt: skip
    OutboxMessage.objects.create(subscription=both, kind="digest", period="p", channel="sms",
                                 to="+447700900123", state="sent")  # fmt: skip
    old = OutboxMessage.objects.create(
        subscription=both, kind="digest", period="old", channel="email", to="b@example.com",
        state="failed",
    )  # fmt: skip
    OutboxMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    article = Article.objects.create(
        provider=trust, title="Staying active", summary="Moving helps.", body="Walk daily.",
        status="published", review_by=timezone.localdate() + timedelta(days=300),
    )  # fmt: skip
    Feedback.objects.bulk_create([Feedback(article=article, helpful=h) for h in (1, 1, 1, 0)])
    answer(trust, a2, True)
    answer(trust, b3, True, days_ago=3)
    answer(trust, c6, False, days_ago=10)
    answer(trust, a2, False, days_ago=60)
    other = ProviderFactory(ods_code="RYY")
    answer(other, UserFactory(role=Role.PATIENT), False)
    other_article = Article.objects.create(
        provider=other, title="Their advice", summary="x", body="x",
        review_by=timezone.localdate(),
    )  # fmt: skip
    Feedback.objects.create(article=other_article, helpful=False)
    return trust


@pytest.fixture
def staff(engaged):
    return UserFactory(role=Role.CLINICAL_REVIEWER, provider=engaged)


# --- The engagement page --------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_shows_the_trusts_own_figures(client, staff):
    client.force_login(staff)
    page = client.get(reverse("waitinglist:engagement")).content.decode()
    # The list's open pathways belong to A2's, B3's and C6 to C8's patients: 3 of 5 linked.
    assert "3 of the 5 patients on the latest list (60%) have linked" in page
    assert "Activation code and date of birth</td><td" in page
    assert 'Email only</td><td class="nhsuk-table__cell nhsuk-table__cell--numeric">1<' in page
    assert "Email and text message</td><td" in page
    assert 'Stopped</td><td class="nhsuk-table__cell nhsuk-table__cell--numeric">1<' in page
    assert "Staying active" in page and "Their advice" not in page
    assert "measure of GP queries avoided" in page
    assert "Last 30 days" in page and "67%" in page and "50%" in page


@pytest.mark.django_db
def test_the_csv_has_every_figure(client, staff):
    client.force_login(staff)
    rows = rows_of(client.get(reverse("waitinglist:engagement_csv")))
    figures = {(r["section"], r["measure"]): r["value"] for r in rows}
    linked = "Accounts linked"
    assert figures[(linked, "Activation code and date of birth")] == "1"
    assert figures[(linked, "NHS login")] == "2"
    assert figures[(linked, "Share linked")] == "0.6"
    assert figures[("Subscribers", "Email only")] == "1"
    assert figures[("Subscribers", "Email and text message")] == "1"
    assert figures[("Subscribers", "Text message only")] == "0"
    assert figures[("Subscribers", "Stopped")] == "1"
    messages = "Messages, last 30 days"
    assert figures[(messages, "email delivered")] == "2"
    assert figures[(messages, "email failed")] == "1"  # not the one 40 days ago
    assert figures[(messages, "sms sent")] == "1"
    assert figures[("Advice: Staying active", "Helpful")] == "3"
    assert figures[("Advice: Staying active", "Not helpful")] == "1"
    recent, ever = f"{QUESTION} (last 30 days)", f"{QUESTION} (all time)"
    assert (figures[(recent, "Yes")], figures[(recent, "No")]) == ("2", "1")
    assert (figures[(ever, "Yes")], figures[(ever, "No")]) == ("2", "2")
    assert figures[(recent, "Share yes")] == "0.667" and figures[(ever, "Share yes")] == "0.5"


@pytest.mark.django_db
def test_the_page_costs_a_fixed_number_of_queries(client, staff, django_assert_num_queries):
    client.force_login(staff)
    with django_assert_num_queries(10 + session_reads()):
        client.get(reverse("waitinglist:engagement"))
    for n in range(5):
        answer(staff.provider, UserFactory(role=Role.PATIENT), bool(n % 2))
    with django_assert_num_queries(10 + session_reads()):
        client.get(reverse("waitinglist:engagement"))


# --- The import history CSV -----------------------------------------------------------------


@pytest.mark.django_db
def test_the_import_history_csv_lists_each_week_and_makes_formulas_text(client, imported):
    admin = UserFactory(role=Role.TRUST_ADMIN, provider=imported)
    latest = imported.latest_snapshot
    Snapshot.objects.filter(pk=latest.pk).update(
        file_name='=HYPERLINK("http://evil.example","x")', imported_by=admin
    )
    client.force_login(admin)
    assert (
        reverse("waitinglist:imports_csv")
        in client.get(reverse("waitinglist:imports")).content.decode()
    )
    rows = rows_of(client.get(reverse("waitinglist:imports_csv")))
    assert [r["week_ending"] for r in rows] == ["2026-03-15", "2026-03-08", "2026-03-01"]
    assert rows[0]["file_name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert rows[0]["imported_by"] == admin.email
    assert rows[0]["pathways_imported"] == str(latest.pathways_imported)
    assert rows[0]["leavers"] == "1" and rows[0]["rows_rejected"] == "0"


# --- Who may see them -----------------------------------------------------------------------

STAFF_PAGES = ["engagement", "engagement_csv"]
ALL_PAGES = [*STAFF_PAGES, "imports_csv"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ALL_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, name):
    response = client.get(reverse(f"waitinglist:{name}"))
    assert response.headers["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.PATIENT, Role.GP_PRACTICE])
@pytest.mark.parametrize("name", ALL_PAGES)
def test_patients_and_practices_are_refused(client, trust, role, name):
    client.force_login(UserFactory(role=role, provider=trust if role == Role.GP_PRACTICE else None))
    assert client.get(reverse(f"waitinglist:{name}")).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("role", TRUST_ROLES)
def test_every_trust_role_sees_engagement_but_only_admins_the_import_csv(client, trust, role):
    client.force_login(UserFactory(role=role, provider=trust))
    for name in STAFF_PAGES:
        assert client.get(reverse(f"waitinglist:{name}")).status_code == 200
    expected = 200 if role == Role.TRUST_ADMIN else 403
    assert client.get(reverse("waitinglist:imports_csv")).status_code == expected


@pytest.mark.django_db
@pytest.mark.parametrize("role", TRUST_ROLES)
def test_another_trusts_staff_see_none_of_these_figures(client, engaged, role):
    client.force_login(UserFactory(role=role, provider=ProviderFactory(ods_code="RYY")))
    page = client.get(reverse("waitinglist:engagement")).content.decode()
    assert "0 of the 0 patients" in page and "Staying active" not in page
    rows = rows_of(client.get(reverse("waitinglist:engagement_csv")))
    figures = {(r["section"], r["measure"]): r["value"] for r in rows}
    assert figures[(f"{QUESTION} (all time)", "No")] == "1"  # RYY's own answer only
    assert figures[("Subscribers", "Email only")] == "0"
    if role == Role.TRUST_ADMIN:
        assert rows_of(client.get(reverse("waitinglist:imports_csv"))) == []


# --- The patient page's question ------------------------------------------------------------


def send(client, answered: str | None):
    data = {} if answered is None else {"answered": answered}
    return client.post(reverse("waitinglist:page_feedback"), data, follow=True)


@pytest.mark.django_db
def test_the_patient_page_asks_and_an_answer_is_stored_for_their_trust(imported, tmp_path, client):
    user = linked_client(client, tmp_path, "A2")
    page = client.get(reverse("waitinglist:my_wait")).content.decode()
    assert QUESTION in page and reverse("waitinglist:page_feedback") in page
    response = send(client, "yes")
    assert "Thank you for telling us." in response.content.decode()
    stored = PageFeedback.objects.get()
    assert (stored.provider, stored.user, stored.answered) == (imported, user, True)


@pytest.mark.django_db
def test_one_answer_a_day_is_kept_and_repeats_are_thanked(imported, tmp_path, client):
    linked_client(client, tmp_path, "A2")
    send(client, "no")
    assert "Thank you for telling us." in send(client, "yes").content.decode()
    assert list(PageFeedback.objects.values_list("answered", flat=True)) == [False]
    PageFeedback.objects.update(at=timezone.now() - timedelta(days=1))
    send(client, "yes")
    assert PageFeedback.objects.count() == 2


@pytest.mark.django_db
def test_no_choice_is_explained_and_nothing_stored(imported, tmp_path, client):
    linked_client(client, tmp_path, "A2")
    for bad in (None, "maybe"):
        assert "Choose yes or no" in send(client, bad).content.decode()
    assert not PageFeedback.objects.exists()


@pytest.mark.django_db
def test_answering_keeps_the_cached_page_and_its_thanks_shows_once(imported, tmp_path, client):
    linked_client(client, tmp_path, "A2")
    client.get(reverse("waitinglist:my_wait"))
    version = cache.get(PAGES_VERSION)
    thanked = send(client, "yes").content.decode()
    assert "Thank you for telling us." in thanked and "Your place in the queue" in thanked
    assert cache.get(PAGES_VERSION) == version  # an answer changes nothing the page shows
    assert "Thank you" not in client.get(reverse("waitinglist:my_wait")).content.decode()


@pytest.mark.django_db
def test_only_signed_in_patients_with_a_linked_record_can_answer(client, imported):
    response = client.post(reverse("waitinglist:page_feedback"), {"answered": "yes"})
    assert response.headers["Location"].startswith(reverse("account_login"))
    client.force_login(UserFactory(role=Role.PATIENT))
    assert client.post(reverse("waitinglist:page_feedback"), {"answered": "yes"}).status_code == 404
    assert client.get(reverse("waitinglist:page_feedback")).status_code == 405
    assert not PageFeedback.objects.exists()
