from django.urls import path

from metrics import views

app_name = "metrics"

urlpatterns = [
    path("metrics/", views.metrics_page, name="metrics"),
    path("metrics/<slug:chart>.csv", views.metrics_csv, name="metrics_csv"),
    path("api/v1/metrics/", views.metrics_api, name="metrics_api"),
]
