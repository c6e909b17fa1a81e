"""Scale-out proof (issue 16 item 5): two web processes and two Celery workers on one
PostgreSQL and Redis, hit at the same instants, lose and duplicate nothing.

Two gunicorn processes (2 sync workers each) serve the test database; two real
Celery workers (one also running beat, which must stay single) dispatch
reminders. Then, concurrently from threads:

- every Accountable's sign-off is posted to *both* web processes at once (a
  double click landing on two replicas): each activity gets exactly one
  signature and the release is approved once;
- 60 comments are posted, alternating between the replicas: 60 comments and
  60 change-log entries;
- the gate meeting's reminders fall due while both workers dispatch (beat, plus
  an extra dispatch task queued at each worker): each reminder is e-mailed
  exactly once.

Finally the whole change log verifies as one unbroken chain.
"""

import email
import email.policy
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from celery import current_app
from django.conf import settings
from django.db.models import Q
from django.test import Client
from django.utils import timezone

from approvals.lifecycle import Status
from approvals.models import ApprovalPolicy, Comment, SignOff
from audit.models import Action, ChangeLogEntry
from meetings import services as meeting_services
from meetings.models import Reminder
from tests.factories import ACCOUNTABLES, PASSWORD, activity, build_team, release_in_review
from tests.helpers import entries, free_port, process_env, process_stop, verify_changelog

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
SEPARATOR = "-" * 79


def start_web(port: int, log: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "relapp.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--timeout",
        "60",
        "--no-control-socket",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603
            command,
            cwd=ROOT,
            env=process_env(),
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not listen on {port}: {log.read_text()}")


def session_for(user, base: str) -> requests.Session:
    """A browser-like session for `user` on the replica at `base` (sessions live in the database)."""
    client = Client()
    client.force_login(user)
    browser = requests.Session()
    browser.cookies.set(
        settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value
    )
    browser.get(f"{base}/", timeout=20)  # sets the CSRF cookie
    return browser


def post(browser: requests.Session, base: str, path: str, data: dict) -> int:
    token = browser.cookies.get(settings.CSRF_COOKIE_NAME)
    if token is None:
        browser.get(f"{base}{path}", timeout=20)
        token = browser.cookies.get(settings.CSRF_COOKIE_NAME)
    response = browser.post(
        f"{base}{path}",
        data={**data, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}{path}"},
        allow_redirects=False,
        timeout=30,
    )
    return response.status_code


def reminder_mails(mail_dir: Path) -> list[str]:
    """The Message-ID of every reminder e-mail the workers wrote (one per message)."""
    found = []
    for path in sorted(mail_dir.glob("*.log")):
        for chunk in path.read_text().split(SEPARATOR):
            if not chunk.strip():
                continue
            message = email.message_from_string(chunk.strip() + "\n", policy=email.policy.default)
            if (message["Subject"] or "").startswith("Reminder: release gate"):
                found.append(message["Message-ID"])
    return found


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return predicate()


def test_two_web_processes_and_two_workers_lose_and_duplicate_nothing(start_worker, tmp_path):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    worker_env = {
        "RELAPP_TEST_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "REMINDER_DISPATCH_SECONDS": "1",
    }
    team = build_team()
    ApprovalPolicy.objects.update_or_create(
        product=team["product"],
        defaults={"reminder_offsets_seconds": [6, 3], "signoff_reminder_seconds": 0},
    )
    release = release_in_review(team)
    # The meeting is on another release that stays in review: reminders for a
    # release with nothing left to sign are dropped, and this one gets approved.
    meeting = meeting_services.meeting_schedule(
        release=release_in_review(team, version="2.5.0"),
        actor=team["rm"],
        start=timezone.now() + timedelta(seconds=25),
        duration_minutes=15,
    )
    planned = Reminder.objects.filter(meeting=meeting).count()
    assert planned > 0
    webs = []
    try:
        for index in range(2):
            port = free_port()
            webs.append(
                (start_web(port, tmp_path / f"web-{index}.log"), f"http://127.0.0.1:{port}")
            )
        bases = [base for _, base in webs]
        start_worker(beat=True, env=worker_env)
        start_worker(env=worker_env)
        path = release.get_absolute_url()
        failures: list[str] = []

        def sign_twice(username: str, name: str) -> None:
            """The same signature posted to both replicas at the same instant."""
            user = team[username]
            url = f"{path}signoff/{activity(release, name).pk}/"
            browsers = [session_for(user, base) for base in bases]
            gate = threading.Barrier(2)

            def one(browser, base):
                gate.wait()
                data = {"decision": "approve", "revision": 1, "comment": "", "password": PASSWORD}
                status = post(browser, base, url, data)
                if status not in (200, 302):
                    failures.append(f"{username} on {base}: {status}")

            pair = [
                threading.Thread(target=one, args=(b, base))
                for b, base in zip(browsers, bases, strict=True)
            ]
            for thread in pair:
                thread.start()
            for thread in pair:
                thread.join()

        def comment_many(offset: int) -> None:
            browsers = {base: session_for(team["dev"], base) for base in bases}
            for number in range(30):
                base = bases[(number + offset) % 2]
                status = post(
                    browsers[base], base, f"{path}comments/", {"body": f"note {offset}-{number}"}
                )
                if status != 302:
                    failures.append(f"comment {offset}-{number}: {status}")

        threads = [
            threading.Thread(target=sign_twice, args=(ACCOUNTABLES[name], name))
            for name in ACCOUNTABLES
        ]
        threads += [threading.Thread(target=comment_many, args=(offset,)) for offset in (0, 1)]
        # Each worker also gets an extra dispatch of its own while beat runs.
        for _ in range(4):
            current_app.send_task("meetings.tasks.reminders_dispatch_task")
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        assert failures == []

        rows = Reminder.objects.filter(meeting=meeting)
        handled = rows.filter(Q(sent_at__isnull=False) | Q(dropped_at__isnull=False))
        assert wait_for(lambda: handled.count() == planned, timeout=60)
        time.sleep(4)  # a few more beats and dispatches: nothing may be sent twice
        sent = rows.filter(sent_at__isnull=False)
        ids = reminder_mails(mail_dir)
        # Each message carries its reminder's id (Message-ID): a second send repeats it.
        assert len(ids) == len(set(ids)) == sent.count() >= 12
        assert set(ids) == {
            f"<reminder-{pk}@relapp.local>" for pk in sent.values_list("pk", flat=True)
        }
    finally:
        for process, _ in webs:
            process_stop(process)

    signoffs = SignOff.objects.filter(release=release)
    assert sorted(s.activity.name for s in signoffs) == sorted(ACCOUNTABLES)
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    assert len(entries(Action.RELEASE_APPROVED)) == 1
    assert len(entries(Action.SIGNOFF_RECORDED)) == len(ACCOUNTABLES)
    assert Comment.objects.filter(release=release).count() == 60
    assert len(entries(Action.COMMENT_ADDED)) == 60
    seqs = list(ChangeLogEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert f"OK: {len(seqs)} entries" in verify_changelog()
    assert os.environ.get("CELERY_TASK_ALWAYS_EAGER") in (None, "", "false")
