"""Exports stream, keep spreadsheets safe, and verify offline."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.changelog import changelog_record
from audit.export import export_csv, export_documents
from audit.models import Action, ChangeLogEntry
from tests.helpers import verify_changelog

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
CSV = reverse("evidence:changelog_export_csv")
JSON = reverse("evidence:changelog_export_json")

HOSTILE = {
    '=HYPERLINK("http://evil.example/","x")': '\'=HYPERLINK("http://evil.example/","x")',
    "+1+cmd|' /C calc'!A0": "'+1+cmd|' /C calc'!A0",
    "-2+3": "'-2+3",
    "@SUM(A1:A2)": "'@SUM(A1:A2)",
    "\tTAB": "'\tTAB",
    "\rCR": "'\rCR",
    "'already quoted": "''already quoted",
    "plain words": "plain words",
}


def download(client, url: str, **params) -> bytes:
    response = client.get(url, params)
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content)


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(client, changelog_auditor):
    for text in HOSTILE:
        changelog_record(action=Action.LOGIN_FAILED, actor_name=text[:200], reason=text)
    client.force_login(changelog_auditor)
    rows = list(csv.DictReader(io.StringIO(download(client, CSV).decode(), newline="")))
    failed = [row for row in rows if row["action"] == Action.LOGIN_FAILED]
    assert [row["reason"] for row in failed] == list(HOSTILE.values())
    assert [row["actor_name"] for row in failed] == list(HOSTILE.values())
    assert rows[-1]["seq"] == "#trailer"
    for row in rows[:-1]:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_a_csv_export_carries_every_hashed_field_and_verifies(
    client, changelog_auditor, filler_entries, tmp_path
):
    filler_entries(3, after={"n": -1, "note": "=1+1"}, reason="-minus first")
    client.force_login(changelog_auditor)
    body = download(client, CSV)
    header = body.decode().splitlines()[0].split(",")
    assert header[0] == "seq" and header[-2:] == ["prev_hash", "hash"]
    assert "client_ip" in header and "request_id" in header
    path = tmp_path / "changelog.csv"
    path.write_bytes(body)
    head = ChangeLogEntry.objects.order_by("-seq").first()
    assert f"OK: 4 entries, seq 1..4, head hash {head.hash}" in verify_changelog(
        "--file", str(path)
    )


def test_the_json_export_verifies_offline(client, changelog_auditor, filler_entries, tmp_path):
    filler_entries(5, before={"status": "draft"}, after={"status": "in_review", "ratio": 0.1})
    client.force_login(changelog_auditor)
    path = tmp_path / "changelog.json"
    path.write_bytes(download(client, JSON))
    document = json.loads(path.read_text())
    assert document["format"] == "relapp-changelog-export"
    assert document["filters"] == {}
    assert [entry["seq"] for entry in document["entries"]] == [1, 2, 3, 4, 5, 6]
    head = ChangeLogEntry.objects.order_by("-seq").first()
    assert f"OK: 6 entries, seq 1..6, head hash {head.hash}" in verify_changelog(
        "--file", str(path)
    )


def test_an_edited_json_export_is_found(client, changelog_auditor, filler_entries, tmp_path):
    filler_entries(5)
    client.force_login(changelog_auditor)
    path = tmp_path / "changelog.json"
    path.write_bytes(download(client, JSON))
    path.write_text(path.read_text().replace('"reason":"filler 3"', '"reason":"filler 33"'))
    with pytest.raises(CommandError, match="BROKEN at seq 4"):
        verify_changelog("--file", str(path))


def test_an_entry_removed_from_a_json_export_is_found(
    client, changelog_auditor, filler_entries, tmp_path
):
    filler_entries(5)
    client.force_login(changelog_auditor)
    path = tmp_path / "changelog.json"
    path.write_bytes(download(client, JSON))
    lines = path.read_text().splitlines(keepends=True)
    del lines[3]  # the header is line 0: this removes seq 3
    path.write_text("".join(lines))
    with pytest.raises(CommandError, match="BROKEN at seq 3: entry 3 is missing"):
        verify_changelog("--file", str(path))


def test_a_json_export_reformatted_by_another_tool_still_verifies(
    client, changelog_auditor, filler_entries, tmp_path
):
    filler_entries(3)
    client.force_login(changelog_auditor)
    path = tmp_path / "changelog.json"
    path.write_text(json.dumps(json.loads(download(client, JSON)), indent=4))
    assert "OK: 4 entries" in verify_changelog("--file", str(path))


def test_an_edited_csv_export_is_found(client, changelog_auditor, filler_entries, tmp_path):
    filler_entries(5)
    client.force_login(changelog_auditor)
    path = tmp_path / "changelog.csv"
    path.write_bytes(download(client, CSV).replace(b"filler 2", b"filler 9"))
    with pytest.raises(CommandError, match="BROKEN at seq 3"):
        verify_changelog("--file", str(path))


def test_a_filtered_export_checks_every_entry_and_reports_the_gaps(
    client, changelog_auditor, filler_entries, tmp_path
):
    filler_entries(2)
    changelog_record(action=Action.RELEASE_HALTED, reason="stop")
    filler_entries(2)
    changelog_record(action=Action.RELEASE_HALTED, reason="stop again")
    client.force_login(changelog_auditor)
    path = tmp_path / "halts.json"
    path.write_bytes(download(client, JSON, action=Action.RELEASE_HALTED))
    document = json.loads(path.read_text())
    assert document["filters"] == {"action": "release.halted"}
    assert [entry["seq"] for entry in document["entries"]] == [3, 6]
    assert "OK: 2 entries, seq 3..6" in verify_changelog("--file", str(path))
    with pytest.raises(CommandError, match="BROKEN at seq 4: entry 4..5 is missing"):
        verify_changelog("--file", str(path), "--contiguous")
    path.write_text(path.read_text().replace('"stop again"', '"go"'))
    with pytest.raises(CommandError, match="BROKEN at seq 6"):
        verify_changelog("--file", str(path))


def test_the_export_verifier_needs_neither_django_nor_the_database(
    client, changelog_auditor, filler_entries, tmp_path
):
    filler_entries(3)
    client.force_login(changelog_auditor)
    good = tmp_path / "changelog.csv"
    good.write_bytes(download(client, CSV))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(good.read_bytes().replace(b"filler 1", b"filler 7"))
    verifier = str(ROOT / "audit" / "chain.py")
    # -S: no site-packages, so Django cannot even be imported.
    ok = subprocess.run(
        [sys.executable, "-I", "-S", verifier, str(good)], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK: 4 entries")
    broken = subprocess.run(
        [sys.executable, "-I", "-S", verifier, str(bad)], capture_output=True, text=True
    )
    assert broken.returncode == 1
    assert broken.stdout.startswith("BROKEN at seq 2")


def test_exports_read_the_log_in_keyset_batches(filler_entries):
    filler_entries(35)
    with CaptureQueriesContext(connection) as queries:
        batches = list(export_documents(ChangeLogEntry.objects.all(), batch_size=10))
    assert [len(batch) for batch in batches] == [10, 10, 10, 5]
    selects = [q["sql"] for q in queries.captured_queries if "LIMIT 10" in q["sql"]]
    assert len(selects) == 4
    assert all("OFFSET" not in sql for sql in selects)


def test_the_export_stops_at_the_head_it_started_from(filler_entries):
    filler_entries(3)
    chunks = export_csv(ChangeLogEntry.objects.all(), batch_size=2)
    header = next(chunks)
    first = next(chunks)
    filler_entries(3)  # written while the download is running
    rest = "".join(chunks)
    rows = list(csv.reader(io.StringIO(header + first + rest)))
    assert [row[0] for row in rows[1:]] == ["1", "2", "3", "#trailer"]


def test_exports_are_downloads_with_the_filtered_set(client, changelog_auditor, filler_entries):
    filler_entries(2)
    changelog_record(action=Action.RELEASE_HALTED)
    client.force_login(changelog_auditor)
    response = client.get(CSV, {"action": Action.RELEASE_HALTED})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="changelog-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row[0] for row in rows[1:]] == ["3", "#trailer"]


@pytest.mark.parametrize("url", [JSON, CSV], ids=["json", "csv"])
def test_a_streamed_export_cut_short_is_named_by_verify_changelog(
    client, changelog_auditor, filler_entries, tmp_path, url
):
    """A download that stops early (a worker timeout) fails verification, naming the cut."""
    filler_entries(5)
    client.force_login(changelog_auditor)
    response = client.get(url)
    chunks = list(response.streaming_content)
    whole = tmp_path / "whole"
    whole.write_bytes(b"".join(chunks))
    assert "OK: " in verify_changelog("--file", str(whole))
    cut = tmp_path / "cut"
    cut.write_bytes(b"".join(chunks[:-1]))  # everything but the trailer's chunk

    with pytest.raises(CommandError) as failed:
        verify_changelog("--file", str(cut))

    head = ChangeLogEntry.objects.order_by("-seq").first()
    assert f"BROKEN at seq {head.seq + 1}" in str(failed.value)
    assert f"ends after seq {head.seq} without its trailer" in str(failed.value)
