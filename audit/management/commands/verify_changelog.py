import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.chain import verify_export_file
from audit.signing import changelog_signing_key, load_public_key
from audit.verify import (
    changelog_checkpoints_compare,
    changelog_stream_compare,
    changelog_verify,
    changelog_verify_since_checkpoint,
)


class Command(BaseCommand):
    help = (
        "Verify the change log's hash chain and MACs, and compare it with checkpoints "
        "(--anchors) and the streamed copy (--stream): print the entry count and head hash, "
        "or the first broken sequence number of each check (exit status 1)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="from_seq", type=int, help="first seq to check")
        parser.add_argument("--to", dest="to_seq", type=int, help="last seq to check")
        parser.add_argument(
            "--file",
            help="verify an exported JSON or CSV file instead of the database (offline)",
        )
        parser.add_argument(
            "--contiguous",
            action="store_true",
            help="with --file: fail on any missing sequence number, even in a filtered export",
        )
        parser.add_argument(
            "--checkpoints",
            "--anchors",
            dest="checkpoints",
            nargs="?",
            const=True,
            default=None,
            metavar="PATH",
            help=(
                "also compare the checkpoints file (default CHANGELOG_CHECKPOINT_PATH) with "
                "the chain, checking signatures; catches a cut-off tail or a re-hashed chain"
            ),
        )
        parser.add_argument(
            "--since-checkpoint",
            dest="since_checkpoint",
            nargs="?",
            const=True,
            default=None,
            metavar="PATH",
            help=(
                "incremental: check the latest signed checkpoint in PATH (default "
                "CHANGELOG_CHECKPOINT_PATH) against the stored chain, then verify only the "
                "entries from it on; the full walk (the default) still catches an entry "
                "altered before it"
            ),
        )
        parser.add_argument(
            "--public-key",
            metavar="PEM",
            help="Ed25519 public key for checkpoint signatures (default: the configured key's)",
        )
        parser.add_argument(
            "--stream",
            metavar="PATH",
            help="also compare the streamed copy (JSON lines of exported entries) entry by entry",
        )
        parser.add_argument(
            "--no-mac", action="store_true", help="do not check MACs even when keys are set"
        )
        parser.add_argument(
            "--chunk-size", type=int, default=5000, help="entries fetched per round trip"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="processes sharing a long range (default: one per CPU; 1: a single pass)",
        )

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        if options["file"]:
            if (
                options["from_seq"]
                or options["to_seq"]
                or options["checkpoints"]
                or options["since_checkpoint"]
            ):
                raise CommandError(
                    "--file cannot be combined with --from, --to, --checkpoints or "
                    "--since-checkpoint"
                )
            try:
                result = verify_export_file(options["file"], contiguous=options["contiguous"])
            except (OSError, ValueError, KeyError) as exc:
                raise CommandError(f"Cannot read {options['file']}: {exc}") from None
        elif options["since_checkpoint"] is not None:
            if options["from_seq"] or options["to_seq"]:
                raise CommandError("--since-checkpoint cannot be combined with --from or --to")
            result = self._since_checkpoint(options)
        else:
            result = changelog_verify(
                from_seq=options["from_seq"],
                to_seq=options["to_seq"],
                chunk_size=options["chunk_size"],
                mac=not options["no_mac"],
                workers=options["workers"],
            )
        elapsed = time.monotonic() - started
        failures = [] if result.ok else [result.summary()]
        if result.ok:
            self.stdout.write(result.summary())
        if options["verbosity"] > 1 and elapsed > 0:
            self.stdout.write(f"{result.count / elapsed:,.0f} entries/s")
        if options["checkpoints"] is not None:
            failures += self._anchors(options)
        if options["stream"]:
            failures += self._stream(options)
        if failures:
            raise CommandError("\n".join(failures))

    def _public_key(self, options):
        if options["public_key"]:
            return load_public_key(Path(options["public_key"]).read_text())
        private_key = changelog_signing_key()
        return private_key.public_key() if private_key is not None else None

    def _since_checkpoint(self, options):
        path = options["since_checkpoint"]
        if path is True:
            path = settings.CHANGELOG_CHECKPOINT_PATH
        try:
            public_key = self._public_key(options)
            if public_key is None:
                raise CommandError(
                    "--since-checkpoint trusts only signed checkpoints: configure "
                    "CHANGELOG_SIGNING_KEY(_FILE) or pass --public-key"
                )
            start, result = changelog_verify_since_checkpoint(
                path=path,
                public_key=public_key,
                chunk_size=options["chunk_size"],
                mac=not options["no_mac"],
                workers=options["workers"],
            )
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read checkpoints {path}: {exc}") from None
        if start is None and result.ok:
            self.stdout.write(f"No checkpoint in {path}: verified the whole chain")
        elif result.ok:
            self.stdout.write(
                f"Checkpoint seq {start.seq} (line {start.line} of {path}, signed) matches "
                "the chain; verified from it on"
            )
        return result

    def _anchors(self, options) -> list[str]:
        path = options["checkpoints"]
        if path is True:
            path = settings.CHANGELOG_CHECKPOINT_PATH
        try:
            public_key = self._public_key(options)
            read, problems = changelog_checkpoints_compare(path=path, public_key=public_key)
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"Cannot read checkpoints {path}: {exc}") from None
        if problems:
            return [
                f"BROKEN at seq {problem.seq}: checkpoint line {problem.line}: {problem.problem}"
                for problem in problems
            ]
        signed = "signed, " if public_key is not None else "signatures not checked, "
        self.stdout.write(f"OK: {read} checkpoint(s) match the chain ({signed}{path})")
        return []

    def _stream(self, options) -> list[str]:
        try:
            result = changelog_stream_compare(
                path=options["stream"], chunk_size=options["chunk_size"]
            )
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"Cannot read stream {options['stream']}: {exc}") from None
        if not result.ok:
            return [f"BROKEN at seq {result.seq}: stream line {result.line}: {result.problem}"]
        self.stdout.write(f"OK: {result.count} entries match the stream {options['stream']}")
        return []
