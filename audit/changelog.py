"""The one writer of the change log, and the hash chain it keeps.

Every entry stores `prev_hash` and `hash = SHA-256(prev_hash || canonical)`,
where `canonical` is the entry's fields as JSON with sorted keys and no
whitespace, and `mac = HMAC-SHA256(key, hash)` under the key named by
CHANGELOG_MAC_KEY_ID, which lives outside the database. Writers are
serialised by a transaction-scoped advisory lock on PostgreSQL, so two
writers can never read the same chain head and fork it.
"""

import ipaddress
import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from audit.chain import (
    GENESIS_HASH,
    HASHED_FIELDS,
    canonical_json,
    entry_document,
    entry_hash,
    entry_mac,
)
from audit.models import Action, ChangeLogEntry
from relapp.middleware import current_client_ip, current_request_id

# The hashing primitives live in audit.chain (standard library only, so an
# export can be verified without Relapp); re-exported for existing callers.
__all__ = [
    "GENESIS_HASH",
    "HASHED_FIELDS",
    "canonical_json",
    "changelog_record",
    "entry_document",
    "entry_hash",
]

# Arbitrary constant naming the chain-head lock (pg_advisory_xact_lock key).
CHAIN_LOCK_KEY = 7_201_004_001

# Apps above the change log react to its entries through hooks registered in
# their AppConfig.ready (the webhook outbox, reminder planning), so this
# bottom layer imports none of them. Hooks run inside the writer's
# transaction: what they write commits or rolls back with the entry.
PostWriteHook = Callable[[ChangeLogEntry], object]
_post_write_hooks: list[PostWriteHook] = []


def changelog_register_hook(hook: PostWriteHook) -> None:
    """Call `hook(entry)` after every entry is written (idempotent per hook)."""
    if hook not in _post_write_hooks:
        _post_write_hooks.append(hook)


def _jsonb_float(text: str) -> float | int:
    """A JSON number as PostgreSQL's jsonb gives it back.

    jsonb stores numbers as `numeric`: `1e+16` comes back as
    `10000000000000000` (an int to Python) and `-0.0` as `0.0`. Hashing the
    value jsonb returns keeps a stored entry verifiable.
    """
    number = Decimal(text)
    if "e" in text.lower() and number == number.to_integral_value():
        return int(number)
    value = float(text)
    return 0.0 if value == 0 else value


def _json_native(value: Any) -> Any:
    """What the JSON column will give back: hash exactly what is stored."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder), parse_float=_jsonb_float)


def _client_ip(value: str | None) -> str | None:
    """A valid address or None: a malformed REMOTE_ADDR must not stop a write."""
    if not value:
        return None
    try:
        # The zone of a link-local IPv6 address (fe80::1%eth0) is no part of it.
        return str(ipaddress.ip_address(value.split("%", 1)[0]))
    except ValueError:
        return None


def _lock_chain_head(client_ip: str | None) -> tuple[datetime, str | None]:
    """Take the chain-head lock; the time and the client address as stored.

    The address is returned in the database's own spelling (PostgreSQL's inet
    writes `::102:304` as `::1.2.3.4`), so the hash covers what is stored.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
            cursor.execute("SELECT clock_timestamp(), host(%s::inet)", [client_ip])
            now, stored_ip = cursor.fetchone()
        return now, stored_ip
    # SQLite (the embedded default) serialises writers on its database lock.
    field = ChangeLogEntry._meta.get_field("client_ip")
    return timezone.now(), field.get_prep_value(client_ip)


def changelog_mac_keys() -> dict[str, bytes]:
    """The configured MAC keys by id (CHANGELOG_MAC_KEYS), as bytes."""
    return {key_id: bytes.fromhex(secret) for key_id, secret in settings.CHANGELOG_MAC_KEYS.items()}


def _mac_fields(hash_hex: str) -> dict[str, str]:
    key_id = settings.CHANGELOG_MAC_KEY_ID
    if not key_id:
        return {"mac": "", "mac_key_id": ""}
    return {"mac": entry_mac(changelog_mac_keys()[key_id], hash_hex), "mac_key_id": key_id}


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
        created_at, client_ip = _lock_chain_head(_client_ip(current_client_ip.get()))
        head = ChangeLogEntry.objects.order_by("-seq").values("seq", "hash").first()
        seq = head["seq"] + 1 if head else 1
        prev_hash = head["hash"] if head else GENESIS_HASH
        values: dict[str, Any] = {
            "seq": seq,
            "created_at": created_at,
            "actor_id": actor.pk if actor is not None else None,
            "actor_name": (actor_name or _actor_name(actor))[:200],
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
            "client_ip": client_ip,
            "prev_hash": prev_hash,
        }
        values["hash"] = entry_hash(prev_hash, entry_document(values))
        values.update(_mac_fields(values["hash"]))
        entry = ChangeLogEntry.objects.create(**values)
        for hook in _post_write_hooks:
            hook(entry)
        return entry
