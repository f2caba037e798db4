"""Linking a hospital record, the patient's page, telling the trust, and who may see what."""

import csv
import re
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.roles import Role
from tests.extracts import WEEK, pathway, week_of, write_extract
from tests.factories import ProviderFactory, UserFactory
from waitinglist import activation
from waitinglist.models import (
    ActivationCode,
    AuditEvent,
    Pathway,
    PatientLink,
    PatientResponse,
)

BIRTH = date(1960, 5, 17)
IN_INBOX = 'aria-hidden="true">Pathway </span>A2'  # A2's row in the staff inbox
TODAY = WEEK + timedelta(weeks=2)  # the latest week imported below


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def imported(tmp_path, trust):
    """Three weeks of a small list. A1 (outpatients) and A2 (operations) belong to one
    patient, B3 to another, each C to one more; the C pathways have waited longest, so they
    are ahead of A2 and B3 in the operations queue, and C4 then C5 leave (treated)."""
    x7 = pathway("X99")["NHS_NUMBER"]  # a number no other row has
    a1 = pathway("A1", NHS_NUMBER=x7, Waiting_List_Type="ORTT")
    a2 = pathway("A2", NHS_NUMBER=x7)
    b3 = pathway("B3", PERSON_BIRTH_DATE="1971-01-02")
    c = [
        pathway(f"C{n}", REFERRAL_TO_TREATMENT_PERIOD_START_DATE="2025-06-01") for n in range(4, 9)
    ]
    weeks = [[a1, a2, b3, *c], [a2, b3, *c[1:]], [a2, b3, *c[2:]]]
    files = [
        write_extract(tmp_path / f"w{w}.csv", week_of(rows, WEEK + timedelta(weeks=w)))
        for w, rows in enumerate(weeks)
    ]
    run("import_waiting_list", *map(str, files), "--allow-shrink")
    return trust


def invitations(tmp_path) -> dict[str, str]:
    out = tmp_path / "invitations.csv"
    run("issue_invitations", "--provider", "RXX", "--out", str(out))
    return {r["PATIENT_PATHWAY_IDENTIFIER"]: r for r in csv.DictReader(out.open())}


def activate(client, code: str, born: date = BIRTH):
    return client.post(
        reverse("waitinglist:activate"),
        {"code": code, "day": born.day, "month": born.month, "year": born.year},
    )


def linked_client(client, tmp_path, identifier: str = "A2", born: date = BIRTH):
    rows = invitations(tmp_path)
    user = UserFactory(role=Role.PATIENT)
    client.force_login(user)
    activate(client, rows[identifier]["activation_code"], born)
    client.get(reverse("waitinglist:activate_complete"))
    return user


# --- Invitations and activation ----------------------------------------------------------


@pytest.mark.django_db
def test_invitations_give_each_unlinked_patient_one_code(imported, tmp_path, settings):
    settings.SITE_URL = "https://waitwell.example.nhs.uk"
    rows = invitations(tmp_path)
    # A2 and B3 are open, and C6 to C8; A1 left, and so did C4 and C5.
    assert "A1" not in rows and {"A2", "B3"} <= set(rows)
    code = rows["A2"]["activation_code"]
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    assert rows["A2"]["activation_url"] == (
        f"https://waitwell.example.nhs.uk/activate/?code={code}"
    )
    assert rows["A2"]["expires"] == str(date.today() + timedelta(days=90))
    assert not ActivationCode.objects.filter(digest__contains=activation.normalise(code)).exists()
    assert len({r["activation_code"] for r in rows.values()}) == len(rows)


@pytest.mark.django_db
def test_a_new_letter_replaces_the_old_code_and_linked_patients_get_none(
    imported, tmp_path, client
):
    old = invitations(tmp_path)["A2"]["activation_code"]
    new = invitations(tmp_path)["A2"]["activation_code"]
    assert "There is a problem" in activate(client, old).content.decode()
    response = activate(client, new)
    assert "Your code is correct" in response.content.decode()
    linked_client(client, tmp_path, "B3", date(1971, 1, 2))
    assert "B3" not in invitations(tmp_path)


@pytest.mark.django_db
def test_issue_invitations_refuses_unknown_trusts(tmp_path, trust):
    with pytest.raises(CommandError, match="RZZ is not a trust"):
        run("issue_invitations", "--provider", "RZZ", "--out", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="no imported snapshot"):
        run("issue_invitations", "--provider", "RXX", "--out", str(tmp_path / "x.csv"))


