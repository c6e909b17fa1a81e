"""Reminders through a real Celery worker and beat against the real Redis.

The worker is another process: it sees committed data only (transactional
tests) and writes e-mail with the file backend into a folder the test reads.
Offsets and the beat period are shrunk to seconds.
"""

import email
import email.policy
import os
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from icalendar import Calendar

from approvals.models import ApprovalPolicy
from meetings import services
from meetings.models import Reminder
from tests.factories import build_team, release_in_review

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

ATTENDEES = {"cc", "dev", "po", "qa", "rm", "sre"}
SEPARATOR = "-" * 79


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    folder = tmp_path / "mail"
    folder.mkdir()
    return folder


@pytest.fixture
def worker_env(mail_dir):
    return {
        "RELAPP_TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "REMINDER_DISPATCH_SECONDS": "1",
    }


@pytest.fixture
def team():
    team = build_team()
    # Seconds instead of hours; no sign-off reminders, to count meeting reminders only.
    ApprovalPolicy.objects.update_or_create(
        product=team["product"],
        defaults={"reminder_offsets_seconds": [8, 4], "signoff_reminder_seconds": 0},
    )
    return team


def meeting_in(team, seconds: float, version="2.4.0"):
    release = release_in_review(team, version=version)
    return services.meeting_schedule(
        release=release,
        actor=team["rm"],
        start=timezone.now() + timedelta(seconds=seconds),
        duration_minutes=15,
    )


def messages(mail_dir: Path) -> list[email.message.Message]:
    found = []
    for path in sorted(mail_dir.glob("*.log")):
        for chunk in path.read_text().split(SEPARATOR):
            if chunk.strip():
                found.append(
                    email.message_from_string(chunk.strip() + "\n", policy=email.policy.default)
                )
    return [m for m in found if m["Subject"] and m["Subject"].startswith("Reminder: release gate")]


