"""The shell pipeline in docs/pipeline.md, run as written against a live server."""

import os
import queue
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

from approvals import services
from approvals.lifecycle import Status
from approvals.models import ApprovalPolicy, Deployment, GateCheck
from audit.models import Action, ChangeLogEntry
from tests.factories import build_team
from tests.helpers import approve_all, new_token, release_open_now

pytestmark = pytest.mark.django_db(transaction=True)

DIGEST = "sha256:" + "5e" * 32
DOC = Path(__file__).resolve().parent.parent / "docs" / "pipeline.md"


def pipeline_script() -> str:
    [script] = re.findall(r"```bash\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    return script


class Pipeline:
    """The script in a subprocess, its output read line by line as it comes."""

    def __init__(self, tmp_path: Path, env: dict[str, str]):
        script = tmp_path / "pipeline.sh"
        script.write_text(pipeline_script())
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.popen = subprocess.Popen(  # noqa: S603
            ["bash", str(script)],
            cwd=tmp_path,
            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for_line(self, start: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.popen.poll() is not None and self.lines.empty():
                    break
                continue
            self.output.append(line)
            if line.startswith(start):
                return line
        raise AssertionError(f"No line starting {start!r} in:\n" + "\n".join(self.output))

    def finish(self, timeout: float = 60) -> int:
        code = self.popen.wait(timeout=timeout)
        self.reader.join(timeout=10)  # the pipe is closed: the reader ends
        while not self.lines.empty():
            self.output.append(self.lines.get())
        return code


@pytest.fixture
def team():
    team = build_team()
    ApprovalPolicy.objects.create(
        product=team["product"], required_checks=["unit-tests", "security-scan", "performance"]
    )
    return team


def env_for(live_server, token, **extra) -> dict[str, str]:
    return {
        "RELAPP_URL": live_server.url,
        "RELAPP_TOKEN": token,
        "PRODUCT": "payments-api",
        "VERSION": "3.0.0",
        "POLL_SECONDS": "1",
        "MAX_WAIT_SECONDS": "120",
        "CI_PIPELINE_ID": "4711",
        **extra,
    }


def test_the_documented_pipeline_reports_waits_deploys_and_records(live_server, team, tmp_path):
    release = release_open_now(team, version="3.0.0", approve=False)
    token = new_token(team)
    marker = tmp_path / "deployed.txt"
    pipeline = Pipeline(
        tmp_path,
        env_for(
            live_server,
            token,
            DEPLOY_COMMAND=f"echo 3.0.0 > {marker}",
            ARTIFACT_NAME="registry.example.test/payments-api",
            ARTIFACT_DIGEST=DIGEST,
        ),
    )
    # The artifact and the checks arrive, the release is not approved yet: the script waits.
    pipeline.wait_for_line(f"Reported artifact registry.example.test/payments-api@{DIGEST}")
    not_yet = pipeline.wait_for_line("Not yet:")
    assert "not approved" in not_yet
    assert list(release.artifacts.values_list("digest", flat=True)) == [DIGEST]
    assert sorted(GateCheck.objects.values_list("name", "status")) == [
        ("performance", "pass"),
        ("security-scan", "pass"),
        ("unit-tests", "pass"),
    ]
    assert not marker.exists()
    # The Accountables sign; the next deploy-check lets the pipeline through.
    approve_all(release, team)
    pipeline.wait_for_line("Relapp allows payments-api 3.0.0 to deploy now.")
    assert pipeline.finish() == 0, "\n".join(pipeline.output)
    assert marker.read_text() == "3.0.0\n"
    release.refresh_from_db()
    assert release.status == Status.DEPLOYED
    assert list(Deployment.objects.order_by("id").values_list("status", "details")) == [
        ("started", "Pipeline 4711"),
        ("succeeded", "Pipeline 4711 deployed 3.0.0"),
    ]
    written = ChangeLogEntry.objects.filter(
        action__in=[Action.GATE_CHECK_REPORTED, Action.DEPLOYMENT_RECORDED, Action.RELEASE_DEPLOYED]
    )
    assert {e.actor_name for e in written} == {"service:ci-payments"}
    assert written.count() == 5


def test_a_failed_deploy_is_recorded_and_fails_the_pipeline(live_server, team, tmp_path):
    release = release_open_now(team, version="3.0.0", approve=False)
    token = new_token(team)
    pipeline = Pipeline(tmp_path, env_for(live_server, token, DEPLOY_COMMAND="exit 3"))
    pipeline.wait_for_line("Not yet:")
    approve_all(release, team)
    assert pipeline.finish() == 1
    assert "Recorded deployment failed" in pipeline.output
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    assert list(Deployment.objects.order_by("id").values_list("status", flat=True)) == [
        "started",
        "failed",
    ]


def test_a_wrong_token_stops_the_pipeline_at_once(live_server, team, tmp_path):
    release_open_now(team, version="3.0.0", approve=False)
    pipeline = Pipeline(tmp_path, env_for(live_server, "relapp_00000000_" + "x" * 43))
    assert pipeline.finish() == 1
    assert any("HTTP 401" in line and "invalid_token" in line for line in pipeline.output)
    assert not GateCheck.objects.exists()


def test_a_build_that_was_not_approved_does_not_get_through(live_server, team, tmp_path):
    release = release_open_now(team, version="3.0.0", approve=False)
    services.artifacts_report(
        release=release,
        actor=team["rm"],
        artifacts=[
            {"name": "registry.example.test/payments-api", "kind": "image", "digest": DIGEST}
        ],
    )
    for check in ("unit-tests", "security-scan", "performance"):
        services.gate_check_report(release=release, actor=team["rm"], name=check, status="pass")
    approve_all(release, team)
    other = "sha256:" + "77" * 32
    pipeline = Pipeline(
        tmp_path,
        env_for(
            live_server,
            new_token(team),
            DEPLOY_COMMAND="echo deployed",
            ARTIFACT_NAME="registry.example.test/payments-api",
            ARTIFACT_DIGEST=other,
        ),
    )
    assert pipeline.finish() == 1
    assert any("Relapp refused the artifact (HTTP 409)" in line for line in pipeline.output)
    assert not Deployment.objects.exists()
    assert list(release.artifacts.values_list("digest", flat=True)) == [DIGEST]
