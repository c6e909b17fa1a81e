from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from api import pages, views
from api.exceptions import api_not_found

app_name = "api"

# {product} is a slug, {version} a semantic version (the same characters the
# release pages accept); anything else under /api/ is a JSON 404.
release = (
    rf"^api/v1/releases/(?P<product>{views.SLUG_PATTERN})/(?P<version>{views.VERSION_PATTERN})/"
)

urlpatterns = [
    path("api/v1/releases/", views.release_list, name="release_list"),
    re_path(release + r"$", views.release_detail, name="release_detail"),
    re_path(release + r"checks/$", views.gate_check_create, name="gate_check_create"),
    re_path(release + r"raci$", views.release_raci, name="release_raci"),
    re_path(release + r"deploy-check$", views.deploy_check, name="deploy_check"),
    re_path(release + r"deployments/$", views.deployment_create, name="deployment_create"),
    re_path(release + r"artifacts/$", views.artifacts, name="artifacts"),
    re_path(
        release + r"monitoring/(?P<position>[0-9]{1,4})/tick$",
        views.monitoring_tick,
        name="monitoring_tick",
    ),
    re_path(release + r"attestation$", views.attestation, name="attestation"),
    path("api/v1/changelog/", views.changelog, name="changelog"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", pages.api_docs, name="docs"),
    re_path(r"^api/", api_not_found, name="not_found"),
    path(
        ".well-known/relapp/attestation-keys.json",
        views.attestation_keys,
        name="attestation_keys",
    ),
    path("service-accounts/", pages.service_account_list, name="service_account_list"),
    path("service-accounts/new/", pages.service_account_create, name="service_account_create"),
    path(
        "service-accounts/<slug:name>/", pages.service_account_detail, name="service_account_detail"
    ),
    path(
        "service-accounts/<slug:name>/scope/",
        pages.service_account_update,
        name="service_account_update",
    ),
    path("service-accounts/<slug:name>/tokens/", pages.token_issue, name="token_issue"),
    path(
        "service-accounts/<slug:name>/tokens/<int:token_id>/revoke/",
        pages.token_revoke,
        name="token_revoke",
    ),
    path("webhooks/", pages.webhook_list, name="webhook_list"),
    path("webhooks/new/", pages.webhook_create, name="webhook_create"),
    path("webhooks/<int:pk>/", pages.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:pk>/edit/", pages.webhook_update, name="webhook_update"),
    path("webhooks/<int:pk>/secret/", pages.webhook_rotate_secret, name="webhook_rotate_secret"),
]
