"""Verify the change log stored in the database against itself and the outside world.

The checking itself is audit.chain's `ChainVerifier` (standard library only);
this module feeds it the stored entries in seq order, in constant memory,
with their MACs when keys are configured, and compares the database with
what was written outside it: checkpoints (anchors, signed with Ed25519) and
the streamed copy of every entry. Each comparison reports the first
divergence by sequence number.
"""

import hashlib
import hmac
import json
import logging
import multiprocessing
import operator
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from audit.chain import (
    GENESIS_HASH,
    HASHED_FIELDS,
    ChainVerifier,
    VerifyResult,
    canonical_json,
    entry_document,
)
from audit.changelog import changelog_mac_keys
from audit.models import ChangeLogEntry
from audit.signing import signature_valid

logger = logging.getLogger(__name__)

STORED_FIELDS = (*HASHED_FIELDS, "hash", "mac", "mac_key_id")


# The stored entries as the hash saw them, read without the ORM's per-value
# converters (a third of the time at a million entries): the timestamp is
# formatted by PostgreSQL exactly as audit.chain writes it, and jsonb arrives
# as text (Django's psycopg2 connection does not decode it) for json.loads.
_RAW_COLUMNS = ", ".join(
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    if field == "created_at"
    else field
    for field in STORED_FIELDS
)
_JSON_INDEXES = [STORED_FIELDS.index("before"), STORED_FIELDS.index("after")]


def _raw_sql(*, from_seq: int, to_seq: int | None) -> tuple[str, list[int]]:
    table = ChangeLogEntry._meta.db_table
    sql = f"SELECT {_RAW_COLUMNS} FROM {table} WHERE seq >= %s"  # noqa: S608 (constants only)
    params: list[int] = [from_seq]
    if to_seq is not None:
        sql += " AND seq <= %s"
        params.append(to_seq)
    return sql + " ORDER BY seq", params


def _entry_from_row(row: tuple) -> dict[str, Any]:
    values = list(row)
    for index in _JSON_INDEXES:
        if isinstance(values[index], str):
            values[index] = json.loads(values[index])
    return dict(zip(STORED_FIELDS, values, strict=True))


def _raw_rows(*, from_seq: int, to_seq: int | None, chunk_size: int) -> Iterator[list[tuple]]:
    """The stored rows in seq order, a batch per round trip of Django's server-side cursor."""
    sql, params = _raw_sql(from_seq=from_seq, to_seq=to_seq)
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(chunk_size):
            yield rows


def _raw_entries(*, from_seq: int, to_seq: int | None, chunk_size: int) -> Iterator[dict[str, Any]]:
    for rows in _raw_rows(from_seq=from_seq, to_seq=to_seq, chunk_size=chunk_size):
        for row in rows:
            yield _entry_from_row(row)


def _stored_entries(
    *, from_seq: int, to_seq: int | None, chunk_size: int
) -> Iterator[dict[str, Any]]:
    if connection.vendor == "postgresql":
        yield from _raw_entries(from_seq=from_seq, to_seq=to_seq, chunk_size=chunk_size)
        return
    entries = ChangeLogEntry.objects.filter(seq__gte=from_seq)
    if to_seq is not None:
        entries = entries.filter(seq__lte=to_seq)
    rows = entries.order_by("seq").values_list(*STORED_FIELDS).iterator(chunk_size=chunk_size)
    for row in rows:
        yield dict(zip(STORED_FIELDS, row, strict=True))


# --- the fast path ----------------------------------------------------------
#
# At a million entries the per-entry dict, `entry_document` and `json.dumps`
# of the whole document were most of the time. The fast path builds the same
# canonical text straight from the row with one %-template in sorted key
# order: strings through the json module's own string encoder, integers as
# json writes them, and before/after re-serialised exactly as canonical_json
# does (cached by their stored text, which repeats a lot). Any row it does not
# accept (a broken link, a hash or MAC that does not match, a value of an
# unexpected type) is handed to ChainVerifier.feed, the reference check, which
# reports the problem word for word as before or accepts the entry; so the
# fast path can never pass what `feed` would refuse, nor change what a failure
# says.

