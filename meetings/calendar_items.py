"""What the calendar shows: deployment windows, freezes, gate meetings, fire drills and
reviews due, as one list of items for a page or a feed.

Each kind is one query whatever the number of releases; conflicts between the
windows shown are found by the approval rule (`rules.window_conflicts`) over
the windows already fetched.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Max, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from approvals.drills import drill_occurrences, drill_overdue
from approvals.lifecycle import ReleaseType, Status
from approvals.models import (
    DrillOutcome,
    FireDrill,
    FireDrillSchedule,
    FreezeWindow,
)
from approvals.rules import window_conflicts
from meetings.models import MeetingStatus

KINDS = {
    "window": "Deployment window",
    "freeze": "Freeze",
    "meeting": "Gate meeting",
    "drill": "Fire drill",
    "review": "Review due",
    "cutoff": "Code cut-off",
}


@dataclass
class CalendarItem:
    kind: str
    uid: str
    title: str
    start: datetime
    end: datetime
    url: str
    product: str = ""
    status: str = ""  # "cancelled" (meeting), "overdue"/"scheduled"/outcome (drill)
    sequence: int = 0
    conflicts: tuple[str, ...] = ()
    description: str = ""
    all_day: bool = False

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    @property
    def css(self) -> str:
        classes = [f"item-{self.kind}"]
        if self.status in ("cancelled", "overdue"):
            classes.append(f"item-{self.kind}-{self.status}")
        if self.conflicts:
            classes.append("item-conflict")
        return " ".join(classes)

    def days(self) -> list[date]:
        """The local days the item touches (an end at midnight does not touch the next)."""
        first = timezone.localtime(self.start).date()
        last = timezone.localtime(self.end - timedelta(microseconds=1)).date()
        return [first + timedelta(days=n) for n in range(max((last - first).days, 0) + 1)]


def _uid(kind: str, pk) -> str:
    return f"{kind}-{pk}@{settings.CALENDAR_UID_DOMAIN}"


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class _Links:
    """The items' links, reversed once per URL pattern instead of once per item.

    reverse() costs ~30-60 µs and a feed links ~1,800 items (a fifth of its time). Each
    pattern here is reversed once with placeholder arguments and cut around them. The
    placeholders are values the converters (slug, version, int) accept and return
    unchanged, as they return every real slug, version and id, so the link is exactly
    what reverse() gives (tests compare it with get_absolute_url())."""

    SLUG, VERSION, PK = "relapp-slug-placeholder", "0.0.0-relapp-version-placeholder", 987654321

    def __init__(self):
        release = reverse(
            "approvals:release_detail", kwargs={"product": self.SLUG, "version": self.VERSION}
        )
        head, _, self._after_version = release.rpartition(self.VERSION)
        self._before_slug, _, self._before_version = head.rpartition(self.SLUG)
        meeting = reverse("meetings:meeting_detail", kwargs={"meeting_id": self.PK})
        self._before_pk, _, self._after_pk = meeting.rpartition(str(self.PK))

    def release(self, release) -> str:
        return (
            f"{self._before_slug}{release.product.slug}{self._before_version}"
            f"{release.version}{self._after_version}"
        )

    def meeting(self, meeting) -> str:
        return f"{self._before_pk}{meeting.pk}{self._after_pk}"


# What the release rows of the calendar use (str(release), links): the rest of the row
# (RAD fields, policy, audit stamps) is not fetched. Windows also need the products'
# deploy targets, for conflicts (a JSON column, decoded once a row: only there).
_RELEASE_FIELDS = (
    "product__name",
    "product__slug",
    "version",
    "title",
    "status",
    "release_type",
    "window_start",
    "window_end",
    "cutoff_at",
    "review_due_at",
)


def _window_items(releases: QuerySet, since: datetime, until: datetime) -> list[CalendarItem]:
    windows = list(
        releases.filter(window_start__lt=until, window_end__gt=since)
        .exclude(status=Status.CANCELLED)
        .select_related("product")
        .only(*_RELEASE_FIELDS, "product__deploy_targets")
        .order_by("window_start", "id")
    )
    links = _Links()
    conflicts: dict[int, list[str]] = {}
    for index, release in enumerate(windows):
        following = []
        for other in windows[index + 1 :]:
            if other.window_start >= release.window_end:
                break
            following.append(other)
        for conflict in window_conflicts(release=release, candidates=following):
            if release.status == Status.CLOSED or conflict.other.status == Status.CLOSED:
                continue
            conflicts.setdefault(release.pk, []).append(conflict.message)
            conflicts.setdefault(conflict.other.pk, []).append(
                conflict.message.replace(str(conflict.other), str(release))
            )
    return [
        CalendarItem(
            kind="window",
            uid=_uid("deployment-window", r.pk),
            title=f"Deployment window: {r} ({r.get_status_display()})",
            start=r.window_start,
            end=r.window_end,
            url=links.release(r),
            product=r.product.slug,
            conflicts=tuple(conflicts.get(r.pk, ())),
            description=r.title,
        )
        for r in windows
    ]


def _freeze_items(products: QuerySet, since: datetime, until: datetime) -> list[CalendarItem]:
    freezes = (
        FreezeWindow.objects.filter(Q(product__isnull=True) | Q(product__in=products))
        .filter(start__lt=until, end__gt=since)
        .select_related("product")
    )
    return [
        CalendarItem(
            kind="freeze",
            uid=_uid("freeze", f.pk),
            title=f"Freeze ({f.product.name if f.product_id else 'all products'}): {f.reason}",
            start=f.start,
            end=f.end,
            url=reverse("meetings:freeze_list"),
            product=f.product.slug if f.product_id else "",
            description=f.reason,
        )
        for f in freezes
    ]


def _meeting_items(meetings: QuerySet, since: datetime, until: datetime) -> list[CalendarItem]:
    # A meeting lasts at most a day: fetch those starting from a day before the range.
    rows = (
        meetings.filter(start__lt=until, start__gte=since - timedelta(days=1))
        .select_related("release__product")
        .only(
            "start",
            "duration_minutes",
            "location",
            "status",
            "sequence",
            "release__version",
            "release__product__name",
            "release__product__slug",
        )
    )
    links = _Links()
    items = []
    for m in rows:
        cancelled = m.status == MeetingStatus.CANCELLED
        if m.end <= since:
            continue
        items.append(
            CalendarItem(
                kind="meeting",
                uid=_uid("gate-meeting", m.pk),
                title=f"{'Cancelled: ' if cancelled else ''}Release gate: {m.release}",
                start=m.start,
                end=m.end,
                url=links.meeting(m),
                product=m.release.product.slug,
                status="cancelled" if cancelled else "",
                sequence=m.sequence,
                description=f"Gate meeting for {m.release}."
                + (f" {m.location}" if m.location else ""),
            )
        )
    return items


def _drill_items(products: QuerySet, first: date, last: date, today: date) -> list[CalendarItem]:
    schedules = list(
        FireDrillSchedule.objects.filter(product__in=products).select_related("product")
    )
    last_good = dict(
        FireDrill.objects.filter(product__in=products, outcome=DrillOutcome.SUCCEEDED)
        .values("product_id")
        .annotate(last=Max("held_on"))
        .values_list("product_id", "last")
    )
    items = []
    for schedule in schedules:
        product = schedule.product
        overdue = drill_overdue(
            rule=schedule.rrule,
            first_on=schedule.first_on,
            grace_days=schedule.grace_days,
            last_held_on=last_good.get(product.pk),
            today=today,
        )
        url = reverse("approvals:drill_list", kwargs={"product": product.slug})
        for day in drill_occurrences(
            rule=schedule.rrule, first_on=schedule.first_on, start=first, end=last
        ):
            status = "overdue" if day == overdue else ("scheduled" if day >= today else "due")
            items.append(
                CalendarItem(
                    kind="drill",
                    uid=_uid(f"fire-drill-{product.pk}", day.isoformat()),
                    title=f"{'Overdue: ' if status == 'overdue' else ''}Fire drill: {product.name}",
                    start=_midnight(day),
                    end=_midnight(day + timedelta(days=1)),
                    url=url,
                    product=product.slug,
                    status=status,
                    description=f"Scheduled rollback rehearsal ({schedule.rrule}).",
                    all_day=True,
                )
            )
    held = FireDrill.objects.filter(
        product__in=products, held_on__gte=first, held_on__lte=last
    ).select_related("product")
    for drill in held:
        items.append(
            CalendarItem(
                kind="drill",
                uid=_uid("fire-drill-record", drill.pk),
                title=f"Fire drill held: {drill.product.name} ({drill.get_outcome_display()})",
                start=_midnight(drill.held_on),
                end=_midnight(drill.held_on + timedelta(days=1)),
                url=reverse("approvals:drill_list", kwargs={"product": drill.product.slug}),
                product=drill.product.slug,
                status=drill.outcome,
                description=f"{drill.scenario}. Rolled back in {drill.rollback_minutes} min.",
                all_day=True,
            )
        )
    return items


def _review_items(releases: QuerySet, since: datetime, until: datetime) -> list[CalendarItem]:
    due = (
        releases.filter(
            release_type=ReleaseType.HOTFIX,
            review_due_at__gte=since,
            review_due_at__lt=until,
            review__isnull=True,
        )
        .select_related("product")
        .only(*_RELEASE_FIELDS)
    )
    links = _Links()
    return [
        CalendarItem(
            kind="review",
            uid=_uid("review-due", r.pk),
            title=f"Post-release review due: {r}",
            start=r.review_due_at,
            end=r.review_due_at + timedelta(minutes=30),
            url=links.release(r),
            product=r.product.slug,
            description="The hotfix's post-release review falls due.",
        )
        for r in due
    ]


def _cutoff_items(releases: QuerySet, since: datetime, until: datetime) -> list[CalendarItem]:
    """Each release's code cut-off: after it only fixes go in."""
    rows = (
        releases.filter(cutoff_at__gte=since, cutoff_at__lt=until)
        .exclude(status=Status.CANCELLED)
        .select_related("product")
        .only(*_RELEASE_FIELDS)
        .order_by("cutoff_at", "id")
    )
    links = _Links()
    return [
        CalendarItem(
            kind="cutoff",
            uid=_uid("code-cutoff", r.pk),
            title=f"Code cut-off: {r}",
            start=r.cutoff_at,
            end=r.cutoff_at,
            url=links.release(r),
            product=r.product.slug,
            description="After the cut-off only fixes go in.",
        )
        for r in rows
    ]


def calendar_items_for(
    *, releases: QuerySet, products: QuerySet, meetings: QuerySet, first: date, last: date
) -> list[CalendarItem]:
    """Every item touching the days [first, last] for the given scope, by start time."""
    since, until = _midnight(first), _midnight(last + timedelta(days=1))
    items = (
        _window_items(releases, since, until)
        + _freeze_items(products, since, until)
        + _meeting_items(meetings, since, until)
        + _drill_items(products, first, last, timezone.localdate())
        + _review_items(releases, since, until)
        + _cutoff_items(releases, since, until)
    )
    return sorted(items, key=lambda item: (item.start, item.kind, item.title))
