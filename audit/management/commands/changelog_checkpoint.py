from django.conf import settings
from django.core.management.base import BaseCommand

from audit.services import changelog_checkpoint_write


class Command(BaseCommand):
    help = (
        "Write the change log's head (seq and hash) to CHANGELOG_CHECKPOINT_PATH and e-mail "
        "it to CHANGELOG_CHECKPOINT_EMAILS, now (beat does it nightly)."
    )

    def handle(self, *args, **options) -> None:
        checkpoint = changelog_checkpoint_write()
        self.stdout.write(
            f"Checkpoint seq {checkpoint.seq} hash {checkpoint.hash} written to "
            f"{settings.CHANGELOG_CHECKPOINT_PATH}"
        )