@pytest.mark.django_db
def test_a_code_links_the_record_once_after_sign_up(imported, tmp_path, client):
    code = invitations(tmp_path)["A2"]["activation_code"]
    response = activate(client, code.lower().replace("-", " "))  # typed loosely
    assert "Create an account" in response.content.decode()
    user = UserFactory(role=Role.PATIENT)
    client.force_login(user)
    assert client.get(reverse("waitinglist:activate_complete")).headers["Location"] == reverse(
        "waitinglist:my_wait"
    )
    link = PatientLink.objects.get(user=user)
    assert link.patient.pathways.filter(identifier="A2").exists()
    # Used: the same code does not work again, for anyone.
    client.force_login(UserFactory())
    assert "There is a problem" in activate(client, code).content.decode()


@pytest.mark.django_db
def test_five_wrong_birth_dates_lock_the_code(imported, tmp_path, client):
    code = invitations(tmp_path)["A2"]["activation_code"]
    for _ in range(ActivationCode.MAX_FAILURES):
        assert "There is a problem" in activate(client, code, date(1999, 1, 1)).content.decode()
    # Locked: even the right date of birth is refused now.
    assert "There is a problem" in activate(client, code, BIRTH).content.decode()


@pytest.mark.django_db
def test_refusals_reveal_nothing(imported, tmp_path, client):
    code = invitations(tmp_path)["A2"]["activation_code"]
    wrong_birth = activate(client, code, date(1999, 1, 1)).content.decode()
    unknown_code = activate(client, "ABCD-EFGH-JKMN").content.decode()

    def message(page):
        return re.search(r'<div class="nhsuk-error-summary__body">(.*?)</div>', page, re.S)[1]

    assert message(wrong_birth) == message(unknown_code)
    assert "do not match our records" in message(wrong_birth)


@pytest.mark.django_db
def test_an_expired_code_is_refused(imported, tmp_path, client):
    code = invitations(tmp_path)["A2"]["activation_code"]
    ActivationCode.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert "There is a problem" in activate(client, code).content.decode()


@pytest.mark.django_db
def test_a_real_date_is_needed(client, trust):
    page = client.post(
        reverse("waitinglist:activate"), {"code": "X", "day": 31, "month": 2, "year": 1960}
    ).content.decode()
    assert "Enter a real date of birth" in page


# --- The page -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_shows_each_open_wait_with_its_place_and_estimate(
    imported, tmp_path, client, monkeypatch
):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda: TODAY)
    user = linked_client(client, tmp_path)
    page = client.get(reverse("waitinglist:my_wait")).content.decode()
    a2 = Pathway.objects.get(identifier="A2")
    assert f'id="pathway-{a2.pk}"' in page
    assert "Trauma and Orthopaedics" in page
    assert "4th" in page  # behind C6, C7 and C8, who have waited longer
    assert "Up 1 place since last week." in page
    assert "Up 2 places since you joined the list." in page
    assert "12 weeks since you were referred" in page
    assert "Why we think this" in page
    assert "Your place over time" in page and "<polyline" in page
    assert "This may be out of date" not in page
    assert "B3" not in page and "1971" not in page
    assert "NHS number" not in page and a2.patient.nhs_number not in page
    assert AuditEvent.objects.filter(user=user, action="patient-page-viewed").count() == 1


@pytest.mark.django_db
def test_after_a_week_the_trust_did_not_send_the_page_says_since_when(
    imported, tmp_path, client, monkeypatch
):
    later = WEEK + timedelta(weeks=4)  # the week before it was not imported
    rows = [pathway("A2", NHS_NUMBER=pathway("X99")["NHS_NUMBER"]), pathway("B3")] + [
        pathway(f"C{n}", REFERRAL_TO_TREATMENT_PERIOD_START_DATE="2025-06-01") for n in (7, 8)
    ]
    extract = write_extract(tmp_path / "w4.csv", week_of(rows, later))
    call_command("import_waiting_list", str(extract), stdout=StringIO(), stderr=StringIO())
    monkeypatch.setattr("django.utils.timezone.localdate", lambda: later)
    linked_client(client, tmp_path)
    page = client.get(reverse("waitinglist:my_wait")).content.decode()
    assert "Up 1 place since 15 March 2026." in page  # C6 left; the last list A2 was on
    assert "since last week" not in page


@pytest.mark.django_db
def test_old_data_is_flagged_not_shown_as_current(imported, tmp_path, client, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda: TODAY + timedelta(days=30))
    linked_client(client, tmp_path)
    page = client.get(reverse("waitinglist:my_wait")).content.decode()
    assert "This may be out of date" in page


