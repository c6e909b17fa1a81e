"""Benchmark: how long the dispatcher takes to send 10,000 due reminders.

Not a test. Run it against a throwaway PostgreSQL (scripts/bench.sh starts one):

    scripts/bench.sh bench/reminders.py --reminders 10000

It creates a release with a gate meeting, plans N reminder rows (one per
attendee; attendees are created as needed) all due now, then runs
`meetings.services.reminders_dispatch` with Django's console e-mail backend
(output discarded) and reports the wall time, reminders per second, and the
database state afterwards (every row sent exactly once).
"""

import argparse
import io
import os
import sys
import time
from contextlib import redirect_stdout
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relapp.settings_test")
os.environ["RELAPP_TEST_EMAIL_BACKEND"] = "django.core.mail.backends.console.EmailBackend"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from meetings.models import Reminder, ReminderKind
    from meetings.services import meeting_schedule, reminders_dispatch
    from tests.factories import build_team, release_in_review

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    team = build_team()
    release = release_in_review(team)
    meeting = meeting_schedule(
        release=release, actor=team["rm"], start=timezone.now() + timedelta(hours=3)
    )
    Reminder.objects.all().delete()
    users = get_user_model()
    people = [
        users(username=f"bench{n}", email=f"bench{n}@example.test", first_name="Bench")
        for n in range(args.reminders)
    ]
    users.objects.bulk_create(people, batch_size=2000)
    people = list(users.objects.filter(username__startswith="bench"))
    now = timezone.now()
    Reminder.objects.bulk_create(
        [
            Reminder(
                kind=ReminderKind.MEETING,
                release=release,
                meeting=meeting,
                user=person,
                offset_seconds=3600,
                due_at=now,
            )
            for person in people
        ],
        batch_size=2000,
    )
    sink = io.StringIO()
    started = time.perf_counter()
    with redirect_stdout(sink):
        counts = reminders_dispatch(limit=args.reminders)
    elapsed = time.perf_counter() - started
    sent = Reminder.objects.filter(sent_at__isnull=False).count()
    print(f"reminders planned: {args.reminders}")
    print(f"dispatch result:   {counts}")
    print(f"rows sent:         {sent}")
    print(f"wall time:         {elapsed:.1f} s")
    print(f"throughput:        {args.reminders / elapsed:,.0f} reminders/s")
    print(f"console output:    {len(sink.getvalue()) / 1e6:.1f} MB discarded")


if __name__ == "__main__":
    main()
