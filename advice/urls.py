from django.urls import path

from advice import public_views, views

app_name = "advice"

urlpatterns = [
    path("advice/", public_views.library, name="library"),
    path("advice/<int:pk>/", public_views.article, name="article"),
    path("advice/<int:pk>/feedback/", public_views.feedback, name="feedback"),
    path("staff/advice/", views.article_list, name="staff_list"),
    path("staff/advice/new/", views.edit, name="staff_new"),
    path("staff/advice/preview/", views.live_preview, name="staff_live_preview"),
    path("staff/advice/as-patient/", views.preview_as_patient, name="staff_as_patient"),
    path("staff/advice/<int:pk>/", views.edit, name="staff_edit"),
    path("staff/advice/<int:pk>/status/", views.change_status, name="staff_status"),
    path("staff/advice/<int:pk>/history/", views.history, name="staff_history"),
    path(
        "staff/advice/<int:pk>/history/<int:number>/restore/", views.restore, name="staff_restore"
    ),
]