@pytest.mark.django_db
def test_the_page_costs_the_same_queries_for_one_pathway_or_many(imported, tmp_path, client):
    linked_client(client, tmp_path, "A2")
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("waitinglist:my_wait"))
    rows = invitations(tmp_path)
    for identifier in ("B3", "C6", "C7"):
        born = date(1971, 1, 2) if identifier == "B3" else BIRTH
        activate(client, rows[identifier]["activation_code"], born)
        client.get(reverse("waitinglist:activate_complete"))
    with CaptureQueriesContext(connection) as four:
        page = client.get(reverse("waitinglist:my_wait")).content.decode()
    assert page.count('<section class="nhsuk-u-margin-bottom-7"') == 4
    assert len(four) == len(one)


def _page_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("waitinglist:my_wait"))
    return [q["sql"] for q in queries]


@pytest.mark.django_db
def test_a_second_view_reads_the_page_from_the_cache_but_is_still_audited(
    imported, tmp_path, client
):
    user = linked_client(client, tmp_path, "A2")
    first, second = _page_queries(client), _page_queries(client)
    assert any("waitinglist_pathwayweek" in sql for sql in first)
    assert not any("waitinglist_pathway" in sql for sql in second)
    assert len(second) < len(first) - 4
    assert AuditEvent.objects.filter(user=user, action="patient-page-viewed").count() == 2


@pytest.mark.django_db
def test_the_cached_page_follows_a_new_week_a_review_and_the_trusts_details(
    imported, tmp_path, client, monkeypatch
):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda: TODAY + timedelta(weeks=1))
    linked_client(client, tmp_path, "A2")
    page = client.get(reverse("waitinglist:my_wait")).content.decode()
    assert "4th" in page and "Test NHS Trust, renamed" not in page

    x7 = pathway("X99")["NHS_NUMBER"]
    rows = [pathway("A2", NHS_NUMBER=x7), pathway("B3", PERSON_BIRTH_DATE="1971-01-02")]
    rows.append(pathway("C8", REFERRAL_TO_TREATMENT_PERIOD_START_DATE="2025-06-01"))
    week = write_extract(tmp_path / "w3.csv", week_of(rows, WEEK + timedelta(weeks=3)))
    run("import_waiting_list", str(week), "--allow-shrink")  # C6 and C7 were treated
    assert "2nd" in client.get(reverse("waitinglist:my_wait")).content.decode()

    a2 = Pathway.objects.get(identifier="A2")
    client.post(reverse("waitinglist:respond", args=[a2.pk]), {"answer": "still-need"})
    stored = PatientResponse.objects.get()
    stored.reviewed_at = timezone.now()
    stored.save()
    imported.name = "Test NHS Trust, renamed"
    imported.save()
    page = client.get(reverse("waitinglist:my_wait")).content.decode()
    assert "the waiting-list team has seen this" in page
    assert "Test NHS Trust, renamed" in page


# --- Telling the trust ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_response_is_stored_shown_back_and_reaches_the_trust_inbox(imported, tmp_path, client):
    user = linked_client(client, tmp_path)
    a2 = Pathway.objects.get(identifier="A2")
    response = client.post(
        reverse("waitinglist:respond", args=[a2.pk]),
        {"answer": "worse", "details": "More pain at night"},
    )
    assert response.status_code == 302
    stored = PatientResponse.objects.get()
    assert (stored.pathway, stored.user, stored.answer) == (a2, user, "worse")
    page = client.get(reverse("waitinglist:my_wait")).content.decode()
    assert "My condition has got worse" in page
    assert Pathway.objects.get(pk=a2.pk).left_snapshot is None  # nothing removes anyone

    staff = UserFactory(role=Role.CLINICAL_REVIEWER, provider=imported)
    client.force_login(staff)
    inbox = client.get(reverse("waitinglist:responses")).content.decode()
    assert IN_INBOX in inbox and "More pain at night" in inbox
    client.post(reverse("waitinglist:responses"), {"response": stored.pk})
    stored.refresh_from_db()
    assert stored.reviewed_by == staff and stored.reviewed_at
    assert IN_INBOX not in client.get(reverse("waitinglist:responses")).content.decode()


@pytest.mark.django_db
def test_worse_needs_a_description(imported, tmp_path, client):
    linked_client(client, tmp_path)
    a2 = Pathway.objects.get(identifier="A2")
    response = client.post(reverse("waitinglist:respond", args=[a2.pk]), {"answer": "worse"})
    assert response.status_code == 400
    assert "Tell us how your condition has got worse" in response.content.decode()
    assert not PatientResponse.objects.exists()


# --- Nobody sees anybody else's --------------------------------------------------------------


