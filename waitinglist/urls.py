from django.urls import path

from waitinglist import views

app_name = "waitinglist"

urlpatterns = [
    path("staff/imports/", views.imports, name="imports"),
    path("staff/imports/<int:pk>/", views.import_run, name="import_run"),
    path("staff/imports/<int:pk>/rejected-rows.csv", views.import_report, name="import_report"),
]
