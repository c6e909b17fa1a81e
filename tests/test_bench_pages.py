"""The page benchmark (bench/pages.py) runs end to end: a smoke test, no timing asserted.

It builds the tiny dataset in the test database, verifies the chain, counts
every page's queries, starts gunicorn on the benchmark's settings (the
baseline view mounted only there) and drives every page for one second, then
checks the table: every page of issue 16's table is in it, answered without
errors, with sane numbers.
"""

import json
from argparse import Namespace

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from bench import pages, world
from tests.factories import persona

pytestmark = pytest.mark.django_db(transaction=True)

ISSUE_PAGES = {
    "changelog",
    "changelog-release",
    "changelog-actor",
    "overview",
    "feed",
    "release",
    "signoffs",
    "raci",
    "releases",
    "releases-deep",
    "api-release",
    "api-checks",
}


@pytest.fixture
def bench_urls(settings):
    settings.ROOT_URLCONF = "bench.urls"
    template = dict(settings.TEMPLATES[0])
    template["DIRS"] = [*template["DIRS"], settings.BASE_DIR / "bench" / "templates"]
    settings.TEMPLATES = [template, *settings.TEMPLATES[1:]]


def test_the_product_does_not_mount_the_baseline(client):
    with pytest.raises(NoReverseMatch):
        reverse("bench_baseline")
    client.force_login(persona("po"))
    assert client.get(pages.BASELINE).status_code == 404


def test_the_baseline_is_one_query_of_its_own_behind_the_sign_in(bench_urls):
    assert Client().get(pages.BASELINE).status_code == 302  # sign in first
    client = Client()
    client.force_login(persona("po"))
    response = client.get(pages.BASELINE)
    assert response.status_code == 200
    assert b"Benchmark baseline" in response.content
    assert b'class="site-header"' in response.content  # the base template


def test_the_driver_measures_every_page_of_the_table(bench_urls, tmp_path):
    args = Namespace(workers=2, clients=2, seconds=1.0, phase=0.5, log_dir=str(tmp_path))
    report = pages.run_size("tiny", args=args, pages_filter=[], verify=True, command="test")

    assert report.verified.startswith("OK: "), report.verified
    keys = {row.key for row in report.rows}
    assert keys >= ISSUE_PAGES
    assert {"calendar-month", "metrics"} <= keys  # the newer pages that exist now
    counts = report.counts
    assert counts["releases"] == world.SIZES["tiny"].releases
    assert counts["change-log entries"] > world.SIZES["tiny"].entries
    assert counts["po pending sign-offs"] >= 1
    assert counts["object permissions"] > counts["releases"] * 10
    for row in report.rows:
        assert row.errors == 0, row
        assert row.status in (200, 201), row
        assert row.queries >= 1, row
        assert row.kb > 0, row
        assert row.requests >= 2, row
        assert row.rps > 0 and row.baseline_rps > 0, row
        assert 0 < row.p50_ms <= row.p95_ms, row
        assert row.ratio > 0, row
    assert report.baseline_queries >= 1
    assert len(report.load) == 2

    stem = pages.write(report, out=tmp_path, label="smoke", command="test", load=tuple(report.load))
    text = stem.with_suffix(".md").read_text()
    assert "| page | queries | KB | req/s | p50 ms | p95 ms | ratio |" in text
    for row in report.rows:
        assert f"| {row.label} |" in text
    data = json.loads(stem.with_suffix(".json").read_text())
    assert [r["key"] for r in data["rows"]] == [row.key for row in report.rows]
    assert data["command"] == "test"
