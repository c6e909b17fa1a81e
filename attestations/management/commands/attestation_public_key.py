from django.core.management.base import BaseCommand, CommandError

from attestations.dsse import attestation_signing_key


class Command(BaseCommand):
    help = (
        "Print the Ed25519 public key (PEM) of the configured attestation key, for "
        "`verify_attestation --key`; every key that ever signed, with its validity period, is "
        "at /.well-known/relapp/attestation-keys.json."
    )

    def handle(self, *args, **options) -> None:
        key = attestation_signing_key()
        if key is None:
            raise CommandError(
                "No attestation key: set ATTESTATION_SIGNING_KEY_FILE or ATTESTATION_SIGNING_KEY."
            )
        self.stderr.write(f"key id {key.keyid}")
        self.stdout.write(key.public_pem, ending="")
