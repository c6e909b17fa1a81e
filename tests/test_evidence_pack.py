"""The evidence pack: one zip per release that an auditor reads and verifies offline."""

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals import services
from approvals.models import Deployment, GateCheck, RadRevision, SignOff
from approvals.rad import rad_sha256
from audit.chain import verify_export_file
from audit.models import Action, ChangeLogEntry
from meetings import services as meeting_services
from meetings.models import GateMeeting
from raci.selectors import raci_matrix
from tests.factories import build_team, complete_rad, release_in_review
from tests.helpers import approve_all, schedule, sign, verify_changelog

pytestmark = pytest.mark.django_db

FOLDER = "relapp-evidence-payments-api-2.4.0"
PACK_FILES = {
    "README.txt",
    "release.json",
    "rad/revisions.json",
    "rad/revision-001.html",
    "rad/revision-002.html",
    "signoffs.json",
    "raci.json",
    "gate_checks.json",
    "meetings.json",
    "deployments.json",
    "artifacts.json",
    "unauthorized.json",
    "changelog.json",
    "chain.py",
    "changelog-public-key.pem",
    "attestations.json",
    "attestation-keys.json",
    "verify_attestation.py",
    "attachments.json",
    "SHA256SUMS",
}


@pytest.fixture
def release(team):
    """2.4.0 signed, re-signed after a second revision, held and deployed.

    Release 2.5.0 moves in between, so 2.4.0's change-log entries are not one
    contiguous run of the chain.
    """
    release = release_in_review(team)
    other = release_in_review(team, version="2.5.0")
    services.gate_check_report(
        release=release,
        actor=team["rm"],
        name="security-scan",
        status="pass",
        details="0 high",
        url="https://ci.example.test/scan/1",
    )
    meeting = schedule(release, team, hours=24, duration_minutes=30)
    sign(release, team["po"], "Business scope")
    services.rad_revise(
        release=release,
        content=complete_rad(scope="## What ships\n\n- Faster checkout\n- Instant refunds"),
        actor=team["dev"],
    )
    services.gate_check_report(release=other, actor=team["rm"], name="unit", status="pass")
    approve_all(release, team)
    GateMeeting.objects.filter(pk=meeting.pk).update(start=timezone.now() - timedelta(minutes=5))
    meeting.refresh_from_db()
    meeting_services.meeting_record_outcome(
        meeting=meeting, actor=team["rm"], minutes="All green; go.", decision="go"
    )
    services.deployment_record(release=release, actor=team["rm"], status="started")
    services.deployment_record(release=release, actor=team["rm"], status="succeeded")
    release.refresh_from_db()
    return release


def pack_url(release) -> str:
    return reverse("evidence:evidence_pack", args=[release.product.slug, release.version])


def download(client, user, release) -> zipfile.ZipFile:
    client.force_login(user)
    response = client.get(pack_url(release))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    body = b"".join(response.streaming_content)
    return zipfile.ZipFile(io.BytesIO(body))


def members(archive: zipfile.ZipFile) -> dict[str, bytes]:
    """Member name (inside the pack's folder) -> content."""
    contents = {}
    for name in archive.namelist():
        folder, _, inner = name.partition("/")
        assert folder == FOLDER
        contents[inner] = archive.read(name)
    return contents


def extract(archive: zipfile.ZipFile, tmp_path: Path) -> Path:
    archive.extractall(tmp_path)
    return tmp_path / FOLDER


@pytest.fixture
def pack(client, team, release) -> dict[str, bytes]:
    return members(download(client, team["auditor"], release))


# --- what the zip holds ---------------------------------------------------------


def test_the_pack_holds_every_file_in_one_folder(client, team, release):
    client.force_login(team["auditor"])
    response = client.get(pack_url(release))
    assert response.streaming  # a file on disk, not a body built in memory
    assert response["Content-Disposition"] == f'attachment; filename="{FOLDER}.zip"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    assert set(members(archive)) == PACK_FILES


def test_the_readme_explains_every_file_and_the_sums_match(pack):
    readme = pack["README.txt"].decode()
    for name in PACK_FILES - {"rad/revision-001.html", "rad/revision-002.html"}:
        assert f"\n{name}\n" in readme, name
    assert "\nrad/revision-NNN.html\n" in readme
    assert "python3 chain.py changelog.json" in readme
    assert "python manage.py verify_changelog --file changelog.json" in readme
    sums = dict(reversed(line.split("  ", 1)) for line in pack["SHA256SUMS"].decode().splitlines())
    assert set(sums) == PACK_FILES - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256(pack[name]).hexdigest() == digest, name


def test_chain_py_is_relapp_s_own_checker(pack):
    from audit import chain

    assert pack["chain.py"] == Path(chain.__file__).read_bytes()


# --- the manifests match the database -------------------------------------------


