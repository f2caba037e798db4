from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path

from portal import health, views

# The admin signs in through allauth, so it gets the same rate limits and MFA as every page.
admin.site.login = login_required(admin.site.login)
admin.site.site_header = "Wait Well administration"

urlpatterns = [
    path("", views.start, name="start"),
    path("home/", views.home, name="home"),
    path("staff/", views.staff_workspace, name="staff_workspace"),
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