_ROW = {field: index for index, field in enumerate(STORED_FIELDS)}
_CANONICAL_ORDER = (
    "action", "actor_id", "actor_name", "after", "before", "client_ip", "created_at",
    "object_id", "object_repr", "object_type", "prev_hash", "product_id", "reason",
    "release_id", "request_id", "seq",
)  # fmt: skip
# The template below spells these out; a new hashed field must be added to it.
assert sorted(HASHED_FIELDS) == list(_CANONICAL_ORDER)
_TEMPLATE = "{" + ",".join(f'"{field}":%s' for field in _CANONICAL_ORDER) + "}"
_CANONICAL_VALUES = operator.itemgetter(*(_ROW[field] for field in _CANONICAL_ORDER))
_JSON_CACHE_LIMIT = 10_000


def _number(value: int | None) -> str | int:
    # The integer columns are bigint: psycopg2 gives int (never bool) or None.
    if value is None:
        return "null"
    if type(value) is not int:
        raise TypeError(value)
    return value


def _nullable_text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


class _FastChain:
    """Checks raw rows as ChainVerifier.feed would, handing it every row it does not accept."""

    def __init__(
        self, verifier: ChainVerifier, *, mac_keys: dict[str, bytes] | None, mac_since_seq: int
    ):
        self.verifier = verifier
        self.mac_keys = mac_keys or {}
        self.mac_since_seq = mac_since_seq
        self._json_cache: dict[str, str] = {}

    def _json(self, text: str | None) -> str:
        if text is None:
            return "null"
        canonical = self._json_cache.get(text)
        if canonical is None:
            if len(self._json_cache) >= _JSON_CACHE_LIMIT:
                self._json_cache.clear()
            canonical = canonical_json(json.loads(text))
            self._json_cache[text] = canonical
        return canonical

    def canonical(self, row: tuple) -> str:
        enc, number, js = encode_basestring, _number, self._json
        (
            action, actor_id, actor_name, after, before, client_ip, created_at, object_id,
            object_repr, object_type, prev_hash, product_id, reason, release_id, request_id, seq,
        ) = _CANONICAL_VALUES(row)  # fmt: skip
        return _TEMPLATE % (
            enc(action), number(actor_id), enc(actor_name), js(after), js(before),
            _nullable_text(client_ip), enc(created_at), enc(object_id), enc(object_repr),
            enc(object_type), enc(prev_hash), number(product_id), enc(reason),
            number(release_id), enc(request_id), number(seq),
        )  # fmt: skip

    def feed_rows(self, rows: Iterable[tuple]) -> bool:
        """Check a batch of rows in seq order; False once the chain is broken."""
        verifier = self.verifier
        if not verifier.result.ok:
            return False
        expected, prev = verifier.expected_seq, verifier.prev_hash
        keys, since = self.mac_keys, self.mac_since_seq
        i_seq, i_prev, i_hash = _ROW["seq"], _ROW["prev_hash"], _ROW["hash"]
        i_mac, i_key_id = _ROW["mac"], _ROW["mac_key_id"]
        sha256, mac_digest, same = hashlib.sha256, hmac.digest, hmac.compare_digest
        passed = 0
        for row in rows:
            seq, stored_hash = row[i_seq], row[i_hash]
            accepted = False
            if seq == expected and row[i_prev] == prev and type(stored_hash) is str:
                try:
                    text = prev + self.canonical(row)
                except (TypeError, ValueError):
                    text = None
                if text is not None and sha256(text.encode("utf-8")).hexdigest() == stored_hash:
                    if not keys or seq < since:
                        accepted = True
                    else:
                        key = keys.get(row[i_key_id] or "")
                        mac = row[i_mac]
                        accepted = (
                            key is not None
                            and type(mac) is str
                            and same(
                                mac_digest(key, stored_hash.encode("ascii"), "sha256").hex(), mac
                            )
                        )
            if accepted:
                passed += 1
                expected, prev = seq + 1, stored_hash
                continue
            verifier.advance(count=passed, last_seq=expected - 1, head_hash=prev)
            passed = 0
            if not verifier.feed(_entry_from_row(row)):
                return False
            expected, prev = verifier.expected_seq, verifier.prev_hash
        verifier.advance(count=passed, last_seq=expected - 1, head_hash=prev)
        return True


