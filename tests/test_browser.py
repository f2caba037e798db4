"""End to end in headless Chromium: sign in through the real pages, and check each page with
axe-core for WCAG 2.2 A/AA violations, under the real Content-Security-Policy."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from playwright.sync_api import expect

from portal.roles import Role
from tests.conftest import AXE
from tests.extracts import pathway, write_extract
from tests.factories import TOTP_SECRET, ProviderFactory, UserFactory
from tests.totp import totp
from waitinglist.models import ImportRun
from waitinglist.tasks import import_upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
PASSWORD = "a-long-enough-test-passphrase"


def axe_violations(page) -> list[str]:
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_22_AA
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
    ]


def check_page(page) -> None:
    """The page has no axe WCAG 2.2 A/AA violations, no CSP violations, and its scripts ran."""
    violations = axe_violations(page)
    assert violations == [], f"{page.url}: {violations}"
    assert page.evaluate("window.__cspViolations || []") == [], page.url
    classes = page.evaluate("document.body.className")
    assert "nhsuk-frontend-supported" in classes, "the NHS.UK frontend scripts did not start"


def follow(page, locator) -> None:
    """Clicks a link or button and waits for the page it leads to."""
    with page.expect_navigation():
        locator.click()


def sign_in(page, email: str, secret: str | None = None) -> None:
    """Signs in through the pages; with a secret, also gives the authenticator app's code
    (every staff account needs one: tests.factories gives them TOTP_SECRET)."""
    page.goto("/")
    follow(page, page.get_by_role("link", name="Sign in").first)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    follow(page, page.get_by_role("button", name="Sign in"))
    if secret:
        page.get_by_label("Code", exact=True).fill(totp(secret))
        follow(page, page.get_by_role("button", name="Sign in"))


def sign_in_staff(page, email: str) -> None:
    sign_in(page, email, secret=TOTP_SECRET)


def patient_with_a_wait(tmp_path, pathways: int = 4):
    """A patient account linked to the first patient of three imported weeks of trust RXX."""
    from datetime import timedelta

    from django.core.management import call_command

    from tests.extracts import WEEK, week_of
    from waitinglist.models import Patient, PatientLink

    ProviderFactory(ods_code="RXX")
    rows = [pathway(f"Z{n}") for n in range(1, pathways + 1)]
    files = [
        write_extract(tmp_path / f"w{w}.csv", week_of(rows, WEEK + timedelta(weeks=w)))
        for w in range(3)
    ]
    call_command("import_waiting_list", *map(str, files))
    patient = UserFactory(role=Role.PATIENT, password=PASSWORD)
    PatientLink.objects.create(user=patient, patient=Patient.objects.first(), method="nhs-login")
    return patient


def test_a_patient_signs_in_and_every_page_on_the_way_is_accessible(page):
    patient = UserFactory(role=Role.PATIENT, password=PASSWORD)
    page.goto("/")
    check_page(page)
    follow(page, page.get_by_role("link", name="Sign in").first)
    check_page(page)

    # A mistake shows the NHS.UK error summary, which must be accessible too.
    follow(page, page.get_by_role("button", name="Sign in"))
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    check_page(page)

    page.get_by_label("Email").fill(patient.email)
    page.get_by_label("Password").fill(PASSWORD)
    follow(page, page.get_by_role("button", name="Sign in"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    check_page(page)

    for link in ["Two-step verification", "Change your password", "Change your email address"]:
        follow(page, page.get_by_role("link", name=link))
        check_page(page)
        page.go_back(wait_until="load")

    follow(page, page.get_by_role("button", name="Sign out"))
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()


def test_a_patient_turns_on_mfa_and_signs_in_with_it(page):
    patient = UserFactory(role=Role.PATIENT, password=PASSWORD)
    sign_in(page, patient.email)
    follow(page, page.get_by_role("link", name="Two-step verification"))
    follow(page, page.get_by_role("button", name="Activate"))
    # Asked for the password again before changing how the account is protected.
    page.get_by_label("Password").fill(PASSWORD)
    check_page(page)
    follow(page, page.get_by_role("button", name="Confirm"))
    check_page(page)
    secret = page.get_by_label("Authenticator secret").input_value()
    page.get_by_label("Authenticator code").fill(totp(secret))
    follow(page, page.get_by_role("button", name="Activate"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Recovery")
    check_page(page)
    assert patient.authenticator_set.filter(type="totp").exists()


def test_signing_in_with_mfa_through_the_pages(page):
    patient = UserFactory(role=Role.PATIENT, password=PASSWORD)
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    TOTP.activate(patient, secret)
    sign_in(page, patient.email)
    check_page(page)
    page.get_by_label("Code", exact=True).fill(totp(secret))
    follow(page, page.get_by_role("button", name="Sign in"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")


def test_sign_up_reset_and_footer_pages_are_accessible(page):
    for path in [
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/accessibility/",
        "/privacy/",
        "/contact/",
    ]:
        page.goto(path)
        check_page(page)


def test_a_trust_admin_uploads_an_extract_through_accessible_pages(page, tmp_path):
    trust = ProviderFactory(ods_code="RXX")
    staff = UserFactory(role=Role.TRUST_ADMIN, provider=trust, password=PASSWORD)
    sign_in_staff(page, staff.email)
    follow(page, page.get_by_role("link", name="Trust workspace").first)
    expect(page.get_by_role("heading", level=1)).to_have_text("Trust workspace")
    check_page(page)
    follow(page, page.get_by_role("link", name="Waiting-list imports"))
    check_page(page)

    # A file that is not CSV: the error summary must be accessible too.
    page.get_by_label("Open-pathways extract").set_input_files(
        files=[{"name": "list.xlsx", "mimeType": "application/octet-stream", "buffer": b"PK"}]
    )
    follow(page, page.get_by_role("button", name="Upload and import"))
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    check_page(page)

    rows = [pathway("G1"), pathway("G2", NHS_NUMBER="123")]
    page.get_by_label("Open-pathways extract").set_input_files(
        write_extract(tmp_path / "week.csv", rows)
    )
    follow(page, page.get_by_role("button", name="Upload and import"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Import of week.csv")
    check_page(page)
    import_upload(ImportRun.objects.get().pk)  # what the worker does
    page.reload()
    expect(page.get_by_text("1 rows rejected")).to_be_visible()
    check_page(page)


@pytest.mark.parametrize("path", ["/", "/accounts/login/"])
def test_pages_fit_a_320_pixel_wide_screen(page, path):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(path)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    check_page(page)


def test_the_accessibility_check_does_catch_violations(page):
    # Guards the checks above against passing vacuously (axe not loaded, wrong rule tags).
    page.goto("/")
    page.evaluate("document.querySelector('main').append(document.createElement('img'))")
    assert any(v.startswith("image-alt") for v in axe_violations(page))


def test_a_patient_links_their_record_reads_their_wait_and_answers(page, tmp_path):
    from datetime import timedelta

    from django.core.management import call_command

    from tests.extracts import WEEK, week_of
    from waitinglist.models import PatientResponse

    trust = ProviderFactory(ods_code="RXX", waiting_list_phone="0161 496 0000")
    rows = [pathway("A1"), *[pathway(f"C{n}") for n in range(2, 6)]]
    files = [
        write_extract(tmp_path / f"w{w}.csv", week_of(rows[w:], WEEK + timedelta(weeks=w)))
        for w in range(3)
    ]
    call_command("import_waiting_list", *map(str, files), "--allow-shrink")
    call_command("issue_invitations", "--provider", "RXX", "--out", str(tmp_path / "codes.csv"))
    code = next(
        line.split(",")[1]
        for line in (tmp_path / "codes.csv").read_text().splitlines()
        if line.startswith("C4,")
    )
    patient = UserFactory(role=Role.PATIENT, password=PASSWORD)

    page.goto("/activate/")
    check_page(page)
    follow(page, page.get_by_role("button", name="Continue"))
    expect(page.locator(".nhsuk-error-summary")).to_be_visible()
    check_page(page)
    page.get_by_label("Activation code").fill(code)
    page.get_by_label("Day").fill("17")
    page.get_by_label("Month").fill("5")
    page.get_by_label("Year").fill("1960")
    follow(page, page.get_by_role("button", name="Continue"))
    check_page(page)
    follow(page, page.get_by_role("link", name="I already have an account: sign in"))
    page.get_by_label("Email").fill(patient.email)
    page.get_by_label("Password").fill(PASSWORD)
    follow(page, page.get_by_role("button", name="Sign in"))

    expect(page.get_by_role("heading", name="Your hospital waits")).to_be_visible()
    expect(page.get_by_text("Your hospital record is linked to your account.")).to_be_visible()
    check_page(page)
    page.get_by_label("Yes, I still need this treatment").check()
    follow(page, page.get_by_role("button", name="Send to the hospital"))
    check_page(page)
    assert PatientResponse.objects.get().answer == "still-need"
    page.set_viewport_size({"width": 320, "height": 640})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320

    page.context.clear_cookies()
    staff = UserFactory(role=Role.CLINICAL_REVIEWER, provider=trust, password=PASSWORD)
    page.set_viewport_size({"width": 1024, "height": 768})
    sign_in_staff(page, staff.email)
    page.goto("/staff/responses/")
    check_page(page)
    follow(page, page.get_by_role("button", name="Mark as reviewed"))
    check_page(page)


def tab_to(page, selector: str, presses: int = 80) -> None:
    """Presses Tab until the element is focused, as a keyboard user would; fails if it never is."""
    target = page.locator(selector)
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def test_the_whole_patient_journey_works_with_the_keyboard_alone(page, tmp_path):
    from datetime import timedelta

    from django.core.management import call_command

    from tests.extracts import WEEK, week_of
    from waitinglist.models import PatientLink, PatientResponse

    ProviderFactory(ods_code="RXX")
    rows = [pathway(f"K{n}") for n in range(1, 5)]
    files = [
        write_extract(tmp_path / f"w{w}.csv", week_of(rows, WEEK + timedelta(weeks=w)))
        for w in range(2)
    ]
    call_command("import_waiting_list", *map(str, files))
    call_command("issue_invitations", "--provider", "RXX", "--out", str(tmp_path / "codes.csv"))
    code = (tmp_path / "codes.csv").read_text().splitlines()[1].split(",")[1]
    patient = UserFactory(role=Role.PATIENT, password=PASSWORD)

    page.goto("/activate/")
    tab_to(page, "#id_code")
    page.keyboard.type(code)
    for field, value in (("#id_day", "17"), ("#id_month", "5"), ("#id_year", "1960")):
        tab_to(page, field)
        page.keyboard.type(value)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, "text=I already have an account: sign in")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab_to(page, "input[name=login]")
    page.keyboard.type(patient.email)
    tab_to(page, "input[name=password]")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your hospital waits")).to_be_visible()
    assert PatientLink.objects.get().user == patient

    tab_to(page, "input[name=answer] >> nth=0")
    page.keyboard.press("Space")
    tab_to(page, "button:has-text('Send to the hospital')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_text("will see your answer")).to_be_visible()
    assert PatientResponse.objects.get().answer == "still-need"


@pytest.mark.parametrize("width", [320, 640])  # 640 CSS pixels: a 1280-pixel screen at 200%
def test_the_patient_page_reflows_without_sideways_scrolling(page, tmp_path, width):
    patient = patient_with_a_wait(tmp_path)
    sign_in(page, patient.email)
    page.goto("/my-wait/")
    page.set_viewport_size({"width": width, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    check_page(page)