@pytest.mark.django_db
def test_another_patients_pathway_ids_give_404(imported, tmp_path, client):
    linked_client(client, tmp_path, "A2")
    for identifier in ("B3", "C6", "A1"):  # someone else's, unlinked, and left the list
        other = Pathway.objects.get(identifier=identifier)
        response = client.post(
            reverse("waitinglist:respond", args=[other.pk]), {"answer": "still-need"}
        )
        assert response.status_code == 404
    assert not PatientResponse.objects.exists()


@pytest.mark.django_db
def test_staff_see_only_their_own_trusts_responses_and_audit(imported, tmp_path, client):
    linked_client(client, tmp_path, "A2")
    a2 = Pathway.objects.get(identifier="A2")
    client.post(reverse("waitinglist:respond", args=[a2.pk]), {"answer": "still-need"})
    response = PatientResponse.objects.get()
    other_trust = ProviderFactory(ods_code="RYY")
    client.force_login(UserFactory(role=Role.TRUST_ADMIN, provider=other_trust))
    assert IN_INBOX not in client.get(reverse("waitinglist:responses")).content.decode()
    assert (
        client.post(reverse("waitinglist:responses"), {"response": response.pk}).status_code == 404
    )
    assert "patient-response-sent" not in client.get(reverse("waitinglist:audit")).content.decode()
    client.force_login(UserFactory(role=Role.TRUST_ADMIN, provider=imported))
    assert "patient-response-sent" in client.get(reverse("waitinglist:audit")).content.decode()
    # Patients and editors are not trust admins: no audit log for them.
    client.force_login(UserFactory(role=Role.TRUST_EDITOR, provider=imported))
    assert client.get(reverse("waitinglist:audit")).status_code == 403


@pytest.mark.django_db
def test_patient_pages_need_signing_in(client):
    for url in (reverse("waitinglist:my_wait"), reverse("waitinglist:activate_complete")):
        assert client.get(url).headers["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.PATIENT, Role.GP_PRACTICE])
def test_patients_and_gps_cannot_open_the_trust_inbox(client, trust, role):
    client.force_login(UserFactory(role=role))
    assert client.get(reverse("waitinglist:responses")).status_code == 403
    assert client.get(reverse("waitinglist:audit")).status_code == 403


@pytest.mark.django_db
def test_the_page_reads_at_a_reading_age_of_11_or_under(tmp_path, trust, client):
    import html

    import readability

    from waitinglist.models import Estimate
    from waitinglist.simulation import simulate_trust

    files = simulate_trust("RXX", 30, seed=3, out=tmp_path, pathways=800, last_week=TODAY)
    run("import_waiting_list", *map(str, files))
    estimate = Estimate.objects.filter(basis="model").select_related("pathway").first()
    user = UserFactory(role=Role.PATIENT)
    PatientLink.objects.create(user=user, patient=estimate.pathway.patient, method="nhs-login")
    client.force_login(user)
    page = client.get(reverse("waitinglist:my_wait")).content.decode()
    main = page[page.index("<main") : page.index("</main>")]
    main = re.sub(r"<(svg|details|form|table)[\s>].*?</\1>", " ", main, flags=re.S)
    paragraphs = re.findall(r"<p[\s>](.*?)</p>", main, flags=re.S)
    words = [html.unescape(re.sub(r"<[^>]+>|\s+", " ", p)).strip() for p in paragraphs]
    sentences = [s for p in words for s in re.split(r"(?<=[.!?])\s+", p) if s]
    assert len(sentences) >= 10
    grades = readability.getmeasures("\n".join(sentences), lang="en")["readability grades"]
    # Flesch-Kincaid grade 6 is a reading age of about 11 (grade + 5).
    print("Flesch-Kincaid grade", grades["Kincaid"])
    assert grades["Kincaid"] <= 6, (grades["Kincaid"], sentences)


@pytest.mark.django_db
def test_a_new_patient_signs_up_and_verifies_and_the_record_is_linked(imported, tmp_path, client):
    from django.core import mail

    from tests.test_accounts import code_from, sign_up

    code = invitations(tmp_path)["A2"]["activation_code"]
    activate(client, code)
    sign_up(client, "new.patient@example.com")
    verified = client.post(
        reverse("account_email_verification_sent"), {"code": code_from(mail.outbox[-1])}
    )
    assert verified.status_code == 302
    link = PatientLink.objects.get(user__email="new.patient@example.com")
    assert link.patient.pathways.filter(identifier="A2").exists()
    assert ActivationCode.objects.get(used_at__isnull=False).used_by == link.user
    # Wherever the journey ends, the page is there.
    assert "Your place in the queue" in client.get(reverse("waitinglist:my_wait")).content.decode()
