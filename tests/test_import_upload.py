"""The trust admin's upload page: only a trust's admins, only their trust's imports."""

from datetime import timedelta
from pathlib import Path

import pytest
from celery import current_app
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.roles import Role
from tests.conftest import wait_for
from tests.extracts import WEEK, pathway, week_of, write_extract
from tests.factories import ProviderFactory, UserFactory
from waitinglist.models import Estimate, ImportRun, Snapshot
from waitinglist.tasks import import_upload, refresh_estimates


@pytest.fixture
def admin(trust):
    return UserFactory(role=Role.TRUST_ADMIN, provider=trust)


def upload(client, tmp_path, rows, name="week.csv"):
    content = write_extract(tmp_path / name, rows).read_bytes()
    return client.post(
        reverse("waitinglist:imports"), {"extract": SimpleUploadedFile(name, content)}
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role", [Role.PATIENT, Role.TRUST_EDITOR, Role.CLINICAL_REVIEWER, Role.GP_PRACTICE]
)
def test_only_trust_admins_may_upload(client, trust, role):
    client.force_login(UserFactory(role=role, provider=trust))
    assert client.get(reverse("waitinglist:imports")).status_code == 403


@pytest.mark.django_db
def test_an_admin_uploads_and_a_worker_task_imports_it(
    client, admin, tmp_path, django_capture_on_commit_callbacks
):
    client.force_login(admin)
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(client, tmp_path, [pathway("G1"), pathway("G2", NHS_NUMBER="1")])
    run = ImportRun.objects.get()
    assert response.headers["Location"] == reverse("waitinglist:import_run", args=[run.pk])
    assert run.status == ImportRun.Status.QUEUED
    assert len(callbacks) == 1  # the task is sent only once the upload is committed

    import_upload(run.pk)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE
    assert run.snapshot.imported_by == admin
    assert not Path(run.stored_path).exists()  # the upload is not kept
    page = client.get(reverse("waitinglist:import_run", args=[run.pk])).content.decode()
    assert "RXX 2026-03-01: 1 pathways imported, 1 rows rejected" in page
    assert "is not 10 digits" in page
    report = client.get(reverse("waitinglist:import_report", args=[run.pk]))
    assert report["Content-Type"] == "text/csv"
    assert b"3,NHS_NUMBER,is not 10 digits" in report.content


@pytest.mark.django_db
def test_the_admin_is_told_of_weeks_skipped_since_the_last_import(client, admin, tmp_path):
    client.force_login(admin)
    for weeks, name in ((0, "first.csv"), (2, "third.csv")):
        week = WEEK + timedelta(weeks=weeks)
        upload(client, tmp_path, week_of([pathway("G1"), pathway("G2")], week), name)
        import_upload(ImportRun.objects.latest("pk").pk)
    first, third = ImportRun.objects.order_by("pk")
    assert "not imported" not in first.message
    assert third.message == (
        "RXX 2026-03-15: 2 pathways imported, 0 rows rejected, 0 left the list, 0 joined. "
        "1 week was not imported before 2026-03-15 (2026-03-08): pathways that left the list "
        "then count as leaving over those weeks, and weeks are imported in order, so they "
        "cannot be added later."
    )
    page = client.get(reverse("waitinglist:import_run", args=[third.pk])).content.decode()
    assert "1 week was not imported before 2026-03-15 (2026-03-08)" in page


@pytest.mark.django_db
def test_only_one_worker_can_claim_a_run(client, admin, tmp_path):
    client.force_login(admin)
    upload(client, tmp_path, [pathway("G1")])
    run = ImportRun.objects.get()
    assert run.claim() is True
    assert run.claim() is False  # a second worker, or a redelivered message


@pytest.mark.django_db
def test_a_redelivered_task_leaves_a_finished_run_alone(client, admin, tmp_path):
    client.force_login(admin)
    upload(client, tmp_path, [pathway("G1")])
    run = ImportRun.objects.get()
    import_upload(run.pk)
    finished = ImportRun.objects.values().get(pk=run.pk)
    import_upload(run.pk)
    assert ImportRun.objects.values().get(pk=run.pk) == finished
    assert Snapshot.objects.count() == 1


