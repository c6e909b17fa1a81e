"""Verify the change log stored in the database against itself and the outside world.

The checking itself is audit.chain's `ChainVerifier` (standard library only);
this module feeds it the stored entries in seq order, in constant memory,
with their MACs when keys are configured, and compares the database with
what was written outside it: checkpoints (anchors, signed with Ed25519) and
the streamed copy of every entry. Each comparison reports the first
divergence by sequence number.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.conf import settings
from django.db import connection, transaction

from audit.chain import (
    GENESIS_HASH,
    HASHED_FIELDS,
    ChainVerifier,
    VerifyResult,
    entry_document,
)
from audit.changelog import changelog_mac_keys
from audit.models import ChangeLogEntry
from audit.signing import signature_valid

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


def _raw_entries(*, from_seq: int, to_seq: int | None, chunk_size: int) -> Iterator[dict[str, Any]]:
    table = ChangeLogEntry._meta.db_table
    sql = f"SELECT {_RAW_COLUMNS} FROM {table} WHERE seq >= %s"  # noqa: S608 (constants only)
    params: list[int] = [from_seq]
    if to_seq is not None:
        sql += " AND seq <= %s"
        params.append(to_seq)
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql + " ORDER BY seq", params)
        while rows := cursor.fetchmany(chunk_size):
            for row in rows:
                values = list(row)
                for index in _JSON_INDEXES:
                    if isinstance(values[index], str):
                        values[index] = json.loads(values[index])
                yield dict(zip(STORED_FIELDS, values, strict=True))


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


def changelog_verify(
    *,
    from_seq: int | None = None,
    to_seq: int | None = None,
    chunk_size: int = 5000,
    mac: bool = True,
) -> VerifyResult:
    """Walk the stored chain from `from_seq` (default 1) to `to_seq` (default head).

    Starting later than 1, the first entry must link to the stored hash of
    the entry just before the range. With `mac` and keys configured
    (CHANGELOG_MAC_KEYS), every entry from CHANGELOG_MAC_SINCE_SEQ on must
    carry a valid MAC. One read-only transaction gives one snapshot and a
    server-side cursor, so memory stays constant at any size.
    """
    start = max(from_seq or 1, 1)
    with transaction.atomic():
        if start == 1:
            anchor = GENESIS_HASH
        else:
            anchor = (
                ChangeLogEntry.objects.filter(seq=start - 1).values_list("hash", flat=True).first()
            )
            if anchor is None:
                return VerifyResult(
                    broken_seq=start - 1,
                    problem=f"entry {start - 1} (just before the range) is missing",
                )
        verifier = ChainVerifier(
            first_seq=start,
            prev_hash=anchor,
            mac_keys=changelog_mac_keys() if mac else None,
            mac_since_seq=settings.CHANGELOG_MAC_SINCE_SEQ,
        )
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
            if start < 0 or text.endswith('"entries":['):
                continue  # blank, or the frame of a JSON export
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
