"""The one writer of the change log, and the hash chain it keeps.

Every entry stores `prev_hash` and `hash = SHA-256(prev_hash || canonical)`,
where `canonical` is the entry's fields as JSON with sorted keys and no
whitespace, and `mac = HMAC-SHA256(key, hash)` under the key named by
CHANGELOG_MAC_KEY_ID, which lives outside the database. Writers are
serialised by a transaction-scoped advisory lock on PostgreSQL, so two
writers can never read the same chain head and fork it, and a rolled-back
writer leaves neither a hole nor a broken link (the next one reads the head
only after it). The lock is held until commit: the writer does everything it
can before taking it (docs/changelog-scaling.md).
"""

import hashlib
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
    _timestamp,
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


# Everything from taking the chain-head lock until the transaction commits is
# serialised across all writers, so the writer does all it can before taking
# it: the entry's values, their database form and the canonical JSON around
# the four values only the head decides (seq, prev_hash, created_at and the
# stored spelling of the client address). Under the lock remain one query for
# the time and the head, the hash and MAC, one INSERT and the hooks.
_TABLE = ChangeLogEntry._meta.db_table
# Takes the lock, then reads the head with a fresh snapshot (migration 0013).
_HEAD_SQL = "SELECT * FROM audit_changelog_head(%s, %s)"
_SQLITE_HEAD_SQL = f"SELECT seq, hash FROM {_TABLE} ORDER BY seq DESC LIMIT 1"  # noqa: S608
_STORED_COLUMNS = (*HASHED_FIELDS, "hash", "mac", "mac_key_id")
_INSERT_SQL = (
    f"INSERT INTO {_TABLE} ({', '.join(_STORED_COLUMNS)}) "  # noqa: S608 (constants only)
    f"VALUES ({', '.join(['%s'] * len(_STORED_COLUMNS))})"
)
_FIELDS = {name: ChangeLogEntry._meta.get_field(name) for name in _STORED_COLUMNS}
# Decided under the lock; everything else in the canonical JSON is known before.
_HEAD_DECIDED = ("client_ip", "created_at", "prev_hash", "seq")


def _json_value(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical_frame(values: dict[str, Any]) -> list[str]:
    """The canonical JSON of an entry cut at the values decided under the lock.

    `canonical_json(document)` with sorted keys is `{` + `"key":value` pairs
    joined by `,` + `}`, each value encoded exactly as it would be on its own;
    this builds the same text around the gaps. `"".join` of the pieces with
    the head-decided values, JSON-encoded, put between them gives the same
    text as canonical_json(entry_document(...)); tests hold it to that.
    """
    pieces: list[str] = []
    text = "{"
    for index, field in enumerate(sorted(HASHED_FIELDS)):
        text += ("," if index else "") + _json_value(field) + ":"
        if field in _HEAD_DECIDED:
            pieces.append(text)
            text = ""
        else:
            text += _json_value(values[field])
    pieces.append(text + "}")
    return pieces


def _canonical_fill(frame: list[str], head: dict[str, Any]) -> str:
    a, b, c, d, tail = frame
    return (
        a
        + _json_value(head["client_ip"])
        + b
        + _json_value(_timestamp(head["created_at"]))
        + c
        + _json_value(head["prev_hash"])
        + d
        + _json_value(head["seq"])
        + tail
    )


def _chain_head(
    cursor, client_ip: str | None
) -> tuple[datetime, str | None, int | None, str | None]:
    """Take the chain-head lock; the time, the address as stored, and the head's seq and hash.

    One round trip to audit_changelog_head (migration 0013), which takes the
    lock first and then reads the head in a statement of its own: in READ
    COMMITTED each statement sees what was committed before it started, so
    the head is read only once the previous holder's entry is visible. The
    address is returned
    in the database's own spelling (PostgreSQL's inet writes `::102:304` as
    `::1.2.3.4`), so the hash covers what is stored.
    """
    if connection.vendor == "postgresql":
        cursor.execute(_HEAD_SQL, [CHAIN_LOCK_KEY, client_ip])
        return cursor.fetchone()
    # SQLite (the embedded default) serialises writers on its database lock.
    cursor.execute(_SQLITE_HEAD_SQL)
    seq, hash_hex = cursor.fetchone() or (None, None)
    return timezone.now(), _FIELDS["client_ip"].get_prep_value(client_ip), seq, hash_hex


def changelog_mac_keys() -> dict[str, bytes]:
    """The configured MAC keys by id (CHANGELOG_MAC_KEYS), as bytes."""
    return {key_id: bytes.fromhex(secret) for key_id, secret in settings.CHANGELOG_MAC_KEYS.items()}


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
    values: dict[str, Any] = {
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
    }
    # All of this before the lock (see the note above _TABLE).
    frame = _canonical_frame(values)
    client_ip = _client_ip(current_client_ip.get())
    params = {
        name: _FIELDS[name].get_db_prep_save(value, connection) for name, value in values.items()
    }
    key_id = settings.CHANGELOG_MAC_KEY_ID
    mac_key = changelog_mac_keys()[key_id] if key_id else None
    # No savepoint of its own: a failure here (a hook's included) dooms the
    # caller's whole transaction, so a change can never commit without its
    # entry; and releasing a savepoint would be one more round trip under the lock.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        created_at, stored_ip, head_seq, head_hash = _chain_head(cursor, client_ip)
        head = {
            "seq": head_seq + 1 if head_seq is not None else 1,
            "prev_hash": head_hash if head_hash is not None else GENESIS_HASH,
            "created_at": created_at,
            "client_ip": stored_ip,
        }
        hash_hex = hashlib.sha256(
            (head["prev_hash"] + _canonical_fill(frame, head)).encode("utf-8")
        ).hexdigest()
        chained = {
            **head,
            "hash": hash_hex,
            "mac": entry_mac(mac_key, hash_hex) if mac_key is not None else "",
            "mac_key_id": key_id if mac_key is not None else "",
        }
        for name, value in chained.items():
            params[name] = _FIELDS[name].get_db_prep_save(value, connection)
        cursor.execute(_INSERT_SQL, [params[name] for name in _STORED_COLUMNS])
        entry = ChangeLogEntry(**values, **chained)
        entry._state.adding = False
        entry._state.db = connection.alias
        for hook in _post_write_hooks:
            hook(entry)
        return entry
