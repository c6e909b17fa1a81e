"""The calendar and the metrics pages do a constant number of queries, from 100 to
10,000 releases (each kind of item, each figure, is one query whatever the rows)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals import services
from approvals.models import ApprovalPolicy
from tests.factories import ProductFactory, release_history_bulk
from tests.helpers import CALENDAR_CACHED_QUERIES

pytestmark = pytest.mark.django_db

# Pinned: a change here is a change in how the pages read the database.
# The calendar computes its grid with one query per kind of item (the code cut-offs
# included) plus the data version its rendered grid is cached under
# (meetings.calendar_views.calendar_page); when nothing changed it reads the grid back:
# the session, the user, the form's products (and the permission checks that choose
# them), the data version and the unread-notification count of the base template.
CALENDAR_QUERIES = 18
# The metrics page reads its figures back from the cache (metrics.selectors.cached_for_user)
# when nothing changed; computing them is one query per figure, plus the data version
# (read twice: for the page's rendered figures and for the figures themselves).
# A miss also reads the user's flags again and drops their permission caches, so the
# scope is read after the version (metrics.selectors._forget_loaded_state): +1 query and
# the permission checks again, on the calendar (18) and twice on the metrics page (20:
# the page's figures and the figures themselves are two entries).
METRICS_QUERIES = 7
METRICS_COMPUTED_QUERIES = 20


def _count(client, url: str) -> tuple[int, str]:
    client.get(url)  # warm the per-process caches (content types) the first request fills
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def _count_computed(client, url: str) -> int:
    client.get(url)
    cache.clear()  # nothing cached: the figures are computed
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.fixture
def product(team):
    product = ProductFactory(name="Bulk", slug="bulk", deploy_targets=["prod-eu"])
    ApprovalPolicy.objects.create(product=product)
    services.drill_schedule_set(
        product=product,
        actor=team["rm"],
        rrule="FREQ=WEEKLY",
        first_on=timezone.localdate().replace(day=1),
        grace_days=3,
    )
    return product


@pytest.mark.parametrize("releases", [100, 10_000])
def test_calendar_and_metrics_queries_stay_constant(client, team, product, releases):
    release_history_bulk(
        product=product, created_by=team["rm"], releases=releases, deployments=releases * 2
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # planner statistics, as a live database has them
    client.force_login(team["rm"])
    month = timezone.localdate().replace(day=1) - timedelta(days=40)
    calendar_url = reverse("meetings:calendar_month") + f"?date={month.isoformat()}"
    count, body = _count(client, calendar_url)
    assert "Deployment window: Bulk" in body
    assert count == CALENDAR_CACHED_QUERIES
    assert _count_computed(client, calendar_url) == CALENDAR_QUERIES
    count, body = _count(client, reverse("metrics:metrics") + "?product=bulk")
    assert count == METRICS_QUERIES
    assert "Deployment frequency" in body
    week_count, _ = _count(client, reverse("metrics:metrics") + "?period=week")
    assert week_count == METRICS_QUERIES
    for query in ("?product=bulk", "?period=week"):
        assert _count_computed(client, reverse("metrics:metrics") + query) == (
            METRICS_COMPUTED_QUERIES
        )