# --- verifying the database -------------------------------------------------

# Below this many entries per worker, starting processes costs more than it saves.
PARALLEL_MIN_ENTRIES = 100_000


def _anchor_hash(cursor, start: int) -> str | None:
    if start == 1:
        return GENESIS_HASH
    cursor.execute(
        f"SELECT hash FROM {ChangeLogEntry._meta.db_table} WHERE seq = %s",  # noqa: S608
        [start - 1],
    )
    row = cursor.fetchone()
    return row[0] if row else None


def _missing_anchor(start: int) -> VerifyResult:
    return VerifyResult(
        broken_seq=start - 1, problem=f"entry {start - 1} (just before the range) is missing"
    )


@dataclass(frozen=True)
class _Slice:
    start: int
    end: int | None
    mac_keys: dict[str, bytes] | None
    mac_since_seq: int
    chunk_size: int


def _verify_slice(part: _Slice) -> tuple[str | None, VerifyResult]:
    """In a worker process: its own connection, the slice linked to the stored hash before it.

    Returns the anchor it started from with the result, so the caller can
    check that the slices join: each slice's head hash is the next one's anchor.
    """
    raw = connection.get_new_connection(connection.get_connection_params())
    try:
        with raw.cursor() as cursor:
            anchor = _anchor_hash(cursor, part.start)
        if anchor is None:
            return None, _missing_anchor(part.start)
        verifier = ChainVerifier(
            first_seq=part.start,
            prev_hash=anchor,
            mac_keys=part.mac_keys,
            mac_since_seq=part.mac_since_seq,
        )
        fast = _FastChain(verifier, mac_keys=part.mac_keys, mac_since_seq=part.mac_since_seq)
        sql, params = _raw_sql(from_seq=part.start, to_seq=part.end)
        with raw.cursor(name="relapp_verify_slice") as cursor:
            cursor.itersize = part.chunk_size
            cursor.execute(sql, params)
            while (rows := cursor.fetchmany(part.chunk_size)) and fast.feed_rows(rows):
                pass
        return anchor, verifier.result
    finally:
        raw.close()


