"""The site's own pages: start, account home, staff workspace and the footer's pages."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.access import trust_staff_required
from portal.roles import Role


def start(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/start.html")


def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/accessibility.html")


def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/privacy.html")


def contact(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/contact.html")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "portal/home.html",
        {
            "roles": sorted(user.role_names),
            "is_patient": user.has_role(Role.PATIENT),
            "is_trust_staff": user.is_trust_staff,
            "is_gp_practice": user.has_role(Role.GP_PRACTICE),
            "has_mfa": user.authenticator_set.exists(),
            "has_linked_record": user.patient_links.exists(),
        },
    )


@trust_staff_required
def staff_workspace(request: HttpRequest) -> HttpResponse:
    trust = request.user.provider
    colleagues = (
        trust.staff.trust_staff()
        .filter(is_active=True)
        .prefetch_related("groups")
        .order_by("email")
    )
    context = {
        "colleagues": colleagues,
        "is_trust_admin": request.user.has_role(Role.TRUST_ADMIN),
        "is_advice_staff": request.user.has_role(Role.TRUST_EDITOR, Role.CLINICAL_REVIEWER),
    }
    return render(request, "portal/staff_workspace.html", context)