def test_the_signoffs_carry_their_manifestation_and_void_state(pack, release):
    documents = json.loads(pack["signoffs.json"])["signoffs"]
    stored = list(
        SignOff.objects.filter(release=release)
        .select_related("activity")
        .order_by("signed_at", "id")
    )
    assert len(stored) == 6  # po's first signature was voided by revision 2
    assert [d["id"] for d in documents] == [s.pk for s in stored]
    for document, signoff in zip(documents, stored, strict=True):
        assert document["activity"] == signoff.activity.name
        assert document["decision"] == signoff.decision
        assert document["printed_name"] == signoff.printed_name
        assert document["signed_at"] == signoff.signed_at.isoformat()
        assert document["meaning"] == signoff.meaning
        assert (document["revision"], document["sha256"]) == (
            signoff.revision_number,
            signoff.revision_sha256,
        )
        assert document["method"] == signoff.method == "e-signature"
        assert document["components"] == signoff.components == "password"
        assert document["void"] == signoff.is_void
        assert document["void_reason"] == signoff.void_reason
    voided = [d for d in documents if d["void"]]
    assert [(d["printed_name"], d["revision"]) for d in voided] == [("Po Tester", 1)]
    assert voided[0]["void_reason"] == "RAD changed after signing"
    assert voided[0]["voided_at"] is not None


def test_each_signoff_points_to_the_hashed_entry_that_repeats_it(pack):
    entries = {e["seq"]: e for e in json.loads(pack["changelog.json"])["entries"]}
    documents = json.loads(pack["signoffs.json"])["signoffs"]
    manifest_fields = ("activity", "decision", "printed_name", "signed_at", "meaning")
    for document in documents:
        entry = entries[document["changelog"]["seq"]]
        assert entry["hash"] == document["changelog"]["hash"]
        assert entry["action"] == Action.SIGNOFF_RECORDED
        assert entry["object_id"] == str(document["id"])
        for field in (*manifest_fields, "revision", "sha256", "method", "components"):
            assert entry["after"][field] == document[field], field


def test_the_rad_revisions_and_their_hashes(pack, release):
    documents = json.loads(pack["rad/revisions.json"])["revisions"]
    stored = list(RadRevision.objects.filter(release=release).order_by("number"))
    assert [(d["number"], d["sha256"], d["content"]) for d in documents] == [
        (r.number, r.sha256, r.content) for r in stored
    ]
    for document in documents:
        assert rad_sha256(document["content"]) == document["sha256"]
        assert document["author"] == "Dev Tester (dev)"
        assert document["changelog"]["seq"] == (
            ChangeLogEntry.objects.get(
                action=Action.RAD_REVISED, object_id=str(stored[document["number"] - 1].pk)
            ).seq
        )


def test_each_revision_is_a_readable_page_with_its_signoffs(pack, release):
    first = pack["rad/revision-001.html"].decode()
    second = pack["rad/revision-002.html"].decode()
    current = RadRevision.objects.get(release=release, number=2)
    assert "RAD revision 2" in second and current.sha256 in second
    # The scope's Markdown, rendered and sanitised like the release page does it.
    assert "<h4>What ships</h4>" in second
    assert "<li>Instant refunds</li>" in second and "Instant refunds" not in first
    assert second.count("I approve ") == 5
    assert "Void since" not in second
    assert "I approve Business scope for Payments API 2.4.0, RAD revision 1" in first
    assert "Void since" in first and "RAD changed after signing" in first


def test_raci_gate_checks_meetings_and_deployments_match(pack, release):
    raci = json.loads(pack["raci.json"])
    matrix = raci_matrix(release=release)
    assert [a["name"] for a in raci["activities"]] == [a.name for a in matrix.activities]
    for document, (activity_, cells) in zip(raci["activities"], matrix.rows(), strict=True):
        assert document["assignments"] == {p.username: letter for p, letter in cells if letter}
        assert document["go_no_go"] == activity_.is_go_no_go
    assert raci["activities"][0]["assignments"] == {"po": "A", "dev": "R", "cc": "C", "ii": "I"}

    [check] = json.loads(pack["gate_checks.json"])["gate_checks"]
    stored_check = GateCheck.objects.get(release=release)
    assert check == {
        "name": "security-scan",
        "status": "pass",
        "details": "0 high",
        "url": "https://ci.example.test/scan/1",
        "reported_by": "Rm Tester (rm)",
        "reported_at": stored_check.reported_at.isoformat(),
    }

    [meeting] = json.loads(pack["meetings.json"])["meetings"]
    stored_meeting = GateMeeting.objects.get(release=release)
    assert meeting["start"] == stored_meeting.start.isoformat()
    assert (meeting["duration_minutes"], meeting["status"], meeting["decision"]) == (
        30,
        "held",
        "go",
    )
    assert meeting["minutes"] == "All green; go."

    deployments = json.loads(pack["deployments.json"])["deployments"]
    stored = list(Deployment.objects.filter(release=release).order_by("recorded_at", "id"))
    assert [(d["status"], d["recorded_at"]) for d in deployments] == [
        (s.status, s.recorded_at.isoformat()) for s in stored
    ]
    assert [d["status"] for d in deployments] == ["started", "succeeded"]
    # The fixture deploys two days before its window opens: kept, and flagged.
    assert all(d["unauthorized"] for d in deployments)
    unauthorized = json.loads(pack["unauthorized.json"])["unauthorized"]
    assert unauthorized == deployments
    assert unauthorized[0]["unauthorized_reasons"][0]["code"] == "window_not_open"
    assert meeting["signoffs_missing_at_decision"] == []
    assert json.loads(pack["artifacts.json"]) == {"artifacts": [], "artifacts_sha256": ""}

    facts = json.loads(pack["release.json"])
    assert facts["release"]["status"] == "deployed"
    assert facts["release"]["version"] == "2.4.0"
    count = ChangeLogEntry.objects.filter(release=release).count()
    assert facts["changelog"]["entries"] == count


