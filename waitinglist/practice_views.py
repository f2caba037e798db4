"""GP practice pages: the practice's patients on its trust's waiting lists, and a printable
summary of each patient's wait. Every page needs a practice account with two-step
verification, and reads only that practice's patients at that trust."""

from functools import wraps
from urllib.parse import urlencode

from django.core.paginator import Page
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from portal.access import View, refuse, role_required
from portal.roles import Role
from waitinglist import practices
from waitinglist.practice_forms import FilterForm, SearchForm

# The pathway whose full NHS number the next view of the list shows, once.
SHOWN = "practice-nhs-number-shown"
LIST_PARAMETERS = ("specialty", "waited", "worse", "page")


def practice_staff_required(view: View) -> View:
    """Practice accounts (role, practice code and trust, two-step verification) only."""

    @wraps(view)
    @role_required(Role.GP_PRACTICE)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_practice_staff:
            refuse(request)
        return view(request, *args, **kwargs)

    return wrapped


@practice_staff_required
def practice_patients(request: HttpRequest) -> HttpResponse:
    """The list, filtered by GET; a search by NHS number comes by POST and shows the number."""
    user = request.user
    filter_form = FilterForm(request.GET or None, specialties=practices.specialties(user))
    search = SearchForm(request.POST or None)
    if request.method == "POST":
        valid = search.is_valid()
        filters = practices.Filters(nhs_number=search.cleaned_data["nhs_number"]) if valid else None
    else:
        filters = filter_form.filters() if filter_form.is_bound else practices.Filters()
    snapshot = practices.latest_snapshot(user)
    page = _page(request, filters, snapshot)
    if filters and filters.nhs_number:
        found = [row.pathway for row in page.object_list] or [None]
        practices.record(request, practices.NUMBER_SEARCHED, found)
    else:
        practices.record(request, practices.LIST_VIEWED)
    context = {
        "filter_form": filter_form,
        "search": search,
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_ends=1) if page else (),
        "snapshot": snapshot,
        "filters": filters,
        "query": request.GET.urlencode(),  # for each "Show" button, to come back to this page
    }
    return render(request, "waitinglist/practice/patients.html", context)


def _page(request: HttpRequest, filters: practices.Filters | None, snapshot) -> Page | None:
    """The page of rows asked for, with a number shown once if the user just asked to see it,
    or every number a search found (the user typed it)."""
    if filters is None:
        return None
    today = timezone.localdate()
    page = practices.list_page(request.user, filters, snapshot, today, request.GET.get("page"))
    shown = request.session.pop(SHOWN) if SHOWN in request.session else None
    page.object_list = practices.rows(
        page.object_list, today, shown, all_shown=bool(filters.nhs_number)
    )
    return page


@practice_staff_required
@require_POST
def show_nhs_number(request: HttpRequest, pk: int) -> HttpResponse:
    """Shows one patient's full NHS number on the list, once, and records who asked."""
    pathway = get_object_or_404(practices.practice_pathways(request.user), pk=pk)
    practices.record(request, practices.NUMBER_SHOWN, [pathway])
    request.session[SHOWN] = pathway.pk
    # Back to the same filters and page: only their values are taken, never a location.
    asked = QueryDict(request.POST.get("query", ""))
    query = urlencode([(key, value) for key, value in asked.items() if key in LIST_PARAMETERS])
    url = reverse("waitinglist:practice_patients") + (f"?{query}" if query else "")
    return redirect(f"{url}#patient-{pathway.pk}")


@practice_staff_required
def patient_summary(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    snapshot = practices.latest_snapshot(user)
    pathways = practices.with_latest_figures(practices.practice_pathways(user), snapshot)
    pathway = get_object_or_404(pathways, pk=pk)
    practices.record(request, practices.SUMMARY_VIEWED, [pathway])
    summary = practices.patient_summary(pathway, snapshot, timezone.localdate())
    return render(request, "waitinglist/practice/summary.html", {"summary": summary})
