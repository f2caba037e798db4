"""Planned capacity changes: a trust admin records a lasting change, planned ahead, in how many
patients a week the trust's lists treat (a new surgical hub, theatres closed for a refit), or
withdraws one. Estimates allow for them, so each recording or withdrawal recomputes the trust's
estimates once it is committed.

Every query starts from `request.user.provider`: another trust's change id gives 404.
"""

import logging

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import dateformat, timezone
from django.views.decorators.http import require_POST

from portal.access import trust_admin_required
from waitinglist.forms import CapacityChangeForm
from waitinglist.models import AuditEvent, CapacityChange
from waitinglist.tasks import refresh_estimates
from waitinglist.treatment_functions import TREATMENT_FUNCTIONS

audit = logging.getLogger("portal.audit")

RECOMPUTING = "Patients' estimates are being updated: this takes a few minutes."


@trust_admin_required
def capacity_changes(request: HttpRequest) -> HttpResponse:
    trust = request.user.provider
    form = CapacityChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        change = CapacityChange(
            provider=trust,
            recorded_by=request.user,
            known_from=timezone.localdate(),
            **form.cleaned_data,
        )
        with transaction.atomic():
            change.save()
            _changed(request, "capacity-change-recorded", change.pk)
        messages.success(request, f"Recorded: {describe(change)}. {RECOMPUTING}")
        return redirect("waitinglist:capacity_changes")
    changes = trust.capacity_changes.select_related("recorded_by")
    context = {"form": form, "changes": [_present(change) for change in changes]}
    return render(request, "waitinglist/workspace/capacity_changes.html", context)


@trust_admin_required
@require_POST
def capacity_change_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    change = get_object_or_404(request.user.provider.capacity_changes, pk=pk)
    described = describe(change)
    with transaction.atomic():
        if not change.delete()[0]:  # another admin withdrew it a moment ago
            raise Http404
        _changed(request, "capacity-change-withdrawn", pk)
    messages.success(request, f"Withdrawn: {described}. {RECOMPUTING}")
    return redirect("waitinglist:capacity_changes")


def _changed(request: HttpRequest, action: str, pk: int) -> None:
    """The audit trail's line; the trust's estimates are recomputed once it is committed."""
    trust, user = request.user.provider, request.user
    AuditEvent.objects.create(
        provider=trust, user=user, action=action, ip_address=request.META.get("REMOTE_ADDR")
    )
    transaction.on_commit(lambda: refresh_estimates.delay(trust.pk, after_import=False))
    audit.info("%s change=%s trust=%s by user=%s", action, pk, trust.pk, user.pk)


def specialty_name(code: str) -> str:
    return TREATMENT_FUNCTIONS.get(code, code) if code else "All specialties"


def percent_shown(change: CapacityChange) -> str:
    return f"{change.percent:+d}%"


def describe(change: CapacityChange) -> str:
    """One change in a sentence, for the messages after recording or withdrawing it."""
    code = change.treatment_function
    where = TREATMENT_FUNCTIONS.get(code, code) if code else "all specialties"
    starts = dateformat.format(change.starts, "j F Y")
    return f"{percent_shown(change)} patients treated a week in {where} from {starts}"


def _present(change: CapacityChange) -> CapacityChange:
    change.specialty = specialty_name(change.treatment_function)
    change.shown_percent = percent_shown(change)
    return change
