import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.chain import verify_export_file
from audit.verify import changelog_checkpoints_compare, changelog_verify


class Command(BaseCommand):
    help = (
        "Verify the change log's hash chain: print the entry count and head hash, or the "
        "first broken sequence number (exit status 1)."
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
            nargs="?",
            const=True,
            default=None,
            metavar="PATH",
            help=(
                "also compare the checkpoints file (default CHANGELOG_CHECKPOINT_PATH) with "
                "the chain; catches a cut-off tail or a fully re-hashed chain"
            ),
        )
        parser.add_argument(
            "--chunk-size", type=int, default=5000, help="entries fetched per round trip"
        )

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        if options["file"]:
            if options["from_seq"] or options["to_seq"] or options["checkpoints"]:
                raise CommandError("--file cannot be combined with --from, --to or --checkpoints")
            try:
                result = verify_export_file(options["file"], contiguous=options["contiguous"])
            except (OSError, ValueError, KeyError) as exc:
                raise CommandError(f"Cannot read {options['file']}: {exc}") from None
        else:
            result = changelog_verify(
                from_seq=options["from_seq"],
                to_seq=options["to_seq"],
                chunk_size=options["chunk_size"],
            )
        elapsed = time.monotonic() - started
        if not result.ok:
            raise CommandError(result.summary())
        self.stdout.write(result.summary())
        if options["verbosity"] > 1 and elapsed > 0:
            self.stdout.write(f"{result.count / elapsed:,.0f} entries/s")
        if options["checkpoints"] is not None:
            path = (
                settings.CHANGELOG_CHECKPOINT_PATH
                if options["checkpoints"] is True
                else options["checkpoints"]
            )
            try:
                read, problems = changelog_checkpoints_compare(path=path)
            except (OSError, ValueError, KeyError) as exc:
                raise CommandError(f"Cannot read checkpoints {path}: {exc}") from None
            if problems:
                raise CommandError(
                    "\n".join(
                        f"BROKEN at seq {problem.seq}: checkpoint line {problem.line}: "
                        f"{problem.problem}"
                        for problem in problems
                    )
                )
            self.stdout.write(f"OK: {read} checkpoint(s) match the chain")
