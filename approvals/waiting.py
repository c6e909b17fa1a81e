"""Reads for My sign-offs: what is ready to sign and what each other signature waits on.

Selectors, like `approvals.selectors`: the readiness rule (`rules.readiness_reasons`)
is fed here for many releases at once, with a fixed number of queries whatever the
number of releases, and `rules.signoff_waits_on` says what each signature waits on.
"""

from dataclasses import dataclass, field

from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from approvals.lifecycle import FINISHED, ReleaseType, Status
from approvals.models import (
    ApprovalPolicy,
    DrillOutcome,
    FireDrill,
    FreezeWindow,
    GateCheck,
    RadRevision,
    Release,
)
from approvals.rules import readiness_reasons, signoff_waits_on, window_conflicts, windows_overlap
from approvals.selectors import MySignOffs
from raci.models import Activity


@dataclass
class SignOffItem:
    """One signature of mine: the release, the activity, the RAD revision (None before
    the first one) and what it waits on (empty: it can be signed now)."""

    release: Release
    activity: Activity
    number: int | None
    waits_on: list[str] = field(default_factory=list)


@dataclass
class SignOffSections:
    ready: list[SignOffItem]
    waiting: list[SignOffItem]


SIGNOFFS_SHOWN = 50  # per group of My sign-offs: a user with thousands pending gets pages


@dataclass
class SignOffPage:
    """At most `SIGNOFFS_SHOWN` items of one group from a keyset cursor on, soonest first.

    The cursor is the activity of the last item shown; `next_after` is the one for the
    following page (None at the end). `earlier` and `rest` count what this page leaves
    out before and after it, `total` the whole group (the badge)."""

    items: list[SignOffItem]
    total: int
    earlier: int
    rest: int
    next_after: int | None
    more_url: str = ""  # set by the view: links keep the other group's cursor
    first_url: str = ""


def _order_key(item: SignOffItem) -> tuple:
    return (item.release.window_start, item.release.pk, item.activity.position, item.activity.pk)


def _cursor_key(items: list[SignOffItem], after: int) -> tuple | None:
    """Where an activity id cursor sits in the order: from the group itself, or, when
    the item has left the group since (signed, moved to the other group), from the
    activity's row (one query), so the next page neither repeats nor skips items."""
    for item in items:
        if item.activity.pk == after:
            return _order_key(item)
    row = (
        Activity.objects.filter(pk=after)
        .values_list("release__window_start", "release_id", "position", "pk")
        .first()
    )
    return tuple(row) if row else None


def signoff_page(items: list[SignOffItem], *, after: int | None) -> SignOffPage:
    """One page of a group (`items` in `my_signoff_sections` order) after the cursor."""
    key = _cursor_key(items, after) if after is not None else None
    earlier = sum(1 for item in items if _order_key(item) <= key) if key else 0
    following = items[earlier:]
    shown = following[:SIGNOFFS_SHOWN]
    more = len(following) > SIGNOFFS_SHOWN
    return SignOffPage(
        items=shown,
        total=len(items),
        earlier=earlier,
        rest=len(following) - len(shown),
        next_after=shown[-1].activity.pk if more else None,
    )


def readiness_for_releases(*, releases: list[Release]) -> dict[int, list[str]]:
    """`selectors.readiness_for` for many releases: release id -> why it is not ready.

    Six queries at most, whatever the number of releases (a seventh when a policy
    blocks on window conflicts).
    """
    if not releases:
        return {}
    ids = [r.pk for r in releases]
    product_ids = {r.product_id for r in releases}
    latest = RadRevision.objects.filter(release=OuterRef("release")).order_by("-number")
    current = {
        revision.release_id: revision
        for revision in RadRevision.objects.filter(
            release_id__in=ids, number=Subquery(latest.values("number")[:1])
        )
    }
    checks: dict[int, list[GateCheck]] = {}
    for check in GateCheck.objects.filter(release_id__in=ids):
        checks.setdefault(check.release_id, []).append(check)
    policies = {p.product_id: p for p in ApprovalPolicy.objects.filter(product_id__in=product_ids)}
    start = min(r.window_start for r in releases)
    end = max(r.window_end for r in releases)
    freezes = list(
        FreezeWindow.objects.filter(Q(product_id__in=product_ids) | Q(product__isnull=True))
        .filter(start__lt=end, end__gt=start)
        .select_related("product")
    )
    drilled = dict(
        FireDrill.objects.filter(product_id__in=product_ids, outcome=DrillOutcome.SUCCEEDED)
        .values("product_id")
        .annotate(last=Max("held_on"))
        .values_list("product_id", "last")
    )
    candidates = None
    if any(p.block_on_conflict for p in policies.values()):
        candidates = list(
            Release.objects.filter(window_start__lt=end, window_end__gt=start)
            .exclude(status__in=FINISHED)
            .select_related("product")
            .order_by("window_start", "id")
        )
    today = timezone.localdate()
    reasons = {}
    for release in releases:
        policy = policies.get(release.product_id) or ApprovalPolicy(product=release.product)
        reasons[release.pk] = readiness_reasons(
            release=release,
            current=current.get(release.pk),
            checks=checks.get(release.pk, []),
            policy=policy,
            freezes=[
                f
                for f in freezes
                if f.product_id in (None, release.product_id)
                and windows_overlap(f.start, f.end, release.window_start, release.window_end)
            ],
            today=today,
            drilled_on=drilled.get(release.product_id),
            conflicts=window_conflicts(release=release, candidates=candidates)
            if policy.block_on_conflict and candidates is not None
            else (),
        )
    return reasons


def _drafts_of(*, user, mine: MySignOffs) -> list[tuple[Release, Activity]]:
    """Draft releases where the user will sign an activity (its Accountable, from
    `mine.drafts`, or a member of its Accountable team, one query from the team side):
    their signature waits for the RAD to be submitted."""
    team_drafts = (
        Activity.objects.filter(release__status=Status.DRAFT, team__members=user)
        .select_related("release__product", "team")
        .order_by("release__window_start", "position")
    )
    found = {activity.pk: (release, activity) for release, activity in mine.drafts}
    found |= {activity.pk: (activity.release, activity) for activity in team_drafts}
    return [
        (release, activity)
        for release, activity in found.values()
        if release.release_type != ReleaseType.HOTFIX or activity.is_go_no_go
    ]


def my_signoff_sections(*, user, mine: MySignOffs) -> SignOffSections:
    """`mine.waiting` split into ready to sign and waiting on something, with the drafts
    the user will sign once submitted; each item says what it waits on. Soonest window first."""
    drafts = _drafts_of(user=user, mine=mine)
    releases = {r.pk: r for r, _, _ in mine.waiting} | {r.pk: r for r, _ in drafts}
    reasons = readiness_for_releases(releases=list(releases.values()))
    draft_numbers = dict(
        RadRevision.objects.filter(release_id__in=[r.pk for r, _ in drafts])
        .values("release_id")
        .annotate(last=Max("number"))
        .values_list("release_id", "last")
    )
    items = [
        SignOffItem(release, activity, number, reasons[release.pk])
        for release, activity, number in mine.waiting
    ] + [
        SignOffItem(release, activity, draft_numbers.get(release.pk), reasons[release.pk])
        for release, activity in drafts
    ]
    for item in items:
        item.waits_on = signoff_waits_on(
            release=item.release, has_revision=item.number is not None, ready_reasons=item.waits_on
        )
    items.sort(key=_order_key)
    return SignOffSections(
        ready=[i for i in items if not i.waits_on],
        waiting=[i for i in items if i.waits_on],
    )
