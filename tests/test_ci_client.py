"""The CI steps: the standard-library client (clients/python) and the GitHub Action's steps
(action.yml), run as subprocesses against a live server."""

import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from approvals.lifecycle import Status
from approvals.models import Artifact, Deployment, GateCheck
from tests.factories import build_team
from tests.helpers import approve_all, new_token, release_open_now

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "clients" / "python"
DIGEST = "sha256:" + "7c" * 32
IMAGE = f"image:registry.example.com/payments-api@{DIGEST}"


class Run:
    """`python -m relapp_ci …` in a subprocess, its output read line by line as it comes."""

    def __init__(self, args, env, *, command=None):
        self.popen = subprocess.Popen(  # noqa: S603
            command or [sys.executable, "-m", "relapp_ci", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for_line(self, start: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.output.append(line)
            if line.startswith(start):
                return line
        raise AssertionError(f"No line starting {start!r} in {self.output}")

    def finish(self, timeout: float = 60) -> int:
        code = self.popen.wait(timeout=timeout)
        time.sleep(0.1)
        while not self.lines.empty():
            self.output.append(self.lines.get())
        return code


def client_env(live_server, token, release, **extra) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(CLIENT),  # the package as shipped; no Django, no Relapp on the path
        "RELAPP_URL": live_server.url,
        "RELAPP_TOKEN": token,
        "RELAPP_PRODUCT": release.product.slug,
        "RELAPP_VERSION": release.version,
        **extra,
    }


def run(args, env) -> tuple[int, str]:
    process = Run(args, env)
    code = process.finish()
    return code, "\n".join(process.output)


def test_the_client_reports_waits_for_the_last_signature_and_records(live_server):
    team = build_team()
    release = release_open_now(team, version="7.0.0", approve=False)
    env = client_env(live_server, new_token(team), release)

    code, out = run(["report-artifacts", "--artifact", IMAGE], env)
    assert code == 0, out
    assert f"Reported artifact registry.example.com/payments-api@{DIGEST}" in out
    assert Artifact.objects.filter(release=release, digest=DIGEST).exists()

    code, out = run(
        ["report-check", "--name", "unit-tests", "--status", "pass", "--details", "1204 passed"],
        env,
    )
    assert (code, out) == (0, "Reported unit-tests: pass")
    assert GateCheck.objects.get(release=release, name="unit-tests").status == "pass"

    waiting = Run(
        [
            "wait",
            "--artifact",
            DIGEST,
            "--interval",
            "0.2",
            "--max-interval",
            "0.5",
            "--timeout",
            "120",
        ],
        env,
    )
    waiting.wait_for_line("Not yet: payments-api 7.0.0 may not deploy")
    reason = waiting.wait_for_line("  - ")
    assert "approved" in reason.lower()
    assert waiting.popen.poll() is None  # still waiting
    approve_all(release, team)  # the last signature lands while the client polls
    waiting.wait_for_line("Relapp allows payments-api 7.0.0 to deploy now.")
    assert waiting.finish() == 0

    code, out = run(["record-deployment", "--status", "succeeded", "--details", "job 42"], env)
    assert (code, out) == (0, "Recorded deployment succeeded")
    release.refresh_from_db()
    assert release.status == Status.DEPLOYED
    deployment = Deployment.objects.get(release=release)
    assert (deployment.details, deployment.unauthorized) == ("job 42", False)


def test_wait_gives_up_at_its_timeout_with_the_reasons(live_server):
    team = build_team()
    release = release_open_now(team, version="7.1.0", approve=False)
    env = client_env(live_server, new_token(team), release)
    started = time.monotonic()
    code, out = run(["wait", "--interval", "0.2", "--timeout", "1"], env)
    assert code == 1
    assert time.monotonic() - started < 20
    assert "Not yet: payments-api 7.1.0 may not deploy:" in out
    assert out.count("Not yet") == 1  # the same reasons are printed once, not every poll
    assert "relapp-ci: Gave up after 1s" in out


def test_the_client_explains_refusals_and_fails(live_server):
    team = build_team()
    release = release_open_now(team, version="7.2.0", approve=True)
    env = client_env(live_server, new_token(team), release)
    code, out = run(["report-artifacts", "--artifact", IMAGE], env)
    assert code == 1 and "HTTP 409" in out  # artifacts are frozen once approved
    code, out = run(
        ["record-deployment", "--status", "started"], {**env, "RELAPP_TOKEN": "relapp_bad"}
    )
    assert code == 1 and "HTTP 401" in out
    code, out = run(["wait"], {**env, "RELAPP_VERSION": "9.9.9"})
    assert code == 1 and "HTTP 404" in out
    code, out = run(["report-artifacts", "--artifact", "not-an-artifact"], env)
    assert code == 2 and "KIND:NAME@DIGEST" in out
    code, out = run(["wait"], {**env, "RELAPP_URL": "http://127.0.0.1:9"})
    assert code == 1 and "could not be reached" in out
    assert not Deployment.objects.exists()


# --- the GitHub Action -----------------------------------------------------------------


def _expand(text: str, inputs: dict[str, str]) -> str:
    """GitHub's `${{ inputs.x }}` expressions, as the runner substitutes them."""
    return re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs.get(m.group(1), ""), text)


class Action:
    """action.yml's composite steps, run with bash as a runner would, in a fresh virtualenv."""

    def __init__(self, tmp_path: Path):
        self.spec = yaml.safe_load((ROOT / "action.yml").read_text())
        assert self.spec["runs"]["using"] == "composite"
        venv = tmp_path / "runner"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # noqa: S603
        self.path = f"{venv / 'bin'}:{os.environ['PATH']}"
        self.home = tmp_path
        self.installed = False

    def defaults(self) -> dict[str, str]:
        return {name: str(spec.get("default", "")) for name, spec in self.spec["inputs"].items()}

    def run(self, **given: str) -> tuple[int, str]:
        inputs = {**self.defaults(), **given}
        missing = [n for n, s in self.spec["inputs"].items() if s.get("required") and not inputs[n]]
        assert not missing, missing
        output = []
        for step in self.spec["runs"]["steps"]:
            if step["name"] == "Install the Relapp client" and self.installed:
                continue
            env = {
                "PATH": self.path,
                "HOME": str(self.home),
                "GITHUB_ACTION_PATH": str(ROOT),
                **{k: _expand(str(v), inputs) for k, v in step.get("env", {}).items()},
            }
            done = subprocess.run(  # noqa: S603
                ["bash", "-c", _expand(step["run"], inputs)],
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            output.append(done.stdout + done.stderr)
            if done.returncode != 0:
                return done.returncode, "".join(output)
            if step["name"] == "Install the Relapp client":
                self.installed = True
        return 0, "".join(output)


def test_the_github_action_steps_run_the_pipeline(live_server, tmp_path):
    team = build_team()
    release = release_open_now(team, version="8.0.0", approve=False)
    action = Action(tmp_path)
    common = {
        "url": live_server.url,
        "token": new_token(team),
        "product": "payments-api",
        "version": "8.0.0",
    }
    code, out = action.run(command="report-artifacts", artifacts=f"{IMAGE}\n", **common)
    assert code == 0, out
    assert Artifact.objects.filter(release=release, digest=DIGEST).exists()

    code, out = action.run(command="wait", artifact=DIGEST, timeout="1", interval="0.2", **common)
    assert code == 1 and "Gave up" in out and "Not yet" in out

    approve_all(release, team)
    code, out = action.run(command="wait", artifact=DIGEST, timeout="60", **common)
    assert code == 0 and "Relapp allows payments-api 8.0.0 to deploy now." in out, out

    code, out = action.run(command="record-deployment", status="succeeded", **common)
    assert code == 0 and "Recorded deployment succeeded" in out, out
    release.refresh_from_db()
    assert release.status == Status.DEPLOYED

    code, out = action.run(command="approve", **common)
    assert code == 2 and "Unknown command 'approve'" in out


def test_the_gitlab_template_defines_the_four_steps():
    template = yaml.safe_load((ROOT / "ci" / "relapp.gitlab-ci.yml").read_text())
    for job, command in {
        ".relapp-report-check": "report-check",
        ".relapp-report-artifacts": "report-artifacts",
        ".relapp-wait": "wait",
        ".relapp-record-deployment": "record-deployment",
    }.items():
        assert template[job]["extends"] == ".relapp"
        assert template[job]["script"][0].startswith(f"relapp-ci {command} ")
    assert "pip install" in template[".relapp"]["before_script"][0]
