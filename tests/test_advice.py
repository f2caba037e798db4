"""Advice: the workflow and who may do what, versions, safe rendering, matching patients, review
dates, the public library and feedback, and the patient page."""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from advice import services, starter
from advice.markdown import bad_links, render
from advice.models import Article, ArticleVersion
from portal.roles import Role
from tests.factories import ProviderFactory, UserFactory

TODAY = date(2026, 11, 25)


def article(trust, author=None, **fields) -> Article:
    values = {
        "title": "Keeping active",
        "summary": "Move more.",
        "body": "Walk a little more each day.",
        "review_by": TODAY + timedelta(days=200),
    }
    made = Article(provider=trust, author=author, **{**values, **fields})
    services.save(made, author)
    return made


def published(trust, **fields) -> Article:
    made = article(trust, **fields)
    made.status, made.published_at = Article.Status.PUBLISHED, timezone.now()
    made.save()
    return made


def pathway_like(function="110", procedure="W37.1", list_type="IRTT"):
    queue = SimpleNamespace(treatment_function=function, list_type=list_type)
    return SimpleNamespace(queue=queue, procedure_code=procedure)


# --- Workflow and permissions ----------------------------------------------------------------


@pytest.mark.django_db
def test_an_editor_writes_a_reviewer_who_did_not_write_it_publishes(trust):
    editor = UserFactory(role=Role.TRUST_EDITOR, provider=trust)
    reviewer = UserFactory(role=Role.CLINICAL_REVIEWER, provider=trust)
    draft = article(trust, author=editor)
    with pytest.raises(services.NotAllowed, match="clinical review"):
        services.publish(draft, reviewer, TODAY)  # not yet sent for review
    services.submit_for_review(draft, editor)
    with pytest.raises(services.NotAllowed, match="Only a clinical reviewer"):
        services.publish(draft, editor, TODAY)
    services.publish(draft, reviewer, TODAY)
    draft.refresh_from_db()
    assert draft.status == Article.Status.PUBLISHED
    assert (draft.reviewer, draft.last_reviewed) == (reviewer, TODAY)


@pytest.mark.django_db
def test_reviewers_cannot_publish_their_own_writing_or_another_trusts(trust):
    reviewer = UserFactory(role=Role.CLINICAL_REVIEWER, provider=trust)
    elsewhere = UserFactory(role=Role.CLINICAL_REVIEWER, provider=ProviderFactory(ods_code="RYY"))
    own = article(trust, author=reviewer)
    services.submit_for_review(own, reviewer)
    with pytest.raises(services.NotAllowed, match="Another clinical reviewer"):
        services.publish(own, reviewer, TODAY)
    with pytest.raises(services.NotAllowed, match="at this trust"):
        services.publish(own, elsewhere, TODAY)
    assert Article.objects.get(pk=own.pk).status == Article.Status.REVIEW


@pytest.mark.django_db
def test_editing_published_advice_sends_it_back_to_draft(trust):
    live = published(trust)
    live.body = "Changed advice."
    services.save(live, None)
    assert Article.objects.get(pk=live.pk).status == Article.Status.DRAFT


@pytest.mark.django_db
def test_the_publish_button_refuses_an_editor_through_the_page(trust, client):
    editor = UserFactory(role=Role.TRUST_EDITOR, provider=trust)
    draft = article(trust, author=UserFactory(role=Role.TRUST_EDITOR, provider=trust))
    services.submit_for_review(draft, editor)
    client.force_login(editor)
    response = client.post(reverse("advice:staff_status", args=[draft.pk]), {"step": "publish"})
    assert response.status_code == 302
    assert Article.objects.get(pk=draft.pk).status == Article.Status.REVIEW


# --- Versions -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_save_is_kept_compared_and_can_be_restored(trust, client):
    editor = UserFactory(role=Role.TRUST_EDITOR, provider=trust)
    client.force_login(editor)
    form = {"title": "Sleep", "summary": "Sleep well.", "body": "Go to bed early.",
            "review_by": "2027-06-01", "save": ""}  # fmt: skip
    client.post(reverse("advice:staff_new"), form)
    saved = Article.objects.get()
    client.post(reverse("advice:staff_edit", args=[saved.pk]), {**form, "body": "Keep a routine."})
    assert [v.number for v in saved.versions.all()] == [2, 1]
    page = client.get(reverse("advice:staff_history", args=[saved.pk])).content.decode()
    assert "Removed: </span>Go to bed early." in page and "Added: </span>Keep a routine." in page
    client.post(reverse("advice:staff_restore", args=[saved.pk, 1]))
    saved.refresh_from_db()
    assert saved.body == "Go to bed early."
    newest = saved.versions.first()
    assert (newest.number, newest.note, newest.saved_by) == (3, "Restored version 1", editor)


