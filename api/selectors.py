"""Reads for the pipeline API and the service-account and webhook pages.

Each does its own `select_related`/`prefetch_related`, so a response or a page
costs a constant number of queries.
"""

from dataclasses import dataclass, field
from typing import Any

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
from approvals.models import GateCheck, Product, RadRevision, Release, SignOff
from approvals.selectors import artifacts_for_release
from approvals.services import release_signoff_state
from audit.chain import EXPORT_FIELDS, entry_document
from audit.export import changelog_head_seq
from audit.models import ChangeLogEntry
from raci.models import Activity
from raci.selectors import raci_matrix

DELIVERY_LOG_SIZE = 50


# --- the pipeline API ---------------------------------------------------------


@dataclass(frozen=True)
class ReleaseDetail:
    """A release as the API shows it: readiness, current RAD, sign-offs, gate checks."""

    release: Release
    current: RadRevision | None
    readiness_reasons: list[str]
    signoffs: list[SignOff]
    gate_checks: list[GateCheck]
    artifacts: list = field(default_factory=list)


@dataclass(frozen=True)
class ReleaseRaci:
    release: Release
    activities: list[Activity]


@dataclass(frozen=True)
class ChangelogPage:
    """Entries as exported (hashed fields plus `hash`), and where the next page starts."""

    entries: list[dict[str, Any]]
    next_after_seq: int | None
    head_seq: int


def product_get(*, slug: str) -> Product | None:
    return Product.objects.filter(slug=slug).first()


def release_list_for_token(
    *, token: ApiToken, product: str = "", status: str = ""
) -> QuerySet[Release]:
    """Releases of the products in the token's scope, newest first."""
    releases = Release.objects.select_related("product").filter(
        product__in=token.service_account.products.all()
    )
    if product:
        releases = releases.filter(product__slug=product)
    if status:
        releases = releases.filter(status=status)
    return releases.order_by("-created_at", "-id")


def release_get(*, product: Product, version: str) -> Release | None:
    """The release of `product` (whose scope the caller has checked), or None."""
    return (
        Release.objects.select_related("product", "fixes")
        .filter(product=product, version=version)
        .first()
    )


def release_readiness_get(*, release: Release) -> list[str]:
    """Why the release is not ready for sign-off; empty when it is."""
    _, _, reasons = release_signoff_state(release)
    return reasons


def release_detail_get(*, release: Release) -> ReleaseDetail:
    current, _, reasons = release_signoff_state(release)
    signoffs = (
        SignOff.objects.filter(release=release)
        .select_related("activity", "signer")
        .order_by("signed_at", "id")
    )
    checks = release.gate_checks.select_related("reported_by").order_by("name")
    return ReleaseDetail(
        release=release,
        current=current,
        readiness_reasons=reasons,
        signoffs=list(signoffs),
        gate_checks=list(checks),
        artifacts=artifacts_for_release(release=release),
    )


def release_raci_get(*, release: Release) -> ReleaseRaci:
    """Every activity with its assignments and their users prefetched."""
    return ReleaseRaci(release=release, activities=raci_matrix(release=release).activities)


def changelog_page_get(*, after_seq: int, limit: int) -> ChangelogPage:
    """Up to `limit` entries after `after_seq`, oldest first, never past the head read first."""
    head = changelog_head_seq()
    rows = (
        ChangeLogEntry.objects.filter(seq__gt=after_seq, seq__lte=head)
        .order_by("seq")
        .values_list(*EXPORT_FIELDS)[:limit]
    )
    entries = []
    for row in rows:
        values = dict(zip(EXPORT_FIELDS, row, strict=True))
        entries.append({**entry_document(values), "hash": values["hash"]})
    last = entries[-1]["seq"] if entries else None
    return ChangelogPage(
        entries=entries,
        next_after_seq=last if last is not None and last < head else None,
        head_seq=head,
    )


# --- service accounts and webhooks ----------------------------------------------


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


def webhook_url_warnings(*, url: str, exclude_pk: int | None = None) -> list[str]:
    """What is wrong with a webhook target that is allowed but probably a mistake: plain
    http (the signed body and its event travel readable), or a URL already registered
    (each event would arrive twice). Refused targets are the service's field errors."""
    warnings = []
    if url.lower().startswith("http://"):
        warnings.append(
            "The URL uses plain http: every payload and its signature travel unencrypted. "
            "Use https unless the receiver sits on a network you trust."
        )
    same = (
        WebhookEndpoint.objects.filter(url=url.strip())
        .exclude(pk=exclude_pk)
        .select_related("product")
        .order_by("product__name", "id")
    )
    warnings += [
        f"{endpoint.url} is already registered for {endpoint.product.name} "
        f"(webhook #{endpoint.pk}): a receiver subscribed twice gets each event twice."
        for endpoint in same
    ]
    return warnings


def deliveries_for_endpoint(*, endpoint: WebhookEndpoint) -> list[WebhookDelivery]:
    """The delivery log: the latest deliveries, each with every attempt."""
    return list(
        endpoint.deliveries.prefetch_related(
            Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number"))
        ).order_by("-created_at", "-id")[:DELIVERY_LOG_SIZE]
    )
