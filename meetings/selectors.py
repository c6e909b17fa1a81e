from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from approvals.lifecycle import ReleaseAccess
from approvals.models import FreezeWindow, Product, Release
from approvals.rules import meeting_warnings
from approvals.selectors import (
    freezes_overlapping,
    products_visible_to,
    release_access_for_user,
)
from meetings.calendar_items import CalendarItem, calendar_items_for
from meetings.models import CalendarFeed, GateMeeting, MeetingStatus, Notification
from raci import permissions
from raci.models import Assignment, Letter

# The longest gate meeting (the form's and the service's bound): older starts cannot overlap.
MEETING_MAX_MINUTES = 480


def meeting_access_for_user(*, user, meeting_id: int) -> tuple[GateMeeting, ReleaseAccess]:
    """The meeting with what the user may do on its release, or 404 unless they may see it."""
    meeting = (
        GateMeeting.objects.select_related("release__product", "created_by")
        .filter(pk=meeting_id)
        .first()
    )
    if meeting is None:
        raise Http404("No such meeting.")
    access = release_access_for_user(
        user=user, product=meeting.release.product.slug, version=meeting.release.version
    )
    meeting.release = access.release
    return meeting, access


def meetings_for_release(*, release: Release) -> list[GateMeeting]:
    return list(release.meetings.select_related("created_by").order_by("-start"))


def notifications_for_user(*, user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).select_related("release__product")


def freezes_upcoming(*, user) -> QuerySet[FreezeWindow]:
    """Freeze windows for every product, and those of products the user may see."""
    products = products_visible_to(user=user)
    return (
        FreezeWindow.objects.select_related("product", "created_by")
        .filter(Q(product__isnull=True) | Q(product__in=products))
        .order_by("start")
    )


def feed_for_token(*, token: str) -> CalendarFeed:
    """The feed (with its owner) a token opens, or 404: unknown, rotated or inactive owner."""
    feed = (
        CalendarFeed.objects.select_related("user")
        .filter(token_sha256=CalendarFeed.hash_token(token), user__is_active=True)
        .first()
    )
    if feed is None:
        raise Http404("No such calendar.")
    return feed


# The feed body's cache, plugged in from above: the data version it is keyed on (a
# token PostgreSQL triggers replace at commit, metrics.models.DataVersion) lives in an
# app meetings may not import, so metrics registers its `cached_for_user` here in its
# AppConfig.ready. Unplugged (or off PostgreSQL, where that function computes live),
# the feed is computed on every request.
FeedCache = Callable[..., Any]
_feed_cache: list[FeedCache] = []


def feed_register_cache(cache: FeedCache) -> None:
    """Cache feed bodies with `cache(user=, parts=, compute=)` (idempotent)."""
    _feed_cache[:] = [cache]


def data_cached(*, user, parts: tuple, compute: Callable[[], Any]) -> Any:
    """`compute()` cached for `user` under `parts` (everything else the result depends
    on) and the data version, when a cache is plugged in; computed live when not. The
    feed and the calendar page share this one hook."""
    if not _feed_cache:
        return compute()
    return _feed_cache[0](user=user, parts=parts, compute=compute)


def feed_cached(*, feed: CalendarFeed, parts: tuple, compute: Callable[[], Any]) -> Any:
    """`compute()` for `feed`, cached under its owner, its token and `parts` (all else
    the body depends on) when a cache is plugged in. The token's hash is in the key so
    a rotated token never shares an entry; the caller checks the token first anyway."""
    return data_cached(
        user=feed.user, parts=("calendar-feed", feed.pk, feed.token_sha256, *parts), compute=compute
    )


def calendar_for_user(*, user, first: date, last: date, product=None) -> list[CalendarItem]:
    """The calendar page: every item of the releases and products the user may see."""
    products = products_visible_to(user=user)
    releases = permissions.releases_visible_to(user, Release.objects.all())
    if product is not None:
        products = products.filter(pk=product.pk)
        releases = releases.filter(product=product)
    return calendar_items_for(
        releases=releases,
        products=products,
        meetings=GateMeeting.objects.filter(release__in=releases.values("pk")),
        first=first,
        last=last,
    )


