"""The waiting-list team's inbox of what patients told the trust: filter, assign to a
clinician, record the outcome, each step kept as the response's audit trail. Nothing here
changes the waiting list: the trust's PAS does, and the next extract shows it.

Every query starts from the signed-in member of staff's trust, so another trust's response
id gives 404.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.access import refuse, trust_staff_required
from portal.csv import csv_response
from waitinglist import inbox
from waitinglist.models import NotAssignable, PatientResponse
from waitinglist.treatment_functions import TREATMENT_FUNCTIONS

RACED = "Someone else changed this response while you were looking at it. Check it again."


@trust_staff_required
def responses(request: HttpRequest) -> HttpResponse:
    trust = request.user.provider
    if request.method == "POST":  # "Mark as reviewed" from the list
        return _review(request, _response(request, request.POST.get("response")), "list")
    filters = inbox.InboxFilter(request.GET, trust)
    shown = filters.apply(inbox.responses_of(trust), request.user)
    page = Paginator(
        shown.select_related("pathway__queue", "assigned_to", "reviewed_by").order_by(
            "-created_at", "pk"
        ),
        inbox.PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    context = {
        "filters": filters,
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_ends=1),
        "query": _query_without_page(request),
        "waiting": inbox.responses_of(trust).filter(reviewed_at__isnull=True).count(),
    }
    return render(request, "waitinglist/responses.html", context)


@trust_staff_required
def responses_csv(request: HttpRequest) -> HttpResponse:
    trust = request.user.provider
    shown = inbox.InboxFilter(request.GET, trust).apply(inbox.responses_of(trust), request.user)
    return csv_response("patients-responses.csv", inbox.CSV_HEADER, inbox.csv_rows(shown))


@trust_staff_required
def response_detail(request: HttpRequest, pk: int) -> HttpResponse:
    response = _response(request, pk)
    trust = request.user.provider
    return render(request, "waitinglist/response_detail.html", {
        "response": response,
        "specialty": TREATMENT_FUNCTIONS.get(response.pathway.queue.treatment_function, ""),
        "events": response.events.select_related("user"),
        "assign_form": inbox.AssignForm(None, trust, response.assigned_to_id),
        "outcome_form": inbox.OutcomeForm(),
        "can_record_outcome": request.user.has_role(*inbox.ASSIGNABLE_ROLES),
    })  # fmt: skip


@trust_staff_required
@require_POST
def response_assign(request: HttpRequest, pk: int) -> HttpResponse:
    response = _response(request, pk)
    form = inbox.AssignForm(request.POST, request.user.provider)
    if not form.is_valid():
        messages.error(request, form.errors["clinician"][0])
        return redirect("waitinglist:response", pk=response.pk)
    to = form.cleaned_data["clinician"]
    try:
        done = response.assign(to, request.user, _ip(request))
    except NotAssignable as refused:
        messages.error(request, str(refused))
    else:
        _tell(request, done, f"Assigned to {to.email}.")
    return redirect("waitinglist:response", pk=response.pk)


@trust_staff_required
@require_POST
def response_outcome(request: HttpRequest, pk: int) -> HttpResponse:
    # An outcome can end a patient's wait: only those who can be given a response record one.
    if not request.user.has_role(*inbox.ASSIGNABLE_ROLES):
        refuse(request)
    response = _response(request, pk)
    form = inbox.OutcomeForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["outcome"][0])
        return redirect("waitinglist:response", pk=response.pk)
    done = response.record_outcome(form.cleaned_data["outcome"], request.user, _ip(request))
    _tell(request, done, f"Outcome recorded: {response.get_outcome_display()}.")
    return redirect("waitinglist:response", pk=response.pk)


@trust_staff_required
@require_POST
def response_review(request: HttpRequest, pk: int) -> HttpResponse:
    return _review(request, _response(request, pk), "detail")


def _review(request: HttpRequest, response: PatientResponse, back: str) -> HttpResponse:
    done = response.mark_reviewed(request.user, _ip(request))
    _tell(request, done, f"Marked as reviewed: pathway {response.pathway.identifier}.")
    if back == "detail":
        return redirect("waitinglist:response", pk=response.pk)
    return redirect("waitinglist:responses")


def _response(request: HttpRequest, pk) -> PatientResponse:
    """One of the user's own trust's responses, or 404."""
    if not str(pk or "").isdigit():
        raise Http404
    found = inbox.responses_of(request.user.provider).select_related(
        "pathway__queue", "pathway__provider", "assigned_to", "reviewed_by", "outcome_by"
    )
    return get_object_or_404(found, pk=pk)


def _tell(request: HttpRequest, done: bool, success: str) -> None:
    if done:
        messages.success(request, success)
    else:
        messages.error(request, RACED)


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()
