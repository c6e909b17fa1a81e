"""Reads that cross relations or check permissions. Views never build querysets."""

from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from approvals.lifecycle import SIGNABLE, ReleaseAccess, ReleaseType, Status
from approvals.models import (
    ApprovalPolicy,
    Artifact,
    Comment,
    Deployment,
    FreezeWindow,
    GateCheck,
    PostReleaseReview,
    Product,
    RadRevision,
    Release,
    SignOff,
    SignOffMethod,
    VerbalState,
)
from approvals.rules import (
    Refusal,
    counts_toward_approval,
    deploy_instant,
    deploy_refusals,
    is_required,
    readiness_reasons,
    readiness_refusals,
    signoff_verdict,
)
from raci import permissions
from raci.models import Activity, Assignment, Letter


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


def release_access_for_user(*, user, product: str, version: str) -> ReleaseAccess:
    """The release with what `user` may do on it, or 404 when it does not exist or is hidden."""
    release = (
        Release.objects.select_related("product", "fixes", "created_by", "submitted_by")
        .filter(product__slug=product, version=version)
        .first()
    )
    if release is None:
        raise Http404("No such release.")
    perms = permissions.release_perms_for(user, release)
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
    return list(release.revisions.select_related("author").order_by("number"))


def comments_for_release(*, release: Release) -> list[Comment]:
    return list(release.comments.select_related("author").order_by("created_at", "id"))


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


def deploy_reasons_now(*, release: Release, now=None) -> list[str]:
    """The sentences of `deploy_check_now`."""
    return [refusal.message for refusal in deploy_check_now(release=release, now=now)]


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


def release_progress(*, release: Release, user, current, activities=None) -> Progress:
    """The approval progress panel: per activity its A, decision and what the user may do."""
    activities = (
        activities
        if activities is not None
        else list(Activity.objects.filter(release=release).prefetch_related("assignments__user"))
    )
    signoffs = list(
        SignOff.objects.filter(release=release)
        .select_related("signer", "recorded_by")
        .order_by("-signed_at")
    )
    checks = list(GateCheck.objects.filter(release=release).select_related("reported_by"))
    policy = policy_for(release.product)
    ready = readiness_for(release=release, current=current, checks=checks, policy=policy)
    rows = [
        _signoff_row(
            release=release, user=user, activity=a, signoffs=signoffs, current=current, ready=ready
        )
        for a in activities
    ]
    required = [r for r in rows if r.required]
    now = timezone.now()
    approved = [
        r
        for r in required
        if r.live
        and counts_toward_approval(
            signoff=r.live,
            release=release,
            activity=r.activity,
            grace_hours=policy.hotfix_verbal_grace_hours,
            now=now,
        )
    ]
    return Progress(
        rows=rows,
        current=current,
        ready_reasons=ready,
        checks=checks,
        policy=policy,
        approved_count=len(approved),
        required_count=len(required),
        missing=[r.activity.name for r in required if r not in approved],
    )


def _signoff_row(*, release, user, activity, signoffs, current, ready) -> SignOffRow:
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
    )
    return SignOffRow(
        activity=activity,
        accountable=accountable,
        responsible=responsible,
        required=is_required(release, activity),
        live=live,
        history=history,
        can_sign=verdict.allowed and live is None,
        why=verdict.why if live is None else "",
    )


@dataclass
class MySignOffs:
    waiting: list  # (release, activity, current revision number)
    resign: list  # voided sign-offs of mine on releases still in review
    verbal: list  # verbal approvals recorded for me, awaiting my answer


def my_signoffs(*, user) -> MySignOffs:
    """What waits for the user's signature, most urgent (soonest window) first."""
    latest = RadRevision.objects.filter(release=OuterRef("activity__release")).order_by("-number")
    mine = list(
        Assignment.objects.filter(
            user=user,
            letter=Letter.ACCOUNTABLE,
            activity__release__status__in=SIGNABLE,
        )
        .select_related("activity__release__product")
        .annotate(current_number=Subquery(latest.values("number")[:1]))
        .order_by("activity__release__window_start", "activity__position")
    )
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
    resign = _latest_voided_per_activity(voided, waiting_ids=resign_seen)
    verbal = list(
        SignOff.objects.filter(
            signer=user,
            method=SignOffMethod.VERBAL,
            verbal_state=VerbalState.PENDING,
            voided_at__isnull=True,
        ).select_related("release__product", "activity", "recorded_by")
    )
    return MySignOffs(waiting=waiting, resign=resign, verbal=verbal)


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


def review_for_release(*, release: Release) -> PostReleaseReview | None:
    """The post-release review of a release, with its author, or None."""
    return PostReleaseReview.objects.filter(release=release).select_related("author").first()
