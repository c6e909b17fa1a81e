"""Reads for the service-account and webhook pages (constant queries per page)."""

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from api.models import (
    ApiToken,
    DeliveryStatus,
    ServiceAccount,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

DELIVERY_LOG_SIZE = 50


def service_account_list() -> QuerySet[ServiceAccount]:
    now = timezone.now()
    return (
        ServiceAccount.objects.prefetch_related("products")
        .annotate(
            active_tokens=Count(
                "tokens", filter=Q(tokens__revoked_at__isnull=True, tokens__expires_at__gt=now)
            )
        )
        .order_by("name")
    )


def service_account_get(*, name: str) -> ServiceAccount:
    account = (
        ServiceAccount.objects.select_related("user", "created_by")
        .prefetch_related("products")
        .filter(name=name)
        .first()
    )
    if account is None:
        raise Http404("No such service account.")
    return account


def tokens_for_account(*, account: ServiceAccount) -> list[ApiToken]:
    return list(account.tokens.select_related("created_by", "revoked_by").order_by("-created_at"))


def token_get(*, account: ServiceAccount, token_id: int) -> ApiToken:
    token = account.tokens.filter(pk=token_id).first()
    if token is None:
        raise Http404("No such token.")
    return token


def webhook_endpoint_list() -> QuerySet[WebhookEndpoint]:
    return (
        WebhookEndpoint.objects.select_related("product")
        .annotate(
            pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
            failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        )
        .order_by("product__name", "url", "id")
    )


def webhook_endpoint_get(*, pk: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_related("product", "created_by").filter(pk=pk).first()
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


def deliveries_for_endpoint(*, endpoint: WebhookEndpoint) -> list[WebhookDelivery]:
    """The delivery log: the latest deliveries, each with every attempt."""
    return list(
        endpoint.deliveries.prefetch_related(
            Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number"))
        ).order_by("-created_at", "-id")[:DELIVERY_LOG_SIZE]
    )
