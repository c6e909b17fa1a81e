"""Every list page does the same number of queries with a few rows and with many.

Each page is requested at two data sizes (SMALL and LARGE rows of every kind
the page lists) and the count is pinned: a change here is a change in how the
page reads the database, and a count that grows with the rows is an N+1.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken, ServiceAccount, WebhookEndpoint
from approvals.models import FreezeWindow
from audit.changelog import changelog_record
from audit.models import Action
from meetings.models import GateMeeting, Notification
from meetings.services import calendar_feed_regenerate
from raci.models import Delegation, Team
from tests.factories import ProductFactory, release_history_bulk, release_in_review, user_create

pytestmark = pytest.mark.django_db

SMALL, LARGE = 3, 40

# (persona, url name, query string) → (pinned query count, text the page must show).
PAGES = {
    ("rm", "approvals:release_list", ""): (8, "SEPA Instant"),
    ("rm", "approvals:release_list", "?sort=window"): (8, "Bulk release"),
    ("po", "approvals:release_list", ""): (8, "SEPA Instant"),
    ("rm", "approvals:product_list", ""): (6, "Payments API"),
    ("po", "approvals:my_signoffs", ""): (17, "Business scope"),
    ("po", "home", ""): (12, "All my sign-offs"),
    ("rm", "home", ""): (13, "All my sign-offs"),
    ("auditor", "evidence:changelog_list", ""): (7, "filler "),
    ("auditor", "evidence:changelog_list", "?actor=rm"): (8, "filler"),
    ("po", "meetings:notification_list", ""): (7, "Note "),
    ("rm", "meetings:freeze_list", ""): (7, "Freeze "),
    # The warm request reads the calendar's rendered grid back from the cache
    # (meetings.calendar_views.calendar_page): the data version instead of its 8
    # queries, one per kind of item. Computed, it is CALENDAR_COMPUTED_QUERIES.
    ("rm", "meetings:calendar_month", ""): (7, "Deployment window"),
    ("rm", "meetings:calendar_week", ""): (7, "Week"),
    ("po", "meetings:calendar_agenda", ""): (7, "Gate meeting"),
    # The warm request reads the figures from the cache (metrics.selectors.metrics_for_user):
    # the data version and the form's products instead of 8 grouped queries.
    ("rm", "metrics:metrics", ""): (7, "Deployment frequency"),
    ("rm", "approvals:team_list", ""): (7, "Team 0"),
    ("po", "approvals:delegations", ""): (7, "sre"),
    ("admin", "api:webhook_list", ""): (4, "hooks.example.com"),
    ("admin", "api:service_account_list", ""): (5, "ci-0"),
}
# The feed checks visibility once and hands the release ids on (meetings.selectors.feed_items):
# one query more than the 13 it had, each of the others cheaper; plus the data-version
# read its body cache is keyed on (meetings.selectors.feed_cached). A repeated poll is
# served from that cache: the token check and the version read (and, as in every count
# here, the logged-in client's session and user).
# On a miss, +1 for the user's flags read again after the version (and on the calendar the
# permission checks again: metrics.selectors._forget_loaded_state).
FEED_QUERIES = 16
CALENDAR_COMPUTED_QUERIES = 18
FEED_CACHED_QUERIES = 4


def _fill(team, size: int) -> None:
    """`size` rows of everything the list pages show, made as the product makes them
    where it matters (RACI, sign-offs) and in bulk where only the row counts."""
    now = timezone.now()
    for n in range(size):
        release = release_in_review(team, version=f"3.{n}.0")
        GateMeeting.objects.create(
            release=release, start=now + timedelta(days=3, hours=n), created_by=team["rm"]
        )
        Notification.objects.create(user=team["po"], release=release, title=f"Note {n}")
    release_history_bulk(
        product=ProductFactory(name="Bulk", slug="bulk"),
        created_by=team["rm"],
        releases=size * 10,
        deployments=size * 10,
    )
    for n in range(size):
        changelog_record(action=Action.COMMENT_ADDED, reason=f"filler {n}", actor=team["rm"])
        FreezeWindow.objects.create(
            start=now + timedelta(days=20 + n),
            end=now + timedelta(days=20 + n, hours=4),
            reason=f"Freeze {n}",
            created_by=team["rm"],
        )
        members = user_create(f"member{n}")
        Team.objects.create(name=f"Team {n}").members.add(members, team["qa"])
        Delegation.objects.create(
            absent=team["po"],
            delegate=team["qa"] if n % 2 else team["sre"],
            starts_at=now + timedelta(days=40 + n),
            ends_at=now + timedelta(days=41 + n),
            created_by=team["po"],
        )
        WebhookEndpoint.objects.create(
            product=team["product"],
            url=f"https://hooks.example.com/{n}",
            events=["release.*"],
            secret="s" * 40,
            created_by=team["admin"],
        )
        account = ServiceAccount.objects.create(
            user=user_create(f"svc-{n}"), name=f"ci-{n}", created_by=team["admin"]
        )
        account.products.add(team["product"])
        ApiToken.objects.create(
            service_account=account,
            prefix=f"p{n:08d}",
            digest="0" * 64,
            expires_at=now + timedelta(days=30),
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _count(client, user, url: str) -> tuple[int, str]:
    client.force_login(user)
    client.get(url)  # warm the per-process caches (content types) the first request fills
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries), response.content.decode()


@pytest.fixture
def auditor_with_log(team):
    permission = Permission.objects.get(
        content_type__app_label="audit", codename="view_changelogentry"
    )
    team["auditor"].groups.get(name="Auditors").permissions.add(permission)
    return team


@pytest.mark.parametrize("size", [SMALL, LARGE])
def test_list_pages_do_the_same_number_of_queries_at_both_sizes(client, auditor_with_log, size):
    team = auditor_with_log
    _fill(team, size)
    counts, missing = {}, []
    for (persona, name, query), (_, shown) in PAGES.items():
        count, body = _count(client, team[persona], reverse(name) + query)
        counts[(persona, name, query)] = count
        if shown not in body:
            missing.append((name, query, shown))
    assert counts == {page: pinned for page, (pinned, _) in PAGES.items()}
    assert missing == []
    feed = reverse("meetings:calendar_feed", args=[calendar_feed_regenerate(user=team["po"])])
    cached, body = _count(client, team["po"], feed)  # the warm request filled the cache
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert client.get(feed).status_code == 200
    assert (len(queries), cached) == (FEED_QUERIES, FEED_CACHED_QUERIES)
    computed = {}
    for persona, name in (
        ("rm", "calendar_month"),
        ("rm", "calendar_week"),
        ("po", "calendar_agenda"),
    ):
        client.force_login(team[persona])
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(f"meetings:{name}")).status_code == 200
        computed[name] = len(queries)
    assert set(computed.values()) == {CALENDAR_COMPUTED_QUERIES}, computed
    assert body.count("BEGIN:VEVENT") >= size  # every meeting and window in the time window
