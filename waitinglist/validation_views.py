"""The validation due list: who has waited 12 weeks or more without being validated in the
last 12 (`waitinglist.validation`), and the button that asks them "Do you still need this
treatment?". Every query starts from the signed-in member of staff's trust."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from portal.access import trust_staff_required
from portal.csv import csv_response
from updates.tasks import publish
from waitinglist import validation
from waitinglist.inbox import specialties
from waitinglist.models import Provider
from waitinglist.treatment_functions import TREATMENT_FUNCTIONS


class DueFilter(forms.Form):
    specialty = forms.ChoiceField(label="Specialty", required=False)

    def __init__(self, data, trust: Provider) -> None:
        super().__init__(data)
        self.fields["specialty"].choices = [("", "Any specialty"), *specialties(trust)]

    def apply(self, pathways):
        chosen = self.cleaned_data if self.is_valid() else {}
        if specialty := chosen.get("specialty"):
            pathways = pathways.filter(queue__treatment_function=specialty)
        return pathways


@trust_staff_required
def due_list(request: HttpRequest) -> HttpResponse:
    trust = request.user.provider
    snapshot = trust.latest_snapshot
    filters = DueFilter(request.GET, trust)
    page = None
    if snapshot is not None:
        pathways = validation.with_reach(filters.apply(validation.due(trust, snapshot)))
        page = Paginator(pathways, validation.PAGE_SIZE).get_page(request.GET.get("page"))
        for pathway in page:
            pathway.weeks_waited = validation.weeks_waited(pathway, snapshot)
            pathway.specialty = TREATMENT_FUNCTIONS.get(pathway.queue.treatment_function, "")
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "snapshot": snapshot,
        "filters": filters,
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_ends=1) if page else (),
        "query": query.urlencode(),
    }
    return render(request, "waitinglist/validation.html", context)


@trust_staff_required
def due_csv(request: HttpRequest) -> HttpResponse:
    trust = request.user.provider
    snapshot = trust.latest_snapshot
    if snapshot is None:
        return csv_response("validation-due.csv", validation.CSV_HEADER, [])
    pathways = DueFilter(request.GET, trust).apply(validation.due(trust, snapshot))
    rows = validation.csv_rows(pathways, snapshot)
    return csv_response(f"validation-due-{snapshot.week_ending}.csv", validation.CSV_HEADER, rows)


@trust_staff_required
@require_POST
def ask(request: HttpRequest) -> HttpResponse:
    field = "on_page" if request.POST.get("scope") == "page" else "pathway"
    ids = [int(v) for v in request.POST.getlist(field) if v.isdigit()]
    back = reverse("waitinglist:validation") + _back_query(request)
    if not ids:
        messages.error(request, "Choose at least one patient to ask.")
        return redirect(back)
    if request.user.provider.pathways.filter(pk__in=ids).count() != len(set(ids)):
        raise Http404  # another trust's pathway, or none at all
    ip = request.META.get("REMOTE_ADDR")
    asked = validation.ask(request.user.provider, request.user, ids, publish, ip)
    for level, text in _report(asked):
        messages.add_message(request, level, text)
    return redirect(back)


def _report(asked: validation.Asked) -> list[tuple[int, str]]:
    """What happened, in the team's words: a line for each group of patients."""
    lines = [(messages.SUCCESS if asked.asked else messages.INFO,
              f"Asked {asked.asked} patient{'s' if asked.asked != 1 else ''}: "
              f"{asked.messages} message{'s' if asked.messages != 1 else ''} queued.")]  # fmt: skip
    if asked.recently:
        lines.append((messages.WARNING, f"{asked.recently} not asked again: they were asked in "
                      "the last 4 weeks, so they still have time to answer."))  # fmt: skip
    if asked.unreachable:
        lines.append((messages.WARNING, f"{asked.unreachable} could not be sent the question: no "
                      "account with updates on and no email or mobile in the extract, or they "
                      "stopped their updates. Write to them or phone them."))  # fmt: skip
    if asked.not_due:
        lines.append((messages.WARNING, f"{asked.not_due} skipped: no longer due for "
                      "validation on the latest list."))  # fmt: skip
    return lines


def _back_query(request: HttpRequest) -> str:
    """Back to the same page of the same filtered list."""
    keep = {k: request.POST[k] for k in ("specialty", "page") if request.POST.get(k)}
    return "?" + urlencode(keep) if keep else ""
