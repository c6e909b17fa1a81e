"""Outbound webhooks: an outbox written with the change, sent by a periodic task.

1. `outbox_from_changelog(entry)` runs inside `changelog_record`, in the
   transaction of the change itself: an approval, halt, rejection or
   deployment writes one `WebhookDelivery` row per subscribed endpoint, or
   none at all if the change rolls back.
2. The beat task `api.webhooks_dispatch` claims due rows with a conditional
   UPDATE that must change exactly one row (so any number of workers is safe),
   POSTs the frozen body signed with HMAC-SHA256, logs the attempt, and on
   failure schedules the next attempt with exponential backoff. A worker that
   dies mid-send leaves a claim that runs out; the row is then due again.

Receivers de-duplicate by the event id, which every attempt repeats.
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from api.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from approvals.models import Release
from notifications.events import event_for_entry
from notifications.models import Event
from relapp.webhook_targets import checked_opener

logger = logging.getLogger("relapp.webhooks")

SIGNATURE_HEADER = "X-Relapp-Signature"
EVENT_HEADER = "X-Relapp-Event"
EVENT_ID_HEADER = "X-Relapp-Event-Id"
ATTEMPT_HEADER = "X-Relapp-Attempt"

# The event catalogue (notifications.events) decides which change-log entry is
# which event; webhooks carry the release-level ones under their public names.
_WEBHOOK_NAME = {
    Event.APPROVED: WebhookEvent.RELEASE_APPROVED,
    # Resuming a halted release approves it again.
    Event.RESUMED: WebhookEvent.RELEASE_APPROVED,
    Event.HALTED: WebhookEvent.RELEASE_HALTED,
    Event.REJECTED: WebhookEvent.RELEASE_REJECTED,
    Event.DEPLOYMENT_STARTED: WebhookEvent.DEPLOYMENT_STARTED,
    Event.DEPLOYMENT_SUCCEEDED: WebhookEvent.DEPLOYMENT_SUCCEEDED,
    Event.DEPLOYMENT_FAILED: WebhookEvent.DEPLOYMENT_FAILED,
    Event.DEPLOYMENT_ROLLED_BACK: WebhookEvent.DEPLOYMENT_ROLLED_BACK,
    Event.UNAUTHORIZED_CHANGE: WebhookEvent.DEPLOYMENT_UNAUTHORIZED,
    Event.VERIFICATION_FAILED: WebhookEvent.DEPLOYMENT_VERIFICATION_FAILED,
    Event.ARTIFACT_REPORTED: WebhookEvent.ARTIFACT_REPORTED,
    Event.ARTIFACT_REMOVED: WebhookEvent.ARTIFACT_REMOVED,
    Event.REVIEW_DUE: WebhookEvent.REVIEW_DUE,
}
# Stable across retries and unique across installations: derived from the
# entry's hash, which covers the whole chain before it.
_EVENT_NAMESPACE = uuid.UUID("5d0c8a0e-6a1f-4c55-9f7e-3f6b1d2a7c41")


def webhook_event_for_entry(entry) -> str | None:
    """The webhook event a change-log entry stands for, if any."""
    return _WEBHOOK_NAME.get(event_for_entry(entry))


def event_id_for_entry(entry) -> uuid.UUID:
    return uuid.uuid5(_EVENT_NAMESPACE, entry.hash)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _payload(*, entry, event: str, event_id: uuid.UUID) -> dict:
    release = Release.objects.select_related("product").get(pk=entry.release_id)
    after = entry.after or {}
    site = getattr(settings, "SITE_URL", "")
    payload = {
        "id": str(event_id),
        "event": event,
        "occurred_at": _iso(entry.created_at),
        "actor": entry.actor_name,
        "reason": entry.reason,
        "release": {
            "product": release.product.slug,
            "version": release.version,
            "title": release.title,
            "type": release.release_type,
            "status": after.get("status", release.status),
            "window_start": _iso(release.window_start),
            "window_end": _iso(release.window_end),
            "url": site + release.get_absolute_url(),
            "api_url": f"{site}/api/v1/releases/{release.product.slug}/{release.version}/",
        },
        "changelog": {"seq": entry.seq, "hash": entry.hash},
    }
    if event.startswith("artifact."):
        payload["artifacts"] = [
            {"name": name, "digest_before": old, "digest_after": new}
            for name, old, new in after.get("changed") or []
        ]
    if event.startswith("deployment."):
        payload["deployment"] = {
            "status": event.split(".", 1)[1],
            "environment": after.get("environment", ""),
            "details": after.get("details", ""),
        }
    return payload


def outbox_from_changelog(entry) -> list[WebhookDelivery]:
    """Write the outbox rows for `entry`, in the caller's transaction.

    Costs nothing for entries that are no webhook event, and one query for
    those that are when no endpoint listens.
    """
    event = webhook_event_for_entry(entry)
    if event is None or entry.product_id is None or entry.release_id is None:
        return []
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(product_id=entry.product_id, is_active=True)
        if endpoint.wants(event)
    ]
    if not endpoints:
        return []
    event_id = event_id_for_entry(entry)
    body = json.dumps(
        _payload(entry=entry, event=event, event_id=event_id),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                event_id=event_id,
                event=event,
                body=body,
                changelog_seq=entry.seq,
                next_attempt_at=entry.created_at,
            )
            for endpoint in endpoints
        ]
    )


# --- signing ----------------------------------------------------------------


def webhook_signature(secret: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def webhook_signature_valid(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(webhook_signature(secret, body), header or "")


# --- sending ----------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery: never re-POST the body elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = checked_opener(_NoRedirect)


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float):
    """(status code or None, response excerpt, error text)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, response.read(500).decode("utf-8", "replace"), ""
    except urllib.error.HTTPError as error:
        excerpt = error.read(500).decode("utf-8", "replace") if error.fp else ""
        return error.code, excerpt, f"HTTP {error.code} {error.reason}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return None, "", f"{type(error).__name__}: {reason}"[:500]


