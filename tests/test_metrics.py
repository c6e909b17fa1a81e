"""Metric definitions on small histories whose answers are worked out by hand."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from approvals import services
from approvals.models import Deployment, Release, SignOff
from audit.models import Action, ChangeLogEntry
from metrics.selectors import bucket_starts, metrics_compute
from tests.factories import ProductFactory, ReleaseFactory
from tests.helpers import approve_all, sign

pytestmark = pytest.mark.django_db

MARCH = (date(2026, 3, 1), date(2026, 4, 30))


def at(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def deploy(release, status, moment, *, unauthorized=False):
    row = Deployment.objects.create(
        release=release, status=status, recorded_by=release.created_by, unauthorized=unauthorized
    )
    Deployment.objects.filter(pk=row.pk).update(recorded_at=moment)
    return row


def made(release, *, created, deployed=None):
    Release.objects.filter(pk=release.pk).update(created_at=created, deployed_at=deployed)


@pytest.fixture
def history(release_manager):
    """Payments, March–April 2026 (times UTC):

    A 1.0.0   created 02-20 10:00, succeeded 03-02 10:00 (a start 03-01 first)
    H 1.0.1   hotfix of A, created 03-05 09:00, succeeded 03-06 09:00, unauthorized
    B 1.1.0   created 03-01 10:00, failed 03-10 10:00, succeeded 03-10 14:00
    C 1.2.0   created 03-25 10:00, succeeded 04-01 10:00
    H2 1.2.1  hotfix of C created 04-20 10:00 (19 days after C), never deployed
    Other product X 9.0.0: succeeded 03-03 — outside the scope when only Payments is asked.
    """
    product = ProductFactory(name="Payments", slug="payments")
    make = lambda version, **kw: ReleaseFactory(  # noqa: E731
        product=product, version=version, created_by=release_manager, **kw
    )
    a, b, c = make("1.0.0"), make("1.1.0"), make("1.2.0")
    h = make("1.0.1", release_type="hotfix", fixes=a)
    h2 = make("1.2.1", release_type="hotfix", fixes=c)
    made(a, created=at(20, 10, month=2), deployed=at(2, 10))
    made(h, created=at(5, 9), deployed=at(6, 9))
    made(b, created=at(1, 10), deployed=at(10, 14))
    made(c, created=at(25, 10), deployed=at(1, 10, month=4))
    made(h2, created=at(20, 10, month=4))
    deploy(a, "started", at(1, 9))
    deploy(a, "succeeded", at(2, 10))
    deploy(h, "succeeded", at(6, 9), unauthorized=True)
    deploy(b, "failed", at(10, 10))
    deploy(b, "succeeded", at(10, 14))
    deploy(c, "succeeded", at(1, 10, month=4))
    other = ReleaseFactory(
        product=ProductFactory(name="Other", slug="other"),
        version="9.0.0",
        created_by=release_manager,
    )
    deploy(other, "succeeded", at(3, 10))
    return Release.objects.filter(product=product)


def test_bucket_starts_cover_the_range_by_week_and_by_month():
    """2026-03-01 is a Sunday: its week starts Monday 02-23; April 30 is in the week of 04-27."""
    weeks = bucket_starts(period="week", start=date(2026, 3, 1), end=date(2026, 4, 30))
    assert weeks[0] == date(2026, 2, 23) and weeks[-1] == date(2026, 4, 27) and len(weeks) == 10
    months = bucket_starts(period="month", start=date(2025, 12, 15), end=date(2026, 2, 1))
    assert months == [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]


def test_deployment_frequency_counts_successful_deployments_per_month(history):
    """March: A 03-02, H 03-06, B 03-10 14:00 succeeded = 3 (A's start and B's failure are not
    deployments; X is another product). April: C = 1."""
    march, april = metrics_compute(
        releases=history, period="month", start=MARCH[0], end=MARCH[1]
    ).buckets
    assert (march.start, march.deployments) == (date(2026, 3, 1), 3)
    assert (april.start, april.deployments) == (date(2026, 4, 1), 1)


def test_deployment_frequency_by_week(history):
    """Week of 03-02: A and H = 2; week of 03-09: B = 1; week of 03-30: C (04-01) = 1."""
    weeks = metrics_compute(releases=history, period="week", start=MARCH[0], end=MARCH[1]).buckets
    counts = {w.start: w.deployments for w in weeks if w.deployments}
    assert counts == {date(2026, 3, 2): 2, date(2026, 3, 9): 1, date(2026, 3, 30): 1}


def test_lead_time_is_created_to_deployed(history):
    """March: A 02-20 10:00→03-02 10:00 = 240 h; B 03-01 10:00→03-10 14:00 = 220 h;
    H 03-05 09:00→03-06 09:00 = 24 h; mean (240+220+24)/3 = 161.33 h.
    April: C 03-25 10:00→04-01 10:00 = 168 h."""
    march, april = metrics_compute(
        releases=history, period="month", start=MARCH[0], end=MARCH[1]
    ).buckets
    assert march.lead_time_hours == 161.33
    assert april.lead_time_hours == 168.0


def test_change_failure_rate_counts_failures_rollbacks_and_hotfixes_within_n_days(history):
    """March finished deployments: A ok, H ok, B failed, B ok = 4 (A's start is unfinished).
    Failures: B's failure, and A's success because hotfix H came 3 days later (≤ 7) = 2 → 50 %.
    April: C ok, its hotfix H2 came 19 days later: not within 7 → 0 of 1 = 0 %;
    within 30 days it counts → 1 of 1 = 100 %."""
    march, april = metrics_compute(
        releases=history, period="month", start=MARCH[0], end=MARCH[1]
    ).buckets
    assert (march.finished, march.failures, march.failure_rate) == (4, 2, 50.0)
    assert (april.finished, april.failures, april.failure_rate) == (1, 0, 0.0)
    april = metrics_compute(
        releases=history, period="month", start=MARCH[0], end=MARCH[1], hotfix_days=30
    ).buckets[1]
    assert april.failure_rate == 100.0


def test_time_to_restore_runs_from_a_failure_to_the_next_successful_deployment(history):
    """B failed 03-10 10:00; the product's next success is B at 03-10 14:00: 4 h.
    April has no failure: no figure."""
    march, april = metrics_compute(
        releases=history, period="month", start=MARCH[0], end=MARCH[1]
    ).buckets
    assert march.restore_hours == 4.0
    assert april.restore_hours is None


def test_unauthorized_changes_are_counted(history):
    """Only H's deployment (03-06) was flagged: March 1, April 0."""
    march, april = metrics_compute(
        releases=history, period="month", start=MARCH[0], end=MARCH[1]
    ).buckets
    assert (march.unauthorized, april.unauthorized) == (1, 0)


def test_nothing_outside_the_scope_or_the_range_counts(history):
    """January–February holds none of the deployments (A's creation is not one): all zeros."""
    buckets = metrics_compute(
        releases=history, period="month", start=date(2026, 1, 1), end=date(2026, 2, 28)
    ).buckets
    assert [(b.deployments, b.finished, b.unauthorized) for b in buckets] == [(0, 0, 0)] * 2
    none = metrics_compute(
        releases=Release.objects.none(), period="month", start=MARCH[0], end=MARCH[1]
    ).buckets
    assert sum(b.deployments for b in none) == 0


def test_a_halt_restores_at_the_next_successful_deployment(team, release):
    """Approved, then halted at T (the change log's time); the product's next success is
    T + 2 h (and another at T + 5 h, which does not count): 2 h."""
    approve_all(release, team)
    services.release_halt(release=release, actor=team["rm"], reason="Checkout errors")
    halted = ChangeLogEntry.objects.get(action=Action.RELEASE_HALTED).created_at
    deploy(release, "succeeded", halted + timedelta(hours=2))
    deploy(release, "succeeded", halted + timedelta(hours=5))
    today = timezone.now().date()
    result = metrics_compute(
        releases=Release.objects.all(),
        period="month",
        start=today - timedelta(days=1),
        end=today + timedelta(days=1),
    )
    restores = [b.restore_hours for b in result.buckets if b.restore_hours is not None]
    assert restores == [2.0]


def _around_now(releases):
    today = timezone.now().date()
    return metrics_compute(
        releases=releases,
        period="month",
        start=today - timedelta(days=1),
        end=today + timedelta(days=1),
    )


def test_approval_lead_time_and_waiting_per_activity_and_accountable(team, release):
    """Submitted at S. po approves Business scope at S + 2 h, qa rejects Test thresholds at
    S + 4 h, sre approves Operational readiness at S + 6 h; the release counts approved at
    S + 5 h. Approval lead time: 5 h. Waiting: Operational readiness 6 h (sre), Test thresholds
    4 h (qa), Business scope 2 h (po). Rejections: 1."""
    submitted = ChangeLogEntry.objects.get(action=Action.RELEASE_SUBMITTED).created_at
    for user, name, decision, hours in (
        ("po", "Business scope", "approve", 2),
        ("sre", "Operational readiness", "approve", 6),
        ("qa", "Test thresholds", "reject", 4),  # last: a rejection sends the release back
    ):
        signoff, _ = sign(release, team[user], name, decision=decision, comment="Because.")
        SignOff.objects.filter(pk=signoff.pk).update(signed_at=submitted + timedelta(hours=hours))
    Release.objects.filter(pk=release.pk).update(approved_at=submitted + timedelta(hours=5))
    result = _around_now(Release.objects.all())
    assert [b.approval_hours for b in result.buckets if b.approval_hours] == [5.0]
    assert sum(b.rejections for b in result.buckets) == 1
    assert [(w.name, w.signoffs, w.average_hours) for w in result.by_activity] == [
        ("Operational readiness", 1, 6.0),
        ("Test thresholds", 1, 4.0),
        ("Business scope", 1, 2.0),
    ]
    assert [(w.name, w.average_hours) for w in result.by_accountable] == [
        ("sre", 6.0),
        ("qa", 4.0),
        ("po", 2.0),
    ]


def test_a_disputed_verbal_record_counts_neither_as_waiting_nor_as_rejection(team, release):
    """qa's rejection is recorded, then marked disputed (never a decision): nothing counts.
    Without the dispute the same row counts once (1 rejection, 1 wait)."""
    signoff, _ = sign(release, team["qa"], "Test thresholds", decision="reject", comment="No.")
    counted = _around_now(Release.objects.all())
    assert sum(b.rejections for b in counted.buckets) == 1 and len(counted.by_activity) == 1
    SignOff.objects.filter(pk=signoff.pk).update(verbal_state="disputed")
    result = _around_now(Release.objects.all())
    assert sum(b.rejections for b in result.buckets) == 0
    assert result.by_activity == []
