from django.conf import settings
from django.core.management.base import BaseCommand

from audit.services import changelog_checkpoint_write


class Command(BaseCommand):
    help = (
        "Log a checkpoint and write the head, that entry itself (seq, hash, Ed25519 "
        "signature), to CHANGELOG_CHECKPOINT_PATH and CHANGELOG_CHECKPOINT_EMAILS, now (beat "
        "does it every CHANGELOG_CHECKPOINT_EVERY_ENTRIES entries or _MINUTES minutes)."
    )

    def handle(self, *args, **options) -> None:
        checkpoint = changelog_checkpoint_write()
        self.stdout.write(
            f"Checkpoint seq {checkpoint.seq} hash {checkpoint.hash} written to "
            f"{settings.CHANGELOG_CHECKPOINT_PATH}"
        )
