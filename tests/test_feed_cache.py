"""The calendar feed's body cache: never stale after a committed change, never another
user's body, never served for a token that no longer opens the feed.

The body is cached under metrics.models.DataVersion's token, which deferred triggers
replace when a writing transaction commits (metrics/migrations 0001 and 0002); these
tests therefore commit for real (transaction=True), as the site does.
"""

from datetime import UTC, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import remove_perm

from approvals.models import Product
from meetings import services as meeting_services
from meetings.services import calendar_feed_regenerate
from raci import permissions
from raci.models import Assignment
from tests.helpers import schedule

pytestmark = pytest.mark.django_db(transaction=True)


def feed_path(user) -> str:
    return reverse("meetings:calendar_feed", args=[calendar_feed_regenerate(user=user)])


def body(client, path: str) -> bytes:
    response = client.get(path)
    assert response.status_code == 200
    return response.content


def queries_of(client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_the_second_poll_is_served_from_the_cache(client, team, release):
    """The cache is really used (else the tests below would prove nothing): a repeated
    poll runs only the token check and the data-version read."""
    schedule(release, team)
    path = feed_path(team["po"])
    assert queries_of(client, path) > 5
    assert queries_of(client, path) == 2


def test_a_meeting_rescheduled_through_the_service_shows_at_once(client, team, release):
    meeting = schedule(release, team)
    path = feed_path(team["po"])
    assert b"Room 4" in body(client, path)
    meeting_services.meeting_reschedule(
        meeting=meeting,
        actor=team["rm"],
        start=meeting.start + timedelta(hours=1),
        duration_minutes=15,
        location="Room 5",
    )
    moved = body(client, path)
    assert b"Room 5" in moved and b"Room 4" not in moved


def test_a_meeting_changed_by_direct_sql_shows_at_once(client, team, release):
    meeting = schedule(release, team)
    path = feed_path(team["po"])
    assert b"Room 4" in body(client, path)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE meetings_gatemeeting SET location = %s WHERE id = %s",
            ["Basement", meeting.pk],
        )
    assert b"Basement" in body(client, path)


def test_a_new_freeze_and_an_invitation_by_name_show_at_once(client, team, release):
    meeting = schedule(release, team)
    outsider_path = feed_path(team["outsider"])
    assert b"Release gate" not in body(client, outsider_path)
    meeting.extra_attendees.add(team["outsider"])
    assert b"Release gate" in body(client, outsider_path)

    path = feed_path(team["po"])
    assert b"Quarter close" not in body(client, path)
    start = timezone.now() + timedelta(days=3)
    meeting_services.freeze_create(
        actor=team["rm"],
        product=release.product,
        start=start,
        end=start + timedelta(days=1),
        reason="Quarter close",
    )
    assert b"Quarter close" in body(client, path)


def test_a_renamed_product_shows_at_once(client, team, release):
    schedule(release, team)
    path = feed_path(team["po"])
    assert b"Payments Renamed" not in body(client, path)
    Product.objects.filter(pk=release.product_id).update(name="Payments Renamed")
    assert b"Payments Renamed" in body(client, path)


def test_a_removed_raci_assignment_takes_the_releases_events_away(client, team, release):
    schedule(release, team)
    path = feed_path(team["po"])
    assert str(release).encode() in body(client, path)
    Assignment.objects.filter(user=team["po"], activity__release=release).delete()
    assert str(release).encode() not in body(client, path)


def test_a_revoked_view_permission_takes_the_releases_window_away(client, team, release):
    """The meeting stays (po still attends it by RACI letter) but the release's own items,
    which need the view permission, go."""
    start = timezone.now() + timedelta(days=2)
    release.window_start, release.window_end = start, start + timedelta(hours=2)
    release.save(update_fields=["window_start", "window_end"])
    path = feed_path(team["po"])
    assert b"Deployment window" in body(client, path)
    remove_perm(f"approvals.{permissions.VIEW}", team["po"], release)
    assert b"Deployment window" not in body(client, path)


def test_two_users_never_get_each_others_body(client, team, release):
    schedule(release, team)
    po_path, outsider_path = feed_path(team["po"]), feed_path(team["outsider"])
    po_body, outsider_body = body(client, po_path), body(client, outsider_path)
    assert b"Release gate" in po_body and b"Release gate" not in outsider_body
    # Both now cached: each still gets their own, in either order.
    assert body(client, outsider_path) == outsider_body
    assert body(client, po_path) == po_body


def test_a_rotated_token_or_inactive_owner_is_404_though_a_body_is_cached(client, team, release):
    schedule(release, team)
    old = feed_path(team["po"])
    assert body(client, old)
    new = feed_path(team["po"])  # rotated
    assert client.get(old).status_code == 404
    assert client.get(old, HTTP_IF_NONE_MATCH="*").status_code == 404
    etag = client.get(new)["ETag"]
    assert client.get(new, HTTP_IF_NONE_MATCH=etag).status_code == 304
    team["po"].is_active = False
    team["po"].save(update_fields=["is_active"])
    assert client.get(new).status_code == 404
    assert client.get(new, HTTP_IF_NONE_MATCH=etag).status_code == 404


def test_the_next_day_gets_a_new_body_not_yesterdays(client, team, release, monkeypatch):
    """The window and DTSTAMP move daily with no write at all: the day is in the key."""
    schedule(release, team)
    path = feed_path(team["po"])
    today = timezone.now()
    assert f"DTSTAMP:{today:%Y%m%d}T000000Z".encode() in body(client, path)
    tomorrow = today + timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: tomorrow)
    later = body(client, path)
    assert f"DTSTAMP:{tomorrow.astimezone(UTC):%Y%m%d}T000000Z".encode() in later
    assert f"DTSTAMP:{today.astimezone(UTC):%Y%m%d}T000000Z".encode() not in later