def _verify_parallel(
    *, start: int, to_seq: int | None, workers: int, mac_keys, mac_since_seq: int, chunk_size: int
) -> VerifyResult | None:
    """The range split across worker processes, or None when it is not worth it or
    the slices do not join into one clean chain (the caller then walks it in one pass,
    which names the first broken entry)."""
    if workers < 2 or connection.vendor != "postgresql" or connection.in_atomic_block:
        return None
    if multiprocessing.current_process().daemon:
        return None  # a daemonic process (a pool worker) may not start processes
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max(seq) FROM {ChangeLogEntry._meta.db_table}")  # noqa: S608
        head = cursor.fetchone()[0] or 0
    end = head if to_seq is None else min(to_seq, head)
    size = end - start + 1
    workers = min(workers, size // PARALLEL_MIN_ENTRIES)
    if workers < 2:
        return None
    bounds = [start + size * n // workers for n in range(workers + 1)]
    parts = [
        _Slice(
            start=bounds[n],
            end=bounds[n + 1] - 1 if n < workers - 1 else to_seq,
            mac_keys=mac_keys,
            mac_since_seq=mac_since_seq,
            chunk_size=chunk_size,
        )
        for n in range(workers)
    ]
    # Forked children inherit the settings (including a test database's name)
    # and open their own connections; the parent's is never used in a child.
    context = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            outcomes = list(pool.map(_verify_slice, parts))
    except (OSError, BrokenProcessPool, DatabaseError) as error:
        logger.warning("verify_changelog: parallel walk failed (%s); walking in one pass", error)
        return None
    merged = VerifyResult(macs_checked=bool(mac_keys))
    for part, (anchor, result) in zip(parts, outcomes, strict=True):
        joins = anchor == (merged.head_hash if merged.count else anchor)
        # Only the last slice may end early (at the head): a gap at the end of
        # any other slice is a missing entry.
        complete = part is parts[-1] or result.count == part.end - part.start + 1
        if not (result.ok and joins and complete and result.count):
            return None
        merged.count += result.count
        merged.first_seq = merged.first_seq or result.first_seq
        merged.last_seq, merged.head_hash = result.last_seq, result.head_hash
    return merged


def changelog_verify(
    *,
    from_seq: int | None = None,
    to_seq: int | None = None,
    chunk_size: int = 5000,
    mac: bool = True,
    workers: int | None = None,
) -> VerifyResult:
    """Walk the stored chain from `from_seq` (default 1) to `to_seq` (default head).

    Starting later than 1, the first entry must link to the stored hash of
    the entry just before the range. With `mac` and keys configured
    (CHANGELOG_MAC_KEYS), every entry from CHANGELOG_MAC_SINCE_SEQ on must
    carry a valid MAC. One read-only transaction gives one snapshot and a
    server-side cursor, so memory stays constant at any size.

    A long range on PostgreSQL, outside a transaction, is split across
    `workers` processes (default: one per CPU), each checking its slice's
    links from the stored hash just before it; the slices must then join
    (each one's head hash is the next one's anchor). Anything short of a
    clean join is walked again in one pass, so a broken chain is reported
    exactly as the one-pass walk reports it.
    """
    start = max(from_seq or 1, 1)
    mac_keys = changelog_mac_keys() if mac else None
    mac_since_seq = settings.CHANGELOG_MAC_SINCE_SEQ
    parallel = _verify_parallel(
        start=start,
        to_seq=to_seq,
        workers=(os.cpu_count() or 1) if workers is None else workers,
        mac_keys=mac_keys,
        mac_since_seq=mac_since_seq,
        chunk_size=chunk_size,
    )
    if parallel is not None:
        return parallel
    with transaction.atomic():
        if start == 1:
            anchor = GENESIS_HASH
        else:
            anchor = (
                ChangeLogEntry.objects.filter(seq=start - 1).values_list("hash", flat=True).first()
            )
            if anchor is None:
                return _missing_anchor(start)
        verifier = ChainVerifier(
            first_seq=start, prev_hash=anchor, mac_keys=mac_keys, mac_since_seq=mac_since_seq
        )
        if connection.vendor == "postgresql":
            fast = _FastChain(verifier, mac_keys=mac_keys, mac_since_seq=mac_since_seq)
            for rows in _raw_rows(from_seq=start, to_seq=to_seq, chunk_size=chunk_size):
                if not fast.feed_rows(rows):
                    break
        else:
            for entry in _stored_entries(from_seq=start, to_seq=to_seq, chunk_size=chunk_size):
                if not verifier.feed(entry):
                    break
    return verifier.result


@dataclass(frozen=True)
class CheckpointProblem:
    line: int
    seq: int
    problem: str


def changelog_checkpoints_compare(
    *, path: str | Path, public_key: Ed25519PublicKey | None = None
) -> tuple[int, list[CheckpointProblem]]:
    """Compare every checkpoint (anchor) in the JSON-lines file with the stored chain.

    A checkpoint whose entry is gone means the tail of the log was cut off; a
    different hash means the chain was rewritten (and re-hashed) up to there.
    Neither is visible from inside the database alone. With `public_key`,
    every checkpoint must carry a valid Ed25519 signature, so a forged
    checkpoint file is refused. Returns the number of checkpoints read and
    the problems found, lowest seq (the first divergence) first.
    """
    checkpoints: list[tuple[int, dict]] = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                checkpoints.append((number, json.loads(line)))
    wanted = {int(record["seq"]) for _, record in checkpoints}
    stored = dict(ChangeLogEntry.objects.filter(seq__in=wanted).values_list("seq", "hash"))
    problems = []
    for number, record in checkpoints:
        seq, expected = int(record["seq"]), record["hash"]
        if public_key is not None and not signature_valid(record, public_key):
            problems.append(CheckpointProblem(number, seq, "signature invalid (forged checkpoint)"))
        elif seq == 0:
            continue  # written while the log was empty
        elif seq not in stored:
            problems.append(CheckpointProblem(number, seq, f"entry {seq} is missing"))
        elif stored[seq] != expected:
            problems.append(
                CheckpointProblem(
                    number, seq, f"entry {seq} has hash {stored[seq]}, not {expected}"
                )
            )
    problems.sort(key=lambda problem: (problem.seq, problem.line))
    return len(checkpoints), problems


# --- the streamed copy -----------------------------------------------------


@dataclass
class StreamResult:
    """Outcome of comparing the database with the streamed copy; `seq` is the first divergence."""

    count: int = 0
    seq: int | None = None
    line: int = 0
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.seq is None


def _stream_entries(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, entry) from the streamed copy.

    Accepted per line: one exported entry (JSON lines, as the HTTP stream
    and the JSON export write it), the same after a syslog header (text
    before the first `{`), or wrapped as a Splunk HEC event (`{"event": ...}`);
    the frame of a JSON export is skipped.
    """
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip().rstrip(",")
            start = text.find("{")
            if start < 0 or text.endswith('"entries":[') or text.startswith('],"trailer":'):
                continue  # blank, or the frame of a JSON export (its header or trailer)
            record = json.loads(text[start:])
            if isinstance(record.get("event"), dict):
                record = record["event"]
            if "seq" in record and "hash" in record:
                yield number, record


def _differs(stored: dict[str, Any], streamed: dict[str, Any]) -> str:
    if stored["hash"] != streamed["hash"]:
        return (
            f"entry {stored['seq']} has hash {stored['hash']}, the stream has "
            f"{streamed['hash']} (edited, replaced or re-hashed)"
        )
    document = entry_document(stored)
    fields = [field for field in HASHED_FIELDS if document[field] != streamed.get(field)]
    if fields:
        return f"entry {stored['seq']} differs from the streamed copy in {', '.join(fields)}"
    return ""


def changelog_stream_compare(*, path: str | Path, chunk_size: int = 5000) -> StreamResult:
    """Walk the database and the streamed copy side by side, in seq order.

    The stream holds every entry as it was written (JSON lines, the JSON
    export's entry format). The first sequence number where they differ is
    reported: an entry missing from the database (deleted, tail cut off), an
    entry only in the database (inserted or forged after the fact, or the
    stream lags behind), or one whose hash or fields differ (edited,
    swapped or re-hashed). A repeated streamed entry that matches is fine.
    """
    result = StreamResult()
    streamed_entries = _stream_entries(Path(path))
    with transaction.atomic():
        stored_entries = _stored_entries(from_seq=1, to_seq=None, chunk_size=chunk_size)
        stored = next(stored_entries, None)
        line, streamed = next(streamed_entries, (0, None))
        last_seq = 0
        while stored is not None or streamed is not None:
            if streamed is not None and streamed["seq"] <= last_seq:
                if streamed["seq"] < last_seq:
                    return _diverged(result, streamed["seq"], line, "stream out of order")
                line, streamed = next(streamed_entries, (0, None))  # delivered twice
                continue
            if streamed is None or (stored is not None and stored["seq"] < streamed["seq"]):
                return _diverged(
                    result,
                    stored["seq"],
                    line,
                    f"entry {stored['seq']} is in the database but not in the stream "
                    "(inserted or forged, or the stream lags behind)",
                )
            if stored is None or streamed["seq"] < stored["seq"]:
                return _diverged(
                    result,
                    streamed["seq"],
                    line,
                    f"entry {streamed['seq']} is in the stream but missing from the database "
                    "(deleted or cut off)",
                )
            problem = _differs(stored, streamed)
            if problem:
                return _diverged(result, stored["seq"], line, problem)
            result.count += 1
            last_seq = stored["seq"]
            stored = next(stored_entries, None)
            line, streamed = next(streamed_entries, (0, None))
    return result


def _diverged(result: StreamResult, seq: int, line: int, problem: str) -> StreamResult:
    result.seq, result.line, result.problem = seq, line, problem
    return result


# --- incremental: from the latest signed checkpoint ---------------------------


@dataclass(frozen=True)
class CheckpointStart:
    """The checkpoint an incremental walk started from: its line in the file, seq and hash."""

    line: int
    seq: int
    hash: str


def _latest_checkpoint(path: Path) -> tuple[int, dict[str, Any]] | None:
    """The last checkpoint line of the file (checkpoints are appended in order), or None."""
    latest = None
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                latest = (number, line)
    if latest is None:
        return None
    number, line = latest
    record = json.loads(line)
    if not isinstance(record, dict):
        raise ValueError(f"line {number} is not a checkpoint")
    return number, record


def changelog_verify_since_checkpoint(
    *,
    path: str | Path,
    public_key: Ed25519PublicKey,
    chunk_size: int = 5000,
    mac: bool = True,
    workers: int | None = None,
) -> tuple[CheckpointStart | None, VerifyResult]:
    """Verify only what was written since the latest signed checkpoint.

    The checkpoint (the file's last line) must carry a valid Ed25519
    signature under `public_key`, and the stored entry at its seq must have
    exactly its hash. That entry is then re-hashed (and its MAC checked) and
    every entry after it walked as `changelog_verify` does, up to the head.
    The signed hash covers, through `prev_hash`, every entry before it as it
    was when the checkpoint was written, so a chain rewritten up to the
    checkpoint fails here; an entry altered before it *without* re-hashing
    keeps the checkpoint's hash and is only caught by the full walk
    (`changelog_verify`), which therefore still runs regularly.

    Returns the checkpoint it started from (None when the file holds none:
    then the whole chain is walked) and the result; a checkpoint that does
    not verify is reported as the first broken seq, with its line.
    """
    latest = _latest_checkpoint(Path(path))
    if latest is None:
        return None, changelog_verify(chunk_size=chunk_size, mac=mac, workers=workers)
    number, record = latest
    try:
        seq, expected = int(record["seq"]), str(record["hash"])
    except (KeyError, TypeError, ValueError):
        return None, VerifyResult(
            broken_seq=0, problem=f"checkpoint line {number} has no seq and hash"
        )
    start = CheckpointStart(line=number, seq=seq, hash=expected)
    if not signature_valid(record, public_key):
        return start, VerifyResult(
            broken_seq=seq,
            problem=f"checkpoint line {number}: signature invalid (forged checkpoint)",
        )
    if seq == 0:  # written while the log was empty
        return start, changelog_verify(chunk_size=chunk_size, mac=mac, workers=workers)
    stored = ChangeLogEntry.objects.filter(seq=seq).values_list("hash", flat=True).first()
    if stored is None:
        return start, VerifyResult(
            broken_seq=seq, problem=f"checkpoint line {number}: entry {seq} is missing"
        )
    if stored != expected:
        return start, VerifyResult(
            broken_seq=seq,
            problem=f"checkpoint line {number}: entry {seq} has hash {stored}, not {expected}",
        )
    return start, changelog_verify(from_seq=seq, chunk_size=chunk_size, mac=mac, workers=workers)
