"""Streamed CSV and JSON exports of the change log, verifiable offline.

Both formats carry every hashed field plus `hash`, in ascending seq order, so
`manage.py verify_changelog --file EXPORT` (or `python audit/chain.py
EXPORT`, with no Relapp at all) recomputes every hash:

- JSON is the reference format: one object per line inside
  `{"format": ..., "filters": ..., "head_seq": ..., "entries": [...],
  "trailer": {"count": ..., "last_seq": ..., "head_hash": ...}}`, each
  entry with exactly the values that were hashed. The header says whether a
  filter was applied, so a gap in an unfiltered export fails verification.
- CSV is for spreadsheets and verifies too: a cell that starts with `=`,
  `+`, `-`, `@`, a tab or a carriage return is prefixed with `'` so no
  spreadsheet runs it as a formula, and a cell that already starts with `'`
  gets one more, which makes the escaping reversible; before/after are
  canonical JSON. A CSV has no header to say it was filtered, so gaps are
  reported rather than refused unless `--contiguous` is given. Its last row
  is the trailer: `#trailer,count=N,last_seq=S,head_hash=H`.

The trailer comes after the last entry, so a download cut short (a worker
timeout, a dropped connection) has none, and verification names the cut.

Rows are read in keyset batches (`seq > last ORDER BY seq LIMIT n`), each a
short query on the primary key: memory stays constant, no transaction or
server-side cursor is held open while a slow client downloads, and the export
stops at the chain head as it was when the export began.
"""

import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from audit.chain import EXPORT_FIELDS, EXPORT_FORMAT, csv_row, csv_trailer_row, entry_document
from audit.models import ChangeLogEntry

BATCH_SIZE = 2000


def export_documents(
    entries: QuerySet[ChangeLogEntry], *, batch_size: int = BATCH_SIZE, head_seq: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Batches of entries as export documents (hashed fields plus hash)."""
    if head_seq is None:
        head_seq = changelog_head_seq()
    last = 0
    while last < head_seq:
        rows = list(
            entries.filter(seq__gt=last, seq__lte=head_seq)
            .order_by("seq")
            .values_list(*EXPORT_FIELDS)[:batch_size]
        )
        if not rows:
            return
        batch = []
        for row in rows:
            values = dict(zip(EXPORT_FIELDS, row, strict=True))
            document = entry_document(values)
            document["hash"] = values["hash"]
            batch.append(document)
        yield batch
        last = rows[-1][0]


def changelog_head_seq() -> int:
    head = ChangeLogEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
    return head or 0


class _Tally:
    """What an export wrote so far, for its trailer."""

    def __init__(self) -> None:
        self.count, self.last_seq, self.head_hash = 0, None, None

    def add(self, batch: list[dict[str, Any]]) -> None:
        self.count += len(batch)
        self.last_seq, self.head_hash = batch[-1]["seq"], batch[-1]["hash"]

    def trailer(self) -> dict[str, Any]:
        return {"count": self.count, "last_seq": self.last_seq, "head_hash": self.head_hash}


def export_csv(
    entries: QuerySet[ChangeLogEntry],
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], object] | None = None,
) -> Iterator[str]:
    """The CSV text in chunks of one batch each, header row first, trailer row last.

    The trailer row (`#trailer`, then `count=`, `last_seq=`, `head_hash=`) is
    written only after the last entry: a file cut short has none, and
    verification says so.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_FIELDS)
    yield buffer.getvalue()
    tally = _Tally()
    for batch in export_documents(entries, batch_size=batch_size):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(csv_row(document) for document in batch)
        tally.add(batch)
        if progress is not None:
            progress(tally.count)
        yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    writer.writerow(csv_trailer_row(tally.trailer()))
    yield buffer.getvalue()


def export_json(
    entries: QuerySet[ChangeLogEntry],
    *,
    filters: dict[str, str],
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], object] | None = None,
) -> Iterator[str]:
    """The JSON text: a one-line header, then one entry per line."""
    head_seq = changelog_head_seq()
    header = {
        "format": EXPORT_FORMAT,
        "version": 2,  # 2: ends with a trailer (count, last seq, head hash)
        "exported_at": timezone.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "head_seq": head_seq,
        "filters": filters,
        "verify": "python manage.py verify_changelog --file THIS_FILE",
    }
    opening = json.dumps(header, ensure_ascii=False, separators=(",", ":"))
    yield opening[:-1] + ',"entries":[\n'
    separator = ""
    tally = _Tally()
    for batch in export_documents(entries, batch_size=batch_size, head_seq=head_seq):
        lines = [
            json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            for document in batch
        ]
        tally.add(batch)
        if progress is not None:
            progress(tally.count)
        yield separator + ",\n".join(lines)
        separator = ",\n"
    trailer = json.dumps(tally.trailer(), separators=(",", ":"))
    yield f'\n],"trailer":{trailer}}}\n'
