"""The numbers of how releasing goes, each computed by aggregate SQL.

Every figure is one grouped query over the releases in scope, whatever
their number: no loop over rows in Python. Definitions (docs/metrics.md):

- deployment frequency: successful deployments per period;
- lead time for changes: the earliest commit time CI reported with the release's
  commit artifacts (else the release's creation) → first deployed (`Release.deployed_at`);
- change-failure rate: finished deployments (succeeded, failed, rolled back)
  that failed, were rolled back, failed their post-deploy verification
  (`Deployment.verification_failed_at`, a failing after-deployment gate check),
  or were followed by a hotfix of their release within `hotfix_days`, over all
  finished deployments;
- time to restore: a failed or rolled-back deployment, or a halt, to the next
  successful deployment of the same product;
- approval lead time: the latest submission before approval → approved;
- time waiting per activity / Accountable: that submission → the sign-off;
- rejections: rejecting sign-offs (disputed verbal records never count); unauthorized changes: deployments the
  deploy check would have refused.
"""

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from hashlib import sha256
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, Trunc

from approvals.models import (
    Artifact,
    ArtifactKind,
    Decision,
    Deployment,
    DeploymentStatus,
    Release,
    SignOff,
    VerbalState,
)
from audit.models import Action, ChangeLogEntry
from metrics.models import DataVersion
from raci import permissions

FINISHED_DEPLOYS = (
    DeploymentStatus.SUCCEEDED,
    DeploymentStatus.FAILED,
    DeploymentStatus.ROLLED_BACK,
)
BAD_DEPLOYS = (DeploymentStatus.FAILED, DeploymentStatus.ROLLED_BACK)
PERIODS = ("week", "month")
# Entries under an old data version are never read again; this only frees the space.
CACHE_SECONDS = 24 * 3600


@dataclass
class Bucket:
    start: date
    deployments: int = 0
    lead_time_hours: float | None = None
    finished: int = 0
    failures: int = 0
    restore_hours: float | None = None
    approval_hours: float | None = None
    rejections: int = 0
    unauthorized: int = 0

    @property
    def failure_rate(self) -> float | None:
        return round(100 * self.failures / self.finished, 1) if self.finished else None


@dataclass
class Waiting:
    name: str
    signoffs: int
    average_hours: float


@dataclass
class Metrics:
    period: str
    start: date
    end: date
    buckets: list[Bucket] = field(default_factory=list)
    by_activity: list[Waiting] = field(default_factory=list)
    by_accountable: list[Waiting] = field(default_factory=list)


def bucket_starts(*, period: str, start: date, end: date) -> list[date]:
    """Every period start from the one holding `start` to the one holding `end`."""
    if period == "week":
        day = start - timedelta(days=start.weekday())
        starts = []
        while day <= end:
            starts.append(day)
            day += timedelta(days=7)
        return starts
    day = start.replace(day=1)
    starts = []
    while day <= end:
        starts.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return starts


def _hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 2)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(start, datetime.min.time(), tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC),
    )


def _trunc(field_name: str, period: str) -> Trunc:
    return Trunc(field_name, period, output_field=DateTimeField(), tzinfo=UTC)


def _submitted_before(*, release_field: str, moment_field: str) -> Subquery:
    """When the release was last submitted at or before the moment (from the change log)."""
    return Subquery(
        ChangeLogEntry.objects.filter(
            release_id=OuterRef(release_field),
            action=Action.RELEASE_SUBMITTED,
            created_at__lte=OuterRef(moment_field),
        )
        .order_by("-created_at")
        .values("created_at")[:1]
    )


def _next_success(*, product_field: str, moment_field: str) -> Subquery:
    """The next successful deployment of the same product after the moment."""
    return Subquery(
        Deployment.objects.filter(
            release__product_id=OuterRef(product_field),
            status=DeploymentStatus.SUCCEEDED,
            recorded_at__gt=OuterRef(moment_field),
        )
        .order_by("recorded_at")
        .values("recorded_at")[:1]
    )


