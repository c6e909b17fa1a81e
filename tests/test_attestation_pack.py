"""The evidence pack carries the approval attestation, its keys and the offline verifier;
the README's commands, run as written, verify the demo's approved release."""

import io
import json
import os
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from approvals import services
from approvals.models import Release
from attestations.models import Attestation
from tests.helpers import attestation_key_pem

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings):
    """The demo data, seeded while an attestation key is configured."""
    settings.ATTESTATION_SIGNING_KEY = attestation_key_pem()
    settings.ATTESTATION_SIGNING_KEY_FILE = ""
    settings.ATTESTATION_KEY_ID = "demo-2026"
    call_command("seed_demo", stdout=io.StringIO())
    return Release.objects.get(product__slug="payments-api", version="2.3.1")


def pack_folder(client, release, tmp_path) -> Path:
    client.force_login(get_user_model().objects.get(username="auditor"))
    url = reverse("evidence:evidence_pack", args=[release.product.slug, release.version])
    response = client.get(url)
    assert response.status_code == 200
    zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).extractall(tmp_path)
    (folder,) = tmp_path.iterdir()
    return folder


def readme_commands(readme: str) -> list[list[str]]:
    """The verify_attestation.py command lines of the README, as written."""
    return [
        shlex.split(match)
        for match in re.findall(r"^\s+(python3 verify_attestation\.py [^\n]+)$", readme, re.M)
    ]


def run(folder: Path, argv: list[str], *extra: str) -> subprocess.CompletedProcess:
    assert argv[0] == "python3"
    command = [sys.executable, "-I", *argv[1:], *extra]
    env = {"PATH": os.environ.get("PATH", "")}
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)  # noqa: S603


def test_the_readme_s_commands_verify_the_demo_s_approved_release(client, demo, tmp_path):
    assert demo.status == "approved"
    folder = pack_folder(client, demo, tmp_path)
    readme = (folder / "README.txt").read_text()
    assert "attestations.json holds 1 signed attestation; the last one, an approval" in readme
    commands = readme_commands(readme)
    assert commands == [
        [
            "python3",
            "verify_attestation.py",
            "attestations.json",
            "--keys",
            "attestation-keys.json",
        ]
    ]
    result = run(folder, commands[0])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "signature OK (key demo-2026)" in result.stdout
    assert "APPROVED: payments-api 2.3.1 (Payout rounding fix)" in result.stdout
    for signer in ("Go/no-go decision", "Business scope", "Operational readiness"):
        assert f"signed: {signer}: " in result.stdout
    assert result.stdout.splitlines()[-1] == "OK: payments-api 2.3.1 is approved"

    image = demo.artifacts.get(kind="image").digest
    result = run(folder, commands[0], "--artifact", image)
    assert result.stdout.splitlines()[-1] == f"OK: payments-api 2.3.1 is approved for {image}"
    result = run(folder, commands[0], "--artifact", "sha256:" + "0" * 64)
    assert result.returncode == 1


def test_a_tampered_attestation_in_the_pack_fails(client, demo, tmp_path):
    folder = pack_folder(client, demo, tmp_path)
    path = folder / "attestations.json"
    document = json.loads(path.read_text())
    envelope = document["attestations"][0]["envelope"]
    envelope["payload"] = envelope["payload"].replace("A", "B", 1)
    path.write_text(json.dumps(document))
    (command,) = readme_commands((folder / "README.txt").read_text())
    result = run(folder, command)
    assert result.returncode == 1
    assert result.stdout.startswith("FAILED: ")


def test_the_pack_of_a_halted_release_shows_the_revocation(client, demo, tmp_path):
    services.release_halt(
        release=demo, actor=get_user_model().objects.get(username="rm"), reason="Ledger drift"
    )
    folder = pack_folder(client, demo, tmp_path)
    readme = (folder / "README.txt").read_text()
    assert "2 signed attestations; the last one, a revocation" in readme
    (command,) = readme_commands(readme)
    result = run(folder, command)
    assert result.returncode == 1
    assert "REVOKED: payments-api 2.3.1" in result.stdout
    assert (
        result.stdout.splitlines()[-1] == "FAILED: the approval of payments-api 2.3.1 was revoked"
    )


def test_a_release_never_approved_has_an_empty_list_and_the_readme_says_so(client, demo, tmp_path):
    draft = Release.objects.get(product__slug="payments-api", version="2.5.0")
    folder = pack_folder(client, draft, tmp_path)
    assert json.loads((folder / "attestations.json").read_text()) == {"attestations": []}
    assert "This release has no attestation yet" in (folder / "README.txt").read_text()
    keys = json.loads((folder / "attestation-keys.json").read_text())["keys"]
    assert [k["keyid"] for k in keys] == ["demo-2026"]
    sums = (folder / "SHA256SUMS").read_text()
    for name in ("attestations.json", "attestation-keys.json", "verify_attestation.py"):
        assert f"  {name}\n" in sums
    assert Attestation.objects.filter(release=draft).count() == 0
