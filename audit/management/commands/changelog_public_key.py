from django.core.management.base import BaseCommand, CommandError

from audit.signing import changelog_signing_key, public_key_pem


class Command(BaseCommand):
    help = (
        "Print the Ed25519 public key (PEM) that verifies change-log checkpoints; give it to "
        "auditors (every evidence pack ships it)."
    )

    def handle(self, *args, **options) -> None:
        key = changelog_signing_key()
        if key is None:
            raise CommandError(
                "No signing key: set CHANGELOG_SIGNING_KEY_FILE or CHANGELOG_SIGNING_KEY."
            )
        self.stdout.write(public_key_pem(key), ending="")
