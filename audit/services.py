"""Writes of the audit app besides entries themselves (audit.changelog)."""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from audit.chain import GENESIS_HASH
from audit.changelog import changelog_record
from audit.models import Action, ChangeLogEntry


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    time: str

    def as_json(self) -> str:
        return json.dumps({"seq": self.seq, "hash": self.hash, "time": self.time})


def _append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def changelog_checkpoint_write() -> Checkpoint:
    """Write the chain head outside the database, then log that it was written.

    The head (seq and hash) is appended as one JSON line to
    CHANGELOG_CHECKPOINT_PATH and e-mailed to CHANGELOG_CHECKPOINT_EMAILS, if
    any. Kept outside the database, checkpoints expose what the chain cannot
    show by itself: a cut-off tail or a chain rewritten and re-hashed by
    someone with database access (`verify_changelog --checkpoints`). The
    CHECKPOINT_WRITTEN entry is written only after both succeeded, so a
    failure leaves no claim that a checkpoint exists.
    """
    head = ChangeLogEntry.objects.order_by("-seq").values("seq", "hash").first()
    checkpoint = Checkpoint(
        seq=head["seq"] if head else 0,
        hash=head["hash"] if head else GENESIS_HASH,
        time=timezone.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )
    path = Path(settings.CHANGELOG_CHECKPOINT_PATH)
    _append_line(path, checkpoint.as_json())
    recipients = list(settings.CHANGELOG_CHECKPOINT_EMAILS)
    if recipients:
        send_mail(
            subject=f"Relapp change-log checkpoint: seq {checkpoint.seq}",
            message=(
                "The Relapp change log's head at the time of this checkpoint:\n\n"
                f"  sequence number: {checkpoint.seq}\n"
                f"  hash:            {checkpoint.hash}\n"
                f"  written at:      {checkpoint.time} (UTC)\n\n"
                "Keep this message. Entry number "
                f"{checkpoint.seq} of the log must always carry this hash; "
                "`python manage.py verify_changelog` checks the chain up to it.\n"
            ),
            from_email=None,
            recipient_list=recipients,
        )
    with transaction.atomic():
        changelog_record(
            action=Action.CHECKPOINT_WRITTEN,
            after={
                "seq": checkpoint.seq,
                "hash": checkpoint.hash,
                "time": checkpoint.time,
                "file": str(path),
                "emailed": recipients,
            },
            reason="Change-log head written outside the database",
        )
    return checkpoint
