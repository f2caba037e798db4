"""The trust admin's team page (staff and practice accounts, invitations) and the page an
invitation's link opens. Every account and invitation is looked up within the admin's own
trust, so another trust's ids give 404."""

from allauth.account.adapter import get_adapter
from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from portal import invitations
from portal.access import has_mfa, trust_admin_required
from portal.forms import InvitationForm
from portal.models import StaffInvitation, User
from portal.roles import STAFF_ROLES


@trust_admin_required
def team(request: HttpRequest) -> HttpResponse:
    trust = request.user.provider
    members = (
        invitations.team(trust)
        .annotate(has_mfa=Exists(Authenticator.objects.filter(user=OuterRef("pk"))))
        .prefetch_related("groups")
        .order_by("email")
    )
    context = {
        "members": members,
        "invitations": invitations.pending(trust).select_related("invited_by"),
    }
    return render(request, "portal/team.html", context)


@trust_admin_required
def invite(request: HttpRequest) -> HttpResponse:
    trust = request.user.provider
    form = InvitationForm(request.POST or None, provider=trust)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitations.invite(
                trust, request.user, data["email"], data["role"], data["practice_ods_code"]
            )
        except OSError:  # the mail server refused or could not be reached; nothing was kept
            form.add_error(None, "The invitation could not be emailed. Try again in a minute.")
        else:
            messages.success(request, f"Invitation sent to {data['email']}.")
            return redirect("team")
    return render(request, "portal/team_invite.html", {"form": form})


@trust_admin_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    if not invitations.revoke(request.user.provider, pk, request.user):
        raise Http404
    messages.success(request, "The invitation is withdrawn: its link no longer works.")
    return redirect("team")


def _member(request: HttpRequest, pk: int) -> User:
    return get_object_or_404(invitations.team(request.user.provider), pk=pk)


@trust_admin_required
def member(request: HttpRequest, pk: int) -> HttpResponse:
    person = _member(request, pk)
    roles = [role for role in STAFF_ROLES if role in person.role_names]
    context = {"person": person, "roles": roles, "has_mfa": has_mfa(person)}
    return render(request, "portal/team_member.html", context)


@trust_admin_required
@require_POST
def remove_role(request: HttpRequest, pk: int) -> HttpResponse:
    person, role = _member(request, pk), request.POST.get("role", "")
    try:
        invitations.remove_role(request.user.provider, person, role, request.user)
    except invitations.Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"{person.email} no longer has the role {role}.")
    return redirect("team_member", pk=person.pk)


@trust_admin_required
@require_POST
def deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    person = _member(request, pk)
    try:
        invitations.deactivate(request.user.provider, person, request.user)
    except invitations.Refused as refused:
        messages.error(request, refused.message)
        return redirect("team_member", pk=person.pk)
    messages.success(request, f"{person.email} can no longer sign in.")
    return redirect("team")


@never_cache
def join(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation's link: who invited the person and to what; then sign up or sign in."""
    invitation = invitations.find(token)
    if invitation is None:
        context = {"message": invitations.NOT_VALID}
        return render(request, "portal/join_invalid.html", context, status=404)
    if request.user.is_authenticated:
        return _join_signed_in(request, invitation)
    # Kept until they sign in (portal.signals applies it then). The link proves they read
    # the invited address's mail, so signing up with it needs no second email check.
    request.session[invitations.PENDING] = invitation.pk
    get_adapter(request).stash_verified_email(request, invitation.email)
    context = {"invitation": invitation, "next": reverse("join_complete")}
    return render(request, "portal/join.html", context)


def _join_signed_in(request: HttpRequest, invitation: StaffInvitation) -> HttpResponse:
    problem = invitations.problem_accepting(invitation, request.user)
    if request.method == "POST" and problem is None:
        try:
            invitations.accept(invitation.pk, request.user)
        except invitations.Refused as refused:
            problem = refused.message
        else:
            joined = f"You have joined {invitation.provider.name} as {invitation.role}."
            messages.success(request, joined)
            return redirect("join_complete")
    return render(request, "portal/join.html", {"invitation": invitation, "problem": problem})


@login_required
def join_complete(request: HttpRequest) -> HttpResponse:
    """Where joining ends: two-step verification first, then the person's own pages."""
    user = request.user
    if user.needs_mfa and not has_mfa(user):
        messages.info(request, "Turn on two-step verification before you use the staff pages.")
        return redirect("mfa_activate_totp")
    if user.is_trust_staff:
        return redirect("staff_workspace")
    if user.is_practice_staff:
        return redirect("waitinglist:practice_patients")
    return redirect("home")