@pytest.mark.django_db
def test_another_trusts_file_is_refused(client, admin, tmp_path):
    ProviderFactory(ods_code="RYY")
    client.force_login(admin)
    upload(client, tmp_path, [pathway("G1", ORGANISATION_IDENTIFIER_CODE_OF_PROVIDER="RYY")])
    run = ImportRun.objects.get()
    import_upload(run.pk)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.REFUSED
    assert run.message == "the file is RYY's list, but you are importing for RXX"
    assert not Snapshot.objects.exists()


@pytest.mark.django_db
def test_a_broken_file_is_refused_with_its_reason(client, admin, tmp_path):
    client.force_login(admin)
    upload(client, tmp_path, [pathway("G1", Week_Ending_Date="2026-03-04")])
    run = ImportRun.objects.get()
    import_upload(run.pk)
    page = client.get(reverse("waitinglist:import_run", args=[run.pk])).content.decode()
    assert "Refused" in page and "is not a Sunday" in page


@pytest.mark.django_db
def test_a_file_that_is_not_csv_gets_an_error_summary(client, admin):
    client.force_login(admin)
    response = client.post(
        reverse("waitinglist:imports"), {"extract": SimpleUploadedFile("list.xlsx", b"PK\x03\x04")}
    )
    assert response.status_code == 200
    assert "nhsuk-error-summary" in response.content.decode()
    assert "must be a CSV file" in response.content.decode()
    assert not ImportRun.objects.exists()


@pytest.mark.django_db
def test_admins_cannot_see_another_trusts_imports(client, admin, tmp_path):
    client.force_login(admin)
    upload(client, tmp_path, [pathway("G1")])
    run = ImportRun.objects.get()
    other_admin = UserFactory(role=Role.TRUST_ADMIN, provider=ProviderFactory(ods_code="RYY"))
    client.force_login(other_admin)
    for name in ("waitinglist:import_run", "waitinglist:import_report"):
        assert client.get(reverse(name, args=[run.pk])).status_code == 404
    assert run.file_name not in client.get(reverse("waitinglist:imports")).content.decode()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.worker_queue("imports,celery")
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_imports_an_upload(client, tmp_path, celery_worker):
    trust = ProviderFactory(ods_code="RXX")
    client.force_login(UserFactory(role=Role.TRUST_ADMIN, provider=trust))
    upload(client, tmp_path, [pathway(f"G{n}") for n in range(1, 6)])
    run = ImportRun.objects.get()
    assert wait_for(lambda: ImportRun.objects.get(pk=run.pk).finished, seconds=60)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.DONE, run.message
    assert run.snapshot.pathways_imported == 5
    # The worker then recomputes the trust's estimates, in a task of their own.
    estimates = Estimate.objects.filter(snapshot=run.snapshot)
    assert wait_for(lambda: estimates.count() == 5, seconds=60)
    assert set(estimates.values_list("basis", flat=True)) == {"too-little-history"}


@pytest.mark.django_db
def test_another_trusts_already_imported_file_is_refused_not_shared(client, admin, tmp_path):
    # The file's contents match a snapshot of another trust: that snapshot and its report
    # must not become visible through this trust's upload.
    other = ProviderFactory(ods_code="RYY")
    rows = [
        pathway("G1", ORGANISATION_IDENTIFIER_CODE_OF_PROVIDER="RYY"),
        pathway("G2", NHS_NUMBER="1", ORGANISATION_IDENTIFIER_CODE_OF_PROVIDER="RYY"),
    ]
    from waitinglist.importer import import_snapshot

    theirs = import_snapshot(write_extract(tmp_path / "theirs.csv", rows)).snapshot
    assert theirs.provider == other
    client.force_login(admin)
    upload(client, tmp_path, rows, name="theirs.csv")
    run = ImportRun.objects.get()
    import_upload(run.pk)
    run.refresh_from_db()
    assert run.status == ImportRun.Status.REFUSED
    assert run.snapshot is None
    assert run.message == "the file is RYY's list, but you are importing for RXX"
    page = client.get(reverse("waitinglist:import_run", args=[run.pk])).content.decode()
    assert "is not 10 digits" not in page


def test_uploads_are_imported_from_their_own_queue():
    # Read by a solo worker, whose process may start the workers that check a large file.
    route = current_app.amqp.router.route({}, import_upload.name)
    assert route["queue"].name == "imports"
    assert current_app.amqp.router.route({}, refresh_estimates.name)["queue"].name == "celery"
