"""Change-log streaming: an outbox written with each entry, sent in order by a beat task.

1. `stream_outbox_from_changelog(entry)` runs inside `changelog_record`, in
   the transaction of the change: one `StreamOutbox` row per active
   destination, or none if the change rolls back.
2. The beat task `auditstream.stream_dispatch` claims each due destination
   with a conditional UPDATE that must change exactly one row (a lease, so any
   number of workers is safe), then sends batches of entries read from the
   change log itself, from the destination's cursor `delivered_seq` onwards.
   The entries are immutable and already in seq order, so the cursor alone
   guarantees order and that nothing is skipped; the outbox rows say what is
   owed and are deleted as the cursor passes them.
3. A failed batch leaves the cursor where it was and schedules the next try
   after base * 2^(n-1) seconds (capped), recording the error for the page.
   Delivery is at least once: a worker that dies between sending and moving
   the cursor sends that batch again, and receivers can drop repeats by seq
   (every message carries it).
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from audit.chain import EXPORT_FIELDS, entry_document
from audit.changelog import changelog_record
from audit.models import Action, ChangeLogEntry
from auditstream.models import StreamDestination, StreamOutbox
from auditstream.transport import DeliveryFailed, batch_send


def stream_outbox_from_changelog(entry: ChangeLogEntry) -> None:
    """Write the outbox rows for `entry`, in the caller's transaction.

    One INSERT ... SELECT, a single round trip: it runs while the writer holds
    the chain-head lock, so every statement here slows every concurrent writer.
    """
    outbox, destinations = StreamOutbox._meta.db_table, StreamDestination._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {outbox} (destination_id, seq, created_at) "  # noqa: S608 (table names)
            f"SELECT id, %s, %s FROM {destinations} WHERE is_active AND delivered_seq < %s",
            [entry.seq, connection.ops.adapt_datetimefield_value(entry.created_at), entry.seq],
        )


# What a destination is configured with: the admin may change these, and
# each change is written to the change log with before and after.
CONFIG_FIELDS = (
    "name",
    "kind",
    "is_active",
    "host",
    "port",
    "use_tls",
    "app_name",
    "url",
    "http_format",
    "secret",
)


def _destination_snapshot(destination: StreamDestination) -> dict[str, Any]:
    """The configuration as logged; the secret itself never enters the log, only whether one is set."""
    snapshot = {field: getattr(destination, field) for field in CONFIG_FIELDS}
    snapshot["secret"] = "(set)" if destination.secret else ""
    snapshot["delivered_seq"] = destination.delivered_seq
    return snapshot


def stream_destination_create(
    *, name: str, from_seq: int = 0, actor=None, **fields: Any
) -> StreamDestination:
    """A new destination that is sent every entry after `from_seq`: by default the whole log.

    A copy that starts at the first entry can be compared with the database
    entry by entry (`verify_changelog --stream`).
    """
    unknown = set(fields) - set(CONFIG_FIELDS)
    if unknown:
        raise ValueError(f"not destination settings: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        destination = StreamDestination.objects.create(name=name, delivered_seq=from_seq, **fields)
        changelog_record(
            action=Action.STREAM_DESTINATION_CHANGED,
            actor=actor,
            obj=destination,
            after={**_destination_snapshot(destination), "event": "created"},
            reason="Audit stream destination created",
        )
    return destination


def stream_destination_update(
    *, destination: StreamDestination, actor, **changes: Any
) -> StreamDestination:
    """Change the configuration (never the cursor); one entry with before and after if anything changed."""
    unknown = set(changes) - set(CONFIG_FIELDS)
    if unknown:
        raise ValueError(f"not destination settings: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        destination = StreamDestination.objects.select_for_update().get(pk=destination.pk)
        before = _destination_snapshot(destination)
        secret_changed = "secret" in changes and changes["secret"] != destination.secret
        for field, value in changes.items():
            setattr(destination, field, value)
        destination.full_clean()
        destination.save(update_fields=list(changes) or None)
        after = _destination_snapshot(destination)
        if secret_changed:
            after["secret"] = "(changed)"  # noqa: S105 (a marker, not a secret)
        if before != after:
            event = "updated"
            if set(changes) == {"is_active"}:
                event = "resumed" if destination.is_active else "paused"
            changelog_record(
                action=Action.STREAM_DESTINATION_CHANGED,
                actor=actor,
                obj=destination,
                before=before,
                after={**after, "event": event},
                reason=f"Audit stream destination {event}",
            )
    return destination


def stream_destination_set_active(
    *, destination: StreamDestination, actor, is_active: bool
) -> StreamDestination:
    """Pause (nothing is sent; entries stay owed from the cursor) or resume a destination."""
    return stream_destination_update(destination=destination, actor=actor, is_active=is_active)


def stream_destination_delete(*, destination: StreamDestination, actor) -> None:
    """Remove a destination and what it is still owed, logged with its last configuration."""
    with transaction.atomic():
        destination = StreamDestination.objects.select_for_update().get(pk=destination.pk)
        changelog_record(
            action=Action.STREAM_DESTINATION_CHANGED,
            actor=actor,
            obj=destination,
            before=_destination_snapshot(destination),
            after={"event": "deleted"},
            reason="Audit stream destination deleted",
        )
        destination.delete()


def stream_documents(*, after_seq: int, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` entries after `after_seq`, as the JSON export writes them."""
    rows = (
        ChangeLogEntry.objects.filter(seq__gt=after_seq)
        .order_by("seq")
        .values_list(*EXPORT_FIELDS)[:limit]
    )
    documents = []
    for row in rows:
        values = dict(zip(EXPORT_FIELDS, row, strict=True))
        document = entry_document(values)
        for field in EXPORT_FIELDS:
            document.setdefault(field, values[field])
        documents.append(document)
    return documents


