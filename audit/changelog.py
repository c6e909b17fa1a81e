"""The one writer of the change log, and the hash chain it keeps.

Every entry stores `prev_hash` and `hash = SHA-256(prev_hash || canonical)`,
where `canonical` is the entry's fields as JSON with sorted keys and no
whitespace. Writers are serialised by a transaction-scoped advisory lock on
PostgreSQL, so two writers can never read the same chain head and fork it.
"""

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from audit.models import Action, ChangeLogEntry
from relapp.middleware import current_client_ip, current_request_id

GENESIS_HASH = "0" * 64
# Arbitrary constant naming the chain-head lock (pg_advisory_xact_lock key).
CHAIN_LOCK_KEY = 7_201_004_001

HASHED_FIELDS = (
    "seq",
    "created_at",
    "actor_id",
    "actor_name",
    "action",
    "product_id",
    "release_id",
    "object_type",
    "object_id",
    "object_repr",
    "before",
    "after",
    "reason",
    "request_id",
    "client_ip",
    "prev_hash",
)


def _json_native(value: Any) -> Any:
    """What the JSON column will give back: hash exactly what is stored."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _timestamp(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_document(values: dict[str, Any]) -> dict[str, Any]:
    """The fields of an entry that the hash covers, as plain JSON values."""
    document = {field: values.get(field) for field in HASHED_FIELDS}
    document["created_at"] = _timestamp(values["created_at"])
    return document


def canonical_json(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(prev_hash: str, document: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(document)).encode("utf-8")).hexdigest()


def _lock_chain_head() -> datetime:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
            cursor.execute("SELECT clock_timestamp()")
            (now,) = cursor.fetchone()
        return now
    # SQLite (the embedded default) serialises writers on its database lock.
    return timezone.now()


def _actor_name(actor) -> str:
    if actor is None:
        return "system"
    full = actor.get_full_name()
    return f"{full} ({actor.get_username()})" if full else actor.get_username()


def changelog_record(
    *,
    action: Action | str,
    actor=None,
    actor_name: str | None = None,
    release=None,
    product=None,
    obj=None,
    before: Any = None,
    after: Any = None,
    reason: str = "",
) -> ChangeLogEntry:
    """Append one entry to the chain. Call inside the transaction of the change."""
    action = Action(action)
    if release is not None and product is None:
        product = release.product
    target = obj if obj is not None else release
    with transaction.atomic():
        created_at = _lock_chain_head()
        head = ChangeLogEntry.objects.order_by("-seq").values("seq", "hash").first()
        seq = head["seq"] + 1 if head else 1
        prev_hash = head["hash"] if head else GENESIS_HASH
        values: dict[str, Any] = {
            "seq": seq,
            "created_at": created_at,
            "actor_id": actor.pk if actor is not None else None,
            "actor_name": actor_name or _actor_name(actor),
            "action": action.value,
            "product_id": product.pk if product is not None else None,
            "release_id": release.pk if release is not None else None,
            "object_type": target._meta.label if target is not None else "",
            "object_id": str(target.pk) if target is not None else "",
            "object_repr": str(target)[:300] if target is not None else "",
            "before": _json_native(before),
            "after": _json_native(after),
            "reason": reason,
            "request_id": current_request_id.get() or "",
            "client_ip": current_client_ip.get(),
            "prev_hash": prev_hash,
        }
        values["hash"] = entry_hash(prev_hash, entry_document(values))
        return ChangeLogEntry.objects.create(**values)
