"""The change log's hash chain, with no dependency beyond the standard library.

Every entry stores `prev_hash` and `hash = SHA-256(prev_hash || canonical)`,
where `canonical` is the entry's hashed fields (`HASHED_FIELDS`) as JSON with
sorted keys and no whitespace, and `created_at` is written as
`YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC. The first entry's `prev_hash` is
`GENESIS_HASH`.

This module imports nothing from Django on purpose: it is the whole of the
checking logic, so an auditor can verify an export with a plain Python 3.11
and this one file, without Relapp or its database:

    python chain.py changelog.json     # or changelog.csv

Exit status 0 means the file verifies; 1 means it does not, and the first
broken sequence number is printed.
"""

import csv
import hashlib
import hmac
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

GENESIS_HASH = "0" * 64

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
# What an export carries per entry: everything hashed, plus the hash itself.
EXPORT_FIELDS = (*HASHED_FIELDS, "hash")
EXPORT_FORMAT = "relapp-changelog-export"

_INT_FIELDS = ("seq", "actor_id", "product_id", "release_id")
_JSON_FIELDS = ("before", "after")
# Empty CSV cell means NULL for these; every other text field is never NULL.
_NULLABLE_TEXT_FIELDS = ("client_ip",)
# A spreadsheet evaluates a cell starting with one of these as a formula.
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_CSV_ESCAPE = "'"


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


def entry_mac(key: bytes, entry_hash_hex: str) -> str:
    """HMAC-SHA256 of an entry's hash under a key kept outside the database.

    The hash covers the entry and, through `prev_hash`, everything before it,
    so the MAC binds the whole chain up to the entry. Anyone with the source
    can recompute a hash; only a holder of the key can compute a MAC.
    """
    return hmac.digest(key, entry_hash_hex.encode("ascii"), "sha256").hex()


# --- verification ---------------------------------------------------------


@dataclass
class VerifyResult:
    """Outcome of walking a run of entries. `broken_seq` is None when it verifies."""

    count: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head_hash: str | None = None
    broken_seq: int | None = None
    problem: str = ""
    # Filtered exports are not one run of the chain; see ChainVerifier.
    gaps: int = 0
    macs_checked: bool = False

    @property
    def ok(self) -> bool:
        return self.broken_seq is None

    def summary(self) -> str:
        if not self.ok:
            return f"BROKEN at seq {self.broken_seq}: {self.problem}"
        if self.count == 0:
            return "OK: 0 entries"
        text = (
            f"OK: {self.count} entries, seq {self.first_seq}..{self.last_seq}, "
            f"head hash {self.head_hash}"
        )
        if self.macs_checked:
            text += ", MACs verified"
        if self.gaps:
            text += (
                f" ({self.gaps} gap(s): a filtered export; each entry's hash is checked, "
                "links only between consecutive entries)"
            )
        return text