def retry_delay(failures: int) -> timedelta:
    """Exponential backoff after the `failures`-th failure in a row, read from settings."""
    base = settings.CHANGELOG_STREAM_RETRY_BASE_SECONDS
    cap = settings.CHANGELOG_STREAM_RETRY_MAX_SECONDS
    return timedelta(seconds=min(cap, base * 2 ** min(failures - 1, 30)))


def _due(now: datetime) -> Q:
    return (
        Q(is_active=True)
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    )


def destination_claim(*, destination_id: int) -> uuid.UUID | None:
    """A lease on the destination, or None when another worker holds it or it is not due."""
    now = timezone.now()
    token = uuid.uuid4()
    lease = timedelta(seconds=settings.CHANGELOG_STREAM_LEASE_SECONDS)
    changed = (
        StreamDestination.objects.filter(_due(now), pk=destination_id)
        .order_by()
        .update(claimed_until=now + lease, claim_token=token)
    )
    return token if changed == 1 else None


def _held(destination_id: int, token: uuid.UUID):
    return StreamDestination.objects.filter(
        pk=destination_id, claim_token=token, claimed_until__gt=timezone.now()
    )


def _record_success(destination_id: int, token: uuid.UUID, last_seq: int) -> bool:
    """Move the cursor past a delivered batch; False when the lease was lost meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        changed = _held(destination_id, token).update(
            delivered_seq=last_seq, delivered_at=now, failures=0, next_attempt_at=None
        )
        if changed != 1:
            return False
        StreamOutbox.objects.filter(destination_id=destination_id, seq__lte=last_seq).delete()
    return True


def _record_failure(destination: StreamDestination, token: uuid.UUID, error: str) -> None:
    now = timezone.now()
    failures = destination.failures + 1
    _held(destination.pk, token).update(
        failures=failures,
        next_attempt_at=now + retry_delay(failures),
        last_error=error,
        last_error_at=now,
        claimed_until=None,
        claim_token=None,
    )


def _release(destination_id: int, token: uuid.UUID) -> None:
    _held(destination_id, token).update(claimed_until=None, claim_token=None)


def destination_send(*, destination_id: int, token: uuid.UUID) -> int:
    """Send batches from the cursor while the lease lasts; the number of entries delivered."""
    destination = StreamDestination.objects.get(pk=destination_id)
    if destination.claim_token != token:
        return 0
    # Stop well inside the lease so the cursor is moved while it is still held.
    budget = settings.CHANGELOG_STREAM_LEASE_SECONDS / 2
    started = timezone.now()
    delivered = 0
    while (timezone.now() - started).total_seconds() < budget:
        documents = stream_documents(
            after_seq=destination.delivered_seq, limit=settings.CHANGELOG_STREAM_BATCH_SIZE
        )
        if not documents:
            break
        try:
            batch_send(destination, documents)
        except DeliveryFailed as error:
            _record_failure(destination, token, str(error))
            return delivered
        if not _record_success(destination_id, token, documents[-1]["seq"]):
            return delivered
        destination.delivered_seq = documents[-1]["seq"]
        delivered += len(documents)
    _release(destination_id, token)
    return delivered


def stream_dispatch() -> int:
    """Claim every due destination in turn and send what it is owed; entries delivered."""
    head = ChangeLogEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    candidates = StreamDestination.objects.filter(
        _due(timezone.now()), delivered_seq__lt=head
    ).values_list("pk", flat=True)
    delivered = 0
    for destination_id in list(candidates):
        token = destination_claim(destination_id=destination_id)
        if token is not None:
            delivered += destination_send(destination_id=destination_id, token=token)
    return delivered