def _deployment_rows(deployments: QuerySet, *, period: str, hotfix_days: int) -> QuerySet:
    hotfix_soon = Release.objects.filter(
        fixes_id=OuterRef("release_id"),
        created_at__gte=OuterRef("recorded_at"),
        created_at__lte=OuterRef("recorded_at") + timedelta(days=hotfix_days),
    )
    failed = (
        Q(status__in=BAD_DEPLOYS)
        | Q(status=DeploymentStatus.SUCCEEDED, hotfixed=True)
        | Q(status=DeploymentStatus.SUCCEEDED, verification_failed_at__isnull=False)
    )
    return (
        deployments.annotate(hotfixed=Exists(hotfix_soon), bucket=_trunc("recorded_at", period))
        .values("bucket")
        .annotate(
            deployments=Count("id", filter=Q(status=DeploymentStatus.SUCCEEDED)),
            finished=Count("id", filter=Q(status__in=FINISHED_DEPLOYS)),
            failures=Count("id", filter=Q(status__in=FINISHED_DEPLOYS) & failed),
            unauthorized=Count("id", filter=Q(unauthorized=True)),
        )
        .order_by()
    )


def _restore_rows(queryset: QuerySet, *, moment: str, product: str, key: str, period: str):
    return (
        queryset.annotate(restored=_next_success(product_field=product, moment_field=moment))
        .filter(restored__isnull=False)
        .annotate(bucket=_trunc(moment, period))
        .values("bucket")
        .annotate(total=Sum(F("restored") - F(moment)), n=Count(key))
        .order_by()
    )


def _waiting(signoffs: QuerySet, *, group: str) -> list[Waiting]:
    rows = (
        signoffs.values(group)
        .annotate(n=Count("id"), average=Avg(F("signed_at") - F("submitted")))
        .order_by("-average", group)
    )
    return [
        Waiting(name=row[group], signoffs=row["n"], average_hours=_hours(row["average"]))
        for row in rows
    ]


