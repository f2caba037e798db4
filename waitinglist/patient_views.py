"""The patient's own pages: linking a hospital record, their waits, telling the trust.

Every query starts from `request.user`'s own links; an id in the URL only narrows within
them, so another patient's pathway id gives 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from updates.models import Subscription
from waitinglist import activation, workspace
from waitinglist.forms import ActivationForm, ResponseForm
from waitinglist.models import AuditEvent, PatientResponse
from waitinglist.patient_page import RTT_STANDARD_WEEKS, open_pathways, pathway_pages, record_views
from waitinglist.signals import PENDING


def activate(request: HttpRequest) -> HttpResponse:
    """Step 1: the code and the date of birth. Works signed in or not."""
    form = ActivationForm(request.POST or None, initial={"code": request.GET.get("code", "")})
    if request.method == "POST" and form.is_valid():
        try:
            code = activation.check(form.cleaned_data["code"], form.cleaned_data["birth_date"])
        except activation.CodeRefused as refused:
            form.add_error(None, refused.message)
        else:
            request.session[PENDING] = code.pk
            if request.user.is_authenticated:
                return redirect("waitinglist:activate_complete")
            return render(request, "waitinglist/patient/activate_account.html")
    return render(request, "waitinglist/patient/activate.html", {"form": form})


@login_required
def activate_complete(request: HttpRequest) -> HttpResponse:
    """Step 2, once signed in. Signing in has usually linked the record already
    (`waitinglist.signals`); a patient who was signed in all along is linked here."""
    code_id = request.session.pop(PENDING, None)
    if code_id is not None:
        if activation.link(request.user, code_id) is None:
            messages.error(request, activation.CodeRefused.message)
            return redirect("waitinglist:activate")
        messages.success(request, "Your hospital record is linked to your account.")
    elif not request.user.patient_links.exists():
        return redirect("waitinglist:activate")
    return redirect("waitinglist:my_wait")


@login_required
def my_wait(request: HttpRequest) -> HttpResponse:
    pages = pathway_pages(request.user, timezone.localdate())
    record_views(request, pages)
    context = {
        "pages": pages,
        "form": ResponseForm(),
        "rtt_weeks": RTT_STANDARD_WEEKS,
        # Updates that could not be delivered: the patient should check their details.
        "updates_failing": Subscription.objects.filter(
            user=request.user, failures__gt=0, stopped_at__isnull=True
        ).exists(),
    }
    return render(request, "waitinglist/patient/my_wait.html", context)


@login_required
@require_POST
def respond(request: HttpRequest, pk: int) -> HttpResponse:
    pathway = open_pathways(request.user).select_related("provider").filter(pk=pk).first()
    if pathway is None:
        raise Http404
    form = ResponseForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "waitinglist/patient/respond.html",
            {"form": form, "pathway": pathway},
            status=400,
        )
    PatientResponse.objects.create(
        pathway=pathway,
        user=request.user,
        answer=form.cleaned_data["answer"],
        details=form.cleaned_data["details"],
    )
    AuditEvent.objects.create(
        provider_id=pathway.provider_id,
        user=request.user,
        pathway=pathway,
        action="patient-response-sent",
        ip_address=request.META.get("REMOTE_ADDR"),
    )
    messages.success(
        request,
        f"Thank you. {pathway.provider.name}'s waiting-list team will see your answer. "
        "Nothing about your place in the queue changes unless they contact you.",
    )
    return redirect(reverse("waitinglist:my_wait") + f"#pathway-{pathway.pk}")


@login_required
@require_POST
def page_feedback(request: HttpRequest) -> HttpResponse:
    """The patient's answer to "Did this page answer your question about your wait?", the
    trust's measure of GP queries avoided. The thanks is a message, outside the cached page."""
    answer = request.POST.get("answered")
    if answer not in ("yes", "no"):
        messages.error(request, "Choose yes or no to tell us if this page answered your question.")
        return redirect(reverse("waitinglist:my_wait") + "#page-feedback")
    if not workspace.record_page_feedback(request.user, answer == "yes", timezone.localdate()):
        raise Http404
    messages.success(request, "Thank you for telling us.")
    return redirect(reverse("waitinglist:my_wait") + "#page-feedback")
