"""Celery tasks for trust data."""

import logging
from pathlib import Path

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from updates.tasks import digests_after_import
from waitinglist import backtest
from waitinglist.estimates import recompute
from waitinglist.importer import ImportRefused, import_snapshot
from waitinglist.models import ImportRun, Provider
from waitinglist.practice_email import send_practice_summaries as email_practice_summaries

log = logging.getLogger(__name__)


def progress_key(run_id: int) -> str:
    return f"import-progress:{run_id}"


@shared_task
def import_upload(run_id: int) -> None:
    """Imports an uploaded extract; only the worker that claims the run does the work."""
    run = ImportRun.objects.select_related("provider", "uploaded_by").get(pk=run_id)
    if not run.claim():
        return
    path = Path(run.stored_path)
    try:
        result = import_snapshot(
            path,
            imported_by=run.uploaded_by,
            expected_provider=run.provider,
            progress=lambda rows: cache.set(progress_key(run.pk), rows, 3600),
        )
    except ImportRefused as refusal:
        run.status, run.message, run.report_csv = (
            run.Status.REFUSED,
            str(refusal),
            refusal.report_csv,
        )
    except Exception:
        log.exception("import run %s failed", run.pk)
        run.status = run.Status.FAILED
        run.message = "The import stopped because of an error in the portal. Nothing was changed."
    else:
        note = result.missed_weeks_note()
        message = f"{result.summary()}. {note[0].upper()}{note[1:]}." if note else result.summary()
        run.status, run.snapshot, run.message = run.Status.DONE, result.snapshot, message
    finally:
        # The upload holds patient data: keep it no longer than the import needs it.
        path.unlink(missing_ok=True)
        cache.delete(progress_key(run.pk))
    run.save(update_fields=["status", "snapshot", "message", "report_csv"])
    if run.status == run.Status.DONE:
        refresh_estimates.delay(run.provider_id)


@shared_task
def refresh_estimates(provider_id: int, after_import: bool = True) -> None:
    """Recomputes a trust's estimates from its latest snapshot (after each import), then
    starts the digest run.

    After a trust admin records or withdraws a planned capacity change (`after_import`
    False) there is no digest run: this week's digests and alerts go with the next import,
    which compares the estimates then with what each patient was last told.
    """
    provider = Provider.objects.filter(pk=provider_id).first()
    if provider is None:  # the trust was removed since the import
        return
    log.info("estimates for %s: %s", provider.ods_code, recompute(provider).summary())
    if after_import:
        # With fresh estimates, subscribers due an update this week or month get it.
        digests_after_import.delay(provider.pk)


# Every 4th past week: the accuracy the workspace shows, at a quarter of the full run's cost.
BACKTEST_STEP = 4


@shared_task
def backtest_all() -> None:
    """Weekly (Celery beat): back-tests every trust, one task each."""
    for provider_id in Provider.objects.values_list("pk", flat=True):
        backtest_trust.delay(provider_id)


@shared_task
def backtest_trust(provider_id: int) -> None:
    """Back-tests one trust's history and stores its accuracy for the trust workspace."""
    provider = Provider.objects.filter(pk=provider_id).first()
    if provider is None:
        return
    result = backtest.run(provider, step=BACKTEST_STEP)
    stored = backtest.store(provider, result)
    log.info("backtest for %s: %s accuracy rows stored", provider.ods_code, stored)


@shared_task
def send_practice_summaries() -> int:
    """Weekly (Celery beat, Mondays): each GP practice account's week in counts, at most once."""
    return email_practice_summaries(timezone.localdate())
