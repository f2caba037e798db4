"""Trust workspace pages: uploading a week's extract, following its import, and the audit log
(patients' responses: `waitinglist.response_views`)."""

import csv
import io
import itertools
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from portal.access import trust_admin_required
from waitinglist.forms import UploadForm
from waitinglist.models import AuditEvent, ImportRun
from waitinglist.tasks import import_upload, progress_key

SHOWN_REJECTIONS = 200


@trust_admin_required
def imports(request: HttpRequest) -> HttpResponse:
    trust = request.user.provider
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        run = _store_upload(request, form.cleaned_data["extract"])
        return redirect("waitinglist:import_run", pk=run.pk)
    context = {
        "form": form,
        "snapshots": trust.snapshots.select_related("imported_by").order_by("-week_ending")[:60],
        "runs": trust.import_runs.select_related("uploaded_by")[:20],
    }
    return render(request, "waitinglist/imports.html", context)


def _store_upload(request: HttpRequest, upload) -> ImportRun:
    folder = settings.IMPORT_UPLOAD_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.csv"
    with path.open("wb") as f:
        for chunk in upload.chunks():
            f.write(chunk)
    run = ImportRun.objects.create(
        provider=request.user.provider,
        uploaded_by=request.user,
        file_name=upload.name[:255],
        stored_path=str(path),
    )
    transaction.on_commit(lambda: import_upload.delay(run.pk))
    return run


@trust_admin_required
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(request.user.provider.import_runs.select_related("snapshot"), pk=pk)
    rows = csv.reader(io.StringIO(run.rejections_csv))
    context = {
        "run": run,
        "rows_read": cache.get(progress_key(run.pk)),
        "rejections": list(itertools.islice(rows, 1, 1 + SHOWN_REJECTIONS)),
        "shown_rejections": SHOWN_REJECTIONS,
    }
    return render(request, "waitinglist/import_run.html", context)


@trust_admin_required
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(request.user.provider.import_runs.select_related("snapshot"), pk=pk)
    response = HttpResponse(run.rejections_csv or "line,column,reason\n", content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="rejected-rows-{run.pk}.csv"'
    return response


@trust_admin_required
def audit_log(request: HttpRequest) -> HttpResponse:
    events = (
        AuditEvent.objects.filter(provider=request.user.provider)
        .select_related("user", "pathway")
        .order_by("-at")[:500]
    )
    return render(request, "waitinglist/audit.html", {"events": events})