def feed_items(*, user, first: date, last: date) -> list[CalendarItem]:
    """The private feed: the user's releases (those they hold a RACI letter on), the gate
    meetings they attend (cancelled ones too), freezes, drills and reviews of those."""
    release_ids = Assignment.objects.filter(user=user).values("activity__release_id")
    # The visibility check (guardian's subqueries, looping over every release the user
    # holds a letter on) cost ~20-40 ms each time it was repeated inside the window,
    # cut-off, review, product, freeze and drill queries: run it once, hand on the ids.
    # (Narrowed to the user's releases after the check, not inside it: guardian would
    # then repeat the narrowing inside its own subqueries, a third slower.)
    visible = dict(
        permissions.releases_visible_to(user, Release.objects.all())
        .filter(pk__in=release_ids)
        .values_list("pk", "product_id")
    )
    releases = Release.objects.filter(pk__in=list(visible))
    attending = Assignment.objects.filter(
        user=user, letter__in=[Letter.RESPONSIBLE, Letter.ACCOUNTABLE, Letter.CONSULTED]
    ).values("activity__release_id")
    meetings = GateMeeting.objects.filter(
        Q(release_id__in=attending) | Q(extra_attendees=user)
    ).distinct()
    return calendar_items_for(
        releases=releases,
        products=Product.objects.filter(pk__in=set(visible.values())),
        meetings=meetings,
        first=first,
        last=last,
    )


def meeting_slot_warnings(
    *, release: Release, start: datetime, duration_minutes: int, exclude_pk: int | None = None
) -> list[str]:
    """The gate-meeting form's warnings for [start, start + duration): the release's window,
    freezes on its product, and other scheduled gate meetings of the same release or with
    the same Accountable (`rules.meeting_warnings`)."""
    end = start + timedelta(minutes=duration_minutes)
    others = list(
        GateMeeting.objects.filter(
            status=MeetingStatus.SCHEDULED,
            start__lt=end,
            start__gt=start - timedelta(minutes=MEETING_MAX_MINUTES),
        )
        .exclude(pk=exclude_pk)
        .select_related("release__product")
        .order_by("start", "pk")
    )
    accountables: dict[int, set[str]] = {}
    for release_id, username in Assignment.objects.filter(
        activity__release_id__in={release.pk} | {m.release_id for m in others},
        letter=Letter.ACCOUNTABLE,
    ).values_list("activity__release_id", "user__username"):
        accountables.setdefault(release_id, set()).add(username)
    return meeting_warnings(
        release=release,
        start=start,
        end=end,
        freezes=freezes_overlapping(product=release.product, start=start, end=end),
        others=others,
        accountables=accountables,
    )


def upcoming_meetings_for(*, user, limit: int, now) -> list[GateMeeting]:
    """The user's next `limit` scheduled gate meetings (the overview's card), by LIMIT in SQL.

    Two small queries merged here, not one with an OR: the meetings of releases the
    user is R, A or C on (EXISTS asked per upcoming meeting, walking them in start
    order), and the meetings they were invited to by name. Joined by OR, PostgreSQL
    instead hashes the set of every release the user ever took part in first, which
    for a busy user is thousands of assignments read for five rows.
    """
    attending = Assignment.objects.filter(
        user=user,
        letter__in=[Letter.RESPONSIBLE, Letter.ACCOUNTABLE, Letter.CONSULTED],
        activity__release_id=OuterRef("release_id"),
    )
    upcoming = (
        GateMeeting.objects.filter(status=MeetingStatus.SCHEDULED, start__gte=now)
        .select_related("release__product")
        .order_by("start", "id")
    )
    found = {
        meeting.pk: meeting
        for where in (Exists(attending), Q(pk__in=user_extra_meetings(user=user)))
        for meeting in upcoming.filter(where)[:limit]
    }
    return sorted(found.values(), key=lambda m: (m.start, m.pk))[:limit]


def user_extra_meetings(*, user) -> QuerySet:
    """Ids of the meetings the user was invited to by name (no join that needs DISTINCT)."""
    return GateMeeting.extra_attendees.through.objects.filter(user=user).values("gatemeeting_id")