# --- the change-log slice verifies ------------------------------------------------


def test_the_changelog_slice_is_the_release_s_entries_and_verifies(pack, release, tmp_path):
    path = tmp_path / "changelog.json"
    path.write_bytes(pack["changelog.json"])
    document = json.loads(path.read_text())
    stored = list(
        ChangeLogEntry.objects.filter(release=release).order_by("seq").values_list("seq", "hash")
    )
    assert [(e["seq"], e["hash"]) for e in document["entries"]] == stored
    assert document["filters"]["release_id"] == str(release.pk)

    result = verify_export_file(path)
    assert result.ok, result.summary()
    assert result.count == len(stored)
    assert result.gaps > 0  # 2.5.0's entries sit in between

    assert verify_changelog("--file", str(path)).startswith(f"OK: {len(stored)} entries")
    # Why the README warns against --contiguous: a slice always has gaps.
    with pytest.raises(CommandError, match="is missing"):
        call_command("verify_changelog", "--file", str(path), "--contiguous")


def tamper(path: Path, *, seq: int) -> None:
    lines = path.read_text().splitlines(keepends=True)
    for index, line in enumerate(lines):
        if line.startswith("{") and re.search(rf'"seq":{seq}[,}}]', line):
            assert '"reason":"' in line
            lines[index] = line.replace('"reason":"', '"reason":"(edited) ', 1)
            break
    else:
        raise AssertionError(f"seq {seq} not in the file")
    path.write_text("".join(lines))


def test_a_tampered_slice_fails_with_the_entry_s_seq(pack, release, tmp_path):
    path = tmp_path / "changelog.json"
    path.write_bytes(pack["changelog.json"])
    approved = ChangeLogEntry.objects.get(release=release, action=Action.RELEASE_APPROVED)
    tamper(path, seq=approved.seq)
    result = verify_export_file(path)
    assert result.broken_seq == approved.seq
    with pytest.raises(CommandError, match=f"BROKEN at seq {approved.seq}:"):
        call_command("verify_changelog", "--file", str(path))


def test_chain_py_verifies_the_slice_with_python_alone(client, team, release, tmp_path):
    folder = extract(download(client, team["auditor"], release), tmp_path)
    # No Django, no project on the path: only the pack's folder.
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONNOUSERSITE": "1"}
    command = [sys.executable, "-I", "chain.py", "changelog.json"]
    run = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)  # noqa: S603
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("OK: ")
    approved = ChangeLogEntry.objects.get(release=release, action=Action.RELEASE_APPROVED)
    tamper(folder / "changelog.json", seq=approved.seq)
    run = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)  # noqa: S603
    assert run.returncode == 1
    assert run.stdout.startswith(f"BROKEN at seq {approved.seq}:")


def readme_script(readme: str, opening: str) -> str:
    """The Python of the README's heredoc that starts with `opening`."""
    match = re.search(re.escape(opening) + r"\n(.*?)\n\s*EOF\n", readme, re.S)
    assert match, opening
    lines = match[1].splitlines()
    indent = len(lines[0]) - len(lines[0].lstrip())
    return "\n".join(line[indent:] for line in lines) + "\n"


