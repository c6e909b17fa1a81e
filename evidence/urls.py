from django.urls import path

from evidence import views

app_name = "evidence"

urlpatterns = [
    path("", views.changelog_list, name="changelog_list"),
    path("<int:seq>/", views.changelog_entry, name="changelog_entry"),
    path("unauthorized/", views.unauthorized_list, name="unauthorized_list"),
    path("export.csv", views.changelog_export_csv, name="changelog_export_csv"),
    path("export.json", views.changelog_export_json, name="changelog_export_json"),
    path("releases/", views.release_suggestions, name="release_suggestions"),
    path("exports/", views.changelog_export_start, name="changelog_export_start"),
    path("exports/<int:job_id>/", views.changelog_export_job, name="changelog_export_job"),
    path(
        "exports/<int:job_id>/download/",
        views.changelog_export_download,
        name="changelog_export_download",
    ),
    path(
        "evidence/<slug:product>/<str:version>.zip",
        views.evidence_pack,
        name="evidence_pack",
    ),
]