def metrics_compute(
    *, releases: QuerySet, period: str, start: date, end: date, hotfix_days: int = 7
) -> Metrics:
    """The figures for the releases in `releases` (the caller's scope), by week or month."""
    since, until = _bounds(start, end)
    scope = releases.values("pk")
    buckets = {day: Bucket(start=day) for day in bucket_starts(period=period, start=start, end=end)}

    def at(moment: datetime) -> Bucket | None:
        return buckets.get(moment.astimezone(UTC).date())

    deployments = Deployment.objects.filter(
        release__in=scope, recorded_at__gte=since, recorded_at__lt=until
    )
    for row in _deployment_rows(deployments, period=period, hotfix_days=hotfix_days):
        if bucket := at(row["bucket"]):
            bucket.deployments = row["deployments"]
            bucket.finished = row["finished"]
            bucket.failures = row["failures"]
            bucket.unauthorized = row["unauthorized"]

    lead = (
        releases.filter(deployed_at__gte=since, deployed_at__lt=until)
        .annotate(bucket=_trunc("deployed_at", period), lead_start=_lead_start())
        .values("bucket")
        .annotate(average=Avg(F("deployed_at") - F("lead_start")))
        .order_by()
    )
    for row in lead:
        if bucket := at(row["bucket"]):
            bucket.lead_time_hours = _hours(row["average"])

    restore: dict[date, list] = {}
    failures = deployments.filter(status__in=BAD_DEPLOYS)
    halts = ChangeLogEntry.objects.filter(
        release__in=scope,
        action=Action.RELEASE_HALTED,
        created_at__gte=since,
        created_at__lt=until,
    )
    for rows in (
        _restore_rows(
            failures, moment="recorded_at", product="release__product_id", key="id", period=period
        ),
        _restore_rows(
            halts, moment="created_at", product="release__product_id", key="seq", period=period
        ),
    ):
        for row in rows:
            total = restore.setdefault(row["bucket"].astimezone(UTC).date(), [timedelta(0), 0])
            total[0] += row["total"]
            total[1] += row["n"]
    for day, (total, n) in restore.items():
        if day in buckets:
            buckets[day].restore_hours = _hours(total / n)

    approvals = (
        releases.filter(approved_at__gte=since, approved_at__lt=until)
        .annotate(submitted=_submitted_before(release_field="pk", moment_field="approved_at"))
        .filter(submitted__isnull=False)
        .annotate(bucket=_trunc("approved_at", period))
        .values("bucket")
        .annotate(average=Avg(F("approved_at") - F("submitted")))
        .order_by()
    )
    for row in approvals:
        if bucket := at(row["bucket"]):
            bucket.approval_hours = _hours(row["average"])

    # A rejection voids every live sign-off (itself included), so voided ones count:
    # the decision was made and the wait was real. A disputed verbal record was never one.
    signoffs = SignOff.objects.filter(
        release__in=scope, signed_at__gte=since, signed_at__lt=until
    ).exclude(verbal_state=VerbalState.DISPUTED)
    rejections = (
        signoffs.filter(decision=Decision.REJECT)
        .annotate(bucket=_trunc("signed_at", period))
        .values("bucket")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rejections:
        if bucket := at(row["bucket"]):
            bucket.rejections = row["n"]

    waited = signoffs.annotate(
        submitted=_submitted_before(release_field="release_id", moment_field="signed_at")
    ).filter(submitted__isnull=False)
    return Metrics(
        period=period,
        start=start,
        end=end,
        buckets=list(buckets.values()),
        by_activity=_waiting(waited, group="activity__name"),
        by_accountable=_waiting(waited, group="signer__username"),
    )


def releases_in_scope(*, user, product=None) -> QuerySet[Release]:
    """The releases whose figures `user` may see: those they may view, of `product` if given."""
    releases = permissions.releases_visible_to(user, Release.objects.all())
    return releases.filter(product=product) if product is not None else releases


def data_version() -> str | None:
    """The token the figures are cached under (metrics.models.DataVersion).

    None off PostgreSQL, where no trigger keeps it current: figures are then
    computed live. A missing row (a flushed database) is put back.
    """
    if connection.vendor != "postgresql":
        return None
    row, _ = DataVersion.objects.get_or_create(pk=1)
    return row.token.hex


def cached_for_user(*, user, parts: tuple, compute: Callable[[], Any]) -> Any:
    """`compute()`, cached under the data version for `user` and `parts` (the filter).

    What the metrics show depends only on the data, the user's scope and the
    filter, so the key is exactly those: the data version (which every write to
    what the figures or the scope read replaces at commit), the user and
    `parts`. One user's entry is never another's, and after any change the key
    differs, so the page shows the change at once. The version is read before
    computing: a write committing in between only makes the entry newer than
    its key, never older.
    """
    version = data_version()
    if version is None:
        return compute()
    key = "metrics:" + sha256(repr((version, user.pk, parts)).encode()).hexdigest()
    cached = cache.get(key)
    if cached is None:
        _forget_loaded_state(user)
        cached = compute()
        cache.set(key, cached, CACHE_SECONDS)
    return cached


# Django's backends keep what they read of a user's permissions on the user object.
_PERMISSION_CACHES = ("_perm_cache", "_user_perm_cache", "_group_perm_cache")


def _forget_loaded_state(user) -> None:
    """Make `compute()` read the user's scope after the version, as it reads the data.

    The request loaded the user, and may have asked has_perm (the product filter
    does), before the version was read. Had an admin revoked a group or the
    superuser flag in between, those earlier answers would be cached under the
    new version, and served until the next write. So the flags are read again
    and the permission caches dropped: one query, on a miss only.
    """
    user.refresh_from_db(fields=["is_active", "is_superuser"])
    for name in _PERMISSION_CACHES:
        with contextlib.suppress(AttributeError):
            delattr(user, name)


def metrics_for_user(
    *, user, product, period: str, start: date, end: date, hotfix_days: int
) -> Metrics:
    """metrics_compute over what `user` may view, cached (cached_for_user)."""
    return cached_for_user(
        user=user,
        parts=("metrics", product.pk if product else None, period, start, end, hotfix_days),
        compute=lambda: metrics_compute(
            releases=releases_in_scope(user=user, product=product),
            period=period,
            start=start,
            end=end,
            hotfix_days=hotfix_days,
        ),
    )


def releases_in_token_scope(*, token, product=None) -> QuerySet[Release]:
    """The releases of the products a pipeline token's service account reaches."""
    releases = Release.objects.filter(product__in=token.service_account.products.all())
    return releases.filter(product=product) if product is not None else releases


def _lead_start():
    """Where a release's lead time starts: its earliest reported commit time, else its creation."""
    first_commit = (
        Artifact.objects.filter(
            release=OuterRef("pk"), kind=ArtifactKind.COMMIT, committed_at__isnull=False
        )
        .order_by("committed_at")
        .values("committed_at")[:1]
    )
    return Coalesce(Subquery(first_commit, output_field=DateTimeField()), F("created_at"))