# --- Safe rendering --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "markdown, banned",
    [
        ("<script>alert(1)</script>", "<script"),
        ('<img src="x" onerror="alert(1)">', "<img"),
        ('<a href="https://nhs.uk" onclick="alert(1)">x</a>', "<a "),
        ("[click](javascript:alert(1))", 'href="javascript'),
        ("<a href='javascript:alert(1)'>x</a>", 'href="javascript'),
        ("[here](/admin/)", 'href="/admin/"'),
        ("[data](data:text/html,hi)", 'href="data'),
    ],
)
def test_scripts_handlers_and_unsafe_links_never_reach_patients(markdown, banned):
    assert banned not in render(markdown)


def test_web_and_email_links_survive_and_others_are_named_to_the_editor():
    body = "[NHS](https://www.nhs.uk) [us](mailto:team@trust.nhs.uk) [x](javascript:go) [y](/a)"
    html = render(body)
    assert 'href="https://www.nhs.uk"' in html and 'href="mailto:team@trust.nhs.uk"' in html
    assert bad_links(body) == ["javascript:go", "/a"]


@pytest.mark.django_db
def test_the_editor_refuses_a_bad_link_with_a_clear_message(trust, client):
    client.force_login(UserFactory(role=Role.TRUST_EDITOR, provider=trust))
    form = {"title": "T", "summary": "S", "body": "[x](www.nhs.uk)", "review_by": "2027-06-01"}
    page = client.post(reverse("advice:staff_new"), {**form, "save": ""}).content.decode()
    assert "Links must be full web addresses" in page and "www.nhs.uk" in page
    assert not Article.objects.exists()


@pytest.mark.django_db
def test_the_preview_shows_the_article_and_its_reading_age(trust, client):
    client.force_login(UserFactory(role=Role.TRUST_EDITOR, provider=trust))
    words = "Walk a little each day. It helps your heart. " * 8
    page = client.post(
        reverse("advice:staff_live_preview"), {"title": "Walking", "body": words}
    ).content.decode()
    assert "<h1>Walking</h1>" in page and "Reading age:" in page and "years" in page


# --- Matching patients -----------------------------------------------------------------------


def test_advice_matches_procedure_then_specialty_then_everyone():
    hip = pathway_like(procedure="W37.1")
    assert Article(procedure_code="W37").specificity(hip) == 3
    assert Article(procedure_code="W37.1").specificity(hip) == 3
    assert Article(procedure_code="W40").specificity(hip) == 0
    assert Article(treatment_function="110").specificity(hip) == 2
    assert Article(treatment_function="130").specificity(hip) == 0
    assert Article().specificity(hip) == 1
    assert Article(list_type="ORTT").specificity(hip) == 0
    assert Article(treatment_function="110", list_type="IRTT").specificity(hip) == 2


@pytest.mark.django_db
def test_a_pathway_gets_its_trusts_published_advice_most_specific_first(trust):
    everyone = published(trust, title="A general one")
    specialty = published(trust, title="B orthopaedics", treatment_function="110")
    procedure = published(trust, title="C hips", procedure_code="W37")
    article(trust, title="D draft", procedure_code="W37")  # not published
    published(ProviderFactory(ods_code="RYY"), title="E other trust")
    hip = pathway_like()
    hip.pk, hip.provider_id = 1, trust.pk
    assert Article.objects.for_pathways([hip])[1] == [procedure, specialty, everyone]


# --- Review dates ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_owner_is_reminded_once_and_long_overdue_advice_is_withdrawn(trust):
    owner = UserFactory(role=Role.TRUST_EDITOR, provider=trust, email="owner@trust.nhs.uk")
    due = published(trust, author=owner, title="Due", review_by=TODAY - timedelta(days=1))
    gone = published(trust, author=owner, title="Gone", review_by=TODAY - timedelta(days=91))
    fine = published(trust, author=owner, title="Fine", review_by=TODAY + timedelta(days=1))
    assert services.remind_and_withdraw(TODAY) == (1, 1)
    assert services.remind_and_withdraw(TODAY) == (0, 0)  # never twice
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == ["Advice due for review: Due", "Advice taken down: Gone"]
    assert all(m.to == ["owner@trust.nhs.uk"] for m in mail.outbox)
    assert mail.outbox[0].alternatives  # text and HTML
    states = dict(Article.objects.values_list("title", "status"))
    assert states == {"Due": "published", "Gone": "archived", "Fine": "published"}
    assert Article.objects.get(pk=gone.pk).withdrawn_at
    assert due.pk and fine.pk


