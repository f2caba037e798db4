"""The workspace's figures in headless Chromium: axe-clean under the real CSP, and the patient
page's question answered through the page."""

from datetime import date

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal.roles import Role
from tests.factories import ProviderFactory, UserFactory
from tests.test_browser import (
    PASSWORD,
    check_page,
    follow,
    patient_with_a_wait,
    sign_in,
    sign_in_staff,
)
from tests.test_workspace_queues import accuracy, build_history
from waitinglist.models import PageFeedback

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_queues_a_queue_and_engagement_are_accessible(page):
    trust = ProviderFactory(ods_code="RXX")
    ortho, ent = build_history(trust, 20)
    accuracy(trust, None, "wait-well", median_abs_error_weeks=3.1, inside_p10_p90=0.8,
             later_than_p50=0.5)  # fmt: skip
    accuracy(trust, ortho, "wait-well", median_abs_error_weeks=2.4, inside_p10_p90=0.81,
             later_than_p50=0.47)  # fmt: skip
    accuracy(trust, ortho, "nhs-app-mean", median_abs_error_weeks=11.0, later_than_p50=0.7)
    PageFeedback.objects.create(provider=trust, answered=True)
    staff = UserFactory(role=Role.TRUST_EDITOR, provider=trust, password=PASSWORD)
    sign_in_staff(page, staff.email)

    page.goto("/staff/")
    follow(page, page.get_by_role("link", name="Queues"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Queues")
    check_page(page)
    follow(page, page.get_by_role("link", name="Trauma and Orthopaedics, admitted (IRTT)"))
    expect(page.locator("figure svg[role=img]")).to_have_count(3)
    page.get_by_text("Show the figures: people waiting").click()
    check_page(page)
    page.goto(f"/staff/queues/{ent.pk}/")  # not back-tested, no rates
    check_page(page)

    page.goto("/staff/")
    follow(page, page.get_by_role("link", name="Engagement"))
    expect(page.get_by_text("measure of GP queries avoided")).to_be_visible()
    check_page(page)


def test_a_patient_answers_the_page_question_and_is_thanked(page, tmp_path):
    patient = patient_with_a_wait(tmp_path, pathways=3)
    sign_in(page, patient.email)
    page.goto("/my-wait/")
    form = page.locator("#page-feedback")
    expect(form.get_by_role("group")).to_contain_text(
        "Did this page answer your question about your wait?"
    )
    form.get_by_label("Yes").check()
    follow(page, form.get_by_role("button", name="Send your answer"))
    expect(page.get_by_text("Thank you for telling us.")).to_be_visible()
    check_page(page)
    stored = PageFeedback.objects.get()
    assert stored.user == patient and stored.answered
    assert stored.at.date() in (date.today(), timezone.now().date())


def test_a_trust_admin_records_and_withdraws_a_planned_capacity_change(page):
    trust = ProviderFactory(ods_code="RXX")
    admin = UserFactory(role=Role.TRUST_ADMIN, provider=trust, password=PASSWORD)
    sign_in_staff(page, admin.email)

    page.goto("/staff/")
    follow(page, page.get_by_role("link", name="Planned capacity changes"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Planned capacity changes")
    check_page(page)
    page.get_by_label("Specialty").select_option("110")
    page.get_by_label("Starts").fill("06/04/2027")
    page.get_by_label("Change in patients treated a week (%)").fill("0")
    follow(page, page.get_by_role("button", name="Record the change"))
    expect(page.get_by_role("alert")).to_contain_text("Enter a change other than 0%")
    check_page(page)  # the error summary and the field's error, axe-clean

    page.get_by_label("Change in patients treated a week (%)").fill("+30%")
    page.get_by_label("Note (optional)").fill("New surgical hub")
    follow(page, page.get_by_role("button", name="Record the change"))
    expect(page.get_by_text("Recorded: +30% patients treated a week in")).to_be_visible()
    expect(page.get_by_role("cell", name="New surgical hub")).to_be_visible()
    check_page(page)

    follow(page, page.get_by_role("button", name="Withdraw the change of +30%"))
    expect(page.get_by_text("Withdrawn: +30% patients treated a week")).to_be_visible()
    expect(page.get_by_text("None yet.")).to_be_visible()
    check_page(page)
