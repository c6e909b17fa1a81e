"""The calendar page's cached grid: never stale after a committed change, never another
user's, never shown to the anonymous, and one entry per time zone and language.

The grid is cached under metrics.models.DataVersion's token, which deferred triggers
replace when a writing transaction commits (metrics/migrations), so these tests commit
for real (transaction=True), as the site does.
"""

import re
from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import dateformat, timezone, translation
from guardian.shortcuts import remove_perm

from accounts.timezones import SESSION_KEY
from meetings import calendar_views
from meetings import services as meeting_services
from meetings.calendar_views import VIEWS
from raci import permissions
from tests.helpers import CALENDAR_CACHED_QUERIES, schedule

pytestmark = pytest.mark.django_db(transaction=True)


def month_of(moment) -> str:
    day = timezone.localtime(moment).date()
    return reverse("meetings:calendar_month") + f"?date={day.isoformat()}"


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def grid(client, url: str) -> str:
    """The cached part of the page: from the navigation to the end of the grid."""
    body = page(client, url)
    return body[body.index('<nav class="calendar-nav"') : body.index("</main>")]


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_second_request_is_served_from_the_cache(client, team, release):
    """The cache is really used (else the tests below would prove nothing)."""
    meeting = schedule(release, team)
    client.force_login(team["po"])
    url = month_of(meeting.start)
    first = grid(client, url)
    assert "Release gate" in first
    assert queries_of(client, url) == CALENDAR_CACHED_QUERIES
    # The same grid, in a page around it that is not cached: its sign-out form's CSRF
    # token is masked afresh on every request.
    again = page(client, url)
    assert first in again and 'name="csrfmiddlewaretoken"' in again
    assert grid(client, url) == first


def test_a_freeze_made_through_the_service_shows_at_once(client, team, release):
    meeting = schedule(release, team)
    client.force_login(team["po"])
    url = month_of(meeting.start)
    assert "Quarter close" not in page(client, url)
    meeting_services.freeze_create(
        actor=team["rm"],
        product=release.product,
        start=meeting.start,
        end=meeting.start + timedelta(hours=4),
        reason="Quarter close",
    )
    assert "Quarter close" in page(client, url)


def test_a_meeting_cancelled_by_direct_sql_shows_at_once(client, team, release):
    meeting = schedule(release, team)
    client.force_login(team["po"])
    url = month_of(meeting.start)
    assert "Cancelled: Release gate" not in page(client, url)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE meetings_gatemeeting SET status = 'cancelled' WHERE id = %s", [meeting.pk]
        )
    assert "Cancelled: Release gate" in page(client, url)


def test_a_revoked_view_permission_hides_the_release_at_once(client, team, release):
    start = timezone.now() + timedelta(days=2)
    release.window_start, release.window_end = start, start + timedelta(hours=2)
    release.save(update_fields=["window_start", "window_end"])
    schedule(release, team)
    client.force_login(team["po"])
    url = month_of(start)
    shown = page(client, url)
    assert "Deployment window: " in shown and "Release gate" in shown
    remove_perm(f"approvals.{permissions.VIEW}", team["po"], release)
    hidden = page(client, url)
    assert "Deployment window: " not in hidden and "Release gate" not in hidden


def test_two_users_never_see_each_others_grid(client, team, release):
    meeting = schedule(release, team)
    url = month_of(meeting.start)
    client.force_login(team["po"])
    po_grid = grid(client, url)
    client.force_login(team["outsider"])
    outsider_grid = grid(client, url)
    assert "Release gate" in po_grid and "Release gate" not in outsider_grid
    # Both now cached: each still gets their own, in either order.
    assert grid(client, url) == outsider_grid
    client.force_login(team["po"])
    assert grid(client, url) == po_grid


def test_the_anonymous_are_sent_to_sign_in_though_a_grid_is_cached(client, team, release):
    meeting = schedule(release, team)
    url = month_of(meeting.start)
    client.force_login(team["po"])
    assert "Release gate" in page(client, url)
    client.logout()
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "Release gate" not in response.content.decode()


def test_another_time_zone_gets_its_own_entry(client, team, release):
    start = (timezone.now() + timedelta(days=2)).astimezone(UTC).replace(hour=3, minute=17)
    meeting_services.meeting_schedule(
        release=release, actor=team["rm"], start=start, duration_minutes=15, location="Room 4"
    )
    client.force_login(team["po"])
    url = reverse("meetings:calendar_month") + f"?date={start.date().isoformat()}"
    utc = grid(client, url)
    assert ">03:17 UTC</time>" in utc and "JST" not in utc
    session = client.session
    session[SESSION_KEY] = "Asia/Tokyo"  # the zone the middleware activates
    session.save()
    tokyo = grid(client, url)
    assert ">12:17 JST</time>" in tokyo and "UTC</time>" not in tokyo


def test_another_language_gets_its_own_entry(client, team, release):
    """Month and day names follow the active language: the grid cached in English is not
    served in German."""
    meeting = schedule(release, team)
    client.force_login(team["po"])
    url = month_of(meeting.start)
    day = timezone.localtime(meeting.start).date()
    label, shown = {}, {}
    for language in ("en", "de"):
        with translation.override(language):
            label[language] = f'aria-label="{dateformat.format(day, "F Y")}"'
            shown[language] = grid(client, url)
    assert label["en"] != label["de"]
    assert label["en"] in shown["en"] and label["de"] not in shown["en"]
    assert label["de"] in shown["de"] and label["en"] not in shown["de"]


# Read by the grid but written only by `migrate` (permission and content-type rows),
# where the cache is not in use.
NOT_WATCHED = {"auth_permission", "django_content_type"}


def test_every_table_the_grid_reads_is_watched(team, release):
    """A table read but not watched would leave a change unseen until the entry expires."""
    schedule(release, team)
    with CaptureQueriesContext(connection) as queries:
        for persona in ("rm", "po", "outsider"):
            for view in VIEWS:
                calendar_views.grid_render(
                    user=team[persona],
                    view=view,
                    day=timezone.localdate(),
                    product=None,
                    today=timezone.localdate(),
                )
    read = {
        table
        for query in queries.captured_queries
        for table in re.findall(r'(?:FROM|JOIN) "(\w+)"', query["sql"])
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger"
            " WHERE tgname = 'metrics_data_changed'"
        )
        watched = {name for (name,) in cursor.fetchall()}
    assert "meetings_gatemeeting" in read
    assert read - NOT_WATCHED - watched == set()