def retry_delay(attempt: int) -> timedelta:
    """Exponential backoff after the `attempt`-th failure, read from settings each time."""
    base = settings.WEBHOOK_RETRY_BASE_SECONDS
    cap = settings.WEBHOOK_RETRY_MAX_SECONDS
    return timedelta(seconds=min(cap, base * 2 ** (attempt - 1)))


def _due(now: datetime) -> Q:
    return Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__is_active=True) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


def deliveries_claim(*, limit: int = 20) -> list[tuple[int, uuid.UUID]]:
    """Claim up to `limit` due deliveries; each claim is an UPDATE that changed one row."""
    now = timezone.now()
    lease = timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 2 + 30)
    candidates = list(
        WebhookDelivery.objects.filter(_due(now))
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    claimed = []
    for pk in candidates:
        token = uuid.uuid4()
        changed = (
            WebhookDelivery.objects.filter(_due(now), pk=pk)
            .order_by()
            .update(claimed_until=now + lease, claim_token=token)
        )
        if changed == 1:
            claimed.append((pk, token))
    return claimed


def delivery_attempt(*, delivery_id: int, claim_token: uuid.UUID) -> WebhookAttempt | None:
    """Send a claimed delivery once and record what happened."""
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if delivery.claim_token != claim_token or delivery.status != DeliveryStatus.PENDING:
        return None
    number = delivery.attempts + 1
    body = delivery.body.encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Relapp-Webhooks/1",
        EVENT_HEADER: delivery.event,
        EVENT_ID_HEADER: str(delivery.event_id),
        ATTEMPT_HEADER: str(number),
        SIGNATURE_HEADER: webhook_signature(delivery.endpoint.secret, body),
    }
    started_at = timezone.now()
    clock = time.monotonic()
    status_code, excerpt, error = _post(
        delivery.endpoint.url, body, headers, settings.WEBHOOK_TIMEOUT_SECONDS
    )
    duration_ms = int((time.monotonic() - clock) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    if not ok and not error:
        error = f"HTTP {status_code}"
    now = timezone.now()
    if ok:
        fields = {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "last_error": ""}
    elif number >= settings.WEBHOOK_MAX_ATTEMPTS:
        fields = {"status": DeliveryStatus.FAILED, "last_error": error}
    else:
        fields = {"next_attempt_at": now + retry_delay(number), "last_error": error}
    with transaction.atomic():
        changed = WebhookDelivery.objects.filter(
            pk=delivery.pk, claim_token=claim_token, status=DeliveryStatus.PENDING
        ).update(attempts=number, claimed_until=None, claim_token=None, **fields)
        if changed != 1:
            # The claim ran out during a very slow send and another worker
            # took the row; its attempt is the one on record.
            logger.warning("Delivery %s was re-claimed while sending", delivery.pk)
            return None
        attempt = WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=started_at,
            duration_ms=duration_ms,
            status_code=status_code,
            error="" if ok else error,
            response_excerpt=excerpt,
        )
    logger.info(
        "Webhook %s %s to %s: attempt %s, %s",
        delivery.event,
        delivery.event_id,
        delivery.endpoint.url,
        number,
        status_code or error,
    )
    return attempt


def webhooks_dispatch(*, max_deliveries: int = 200) -> int:
    """Send every due delivery (up to `max_deliveries`); the number of attempts made."""
    made = claimed_total = 0
    while claimed_total < max_deliveries:
        claimed = deliveries_claim(limit=min(20, max_deliveries - claimed_total))
        if not claimed:
            break
        claimed_total += len(claimed)
        for delivery_id, token in claimed:
            if delivery_attempt(delivery_id=delivery_id, claim_token=token) is not None:
                made += 1
    return made
