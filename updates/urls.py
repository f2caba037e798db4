from django.urls import path

from updates import views

app_name = "updates"

urlpatterns = [
    path("updates/", views.manage, name="manage"),
    path("updates/verify/", views.verify, name="verify"),
    path("updates/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("updates/notify/callback/", views.notify_callback, name="notify_callback"),
    path("updates/notify/inbound/", views.notify_inbound, name="notify_inbound"),
    path("staff/updates/", views.sending, name="sending"),
]