class ChainVerifier:
    """Feed entries in ascending seq order; stops at the first broken one.

    For each entry it checks, in this order: the sequence number is the next
    one (no entry missing or moved), `prev_hash` is the previous entry's
    `hash`, the stored `hash` is what the entry's fields hash to and, given
    `mac_keys` (key id -> key), the entry's MAC from `mac_since_seq` on. The
    first failing entry is the first broken sequence number.

    `allow_gaps` is for filtered exports, which skip entries by design: a gap
    is then counted instead of failing, and `prev_hash` is only compared
    across consecutive sequence numbers; every entry's own hash is still
    recomputed.
    """

    def __init__(
        self,
        *,
        first_seq: int | None = 1,
        prev_hash: str | None = GENESIS_HASH,
        allow_gaps: bool = False,
        mac_keys: dict[str, bytes] | None = None,
        mac_since_seq: int = 1,
    ):
        self.result = VerifyResult()
        self._expected_seq = first_seq
        self._prev_hash = prev_hash
        self._allow_gaps = allow_gaps
        self._mac_keys = mac_keys or {}
        self._mac_since_seq = mac_since_seq
        self.result.macs_checked = bool(self._mac_keys)

    @property
    def expected_seq(self) -> int | None:
        return self._expected_seq

    @property
    def prev_hash(self) -> str | None:
        return self._prev_hash

    def advance(self, *, count: int, last_seq: int, head_hash: str) -> None:
        """Record `count` consecutive entries, up to `last_seq`, that a faster
        check equivalent to `feed` has already passed (audit.verify's fast path)."""
        if count <= 0:
            return
        result = self.result
        result.count += count
        if result.first_seq is None:
            result.first_seq = last_seq - count + 1
        result.last_seq = last_seq
        result.head_hash = head_hash
        self._expected_seq = last_seq + 1
        self._prev_hash = head_hash

    def _mac_problem(self, entry: dict[str, Any]) -> str:
        """Why the entry's MAC does not verify, or "" (entries need `mac`, `mac_key_id`)."""
        if not self._mac_keys or entry["seq"] < self._mac_since_seq:
            return ""
        key = self._mac_keys.get(entry.get("mac_key_id") or "")
        if key is None:
            return f"no MAC under a known key (key id {entry.get('mac_key_id')!r}): forged entry"
        if not hmac.compare_digest(entry_mac(key, entry["hash"]), entry.get("mac") or ""):
            return "MAC does not match the hash (entry forged or re-hashed without the key)"
        return ""

    def _fail(self, seq: int, problem: str) -> bool:
        self.result.broken_seq = seq
        self.result.problem = problem
        return False

    def feed(self, entry: dict[str, Any]) -> bool:
        """Check one entry; False once the chain is broken."""
        if not self.result.ok:
            return False
        seq = entry["seq"]
        expected = self._expected_seq
        linked = True
        if expected is not None and seq != expected:
            if not (self._allow_gaps and seq > expected):
                if seq > expected:
                    missing = expected if seq == expected + 1 else f"{expected}..{seq - 1}"
                    return self._fail(expected, f"entry {missing} is missing (next is {seq})")
                return self._fail(expected, f"expected seq {expected}, found seq {seq}")
            self.result.gaps += 1
            linked = False
        if linked and self._prev_hash is not None and entry["prev_hash"] != self._prev_hash:
            return self._fail(
                seq, "prev_hash does not match the previous entry's hash (entry moved or replaced)"
            )
        recomputed = entry_hash(entry["prev_hash"], entry_document(entry))
        if recomputed != entry["hash"]:
            return self._fail(seq, "hash does not match the entry's contents (entry altered)")
        mac_problem = self._mac_problem(entry)
        if mac_problem:
            return self._fail(seq, mac_problem)
        result = self.result
        result.count += 1
        if result.first_seq is None:
            result.first_seq = seq
        result.last_seq = seq
        result.head_hash = entry["hash"]
        self._expected_seq = seq + 1
        self._prev_hash = entry["hash"]
        return True


def verify_entries(entries: Iterable[dict[str, Any]], **options: Any) -> VerifyResult:
    verifier = ChainVerifier(**options)
    for entry in entries:
        if not verifier.feed(entry):
            break
    return verifier.result


# --- CSV cells ------------------------------------------------------------


