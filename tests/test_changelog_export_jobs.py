"""Whole change-log exports written by a real Celery worker, downloaded when ready (issue 16 item 4).

A streamed download can be cut by a web worker's timeout; a prepared export
is written by the worker into Django's storage with its progress on the
job's page, and only its requester may see or download it.
"""

import time

import pytest
from django.test import Client
from django.urls import reverse

from audit.changelog import changelog_record
from audit.models import Action, ChangeLogEntry
from evidence import services
from evidence.models import ExportJob
from tests.helpers import axe_serious_violations, entries, sign_in, verify_changelog

START = reverse("evidence:changelog_export_start")


def job_url(job, name="evidence:changelog_export_job") -> str:
    return reverse(name, kwargs={"job_id": job.pk})


def fill(count: int) -> None:
    for index in range(count):
        changelog_record(action=Action.COMMENT_ADDED, reason=f"filler {index}")


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_worker_writes_the_whole_export_which_verifies_after_download(
    start_worker, changelog_auditor, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    start_worker(env={"MEDIA_ROOT": settings.MEDIA_ROOT})
    fill(4500)  # three batches of 2,000: progress moves in steps
    client = Client()
    client.force_login(changelog_auditor)

    started = client.post(START, {"format": "json", "query": ""})

    assert started.status_code == 302
    job = ExportJob.objects.get()
    assert started["Location"] == job_url(job)
    deadline = time.monotonic() + 60
    while not job.finished and time.monotonic() < deadline:
        page = client.get(job_url(job)).content.decode()
        assert job.status != ExportJob.Status.DONE or "Download" in page
        time.sleep(0.3)
        job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE, job.error
    assert "Download JSON" in client.get(job_url(job)).content.decode()
    download = client.get(job_url(job, "evidence:changelog_export_download"))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    path = tmp_path / "export.json"
    path.write_bytes(b"".join(download.streaming_content))
    [requested] = entries(Action.EXPORT_REQUESTED)
    # The file covers the chain up to the head when the worker started, the request included.
    assert job.rows_done == job.rows_total == requested.seq
    assert f"OK: {requested.seq} entries" in verify_changelog("--file", str(path))
    assert (requested.actor, requested.after["format"]) == (changelog_auditor, "json")


@pytest.mark.django_db
def test_the_service_reports_progress_and_runs_a_job_once(changelog_auditor, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    fill(2500)
    job = services.export_job_request(
        user=changelog_auditor, fmt="csv", query="action=comment.added"
    )

    done = services.export_job_run(job_id=job.pk)

    assert (done.status, done.rows_done, done.rows_total) == ("done", 2500, 2500)
    assert services.export_job_run(job_id=job.pk) is None  # already claimed: nothing happens
    text = done.file.open("rb").read().decode()
    assert text.rstrip().splitlines()[-1].startswith("#trailer,count=2500,")


@pytest.mark.django_db
def test_an_export_is_only_its_requesters(changelog_auditor, team, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    job = services.export_job_request(user=changelog_auditor, fmt="csv", query="")
    services.export_job_run(job_id=job.pk)
    for username, status in (("rm", 404), ("admin", 404), ("qa", 403), ("po", 403)):
        other = Client()
        other.force_login(team[username])
        assert other.get(job_url(job)).status_code == status, username
        download = other.get(job_url(job, "evidence:changelog_export_download"))
        assert download.status_code == status, username
    anonymous = Client().get(job_url(job, "evidence:changelog_export_download"))
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")


@pytest.mark.django_db
def test_a_job_not_ready_has_nothing_to_download(client, changelog_auditor):
    job = services.export_job_request(user=changelog_auditor, fmt="json", query="")
    client.force_login(changelog_auditor)
    page = client.get(job_url(job)).content.decode()
    assert "Waiting for a worker" in page and "export_progress.js" in page
    status = client.get(job_url(job), HTTP_ACCEPT="application/json").json()
    assert status == {
        "status": "queued",
        "finished": False,
        "percent": 0,
        "rows_done": 0,
        "rows_total": 0,
    }
    assert client.get(job_url(job, "evidence:changelog_export_download")).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"format": "xlsx", "query": ""},
        {"query": ""},
        {"format": "csv", "query": "release=not-a-number"},
        {"format": "csv", "query": "x" * 2001},
    ],
    ids=["unknown format", "no format", "bad filters", "filters too long"],
)
def test_a_bad_export_request_is_refused_and_records_nothing(client, changelog_auditor, data):
    client.force_login(changelog_auditor)
    before = ChangeLogEntry.objects.count()
    response = client.post(START, data)
    assert response.status_code == 400
    assert not ExportJob.objects.exists()
    assert ChangeLogEntry.objects.count() == before


@pytest.mark.django_db
def test_only_change_log_readers_may_ask_for_an_export(client, team):
    client.force_login(team["qa"])
    assert client.post(START, {"format": "csv", "query": ""}).status_code == 403
    assert not ExportJob.objects.exists()
    [refused] = entries(Action.ACCESS_REFUSED)
    assert refused.actor == team["qa"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 360])
def test_an_auditor_prepares_an_export_in_chromium(
    page, screenshot, changelog_auditor, settings, tmp_path, width
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    page.set_viewport_size({"width": width, "height": 900})
    fill(3)
    sign_in(page, "auditor")
    page.goto("/changelog/")
    page.get_by_role("button", name="Prepare JSON file").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("heading", name="Waiting for a worker").is_visible()
    assert axe_serious_violations(page) == []
    screenshot(f"export-job-waiting-{width}")

    services.export_job_run(job_id=ExportJob.objects.get().pk)  # as the worker would
    # The page follows the job by itself and shows the download once it is ready.
    page.get_by_role("heading", name="Ready to download").wait_for(timeout=10_000)
    with page.expect_download() as download:
        page.get_by_test_id("export-download").click()
    saved = tmp_path / "download.json"
    download.value.save_as(saved)
    assert "OK: " in verify_changelog("--file", str(saved))
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert axe_serious_violations(page) == []
    screenshot(f"export-job-ready-{width}")
