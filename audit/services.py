"""Writes of the audit app besides entries themselves (audit.changelog)."""

import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from audit.changelog import changelog_record
from audit.models import Action, ChangeLogEntry
from audit.signing import changelog_signing_key, sign_document


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    time: str
    signature: str | None = None

    def as_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def _append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _mail_checkpoint(checkpoint: Checkpoint, recipients: list[str]) -> None:
    signature = checkpoint.signature or "(unsigned: no signing key configured)"
    send_mail(
        subject=f"Relapp change-log checkpoint: seq {checkpoint.seq}",
        message=(
            "The Relapp change log's head at the time of this checkpoint:\n\n"
            f"  sequence number: {checkpoint.seq}\n"
            f"  hash:            {checkpoint.hash}\n"
            f"  written at:      {checkpoint.time} (UTC)\n"
            f"  signature:       {signature}\n\n"
            "Keep this message. Entry number "
            f"{checkpoint.seq} of the log must always carry this hash; "
            "`python manage.py verify_changelog --anchors FILE` checks the chain against "
            "checkpoints. The line for that file:\n\n"
            f"{checkpoint.as_json()}\n"
        ),
        from_email=None,
        recipient_list=recipients,
    )


def changelog_checkpoint_write() -> Checkpoint:
    """Log a checkpoint, then write the head, that very entry, outside the database.

    The CHECKPOINT_WRITTEN entry is written (and committed) first, so the
    checkpoint covers the head including its own entry: nothing is ever left
    uncovered after it. Its seq and hash, with the time, signed with the
    Ed25519 key (CHANGELOG_SIGNING_KEY_FILE) when one is configured, are
    appended as one JSON line to CHANGELOG_CHECKPOINT_PATH and e-mailed to
    CHANGELOG_CHECKPOINT_EMAILS. Kept outside the database, checkpoints
    expose what the chain cannot show by itself: a cut-off tail or a chain
    rewritten and re-hashed by someone with database access
    (`verify_changelog --anchors`).
    """
    path = Path(settings.CHANGELOG_CHECKPOINT_PATH)
    recipients = list(settings.CHANGELOG_CHECKPOINT_EMAILS)
    with transaction.atomic():
        entry = changelog_record(
            action=Action.CHECKPOINT_WRITTEN,
            after={"file": str(path), "emailed": recipients, "covers": "this entry"},
            reason="Change-log head (this entry) written outside the database",
        )
    document = {
        "seq": entry.seq,
        "hash": entry.hash,
        "time": timezone.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    key = changelog_signing_key()
    checkpoint = Checkpoint(
        **document, signature=sign_document(document, key) if key is not None else None
    )
    _append_line(path, checkpoint.as_json())
    if recipients:
        _mail_checkpoint(checkpoint, recipients)
    return checkpoint


def changelog_checkpoint_is_due(*, now: datetime | None = None) -> bool:
    """CHANGELOG_CHECKPOINT_EVERY_ENTRIES new entries, or EVERY_MINUTES since the last one."""
    now = now or timezone.now()
    head = ChangeLogEntry.objects.order_by("-seq").values("seq", "created_at").first()
    if head is None:
        return False
    last = (
        ChangeLogEntry.objects.filter(action=Action.CHECKPOINT_WRITTEN)
        .order_by("-seq")
        .values("seq", "created_at")
        .first()
    )
    if last is None:
        last = {"seq": 0, "created_at": ChangeLogEntry.objects.get(seq=1).created_at}
    new_entries = head["seq"] - last["seq"]
    if new_entries >= settings.CHANGELOG_CHECKPOINT_EVERY_ENTRIES:
        return True
    minutes = timedelta(minutes=settings.CHANGELOG_CHECKPOINT_EVERY_MINUTES)
    return new_entries > 0 and now - last["created_at"] >= minutes


def changelog_checkpoint_if_due() -> Checkpoint | None:
    """Beat, every CHANGELOG_CHECKPOINT_POLL_SECONDS: a checkpoint when one is due."""
    if not changelog_checkpoint_is_due():
        return None
    return changelog_checkpoint_write()
