"""Shared fixtures: personas, a real Celery worker, real headless Chromium.

The personas and factories live in tests.factories and the helpers in
tests.helpers; the fixtures here only hand them to the tests.
"""

import contextlib
import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache

from audit.changelog import changelog_record
from audit.models import Action
from tests.factories import build_team, persona, release_in_review, user_create
from tests.helpers import ARTIFACTS, process_env, sign_in

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# --- the cache ------------------------------------------------------------


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Every test starts with an empty cache (make test gives it its own Redis database).

    DRF keeps the API's authentication-failure throttle there: one test's
    failures must not throttle the next test.
    """
    cache.clear()


# --- personas -------------------------------------------------------------


@pytest.fixture
def make_user(db) -> Callable[..., object]:
    """Make a user by username, in the given groups (the existing one if taken)."""
    return user_create


@pytest.fixture
def release_manager(db):
    return persona("rm")


@pytest.fixture
def auditor(db):
    return persona("auditor")


@pytest.fixture
def outsider(db):
    return persona("outsider")


@pytest.fixture
def team(db):
    """build_team's personas and product, by username (plus "product")."""
    return build_team()


@pytest.fixture
def release(team):
    """Payments API 2.4.0, written by dev and waiting for the Accountables' sign-offs."""
    return release_in_review(team)


# --- real Celery worker ---------------------------------------------------


class WorkerProcess:
    def __init__(self, popen: subprocess.Popen, log: Path):
        self.popen = popen
        self.log = log

    # The worker runs in its own session: with -B its beat is a child process,
    # and killing only the parent would leave an orphan beat running (and
    # holding the test run's output open) after the suite ends.

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._signal_group(signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the worker and its embedded beat at once, like a node dying."""
        self._signal_group(signal.SIGKILL)
        self.popen.wait()


@pytest.fixture
def start_worker(tmp_path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start real `celery worker` processes against the test Redis and database."""
    started: list[WorkerProcess] = []

    def start(*, beat: bool = False, env: dict[str, str] | None = None) -> WorkerProcess:
        index = len(started)
        log = tmp_path / f"worker-{index}.log"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "relapp",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
            f"--hostname=test-worker-{index}@%h",
            f"--logfile={log}",
        ]
        if beat:
            command += ["-B", f"--schedule={tmp_path / f'beat-{index}'}"]
        with open(tmp_path / f"worker-{index}.out", "wb") as output:
            popen = subprocess.Popen(  # noqa: S603
                command,
                cwd=ROOT,
                env=process_env(env),
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(popen, log)
        started.append(worker)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if log.exists() and " ready." in log.read_text():
                return worker
            if popen.poll() is not None:
                break
            time.sleep(0.1)
        worker.stop()
        text = log.read_text() if log.exists() else "(no log)"
        text += (tmp_path / f"worker-{index}.out").read_text(errors="replace")
        raise RuntimeError(f"Celery worker did not become ready:\n{text}")

    yield start
    for worker in started:
        worker.stop()


# --- real headless Chromium -----------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django refuses
    # ORM calls while one runs unless told the caller knows it is synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
    from django.db import connections

    connections.close_all()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(page) -> Callable[[str], Path]:
    def take(name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login(page) -> Callable[..., None]:
    return functools.partial(sign_in, page)


# --- change log -----------------------------------------------------------


@pytest.fixture
def changelog_auditor(auditor):
    """The auditor persona, its group holding the global change-log permission."""
    permission = Permission.objects.get(
        content_type__app_label="audit", codename="view_changelogentry"
    )
    Group.objects.get(name="Auditors").permissions.add(permission)
    return get_user_model().objects.get(pk=auditor.pk)  # no stale permission cache


@pytest.fixture
def filler_entries(db) -> Callable[..., list]:
    """Append `count` unremarkable change-log entries through the one writer."""

    def fill(count: int, **fields) -> list:
        fields.setdefault("action", Action.COMMENT_ADDED)
        return [
            changelog_record(**{"reason": f"filler {index}", **fields}) for index in range(count)
        ]

    return fill
