from django.urls import path

from waitinglist import patient_views, views

app_name = "waitinglist"

urlpatterns = [
    path("activate/", patient_views.activate, name="activate"),
    path("activate/complete/", patient_views.activate_complete, name="activate_complete"),
    path("my-wait/", patient_views.my_wait, name="my_wait"),
    path("my-wait/<int:pk>/respond/", patient_views.respond, name="respond"),
    path("staff/imports/", views.imports, name="imports"),
    path("staff/imports/<int:pk>/", views.import_run, name="import_run"),
    path("staff/imports/<int:pk>/rejected-rows.csv", views.import_report, name="import_report"),
    path("staff/responses/", views.responses, name="responses"),
    path("staff/audit/", views.audit_log, name="audit"),
]
