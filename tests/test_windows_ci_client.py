"""`relapp-ci report-artifacts --committed-at`: the standard-library client reports a commit
time with the commit artifacts, as a subprocess against a live server."""

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from approvals.models import Artifact
from tests.factories import build_team
from tests.helpers import new_token, release_open_now

pytestmark = pytest.mark.django_db(transaction=True)

CLIENT = Path(__file__).resolve().parent.parent / "clients" / "python"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
DIGEST = "sha256:" + "7c" * 32


def run(args, live_server, token, release) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(CLIENT),
        "RELAPP_URL": live_server.url,
        "RELAPP_TOKEN": token,
        "RELAPP_PRODUCT": release.product.slug,
        "RELAPP_VERSION": release.version,
    }
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "relapp_ci", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_client_reports_a_commit_time_with_the_commit_only(live_server):
    team = build_team()
    release = release_open_now(team, version="7.0.0", approve=False)
    token = new_token(team)
    done = run(
        [
            "report-artifacts",
            "--artifact",
            f"commit:payments-api@{COMMIT}",
            "--artifact",
            f"image:registry.example.com/payments-api@{DIGEST}",
            "--committed-at",
            "2026-11-20T08:30:00Z",
        ],
        live_server,
        token,
        release,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    commit = Artifact.objects.get(release=release, kind="commit")
    image = Artifact.objects.get(release=release, kind="image")
    assert commit.committed_at == datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    assert image.committed_at is None


def test_the_client_shows_the_refusal_of_a_future_commit_time(live_server):
    team = build_team()
    release = release_open_now(team, version="7.0.0", approve=False)
    done = run(
        [
            "report-artifacts",
            "--artifact",
            f"commit:payments-api@{COMMIT}",
            "--committed-at",
            "2999-01-01T00:00:00Z",
        ],
        live_server,
        new_token(team),
        release,
    )
    assert done.returncode != 0
    assert "future" in done.stdout + done.stderr
    assert not Artifact.objects.exists()