def csv_cell(value: Any) -> str:
    """One CSV cell, safe to open in a spreadsheet and reversible by `csv_value`.

    A cell starting with a formula trigger gets a leading apostrophe; so does
    a cell that already starts with one, which keeps the escaping reversible
    (an export must verify after the round trip).
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.startswith((*_FORMULA_TRIGGERS, _CSV_ESCAPE)):
        return _CSV_ESCAPE + text
    return text


def csv_value(cell: str) -> str:
    return cell[1:] if cell.startswith(_CSV_ESCAPE) else cell


def csv_row(document: dict[str, Any]) -> list[str]:
    """An entry (hashed fields plus hash) as CSV cells, in EXPORT_FIELDS order."""
    row = []
    for field in EXPORT_FIELDS:
        value = document.get(field)
        if field in _JSON_FIELDS and value is not None:
            value = canonical_json(value)
        row.append(csv_cell(value))
    return row


def _entry_from_csv(record: dict[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    for field in EXPORT_FIELDS:
        if field not in record:
            raise ValueError(f"CSV column {field!r} is missing")
        text = csv_value(record[field])
        if field in _INT_FIELDS:
            entry[field] = int(text) if text else None
        elif field in _JSON_FIELDS:
            entry[field] = json.loads(text) if text else None
        elif field in _NULLABLE_TEXT_FIELDS:
            entry[field] = text or None
        else:
            entry[field] = text
    return entry


# --- export files ---------------------------------------------------------


def _json_entries(path: Path) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """The header and entries of a JSON export.

    Relapp writes one entry per line, which is read line by line in constant
    memory; a file re-formatted by another tool is read whole instead.
    """
    with path.open(encoding="utf-8") as handle:
        first = handle.readline()
    if first.startswith("{") and first.rstrip().endswith('"entries":['):
        header = json.loads(first.rstrip() + "]}")

        def lines() -> Iterator[dict[str, Any]]:
            with path.open(encoding="utf-8") as handle:
                handle.readline()
                for line in handle:
                    line = line.rstrip("\n").rstrip(",")
                    if line in {"]}", ""}:
                        continue
                    if line.startswith('],"trailer":'):
                        header["trailer"] = json.loads("{" + line[2:])["trailer"]
                        return
                    yield json.loads(line)

        return header, lines()
    with path.open(encoding="utf-8") as handle:
        document = json.load(handle)
    if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
        raise ValueError("not a Relapp change-log export (no 'entries' list)")
    entries = document.pop("entries")
    return document, iter(entries)


CSV_TRAILER = "#trailer"


def csv_trailer_row(trailer: dict[str, Any]) -> list[str]:
    """The last row of a CSV export: what it holds, so a cut file is noticed."""
    return [
        CSV_TRAILER,
        *(f"{name}={'' if value is None else value}" for name, value in trailer.items()),
    ]


def _csv_trailer(record: dict[str, Any]) -> dict[str, Any]:
    cells = [record[field] for field in EXPORT_FIELDS[1:4] if record.get(field)]
    trailer: dict[str, Any] = {}
    for cell in cells:
        name, _, value = cell.partition("=")
        trailer[name] = int(value) if name in ("count", "last_seq") and value else (value or None)
    return trailer


def _csv_entries(path: Path, found: dict[str, Any]) -> Iterator[dict[str, Any]]:
    # utf-8-sig: a spreadsheet that re-saves the file may add a byte-order mark.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for record in csv.DictReader(handle):
            if record.get("seq") == CSV_TRAILER:
                found["trailer"] = _csv_trailer(record)
                return
            yield _entry_from_csv(record)


def _trailer_problem(result: VerifyResult, trailer: dict[str, Any] | None) -> str:
    """Why the trailer does not match what was read, or "" (a cut file has no trailer)."""
    if trailer is None:
        after = f"after seq {result.last_seq}" if result.last_seq else "before its first entry"
        return f"the file ends {after} without its trailer: the export was cut short"
    expected = (trailer.get("count"), trailer.get("last_seq"), trailer.get("head_hash"))
    if expected != (result.count, result.last_seq, result.head_hash):
        return (
            f"the trailer promises {trailer.get('count')} entries up to seq "
            f"{trailer.get('last_seq')}, the file holds {result.count} up to seq "
            f"{result.last_seq}: entries were cut or added"
        )
    return ""


def verify_export_file(path: str | Path, *, contiguous: bool = False) -> VerifyResult:
    """Verify an exported JSON or CSV file without any database.

    An export that starts at seq 1 is checked from the genesis hash. One that
    starts later is anchored on its own first `prev_hash`: compare the head
    hash it prints with a checkpoint (or the live chain) to know it is the
    real chain and not a re-hashed copy. Filtered exports skip entries; each
    entry's own hash is still checked, and `contiguous` refuses any gap.
    """
    path = Path(path)
    with path.open(encoding="utf-8-sig") as handle:
        start = handle.read(1)
    if start == "{":
        header, entries = _json_entries(path)
        if header.get("format") != EXPORT_FORMAT:
            raise ValueError(f"not a Relapp change-log export (format {header.get('format')!r})")
        filtered = bool(header.get("filters"))
        # Exports before version 2 had no trailer; from 2 on it is required.
        needs_trailer = isinstance(header.get("version"), int) and header["version"] >= 2
        found = header
    else:
        found = {}
        entries = _csv_entries(path, found)
        filtered = True  # a CSV file carries no header saying otherwise
        needs_trailer = True
    entries = iter(entries)
    first = next(entries, None)
    verifier = ChainVerifier(
        first_seq=first["seq"] if first else None,
        prev_hash=GENESIS_HASH if first is None or first["seq"] == 1 else first["prev_hash"],
        allow_gaps=filtered and not contiguous,
    )
    if first is not None and verifier.feed(first):
        for entry in entries:
            if not verifier.feed(entry):
                break
    result = verifier.result
    if result.ok and needs_trailer:
        problem = _trailer_problem(result, found.get("trailer"))
        if problem:
            result.broken_seq = (result.last_seq or 0) + 1
            result.problem = problem
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    contiguous = "--contiguous" in args
    if contiguous:
        args.remove("--contiguous")
    if len(args) != 1:
        print("usage: python chain.py [--contiguous] EXPORT.json|EXPORT.csv", file=sys.stderr)
        return 2
    result = verify_export_file(args[0], contiguous=contiguous)
    print(result.summary())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
