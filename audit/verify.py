"""Verify the change log stored in the database, and its checkpoints.

The checking itself is audit.chain's `ChainVerifier` (standard library only);
this module feeds it the stored entries in seq order, in constant memory, and
compares checkpoints written outside the database with the chain.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from audit.chain import GENESIS_HASH, HASHED_FIELDS, ChainVerifier, VerifyResult
from audit.models import ChangeLogEntry

STORED_FIELDS = (*HASHED_FIELDS, "hash")


def _stored_entries(
    *, from_seq: int, to_seq: int | None, chunk_size: int
) -> Iterator[dict[str, Any]]:
    entries = ChangeLogEntry.objects.filter(seq__gte=from_seq)
    if to_seq is not None:
        entries = entries.filter(seq__lte=to_seq)
    rows = entries.order_by("seq").values_list(*STORED_FIELDS).iterator(chunk_size=chunk_size)
    for row in rows:
        yield dict(zip(STORED_FIELDS, row, strict=True))


def changelog_verify(
    *, from_seq: int | None = None, to_seq: int | None = None, chunk_size: int = 5000
) -> VerifyResult:
    """Walk the stored chain from `from_seq` (default 1) to `to_seq` (default head).

    Starting later than 1, the first entry must link to the stored hash of
    the entry just before the range. One read-only transaction gives one
    snapshot and a server-side cursor, so memory stays constant at any size.
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
        verifier = ChainVerifier(first_seq=start, prev_hash=anchor)
        for entry in _stored_entries(from_seq=start, to_seq=to_seq, chunk_size=chunk_size):
            if not verifier.feed(entry):
                break
    return verifier.result


@dataclass(frozen=True)
class CheckpointProblem:
    line: int
    seq: int
    problem: str


def changelog_checkpoints_compare(*, path: str | Path) -> tuple[int, list[CheckpointProblem]]:
    """Compare every checkpoint in the JSON-lines file with the stored chain.

    A checkpoint whose entry is gone means the tail of the log was cut off; a
    different hash means the chain was rewritten (and re-hashed) up to there.
    Neither is visible from inside the database alone. Returns the number of
    checkpoints read and the problems found.
    """
    checkpoints: list[tuple[int, int, str]] = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                record = json.loads(line)
                checkpoints.append((number, int(record["seq"]), record["hash"]))
    wanted = {seq for _, seq, _ in checkpoints if seq > 0}
    stored = dict(ChangeLogEntry.objects.filter(seq__in=wanted).values_list("seq", "hash"))
    problems = []
    for number, seq, expected in checkpoints:
        if seq == 0:
            continue  # written while the log was empty
        actual = stored.get(seq)
        if actual is None:
            problems.append(CheckpointProblem(number, seq, f"entry {seq} is missing"))
        elif actual != expected:
            problems.append(
                CheckpointProblem(number, seq, f"entry {seq} has hash {actual}, not {expected}")
            )
    return len(checkpoints), problems