def wait_for(predicate, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def recipients(found) -> list[str]:
    return sorted(m["To"].split("@")[0] for m in found)


def ics_of(message) -> Calendar:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return Calendar.from_ical(part.get_payload(decode=True))
    raise AssertionError("no text/calendar part")


def test_a_meeting_soon_gets_exactly_one_mail_per_attendee_per_offset(
    start_worker, worker_env, mail_dir, team
):
    meeting = meeting_in(team, 10)
    start_worker(beat=True, env=worker_env)
    assert wait_for(lambda: len(messages(mail_dir)) >= 12, timeout=25)
    time.sleep(max(0.0, (meeting.start - timezone.now()).total_seconds()) + 2)
    found = messages(mail_dir)
    assert recipients(found) == sorted(list(ATTENDEES) * 2)
    ids = [m["Message-ID"] for m in found]
    assert len(set(ids)) == 12
    event = ics_of(found[0]).walk("VEVENT")[0]
    assert event.decoded("DTSTART") == meeting.start.replace(microsecond=0)
    sent = Reminder.objects.filter(meeting=meeting, sent_at__isnull=False)
    assert sent.count() == 12
    assert set(sent.values_list("offset_seconds", flat=True)) == {8, 4}


def test_a_worker_killed_while_dispatching_still_sends_each_reminder_once(
    start_worker, worker_env, mail_dir, team
):
    meeting = meeting_in(team, 30)
    Reminder.objects.filter(meeting=meeting).update(due_at=timezone.now())
    # Each send claims its row, then pauses 0.7 s before talking to the mail
    # server; the claim is a 3-second lease.
    leased = {**worker_env, "REMINDER_LEASE_SECONDS": "3"}
    slow = {**leased, "REMINDER_SEND_PAUSE_SECONDS": "0.7"}
    worker = start_worker(beat=True, env=slow)
    sent = Reminder.objects.filter(meeting=meeting, sent_at__isnull=False)
    in_flight = Reminder.objects.filter(
        meeting=meeting, sent_at__isnull=True, claim_token__isnull=False
    )
    assert wait_for(lambda: sent.count() >= 2, timeout=20)
    assert wait_for(in_flight.exists, timeout=5, interval=0.05)
    worker.kill()  # SIGKILL within that reminder's pause: claimed, not yet sent
    halfway = len(messages(mail_dir))
    assert halfway < 12, "the kill must land while reminders are still unsent"
    [orphan] = in_flight
    assert orphan.claimed_until > timezone.now()  # the next worker must wait the lease out
    start_worker(beat=True, env=leased)
    assert wait_for(lambda: len(messages(mail_dir)) >= 12, timeout=25)
    time.sleep(3)  # a few more beats: nothing may be sent twice
    found = messages(mail_dir)
    assert recipients(found) == sorted(list(ATTENDEES) * 2)
    assert len({m["Message-ID"] for m in found}) == 12


def test_two_workers_at_once_send_no_duplicates(start_worker, worker_env, mail_dir, team):
    meeting = meeting_in(team, 30)
    other = meeting_in(team, 30, version="2.5.0")
    for m in (meeting, other):
        Reminder.objects.filter(meeting=m).update(due_at=timezone.now())
    slow = {**worker_env, "REMINDER_SEND_PAUSE_SECONDS": "0.1"}
    # Two workers, each with its own beat: the worst case, dispatch runs twice as often.
    start_worker(beat=True, env=slow)
    start_worker(beat=True, env=slow)
    assert wait_for(lambda: len(messages(mail_dir)) >= 24, timeout=30)
    time.sleep(3)
    found = messages(mail_dir)
    assert len(found) == 24
    assert len({m["Message-ID"] for m in found}) == 24


def test_reschedule_and_cancel_through_the_worker(start_worker, worker_env, mail_dir, team):
    moved = meeting_in(team, 60)
    cancelled = meeting_in(team, 12, version="2.5.0")
    services.meeting_reschedule(
        meeting=moved,
        actor=team["rm"],
        start=timezone.now() + timedelta(seconds=10),
        duration_minutes=15,
        location="Room 2",
    )
    services.meeting_cancel(meeting=cancelled, actor=team["rm"], reason="Merged into 2.4.0")
    start_worker(beat=True, env=worker_env)
    moved.refresh_from_db()
    time.sleep(max(0.0, (moved.start - timezone.now()).total_seconds()) + 3)
    found = messages(mail_dir)
    assert recipients(found) == sorted(list(ATTENDEES) * 2)
    assert all("2.4.0" in m["Subject"] for m in found)
    sequences = {int(ics_of(m).walk("VEVENT")[0]["SEQUENCE"]) for m in found}
    assert sequences == {1}
    assert not Reminder.objects.filter(meeting=cancelled, sent_at__isnull=False).exists()


def _redis(*args: str) -> None:
    port = os.environ["RELAPP_TEST_REDIS_PORT"]
    subprocess.run(["redis-cli", "-p", port, *args], check=False, capture_output=True)


@pytest.fixture
def redis_control():
    port = os.environ["RELAPP_TEST_REDIS_PORT"]
    folder = Path(os.environ["RELAPP_TEST_STATE_DIR"]) / "redis"

    def start() -> None:
        subprocess.run(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                port,
                "--daemonize",
                "yes",
                "--save",
                "",
                "--appendonly",
                "no",
                "--pidfile",
                str(folder / "redis.pid"),
                "--logfile",
                str(folder / "redis.log"),
                "--dir",
                str(folder),
            ],
            check=True,
        )
        assert wait_for(
            lambda: (
                subprocess.run(["redis-cli", "-p", port, "ping"], capture_output=True).returncode
                == 0
            ),
            10,
        )

    def stop() -> None:
        _redis("shutdown", "nosave")
        assert wait_for(
            lambda: (
                subprocess.run(["redis-cli", "-p", port, "ping"], capture_output=True).returncode
                != 0
            ),
            10,
        )

    yield start, stop
    if subprocess.run(["redis-cli", "-p", port, "ping"], capture_output=True).returncode != 0:
        start()


def test_redis_away_while_reminders_fall_due(
    start_worker, worker_env, mail_dir, team, redis_control
):
    start_redis, stop_redis = redis_control
    start_worker(beat=True, env=worker_env)
    # Falls due and starts while Redis is down: must not be sent late.
    early = meeting_in(team, 7)
    Reminder.objects.filter(meeting=early).update(due_at=timezone.now() + timedelta(seconds=2))
    # Falls due while Redis is down, starts long after it is back: sent once.
    later = meeting_in(team, 120, version="2.5.0")
    Reminder.objects.filter(meeting=later).update(due_at=timezone.now() + timedelta(seconds=3))
    stop_redis()
    time.sleep(max(0.0, (early.start - timezone.now()).total_seconds()) + 1)
    assert messages(mail_dir) == []
    start_redis()
    assert wait_for(lambda: len(messages(mail_dir)) >= 12, timeout=40)
    time.sleep(3)
    found = messages(mail_dir)
    assert len(found) == 12
    assert all("2.5.0" in m["Subject"] for m in found)
    dropped = Reminder.objects.filter(meeting=early)
    assert set(dropped.values_list("drop_reason", flat=True)) == {"Meeting already started"}
    assert not dropped.filter(sent_at__isnull=False).exists()
