import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from attestations import verify_attestation as offline
from attestations.dsse import EnvelopeInvalid, envelope_verify
from audit.signing import load_public_key


class Command(BaseCommand):
    help = (
        "Verify an approval attestation (a DSSE envelope, or an evidence pack's "
        "attestations.json) with an Ed25519 public key, offline, and print what was approved, "
        "by whom, for which digest. Exit status 1 when it does not verify, was revoked, or "
        "--artifact is not one of its subjects."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        parser.add_argument("--key", required=True, help="the public key, PEM")
        parser.add_argument("--artifact", default="", help="the digest about to deploy")

    def handle(self, *args, **options) -> None:
        try:
            key = load_public_key(Path(options["key"]).read_text(encoding="ascii"))
            document = json.loads(Path(options["file"]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CommandError(f"FAILED: {error}") from None
        envelopes = offline.envelopes_in(document)
        if not envelopes:
            raise CommandError("FAILED: no attestation in the file")
        statement: dict = {}
        for envelope in envelopes:
            try:
                keyid, statement = envelope_verify(envelope, {"*": key})
            except EnvelopeInvalid as error:
                raise CommandError(f"FAILED: {error}") from None
            self.stdout.write(f"signature OK (key {keyid})")
            self.stdout.write("\n".join(offline.describe(statement)))
        try:
            self.stdout.write(offline.conclude(statement, options["artifact"] or None))
        except offline.Failed as error:
            raise CommandError(f"FAILED: {error}") from None
