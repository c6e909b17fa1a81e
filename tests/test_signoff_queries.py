"""The progress panel and My sign-offs cost the same queries at 5 and at 50 rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from raci.models import Activity, Assignment
from tests.factories import UserFactory, build_team, release_in_review

pytestmark = pytest.mark.django_db


def count(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_progress_panel_queries_do_not_grow_with_activities(client):
    team = build_team()
    counts = []
    for version, extra in (("5.0.0", 0), ("50.0.0", 45)):
        release = release_in_review(team, version=version)
        for n in range(extra):
            activity = Activity.objects.create(release=release, name=f"Extra {n}", position=10 + n)
            person = UserFactory(username=f"a{version}-{n}")
            Assignment.objects.create(activity=activity, user=person, letter="A")
            Assignment.objects.create(activity=activity, user=team["dev"], letter="R")
        client.force_login(team["po"])
        queries, body = count(client, release.get_absolute_url())
        assert body.count('data-activity="') == 5 + extra
        counts.append(queries)
    print(f"queries at two sizes: {counts}")
    assert counts[0] == counts[1], counts


def test_my_signoffs_queries_do_not_grow_with_releases(client):
    team = build_team()
    client.force_login(team["po"])
    counts = []
    for total in (5, 50):
        existing = team["product"].releases.count()
        for n in range(existing, total):
            release_in_review(team, version=f"3.{n}.0")
        queries, body = count(client, reverse("approvals:my_signoffs"))
        assert body.count("Review and sign") == total
        counts.append(queries)
    print(f"queries at two sizes: {counts}")
    assert counts[0] == counts[1], counts
