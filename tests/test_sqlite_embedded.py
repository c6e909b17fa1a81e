"""The embedded SQLite default under concurrent writers (web server, worker, beat).

These tests run Django in subprocesses on the real settings against a SQLite
file in a temporary folder, the way `make run` does; the suite's own database
stays PostgreSQL.
"""

import json
import os
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

WRITERS = 6
WRITES_EACH = 30

# Each writer reads, pauses, then writes inside one transaction, as a view or a
# task does. With SQLite's default DEFERRED transactions the read takes only a
# shared lock, and upgrading it to a write while another process writes fails
# at once with "database is locked" (the busy timeout does not apply).
WRITER = """
import json, os, sys, time
import django

django.setup()
from django.contrib.auth.models import Group
from django.db import OperationalError, connection, transaction

name, count, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
connection.ensure_connection()
open(os.path.join(folder, "ready-" + name), "w").close()
while not os.path.exists(os.path.join(folder, "go")):
    time.sleep(0.01)
done, errors = 0, []
for i in range(count):
    try:
        with transaction.atomic():
            seen = Group.objects.count()
            time.sleep(0.005)
            Group.objects.create(name=f"{name}-{i}-{seen}")
        done += 1
    except OperationalError as exc:
        errors.append(str(exc))
print(json.dumps({"done": done, "errors": errors}))
"""

PROBE = """
import json
from django.db import connection

with connection.cursor() as cursor:
    pragmas = {
        name: cursor.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "synchronous", "busy_timeout")
    }
print(json.dumps({"transaction_mode": connection.transaction_mode, **pragmas}))
"""


@pytest.fixture
def sqlite_env(tmp_path) -> dict[str, str]:
    """A migrated SQLite database on the real settings, as `make run` has it."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "SECRET_KEY", "DATABASE_URL", "CELERY_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "relapp.settings",
            "DEBUG": "true",
            "RELAPP_VAR_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'relapp.sqlite3'}",
        }
    )
    migrate = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr
    return env


def _start_writers(env: dict[str, str], folder: Path) -> list[subprocess.Popen]:
    writers = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", WRITER, f"w{n}", str(WRITES_EACH), str(folder)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(WRITERS)
    ]
    deadline = time.monotonic() + 60
    while len(list(folder.glob("ready-*"))) < WRITERS:
        if time.monotonic() > deadline or any(w.poll() is not None for w in writers):
            for writer in writers:
                writer.kill()
            pytest.fail("the writers did not all start: " + writers[0].communicate()[1])
        time.sleep(0.05)
    (folder / "go").touch()  # all connected: release them together
    return writers


def test_concurrent_writers_never_see_database_is_locked(sqlite_env, tmp_path):
    writers = _start_writers(sqlite_env, tmp_path)
    results = []
    for writer in writers:
        stdout, stderr = writer.communicate(timeout=60)
        assert writer.returncode == 0, stderr
        results.append(json.loads(stdout.strip().splitlines()[-1]))

    errors = [error for result in results for error in result["errors"]]
    assert errors == []
    assert [result["done"] for result in results] == [WRITES_EACH] * WRITERS
    with closing(sqlite3.connect(tmp_path / "relapp.sqlite3")) as db:
        rows = db.execute("SELECT count(*) FROM auth_group WHERE name LIKE 'w_-%'").fetchone()[0]
    assert rows == WRITERS * WRITES_EACH


def test_the_sqlite_file_uses_wal_and_connections_wait_for_the_write_lock(sqlite_env, tmp_path):
    probe = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        cwd=ROOT,
        env=sqlite_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout.strip().splitlines()[-1]) == {
        "transaction_mode": "IMMEDIATE",
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL: safe with WAL, without an fsync per commit
        "busy_timeout": 20000,
    }
    # WAL is a property of the file: a plain connection sees it too.
    with closing(sqlite3.connect(tmp_path / "relapp.sqlite3")) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