# --- Who sees what ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_of_another_trust_get_404_for_every_advice_page(trust, client):
    draft = article(trust)
    client.force_login(UserFactory(role=Role.CLINICAL_REVIEWER, provider=ProviderFactory()))
    for name in ("staff_edit", "staff_history"):
        assert client.get(reverse(f"advice:{name}", args=[draft.pk])).status_code == 404
    assert client.post(reverse("advice:staff_edit", args=[draft.pk]), {}).status_code == 404
    status = reverse("advice:staff_status", args=[draft.pk])
    assert client.post(status, {"step": "archive"}).status_code == 404
    restore = reverse("advice:staff_restore", args=[draft.pk, 1])
    assert client.post(restore).status_code == 404
    assert "Keeping active" not in client.get(reverse("advice:staff_list")).content.decode()
    assert Article.objects.get(pk=draft.pk).status == Article.Status.DRAFT


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.PATIENT, Role.GP_PRACTICE, Role.TRUST_ADMIN])
def test_only_editors_and_reviewers_open_the_advice_area(trust, client, role):
    client.force_login(UserFactory(role=role, provider=trust))
    assert client.get(reverse("advice:staff_list")).status_code == 403


@pytest.mark.django_db
def test_the_preview_as_a_patient_stays_inside_the_trust(trust, client, tmp_path):
    from tests.extracts import pathway
    from tests.test_patient_pages import run, write_extract

    run("import_waiting_list", str(write_extract(tmp_path / "w.csv", [pathway("A1")])))
    published(trust, title="For orthopaedics", treatment_function="110")
    client.force_login(UserFactory(role=Role.TRUST_EDITOR, provider=trust))
    page = client.get(reverse("advice:staff_as_patient"), {"pathway": "A1"}).content.decode()
    assert "For orthopaedics" in page
    client.force_login(UserFactory(role=Role.TRUST_EDITOR, provider=ProviderFactory()))
    page = client.get(reverse("advice:staff_as_patient"), {"pathway": "A1"}).content.decode()
    assert "No pathway on your trust" in page and "For orthopaedics" not in page


# --- The public library and feedback ---------------------------------------------------------


@pytest.mark.django_db
def test_the_library_needs_no_sign_in_and_shows_only_published_advice(trust, client):
    shown = published(trust, title="Sleeping well", last_reviewed=date(2026, 10, 1))
    article(trust, title="A draft nobody sees")
    library = client.get(reverse("advice:library")).content.decode()
    assert "Sleeping well" in library and "A draft nobody sees" not in library
    page = client.get(reverse("advice:article", args=[shown.pk])).content.decode()
    assert "Last reviewed by a clinician on 1 October 2026" in page
    hidden = Article.objects.get(title="A draft nobody sees")
    assert client.get(reverse("advice:article", args=[hidden.pk])).status_code == 404


@pytest.mark.django_db
def test_feedback_is_counted_once_a_reader_for_the_trust(trust, client):
    shown = published(trust)
    url = reverse("advice:feedback", args=[shown.pk])
    assert client.post(url, {}).status_code == 400  # yes or no is needed
    client.post(url, {"helpful": "no", "comment": "Too long"})
    client.post(url, {"helpful": "no"})  # the same reader again: not counted twice
    assert list(shown.feedback.values_list("helpful", "comment")) == [(False, "Too long")]
    client.force_login(UserFactory(role=Role.TRUST_EDITOR, provider=trust))
    listing = client.get(reverse("advice:staff_list")).content.decode()
    assert "0 yes, 1 no" in listing


# --- The starter library and the patient page -----------------------------------------------


@pytest.mark.django_db
def test_the_starter_library_loads_once_as_marked_examples(trust):
    assert starter.load(trust, publish=True, today=TODAY) >= 12
    assert starter.load(trust, publish=True, today=TODAY) == 0
    examples = Article.objects.filter(provider=trust)
    assert all(a.is_example and a.status == "published" for a in examples)
    assert all(services.reading_age(a.body) <= 11 for a in examples)
    assert ArticleVersion.objects.filter(article__provider=trust).count() == examples.count()
    call_command("load_starter_advice", "--provider", "RXX")  # nothing new: no error


@pytest.mark.django_db
def test_the_patient_page_links_matching_advice_and_sees_new_advice_at_once(
    trust, client, tmp_path
):
    from tests.extracts import pathway
    from tests.test_patient_pages import linked_client, run, write_extract

    run("import_waiting_list", str(write_extract(tmp_path / "w.csv", [pathway("A2")])))
    linked_client(client, tmp_path, "A2")
    published(trust, title="Hip and knee advice", treatment_function="110")
    page = client.get(reverse("waitinglist:my_wait")).content.decode()
    assert "Advice while you wait" in page and "Hip and knee advice" in page
    published(trust, title="Eye advice", treatment_function="130")
    published(trust, title="Brand new advice")
    page = client.get(reverse("waitinglist:my_wait")).content.decode()
    assert "Brand new advice" in page and "Eye advice" not in page