def test_the_readme_s_checks_run_as_written(client, team, release, tmp_path):
    folder = extract(download(client, team["auditor"], release), tmp_path)
    readme = (folder / "README.txt").read_text()
    env = {"PATH": os.environ.get("PATH", "")}

    rad_check = readme_script(readme, "python3 - <<'EOF'")
    run = subprocess.run(  # noqa: S603
        [sys.executable, "-I", "-c", rad_check], cwd=folder, env=env, capture_output=True, text=True
    )
    assert run.stdout.splitlines() == ["revision 1 OK", "revision 2 OK"], run.stderr

    live = client.get(reverse("evidence:changelog_export_json"), {"release": release.pk})
    (folder / "live.json").write_bytes(b"".join(live.streaming_content))
    compare = readme_script(readme, "python3 - live.json <<'EOF'")
    command = [sys.executable, "-I", "-", "live.json"]
    run = subprocess.run(  # noqa: S603
        command, input=compare, cwd=folder, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr
    count = ChangeLogEntry.objects.filter(release=release).count()
    assert run.stdout == f"OK: {count} entries match the live chain\n"

    approved = ChangeLogEntry.objects.get(release=release, action=Action.RELEASE_APPROVED)
    tamper(folder / "changelog.json", seq=approved.seq)
    run = subprocess.run(  # noqa: S603
        command, input=compare, cwd=folder, env=env, capture_output=True, text=True
    )
    assert run.returncode == 1
    assert f"MISMATCH at seq [{approved.seq}]" in run.stderr


# --- who may download it ---------------------------------------------------------


@pytest.mark.parametrize("persona", ["auditor", "rm"])
def test_auditors_and_release_managers_download_it(client, team, release, persona):
    archive = download(client, team[persona], release)
    assert set(members(archive)) == PACK_FILES


def test_a_team_member_without_the_permission_is_refused_and_it_is_logged(client, team, release):
    client.force_login(team["dev"])  # Responsible: sees the release, not the change log
    before = ChangeLogEntry.objects.count()
    response = client.get(pack_url(release))
    assert response.status_code == 403
    refusal = ChangeLogEntry.objects.order_by("-seq").first()
    assert refusal.seq == before + 1
    assert (refusal.action, refusal.actor, refusal.release) == (
        Action.ACCESS_REFUSED,
        team["dev"],
        release,
    )
    assert refusal.after == {"method": "GET", "path": pack_url(release)}


def test_an_outsider_gets_404_as_if_the_release_did_not_exist(client, team, release):
    client.force_login(team["outsider"])
    assert client.get(pack_url(release)).status_code == 404
    assert not ChangeLogEntry.objects.filter(action=Action.ACCESS_REFUSED).exists()
    client.force_login(team["auditor"])
    missing = reverse("evidence:evidence_pack", args=[release.product.slug, "9.9.9"])
    assert client.get(missing).status_code == 404


def test_anonymous_visitors_sign_in_first_and_posts_are_refused(client, team, release):
    response = client.get(pack_url(release))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    client.force_login(team["auditor"])
    assert client.post(pack_url(release)).status_code == 405


def test_the_release_page_links_to_the_pack_for_readers_of_the_log(client, team, release):
    link = f'href="{pack_url(release)}"'
    client.force_login(team["auditor"])
    assert link in client.get(release.get_absolute_url()).content.decode()
    client.force_login(team["dev"])
    page = client.get(release.get_absolute_url())
    assert page.status_code == 200
    assert link not in page.content.decode()


# --- a constant number of queries -------------------------------------------------


def release_with_revisions(team, *, version: str, revisions: int):
    """In review with `revisions` RAD revisions, each but the last signed and voided."""
    release = release_in_review(team, version=version)
    schedule(release, team, hours=24, duration_minutes=30)
    services.gate_check_report(release=release, actor=team["rm"], name="unit", status="pass")
    for number in range(2, revisions + 1):
        sign(release, team["po"], "Business scope")
        services.rad_revise(
            release=release, content=complete_rad(scope=f"Revision {number}"), actor=team["dev"]
        )
    return release


def test_the_query_count_does_not_grow_with_the_revisions(client, team):
    small = release_with_revisions(team, version="3.0.0", revisions=2)
    large = release_with_revisions(team, version="3.1.0", revisions=6)
    # Signing in after both are built: each slice then ends before the chain's
    # head, so both exports read the same number of batches.
    client.force_login(team["auditor"])
    counts = []
    for release, revisions in ((small, 2), (large, 6)):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(pack_url(release))
        assert response.status_code == 200
        archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
        names = [n for n in archive.namelist() if "/rad/revision-" in n]
        assert len(names) == revisions
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


# --- one snapshot -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_pack_is_read_in_one_read_only_snapshot(client):
    """Outside a test transaction the builder opens its own REPEATABLE READ one."""
    team = build_team()
    release = release_in_review(team)
    client.force_login(team["auditor"])
    with CaptureQueriesContext(connection) as queries:
        archive = zipfile.ZipFile(
            io.BytesIO(b"".join(client.get(pack_url(release)).streaming_content))
        )
    statements = [q["sql"] for q in queries.captured_queries]
    assert "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY" in statements
    assert set(members(archive)) == PACK_FILES - {"rad/revision-002.html"}
