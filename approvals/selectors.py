"""Reads that cross relations or check permissions. Views never build querysets."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import models
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Subquery, Window
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from approvals.drills import drill_occurrences, drill_overdue
from approvals.lifecycle import (
    FINISHED,
    SIGNABLE,
    ReleaseAccess,
    ReleaseAction,
    ReleaseType,
    Status,
)
from approvals.models import (
    ApprovalPolicy,
    Artifact,
    Attachment,
    CheckPhase,
    Comment,
    Decision,
    Deployment,
    DeploymentStatus,
    DrillOutcome,
    FireDrill,
    FireDrillSchedule,
    FreezeWindow,
    GateCheck,
    MonitoringTick,
    PolicyVersion,
    PostReleaseReview,
    Product,
    RadRevision,
    Release,
    SignOff,
    SignOffMethod,
    VerbalState,
)
from approvals.rad import RISK_CATEGORIES
from approvals.rules import (
    Conflict,
    Refusal,
    counts_toward_approval,
    deploy_instant,
    deploy_refusals,
    is_required,
    judged_risk_categories,
    monitoring_overdue,
    readiness_reasons,
    readiness_refusals,
    routing_for,
    signoff_verdict,
    team_approval_met,
    team_progress_text,
    window_conflicts,
)
from raci import permissions
from raci.models import Activity, Assignment, Letter
from raci.selectors import delegations_for_delegate, release_activities


@dataclass
class ReleaseFilters:
    product: str = ""
    status: str = ""
    release_type: str = ""
    q: str = ""
    sort: str = ""  # a key of RELEASE_SORTS; "" is newest first
    mine: bool = False  # only releases waiting for the user's signature


# Sort keys of the release list: the column, then a tie-breaker so pages are stable.
RELEASE_SORTS = {
    "": ("-created_at", "-id"),
    "release": ("product__name", "version", "id"),
    "-release": ("-product__name", "-version", "-id"),
    "window": ("window_start", "id"),
    "-window": ("-window_start", "-id"),
    "status": ("status", "window_start", "id"),
    "-status": ("-status", "window_start", "id"),
}


def release_list_for_user(*, user, filters: ReleaseFilters) -> QuerySet[Release]:
    releases = permissions.releases_visible_to(user, Release.objects.select_related("product"))
    if filters.product:
        releases = releases.filter(product__slug=filters.product)
    if filters.status:
        releases = releases.filter(status=filters.status)
    if filters.release_type:
        releases = releases.filter(release_type=filters.release_type)
    if filters.q:
        releases = releases.filter(
            Q(title__icontains=filters.q)
            | Q(version__icontains=filters.q)
            | Q(product__name__icontains=filters.q)
        )
    if filters.mine:
        releases = releases.filter(pk__in={r.pk for r, _, _ in my_signoffs(user=user).waiting})
    return releases.order_by(*RELEASE_SORTS.get(filters.sort, RELEASE_SORTS[""]))


def products_visible_to(*, user) -> QuerySet[Product]:
    """Every product for release managers and auditors (the global view permission);
    for anyone else only products with a release they take part in (SPEC §4)."""
    if not user.is_authenticated or not user.is_active:
        return Product.objects.none()
    if user.is_superuser or user.has_perm(f"approvals.{permissions.VIEW}"):
        return Product.objects.all()
    visible = permissions.releases_visible_to(user, Release.objects.all())
    return Product.objects.filter(pk__in=visible.values("product_id"))


def product_list_for_user(*, user) -> QuerySet[Product]:
    visible = permissions.releases_visible_to(user, Release.objects.all())
    return (
        products_visible_to(user=user)
        .annotate(release_count=Count("releases", filter=Q(releases__in=visible.values("pk"))))
        .order_by("name")
    )


def products_for_choice(*, user) -> QuerySet[Product]:
    return products_visible_to(user=user).order_by("name")


def _delegated_perms(*, user, release) -> frozenset[str]:
    """A delegate sees (only sees) the releases of whoever is away and delegated to them."""
    if not user.is_authenticated:
        return frozenset()
    for delegation in delegations_for_delegate(user=user, now=timezone.now()):
        if permissions.VIEW in permissions.release_perms_for(delegation.absent, release):
            return frozenset({permissions.VIEW})
    return frozenset()


def release_access_for_user(*, user, product: str, version: str) -> ReleaseAccess:
    """The release with what `user` may do on it, or 404 when it does not exist or is hidden."""
    # The product's policy rides along (LEFT JOIN): the release's pages read it for
    # readiness, the rhythm and the header, and policy_for finds it cached, or its absence.
    release = (
        Release.objects.select_related(
            "product", "product__policy", "fixes", "created_by", "submitted_by", "policy_version"
        )
        .filter(product__slug=product, version=version)
        .first()
    )
    if release is None:
        raise Http404("No such release.")
    perms = permissions.release_perms_for(user, release)
    if permissions.VIEW not in perms:
        perms = _delegated_perms(user=user, release=release)
    if permissions.VIEW not in perms:
        raise Http404("No such release.")
    return ReleaseAccess.of(release, perms)


def release_get_for_user(*, user, product: str, version: str) -> Release:
    """The release, or 404 when it does not exist or the user may not see it."""
    return release_access_for_user(user=user, product=product, version=version).release


def freezes_overlapping(*, product: Product, start, end) -> list[FreezeWindow]:
    """Freeze windows of `product` (or of every product) that overlap [start, end)."""
    return list(
        FreezeWindow.objects.filter(Q(product=product) | Q(product__isnull=True))
        .filter(start__lt=end, end__gt=start)
        .select_related("product")
    )


def revisions_for_release(*, release: Release) -> list[RadRevision]:
    """Every revision to list, without its RAD content (the JSON can be large and only
    the shown revision's is read: see revision_with_content)."""
    return list(release.revisions.select_related("author").defer("content").order_by("number"))


def revision_with_content(*, release: Release, number: int) -> RadRevision | None:
    """One revision of the release with its RAD content, or None."""
    return release.revisions.select_related("author").filter(number=number).order_by().first()


def comments_for_release(*, release: Release) -> list[Comment]:
    return list(
        release.comments.select_related("author", "resolved_by").order_by("created_at", "id")
    )


# --- readiness and sign-offs ---------------------------------------------------


def policy_for(product: Product) -> ApprovalPolicy:
    """The product's policy, or the defaults when none was saved."""
    try:
        return product.policy
    except ApprovalPolicy.DoesNotExist:
        return ApprovalPolicy(product=product)


def readiness_for(*, release: Release, current, checks, policy) -> list[str]:
    """The readiness rule fed with the freezes over the release's window and today's date."""
    return readiness_reasons(
        release=release,
        current=current,
        checks=checks,
        policy=policy,
        freezes=freezes_overlapping(
            product=release.product, start=release.window_start, end=release.window_end
        ),
        today=timezone.localdate(),
        drilled_on=last_good_drill_on(product=release.product),
        conflicts=conflicts_for(release=release) if policy.block_on_conflict else (),
    )


def deploy_check_now(*, release: Release, now=None, artifact: str = "") -> list[Refusal]:
    """Everything that stops `release` deploying at `now`, re-read from the database.

    The one rule (`rules.deploy_refusals`) behind the API's deploy check, the
    release page's "may deploy now" panel and the unauthorized-deployment flag.
    """
    now = now or timezone.now()
    policy = policy_for(release.product)
    current = release.revisions.order_by("-number").first()
    readiness = readiness_refusals(
        release=release,
        current=current,
        checks=list(GateCheck.objects.filter(release=release)),
        policy=policy,
        freezes=[],
        today=timezone.localdate(now),
        drilled_on=last_good_drill_on(product=release.product),
        conflicts=conflicts_for(release=release) if policy.block_on_conflict else (),
    )
    start, end = deploy_instant(now)
    return deploy_refusals(
        release=release,
        now=now,
        freezes=freezes_overlapping(product=release.product, start=start, end=end),
        readiness=readiness,
        policy=policy,
        approved_digests=[a.digest for a in release.artifacts.all()],
        artifact=artifact,
    )


def artifacts_for_release(*, release: Release) -> list[Artifact]:
    return list(release.artifacts.order_by("name"))


@dataclass
class SignOffRow:
    """One activity on the approval progress panel."""

    activity: object
    accountable: object | None
    responsible: list = field(default_factory=list)
    required: bool = True
    live: object | None = None
    history: list = field(default_factory=list)
    can_sign: bool = False
    why: str = ""
    # With a team as the Accountable: every member's live sign-off, and the sentence
    # "1 of 2 from Security leads: Ana approved".
    team: object | None = None
    team_live: list = field(default_factory=list)
    team_text: str = ""
    met: bool = False
    # The absent person the user would sign for, under a delegation in force.
    on_behalf_of: object | None = None

    def may_sign(self, user) -> bool:
        """Whether `user` is who signs this activity (its A, a member of its A team, or
        the delegate of one of them who is away)."""
        if self.on_behalf_of is not None:
            return True
        if self.team is not None:
            return any(member.pk == user.pk for member in self.team.members.all())
        return self.accountable is not None and self.accountable.pk == user.pk


@dataclass
class Progress:
    rows: list
    current: object
    ready_reasons: list
    checks: list
    policy: object
    approved_count: int
    required_count: int
    # Required activities whose approval does not count yet, by name.
    missing: list = field(default_factory=list)
    # Risk-based routing: which rule applied and why (rules.routing_for).
    routing: object | None = None


def release_progress(*, release: Release, user, current, activities=None) -> Progress:
    """The approval progress panel: per activity its A, decision and what the user may do."""
    activities = activities if activities is not None else release_activities(release=release)
    signoffs = list(
        SignOff.objects.filter(release=release)
        .select_related("signer", "recorded_by", "on_behalf_of")
        .order_by("-signed_at")
    )
    checks = list(GateCheck.objects.filter(release=release).select_related("reported_by"))
    policy = policy_for(release.product)
    ready = readiness_for(release=release, current=current, checks=checks, policy=policy)
    absent = [d.absent for d in delegations_for_delegate(user=user, now=timezone.now())]
    routing = routing_for(content=current.content if current else None, policy=policy)
    rows = [
        _signoff_row(
            release=release,
            user=user,
            activity=a,
            signoffs=signoffs,
            current=current,
            ready=ready,
            routing=routing,
        )
        for a in activities
    ]
    if absent:
        rows = [
            _delegated_row(
                row,
                release=release,
                user=user,
                absent=absent,
                current=current,
                ready=ready,
                routing=routing,
            )
            for row in rows
        ]
    required = [r for r in rows if r.required]
    now = timezone.now()
    for row in rows:
        row.met = _row_met(row, release=release, policy=policy, now=now)
    approved = [r for r in required if r.met]
    return Progress(
        rows=rows,
        current=current,
        ready_reasons=ready,
        checks=checks,
        policy=policy,
        approved_count=len(approved),
        required_count=len(required),
        missing=[r.activity.name for r in required if r not in approved],
        routing=routing,
    )


def _row_met(row: SignOffRow, *, release, policy, now) -> bool:
    """The activity's approval counts: its A's, or enough different team members'."""
    live = row.team_live if row.team is not None else [row.live] if row.live else []
    counting = [
        s
        for s in live
        if counts_toward_approval(
            signoff=s,
            release=release,
            activity=row.activity,
            grace_hours=policy.hotfix_verbal_grace_hours,
            now=now,
        )
    ]
    if row.team is not None:
        return team_approval_met(
            seats=[s.seat_id for s in counting], required=row.activity.team_required
        )
    return bool(counting)


def _delegated_row(
    row: SignOffRow, *, release, user, absent, current, ready, routing=None
) -> SignOffRow:
    """Where the user may not sign for themselves, they may sign for someone away
    who delegated to them (directly: a delegate's delegate never does)."""
    if row.can_sign or row.may_sign(user):
        return row
    members = {m.pk for m in row.team.members.all()} if row.team is not None else set()
    for person in absent:
        if row.team is not None and person.pk not in members:
            continue
        if row.team is None and (row.accountable is None or row.accountable.pk != person.pk):
            continue
        seat_taken = any(
            s.seat_id == person.pk
            for s in (row.team_live if row.team else [row.live] if row.live else [])
        )
        verdict = signoff_verdict(
            user=user,
            release=release,
            activity=row.activity,
            accountable=row.accountable,
            responsible_ids={u.pk for u in row.responsible},
            current=current,
            ready_reasons=ready,
            team=row.team,
            member_ids=frozenset(members),
            on_behalf_of=person,
            routing=routing,
        )
        row.on_behalf_of = person
        row.can_sign = verdict.allowed and not seat_taken and (row.team or row.live is None)
        row.why = "" if seat_taken else verdict.why
        return row
    return row


def _team_row(row: SignOffRow, *, user, verdict, current) -> SignOffRow:
    """A team activity: each member's decision; the user may sign once, for themselves."""
    row.team_live = [
        s
        for s in row.history
        if s.voided_at is None and current is not None and s.revision_id == current.pk
    ]
    row.team_live.sort(key=lambda s: (s.signed_at, s.pk))
    approvers = [s.printed_name for s in row.team_live if s.decision == Decision.APPROVE]
    row.team_text = team_progress_text(
        team_name=row.team.name, required=row.activity.team_required, approvers=approvers
    )
    rejected = next((s for s in row.team_live if s.decision == Decision.REJECT), None)
    row.live = rejected
    mine = any(s.seat_id == user.pk for s in row.team_live)
    row.can_sign = verdict.allowed and not mine and rejected is None
    row.why = "" if mine else verdict.why
    return row


def _signoff_row(*, release, user, activity, signoffs, current, ready, routing=None) -> SignOffRow:
    """One activity: its Accountable and Responsibles, its decisions, what `user` may do."""
    accountable = next(
        (a.user for a in activity.assignments.all() if a.letter == Letter.ACCOUNTABLE), None
    )
    responsible = [a.user for a in activity.assignments.all() if a.letter == Letter.RESPONSIBLE]
    history = [s for s in signoffs if s.activity_id == activity.pk]
    live = next(
        (
            s
            for s in history
            if s.voided_at is None and current is not None and s.revision_id == current.pk
        ),
        None,
    )
    verdict = signoff_verdict(
        user=user,
        release=release,
        activity=activity,
        accountable=accountable,
        responsible_ids={u.pk for u in responsible},
        current=current,
        ready_reasons=ready,
        team=activity.team,
        member_ids=frozenset(m.pk for m in activity.team.members.all())
        if activity.team_id
        else frozenset(),
        routing=routing,
    )
    row = SignOffRow(
        activity=activity,
        accountable=accountable,
        responsible=responsible,
        required=is_required(release, activity, routing),
        live=live,
        history=history,
        can_sign=verdict.allowed and live is None,
        why=verdict.why if live is None else "",
        team=activity.team,
    )
    if activity.team_id:
        return _team_row(row, user=user, verdict=verdict, current=current)
    return row


@dataclass
class MySignOffs:
    waiting: list  # (release, activity, current revision number)
    resign: list  # voided sign-offs of mine on releases still in review
    verbal: list  # verbal approvals recorded for me, awaiting my answer
    # (release, activity, revision, absent person): what I may sign for someone away.
    delegated: list = field(default_factory=list)
    # (release, activity) of drafts I am the Accountable of: mine to sign once submitted.
    drafts: list = field(default_factory=list)


def my_signoffs(*, user) -> MySignOffs:
    """What waits for the user's signature, most urgent (soonest window) first.

    The drafts the user is Accountable for come in the same query. The release's status
    is looked up per assignment of the user (a correlated subquery: two index lookups
    each) so only the few open ones are joined; as a plain join, PostgreSQL hashes every
    activity of every release to keep a few dozen of someone's thousands."""
    latest = RadRevision.objects.filter(release=OuterRef("activity__release")).order_by("-number")
    status_of = Activity.objects.filter(pk=OuterRef("activity_id")).order_by()
    rows = list(
        Assignment.objects.filter(user=user, letter=Letter.ACCOUNTABLE)
        .alias(release_status=Subquery(status_of.values("release__status")[:1]))
        .filter(release_status__in=(*SIGNABLE, Status.DRAFT))
        .select_related("activity__release__product", "activity__team")
        .annotate(current_number=Subquery(latest.values("number")[:1]))
        .order_by("activity__release__window_start", "activity__position")
    )
    mine = [a for a in rows if a.activity.release.status != Status.DRAFT]
    drafts = [
        (a.activity.release, a.activity) for a in rows if a.activity.release.status == Status.DRAFT
    ]
    activity_ids = [a.activity_id for a in mine]
    live = {
        (s.activity_id, s.revision_number)
        for s in SignOff.objects.filter(activity_id__in=activity_ids, voided_at__isnull=True)
    }
    voided = list(
        SignOff.objects.filter(
            signer=user,
            voided_at__isnull=False,
            release__status=Status.IN_REVIEW,
            method=SignOffMethod.E_SIGNATURE,
        )
        .select_related("release__product", "activity")
        .annotate(
            current_number=Subquery(
                RadRevision.objects.filter(release=OuterRef("release"))
                .order_by("-number")
                .values("number")[:1]
            )
        )
        .order_by("release__window_start", "-voided_at")
    )
    waiting = []
    resign_seen = set()
    for assignment in mine:
        activity, release = assignment.activity, assignment.activity.release
        if release.status == Status.HALTED and not activity.is_go_no_go:
            continue
        if release.release_type == ReleaseType.HOTFIX and not activity.is_go_no_go:
            continue
        if assignment.current_number and (activity.pk, assignment.current_number) not in live:
            waiting.append((release, activity, assignment.current_number))
            resign_seen.add(activity.pk)
    team_waiting = _team_waiting(user=user)
    if team_waiting:
        waiting = sorted(waiting + team_waiting, key=lambda w: (w[0].window_start, w[1].position))
        resign_seen.update(activity.pk for _, activity, _ in team_waiting)
    resign = _latest_voided_per_activity(voided, waiting_ids=resign_seen)
    verbal = list(
        SignOff.objects.filter(
            signer=user,
            method=SignOffMethod.VERBAL,
            verbal_state=VerbalState.PENDING,
            voided_at__isnull=True,
        ).select_related("release__product", "activity", "recorded_by")
    )
    return MySignOffs(
        waiting=waiting,
        resign=resign,
        verbal=verbal,
        delegated=_delegated_waiting(user=user),
        drafts=drafts,
    )


def _delegated_waiting(*, user) -> list:
    """What the people who delegated to `user` wait to sign, while the delegation holds.

    Queries grow with the number of people away (usually one), not with the data.
    """
    items = []
    for delegation in delegations_for_delegate(user=user, now=timezone.now()):
        absent = delegation.absent
        latest = RadRevision.objects.filter(release=OuterRef("activity__release")).order_by(
            "-number"
        )
        theirs = list(
            Assignment.objects.filter(
                user=absent, letter=Letter.ACCOUNTABLE, activity__release__status__in=SIGNABLE
            )
            .select_related("activity__release__product")
            .annotate(current_number=Subquery(latest.values("number")[:1]))
        )
        live = set(
            SignOff.objects.filter(
                activity_id__in=[a.activity_id for a in theirs], voided_at__isnull=True
            ).values_list("activity_id", "revision_number")
        )
        for assignment in theirs:
            activity = assignment.activity
            number = assignment.current_number
            if number and (activity.pk, number) not in live and _signable_now(activity):
                items.append((activity.release, activity, number, absent))
        items += [
            (release, activity, number, absent)
            for release, activity, number in _team_waiting(user=absent)
        ]
    return sorted(items, key=lambda i: (i[0].window_start, i[1].position))


def _signable_now(activity) -> bool:
    release = activity.release
    if release.status == Status.HALTED and not activity.is_go_no_go:
        return False
    return release.release_type != ReleaseType.HOTFIX or activity.is_go_no_go


def _team_waiting(*, user) -> list:
    """(release, activity, revision) the user may sign as a member of an Accountable team
    and has not signed yet on the current revision (two queries)."""
    latest = RadRevision.objects.filter(release=OuterRef("release")).order_by("-number")
    activities = list(
        Activity.objects.filter(team__members=user, release__status__in=SIGNABLE)
        .select_related("release__product", "team")
        .annotate(current_number=Subquery(latest.values("number")[:1]))
        .order_by("release__window_start", "position")
    )
    if not activities:
        return []
    signed = set(
        SignOff.objects.filter(
            activity__in=activities, seat=user, voided_at__isnull=True
        ).values_list("activity_id", "revision_number")
    )
    return [
        (activity.release, activity, activity.current_number)
        for activity in activities
        if activity.current_number
        and (activity.pk, activity.current_number) not in signed
        and (activity.release.status != Status.HALTED or activity.is_go_no_go)
        and (activity.release.release_type != ReleaseType.HOTFIX or activity.is_go_no_go)
    ]


def _latest_voided_per_activity(voided, *, waiting_ids: set[int]) -> list[SignOff]:
    """My most recent voided signature per activity that waits for me again."""
    resign = [
        s
        for s in voided
        if s.activity_id in waiting_ids and s.revision_number < (s.current_number or 0)
    ]
    # One entry per activity: the most recent voided signature.
    seen, unique_resign = set(), []
    for signoff in resign:
        if signoff.activity_id not in seen:
            seen.add(signoff.activity_id)
            unique_resign.append(signoff)
    return unique_resign


def deployments_for_release(*, release: Release) -> list[Deployment]:
    return list(release.deployments.select_related("recorded_by").order_by("recorded_at", "id"))


def verbal_signoff_for_user(*, user, signoff_id: int) -> SignOff:
    """A verbal sign-off, only for the Accountable it names (404 for everyone else)."""
    signoff = (
        SignOff.objects.select_related("release__product", "activity", "recorded_by", "signer")
        .filter(pk=signoff_id, method=SignOffMethod.VERBAL, signer=user)
        .first()
    )
    if signoff is None:
        raise Http404("No such verbal approval.")
    return signoff


def unauthorized_deployments(*, product=None, date_from=None, date_to=None) -> QuerySet[Deployment]:
    """Deployments recorded while the deploy check refused them, newest first."""
    rows = Deployment.objects.filter(unauthorized=True).select_related(
        "release__product", "recorded_by"
    )
    if product is not None:
        rows = rows.filter(release__product=product)
    if date_from:
        rows = rows.filter(recorded_at__date__gte=date_from)
    if date_to:
        rows = rows.filter(recorded_at__date__lte=date_to)
    return rows.order_by("-recorded_at", "-id")


# --- the release rhythm after deployment (docs/lifecycle.md) ---------------------------


def deployment_to_verify(*, release: Release) -> Deployment | None:
    """The latest succeeded deployment of a deployed release: what the checklist and checks verify."""
    if release.status != Status.DEPLOYED:
        return None
    return (
        release.deployments.filter(status=DeploymentStatus.SUCCEEDED)
        .order_by("-recorded_at", "-id")
        .first()
    )


def monitoring_ticker_ids(*, release: Release, policy: ApprovalPolicy) -> set[int]:
    """Who ticks the post-deploy checklist: every Responsible and the Operations Accountable."""
    return set(
        Assignment.objects.filter(activity__release=release)
        .filter(
            Q(letter=Letter.RESPONSIBLE)
            | Q(letter=Letter.ACCOUNTABLE, activity__name=policy.operations_activity)
        )
        .values_list("user_id", flat=True)
    )


def operations_accountable_ids(*, release: Release, policy: ApprovalPolicy) -> set[int]:
    return set(
        Assignment.objects.filter(
            activity__release=release,
            activity__name=policy.operations_activity,
            letter=Letter.ACCOUNTABLE,
        ).values_list("user_id", flat=True)
    )


@dataclass
class ChecklistItem:
    position: int
    text: str
    tick: MonitoringTick | None
    overdue: bool


@dataclass
class ReleaseLoaded:
    """What the release page has read already, handed to the panels that need it too."""

    current: RadRevision | None  # the latest revision, with its content
    revisions: list  # every revision, in number order (without content)
    deployments: list  # every deployment, oldest first
    checks: list  # every gate check


@dataclass
class Rhythm:
    """What the release page shows of the rhythm: cut-off, checklist, post-deploy checks."""

    release: Release
    scope_changed_after_cutoff: list[int]  # revision numbers
    deployment: Deployment | None
    items: list[ChecklistItem]
    may_tick: bool
    post_deploy_checks: list[GateCheck]
    verification_failed: list[Deployment]
    due_at: object = None
    risk_judge: str = ""
    required_risk_categories: list[str] = field(default_factory=list)

    @property
    def ticked(self) -> int:
        return sum(1 for item in self.items if item.tick is not None)


def release_rhythm(
    *, release: Release, user, now=None, loaded: ReleaseLoaded | None = None
) -> Rhythm:
    """The rhythm of one release as `user` sees it (they may already see the release).

    `loaded`: what the release page already read (its revisions, deployments and gate
    checks), so the panel costs no second read of them; without it, it reads its own.
    """
    now = now or timezone.now()
    policy = policy_for(release.product)
    if loaded is not None:
        current = loaded.current
        late = [r.number for r in loaded.revisions if r.scope_changed_after_cutoff]
        succeeded = [d for d in loaded.deployments if d.status == DeploymentStatus.SUCCEEDED]
        deployment = max(succeeded, key=lambda d: (d.recorded_at, d.pk), default=None)
        post_deploy_checks = [c for c in loaded.checks if c.phase == CheckPhase.AFTER_DEPLOYMENT]
        verification_failed = [d for d in loaded.deployments if d.verification_failed_at]
    else:
        # The checklist comes from the current revision: one row's content, not every one's.
        current = release.revisions.order_by("-number").only("release", "number", "content").first()
        late = list(
            release.revisions.filter(scope_changed_after_cutoff=True)
            .order_by("number")
            .values_list("number", flat=True)
        )
        # The latest succeeded deployment: the one to verify while deployed, and after
        # it (closed, rolled back) the one whose review still shows what was ticked.
        deployment = (
            release.deployments.filter(status=DeploymentStatus.SUCCEEDED)
            .order_by("-recorded_at", "-id")
            .first()
        )
        post_deploy_checks = list(
            release.gate_checks.filter(phase=CheckPhase.AFTER_DEPLOYMENT).select_related(
                "reported_by"
            )
        )
        verification_failed = list(release.deployments.filter(verification_failed_at__isnull=False))
    items: list[ChecklistItem] = []
    due_at = None
    if deployment is not None and current is not None:
        ticks = {
            t.position: t
            for t in MonitoringTick.objects.filter(deployment=deployment).select_related(
                "ticked_by"
            )
        }
        due_at = deployment.recorded_at + timedelta(hours=policy.monitoring_tick_hours)
        overdue = monitoring_overdue(
            deployed_at=deployment.recorded_at, hours=policy.monitoring_tick_hours, now=now
        )
        items = [
            ChecklistItem(i, text, ticks.get(i), overdue and i not in ticks)
            for i, text in enumerate(current.content["monitoring"])
        ]
    return Rhythm(
        release=release,
        scope_changed_after_cutoff=late,
        deployment=deployment,
        items=items,
        may_tick=release.status == Status.DEPLOYED
        and user.pk in monitoring_ticker_ids(release=release, policy=policy),
        post_deploy_checks=post_deploy_checks,
        verification_failed=verification_failed,
        due_at=due_at,
        risk_judge=policy.risk_judge_activity,
        required_risk_categories=[
            RISK_CATEGORIES.get(c, c) for c in policy.required_risk_categories or []
        ],
    )


def judged_risks_for(*, release: Release, activity) -> list[str]:
    """The required risk categories this activity's Accountable judges (policy routing)."""
    policy = policy_for(release.product)
    return judged_risk_categories(
        activity_name=activity.name,
        judge_activity=policy.risk_judge_activity,
        required=policy.required_risk_categories,
    )


@dataclass
class RiskPolicy:
    categories: list[str]
    judge_activity: str
    judge: object = None  # the activity's Accountable, or None


def risk_policy_for(*, release: Release) -> RiskPolicy | None:
    """What the product's policy asks of the risk assessment, for the release page."""
    policy = policy_for(release.product)
    if not policy.required_risk_categories:
        return None
    judge = None
    if policy.risk_judge_activity:
        cell = (
            Assignment.objects.filter(
                activity__release=release,
                activity__name=policy.risk_judge_activity,
                letter=Letter.ACCOUNTABLE,
            )
            .select_related("user")
            .first()
        )
        judge = cell.user if cell else None
    return RiskPolicy(
        categories=[RISK_CATEGORIES.get(c, c) for c in policy.required_risk_categories],
        judge_activity=policy.risk_judge_activity,
        judge=judge,
    )


def conflicts_for(*, release: Release) -> list[Conflict]:
    """Unfinished releases whose window overlaps this one's on a shared product or target."""
    candidates = (
        Release.objects.filter(
            window_start__lt=release.window_end, window_end__gt=release.window_start
        )
        .exclude(pk=release.pk)
        .exclude(status__in=FINISHED)
        .select_related("product")
        .order_by("window_start", "id")
    )
    return window_conflicts(release=release, candidates=candidates)


def last_good_drill_on(*, product: Product):
    """The day of the product's latest fire drill that rolled back as planned, or None."""
    return (
        FireDrill.objects.filter(product=product, outcome=DrillOutcome.SUCCEEDED)
        .aggregate(last=Max("held_on"))
        .get("last")
    )


def product_get_for_user(*, user, slug: str) -> Product:
    """The product, or 404 when it does not exist or the user may not see it."""
    product = products_visible_to(user=user).filter(slug=slug).first()
    if product is None:
        raise Http404("No such product.")
    return product


@dataclass
class DrillState:
    schedule: FireDrillSchedule | None
    drills: list[FireDrill]
    upcoming: list
    overdue_since: object  # the due day of an overdue drill, or None
    last_good: object


def drill_state_for(*, product: Product, today) -> DrillState:
    """The product's schedule, its recent drills, the next drill days and whether one is overdue."""
    schedule = FireDrillSchedule.objects.filter(product=product).first()
    drills = list(FireDrill.objects.filter(product=product).select_related("recorded_by")[:20])
    last_good = last_good_drill_on(product=product)
    upcoming, overdue = [], None
    if schedule is not None:
        upcoming = drill_occurrences(
            rule=schedule.rrule,
            first_on=schedule.first_on,
            start=today,
            end=today + timedelta(days=2 * 366),
        )[:4]
        overdue = drill_overdue(
            rule=schedule.rrule,
            first_on=schedule.first_on,
            grace_days=schedule.grace_days,
            last_held_on=last_good,
            today=today,
        )
    return DrillState(schedule, drills, upcoming, overdue, last_good)


def product_settings_for_user(*, user, slug: str) -> Product:
    """A product whose settings `user` may open: 404 when it does not exist or is hidden."""
    product = products_visible_to(user=user).filter(slug=slug).first()
    if product is None:
        raise Http404("No such product.")
    return product


def policy_versions_for_product(*, product: Product) -> list[PolicyVersion]:
    return list(
        PolicyVersion.objects.filter(product=product)
        .select_related("created_by")
        .order_by("-number")
    )


def activities_with_teams(*, release: Release) -> list[Activity]:
    return list(
        Activity.objects.filter(release=release)
        .select_related("team")
        .prefetch_related("team__members")
        .order_by("position", "id")
    )


def earlier_releases_for(*, user, release: Release) -> QuerySet[Release]:
    """Releases of the same product the user can see, other than this one, newest first."""
    visible = permissions.releases_visible_to(user, Release.objects.select_related("product"))
    return (
        visible.filter(product_id=release.product_id, revisions__isnull=False)
        .exclude(pk=release.pk)
        .distinct()
        .order_by("-created_at", "-id")
    )


def review_for_release(*, release: Release) -> PostReleaseReview | None:
    """The post-release review of a release, with its author, or None."""
    return PostReleaseReview.objects.filter(release=release).select_related("author").first()


def review_template_suggestion(*, release: Release) -> PostReleaseReview | None:
    """The release's post-release review when it suggests a RAD template change."""
    return (
        PostReleaseReview.objects.filter(release=release)
        .exclude(template_changes="")
        .select_related("release__product")
        .first()
    )


# --- the RAD editor's companions: evidence files -----------------------------------


def attachments_for_release(*, release: Release) -> list[Attachment]:
    """The release's evidence files that were not removed, oldest first."""
    return list(
        release.attachments.filter(removed_at__isnull=True)
        .select_related("uploaded_by")
        .order_by("uploaded_at", "id")
    )


def attachment_for_release(*, release: Release, attachment_id: int) -> Attachment:
    """One live evidence file of `release`, or 404 (another release's id included)."""
    attachment = (
        release.attachments.filter(pk=attachment_id, removed_at__isnull=True)
        .select_related("release", "release__product")
        .first()
    )
    if attachment is None:
        raise Http404("No such file.")
    return attachment


def comment_for_release(*, release: Release, comment_id: int) -> Comment:
    """One comment of `release`, or 404 (another release's id included)."""
    comment = release.comments.filter(pk=comment_id).select_related("release").first()
    if comment is None:
        raise Http404("No such comment.")
    return comment


# --- the overview: only what it shows ----------------------------------------

OVERVIEW_WAITING = 5  # sign-offs the overview lists; My sign-offs has them all


@dataclass
class Overview:
    waiting: list  # the first OVERVIEW_WAITING (release, activity, current revision number)
    waiting_count: int  # all of them, counted by the database
    verbal_count: int  # verbal approvals recorded for the user to confirm


def _still_signable(prefix: str = "") -> Q:
    """A halted release or a hotfix waits only for its go/no-go (as my_signoffs skips)."""
    return Q(**{f"{prefix}is_go_no_go": True}) | (
        Q(**{f"{prefix}release__status": Status.IN_REVIEW})
        & ~Q(**{f"{prefix}release__release_type": ReleaseType.HOTFIX})
    )


def _waiting_accountable(*, user) -> QuerySet[Assignment]:
    latest = RadRevision.objects.filter(release=OuterRef("activity__release")).order_by("-number")
    signed = SignOff.objects.filter(
        activity_id=OuterRef("activity_id"),
        revision_number=OuterRef("current_number"),
        voided_at__isnull=True,
    )
    return (
        Assignment.objects.filter(
            user=user, letter=Letter.ACCOUNTABLE, activity__release__status__in=SIGNABLE
        )
        .filter(_still_signable("activity__"))
        .annotate(current_number=Subquery(latest.values("number")[:1]))
        .filter(current_number__isnull=False)
        .exclude(Exists(signed))
    )


def _waiting_as_team_member(*, user) -> QuerySet[Activity]:
    latest = RadRevision.objects.filter(release=OuterRef("release")).order_by("-number")
    signed = SignOff.objects.filter(
        activity_id=OuterRef("pk"),
        seat=user,
        revision_number=OuterRef("current_number"),
        voided_at__isnull=True,
    )
    return (
        Activity.objects.filter(team__members=user, release__status__in=SIGNABLE)
        .filter(_still_signable())
        .annotate(current_number=Subquery(latest.values("number")[:1]))
        .filter(current_number__isnull=False)
        .exclude(Exists(signed))
    )


def overview_for_user(*, user) -> Overview:
    """The overview's sign-off card in three queries, whatever the user's backlog:
    the first few of each kind with LIMIT, each carrying the total of its kind
    (COUNT(*) OVER (), counted before the LIMIT in the same scan, so the backlog is
    read once, not once for the rows and again for the count), and the verbal
    approvals to confirm. The same items as my_signoffs.waiting, which the My
    sign-offs page lists in full."""
    total = Window(Count("*"))
    mine = list(
        _waiting_accountable(user=user)
        .select_related("activity__release__product")
        .annotate(total=total)
        .order_by("activity__release__window_start", "activity__position", "pk")[:OVERVIEW_WAITING]
    )
    team = list(
        _waiting_as_team_member(user=user)
        .select_related("release__product")
        .annotate(total=total)
        .order_by("release__window_start", "position", "pk")[:OVERVIEW_WAITING]
    )
    first = [(a.activity.release, a.activity, a.current_number) for a in mine] + [
        (activity.release, activity, activity.current_number) for activity in team
    ]
    first.sort(key=lambda w: (w[0].window_start, w[1].position))
    verbal = SignOff.objects.filter(
        signer=user,
        method=SignOffMethod.VERBAL,
        verbal_state=VerbalState.PENDING,
        voided_at__isnull=True,
    )
    return Overview(
        waiting=first[:OVERVIEW_WAITING],
        waiting_count=sum(rows[0].total for rows in (mine, team) if rows),
        verbal_count=verbal.count(),
    )


# --- the release list's default order, by keyset ------------------------------


@dataclass
class ReleasePage:
    """One page of the release list, newest first, found by keyset (never OFFSET)."""

    object_list: list
    count: int  # every release that matches the filters
    older_before: int | None = None  # the cursor of the next (older) page, if any
    newer_after: int | None = None  # the cursor of the previous (newer) page, if any


def _anchor(release_id: int | None):
    """The creation time of the cursor's release, or None (start from the newest)."""
    if release_id is None:
        return None
    return Release.objects.filter(pk=release_id).values_list("created_at", flat=True).first()


def release_keyset_page(
    *, releases: QuerySet[Release], before: int | None, after: int | None, limit: int
) -> ReleasePage:
    """`releases` (already filtered, in the default order "-created_at", "-id") from the
    cursor on: `before` a release id for the older page, `after` for the newer one.

    The page costs the same at page 1 and page 400 (the index release_created_desc);
    a cursor naming no release starts again from the newest.
    """
    count = releases.count()
    newer_anchor, older_anchor = _anchor(after), _anchor(before)
    if newer_anchor is not None:
        newer = Q(created_at__gt=newer_anchor) | Q(created_at=newer_anchor, id__gt=after)
        rows = list(releases.filter(newer).order_by("created_at", "id")[: limit + 1])
        has_newer = len(rows) > limit
        rows = rows[:limit][::-1]
        has_older = bool(rows)
    else:
        if older_anchor is not None:
            older = Q(created_at__lt=older_anchor) | Q(created_at=older_anchor, id__lt=before)
            releases = releases.filter(older)
        rows = list(releases.order_by("-created_at", "-id")[: limit + 1])
        has_older = len(rows) > limit
        rows = rows[:limit]
        has_newer = older_anchor is not None and bool(rows)
    return ReleasePage(
        object_list=rows,
        count=count,
        older_before=rows[-1].pk if has_older else None,
        newer_after=rows[0].pk if has_newer else None,
    )


def release_keyset_cursor_for_page(
    *, releases: QuerySet[Release], page: int, limit: int
) -> int | None:
    """The `before` cursor that shows what `?page=page` showed before the default order
    paged by keyset, so bookmarked links keep working (one OFFSET query, once: the
    redirect lands on the keyset page). None when that page is the first or past the end."""
    if page <= 1:
        return None
    last_of_previous = (page - 1) * limit - 1
    ids = releases.order_by("-created_at", "-id").values_list("pk", flat=True)
    found = list(ids[last_of_previous : last_of_previous + 1])
    return found[0] if found else None


# --- the release page's header -------------------------------------------------


class NextStep(models.TextChoices):
    """The one thing the release page offers a reader to do next."""

    SIGN = "sign", "Sign"
    SUBMIT = "submit", "Submit for review"
    EDIT_RAD = "edit_rad", "Edit the RAD"
    RECORD_DEPLOYMENT = "record_deployment", "Record deployment"
    REVIEW = "review", "Write the post-release review"
    NOTHING = "nothing", "Nothing to do"


@dataclass(frozen=True)
class ReleaseHeader:
    """Status, readiness and the one next action of one reader, for the top of the release page.

    `readiness` is the headline ("Ready for sign-off", "2 things missing: …"),
    `missing` the reasons behind it, all taken from the rules the panels below
    use (`readiness_reasons` through `release_progress`, the submit check
    `rad_incomplete_sections`, the deploy check): nothing is decided twice.
    """

    readiness: str
    missing: tuple[str, ...]
    step: str
    label: str
    url: str = ""
    post: bool = False
    sign_dialog: bool = False
    note: str = ""

    @property
    def ready(self) -> bool:
        return not self.missing


def _missing_headline(missing, ready_text: str) -> str:
    if not missing:
        return ready_text
    count = len(missing)
    return f"{count} thing{'s' if count != 1 else ''} missing"


def _header_readiness(*, release: Release, progress, problems, current, deploy_refusals):
    """(headline, reasons) for the release's state, from the rules the page already ran."""
    if release.status in FINISHED:
        return f"{release.get_status_display()}: nothing more happens to it", ()
    if release.status == Status.DRAFT:
        missing = tuple(problems.values()) if current else ("The RAD has not been written yet.",)
        return _missing_headline(missing, "Ready to submit for review"), missing
    if release.status in SIGNABLE:
        missing = tuple(progress.ready_reasons)
        if missing:
            return _missing_headline(missing, ""), missing
        return (
            f"Ready for sign-off: {progress.approved_count} of {progress.required_count} approved",
            (),
        )
    if release.status == Status.APPROVED:
        missing = tuple(r.message for r in deploy_refusals or ())
        return _missing_headline(missing, "Approved: may deploy now"), missing
    return f"{release.get_status_display()}: the post-release review closes it", ()


def _waiting_for(progress) -> str:
    names = []
    for row in progress.rows:
        if not row.required or row.met:
            continue
        if row.team is not None:
            who = row.team.name
        elif row.accountable is not None:
            who = row.accountable.get_full_name() or row.accountable.get_username()
        else:
            who = "nobody"
        names.append(f"{who} ({row.activity.name})")
    return "Waiting for " + ", ".join(names) + "." if names else ""


def _header_step(*, access: ReleaseAccess, progress, problems, current) -> dict:
    """The one next action of this reader, most pressing first; the lifecycle decides what is possible."""
    release = access.release
    url_kwargs = {"product": release.product.slug, "version": release.version}
    if release.status in SIGNABLE and not progress.ready_reasons:
        row = next((r for r in progress.rows if r.can_sign and r.required), None)
        if row is not None:
            verb = "Resume: sign" if release.status == Status.HALTED else "Sign"
            return {
                "step": NextStep.SIGN,
                "label": f"{verb} {row.activity.name}",
                "url": reverse(
                    "approvals:signoff", kwargs={**url_kwargs, "activity_id": row.activity.pk}
                )
                + "?decision=approve",
                "sign_dialog": True,
            }
    if access.can(ReleaseAction.SUBMIT) and current and not problems:
        return {
            "step": NextStep.SUBMIT,
            "label": NextStep.SUBMIT.label,
            "url": reverse("approvals:release_submit", kwargs=url_kwargs),
            "post": True,
        }
    if release.status == Status.DRAFT and access.can(ReleaseAction.EDIT_RAD):
        return {
            "step": NextStep.EDIT_RAD,
            "label": "Write the RAD" if not current else "Complete the RAD",
            "url": reverse("approvals:rad_edit", kwargs=url_kwargs),
        }
    if release.status == Status.APPROVED and access.can(ReleaseAction.RECORD_DEPLOYMENT):
        return {
            "step": NextStep.RECORD_DEPLOYMENT,
            "label": NextStep.RECORD_DEPLOYMENT.label,
            "url": "#lifecycle",
        }
    if access.can(ReleaseAction.REVIEW):
        return {
            "step": NextStep.REVIEW,
            "label": NextStep.REVIEW.label,
            "url": reverse("approvals:review_create", kwargs=url_kwargs),
        }
    return {"step": NextStep.NOTHING, "label": "Nothing for you to do now"}


def release_header_for(
    *, access: ReleaseAccess, progress, problems: dict, current, deploy_refusals=None
) -> ReleaseHeader:
    """The release page's header for the reader behind `access`; reads nothing more."""
    release = access.release
    readiness, missing = _header_readiness(
        release=release,
        progress=progress,
        problems=problems,
        current=current,
        deploy_refusals=deploy_refusals,
    )
    step = _header_step(access=access, progress=progress, problems=problems, current=current)
    note = ""
    mine = [r.activity.name for r in progress.rows if r.can_sign and r.required]
    if step["step"] == NextStep.NOTHING and release.status in SIGNABLE and mine:
        note = f"You sign {' and '.join(mine)} once nothing is missing."
    elif step["step"] == NextStep.NOTHING and release.status in SIGNABLE:
        note = _waiting_for(progress)
    elif step["step"] == NextStep.NOTHING and release.status == Status.DRAFT:
        note = "Waiting for the RAD to be completed and submitted."
    return ReleaseHeader(readiness=readiness, missing=missing, note=note, **step)
