"""Overdue post-deploy checklist reminders through real Celery workers and beat.

Two workers, each with its own beat, dispatch at the same instant: each person
who ticks the checklist gets the overdue reminder exactly once.
"""

import email
import email.policy
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from approvals import services
from approvals.lifecycle import Status
from meetings.models import Reminder, ReminderKind
from tests.factories import build_team, complete_rad
from tests.helpers import approve_all

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

SEPARATOR = "-" * 79


def _overdue_mails(mail_dir: Path) -> list[email.message.Message]:
    found = []
    for path in sorted(mail_dir.glob("*.log")):
        for chunk in path.read_text().split(SEPARATOR):
            if chunk.strip():
                found.append(
                    email.message_from_string(chunk.strip() + "\n", policy=email.policy.default)
                )
    return [m for m in found if (m["Subject"] or "").startswith("Post-deploy checklist overdue")]


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def _deployed(team, version: str):
    start = timezone.now() - timedelta(hours=1)
    release = services.release_create(
        product=team["product"],
        version=version,
        title="Overdue",
        release_type="normal",
        window_start=start,
        window_end=start + timedelta(hours=4),
        actor=team["rm"],
    )
    services.rad_revise(
        release=release,
        content=complete_rad(monitoring=["Error rate", "Queue depth"]),
        actor=team["dev"],
    )
    services.release_submit(release=release, actor=team["dev"])
    approve_all(release, team)
    services.deployment_record(release=release, actor=team["rm"], status="succeeded")
    release.refresh_from_db()
    assert release.status == Status.DEPLOYED
    return release


def test_two_workers_at_the_same_instant_send_each_overdue_reminder_once(start_worker, tmp_path):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = {
        "RELAPP_TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "REMINDER_DISPATCH_SECONDS": "1",
        "REMINDER_SEND_PAUSE_SECONDS": "0.2",
    }
    team = build_team()
    overdue = _deployed(team, "4.0.0")
    done = _deployed(team, "4.0.1")
    for position in range(2):
        services.monitoring_tick(release=done, actor=team["sre"], position=position)
    # The policy's two hours have passed for both releases.
    Reminder.objects.filter(kind=ReminderKind.MONITORING).update(due_at=timezone.now())
    start_worker(beat=True, env=env)
    start_worker(beat=True, env=env)
    assert _wait_for(lambda: len(_overdue_mails(mail_dir)) >= 2, timeout=30)
    time.sleep(4)  # several more beats on both workers: nothing goes out twice
    found = _overdue_mails(mail_dir)
    assert sorted(m["To"] for m in found) == ["dev@example.test", "sre@example.test"]
    assert {m["Subject"] for m in found} == {f"Post-deploy checklist overdue for {overdue}"}
    assert len({m["Message-ID"] for m in found}) == 2
    rows = Reminder.objects.filter(kind=ReminderKind.MONITORING)
    assert rows.filter(release=overdue, sent_at__isnull=False).count() == 2
    assert rows.filter(release=done, dropped_at__isnull=False).count() == 2
    assert not rows.filter(release=done, sent_at__isnull=False).exists()
