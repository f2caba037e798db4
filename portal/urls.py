from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path

from portal import health, staff_views, views
from portal.access import has_mfa

# The admin signs in through allauth, so it gets the same rate limits and MFA as every page,
# and, like the staff pages, it is closed to accounts without two-step verification.
admin.site.login = login_required(admin.site.login)
admin.site.site_header = "Wait Well administration"
_admin_permission = admin.site.has_permission


def _admin_needs_mfa(request) -> bool:
    return _admin_permission(request) and has_mfa(request.user)


admin.site.has_permission = _admin_needs_mfa

urlpatterns = [
    path("", views.start, name="start"),
    path("home/", views.home, name="home"),
    path("staff/", views.staff_workspace, name="staff_workspace"),
    path("staff/team/", staff_views.team, name="team"),
    path("staff/team/invite/", staff_views.invite, name="team_invite"),
    path("staff/team/invitations/<int:pk>/revoke/", staff_views.revoke, name="team_revoke"),
    path("staff/team/<int:pk>/", staff_views.member, name="team_member"),
    path("staff/team/<int:pk>/remove-role/", staff_views.remove_role, name="team_remove_role"),
    path("staff/team/<int:pk>/deactivate/", staff_views.deactivate, name="team_deactivate"),
    path("staff/join/complete/", staff_views.join_complete, name="join_complete"),
    path("staff/join/<str:token>/", staff_views.join, name="join"),
    path("accessibility/", views.accessibility, name="accessibility"),
    path("privacy/", views.privacy, name="privacy"),
    path("contact/", views.contact, name="contact"),
    path("healthz", health.healthz, name="healthz"),
    path("", include("waitinglist.urls")),
    path("", include("advice.urls")),
    path("", include("updates.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
