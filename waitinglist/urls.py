from django.urls import path

from waitinglist import (
    capacity_views,
    patient_views,
    practice_views,
    response_views,
    validation_views,
    views,
    workspace_views,
)

app_name = "waitinglist"

urlpatterns = [
    path("activate/", patient_views.activate, name="activate"),
    path("activate/complete/", patient_views.activate_complete, name="activate_complete"),
    path("my-wait/", patient_views.my_wait, name="my_wait"),
    path("my-wait/<int:pk>/respond/", patient_views.respond, name="respond"),
    path("my-wait/feedback/", patient_views.page_feedback, name="page_feedback"),
    path("staff/imports/", views.imports, name="imports"),
    path("staff/imports/<int:pk>/", views.import_run, name="import_run"),
    path("staff/imports/<int:pk>/rejected-rows.csv", views.import_report, name="import_report"),
    path("staff/responses/", response_views.responses, name="responses"),
    path("staff/responses.csv", response_views.responses_csv, name="responses_csv"),
    path("staff/responses/<int:pk>/", response_views.response_detail, name="response"),
    path(
        "staff/responses/<int:pk>/assign/", response_views.response_assign, name="response_assign"
    ),
    path(
        "staff/responses/<int:pk>/outcome/",
        response_views.response_outcome,
        name="response_outcome",
    ),
    path(
        "staff/responses/<int:pk>/review/", response_views.response_review, name="response_review"
    ),
    path("staff/validation/", validation_views.due_list, name="validation"),
    path("staff/validation.csv", validation_views.due_csv, name="validation_csv"),
    path("staff/validation/ask/", validation_views.ask, name="validation_ask"),
    path("staff/audit/", views.audit_log, name="audit"),
    path("staff/imports.csv", workspace_views.imports_csv, name="imports_csv"),
    path("staff/queues/", workspace_views.queues, name="queues"),
    path("staff/queues.csv", workspace_views.queues_csv, name="queues_csv"),
    path("staff/queues/<int:pk>/", workspace_views.queue_detail, name="queue"),
    path("staff/queues/<int:pk>.csv", workspace_views.queue_csv, name="queue_csv"),
    path("staff/engagement/", workspace_views.engagement, name="engagement"),
    path("staff/engagement.csv", workspace_views.engagement_csv, name="engagement_csv"),
    path("staff/capacity/", capacity_views.capacity_changes, name="capacity_changes"),
    path(
        "staff/capacity/<int:pk>/withdraw/",
        capacity_views.capacity_change_withdraw,
        name="capacity_change_withdraw",
    ),
    path("practice/", practice_views.practice_patients, name="practice_patients"),
    path("practice/patients/<int:pk>/", practice_views.patient_summary, name="practice_summary"),
    path(
        "practice/patients/<int:pk>/nhs-number/",
        practice_views.show_nhs_number,
        name="practice_show_nhs_number",
    ),
]
