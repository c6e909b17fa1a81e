"""A deployment whose post-deploy verification failed counts in the change-failure rate."""

from datetime import UTC, date, datetime

import pytest
from django.utils import timezone

from approvals import services
from approvals.models import Deployment, Release
from metrics.selectors import metrics_compute
from tests.factories import ProductFactory, ReleaseFactory
from tests.helpers import release_open_now

pytestmark = pytest.mark.django_db


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def deploy(release, status, moment, *, verification_failed_at=None):
    row = Deployment.objects.create(release=release, status=status, recorded_by=release.created_by)
    Deployment.objects.filter(pk=row.pk).update(
        recorded_at=moment,
        verification_failed_at=verification_failed_at,
        verification_check="smoke" if verification_failed_at else "",
    )


def test_a_failed_verification_is_a_change_failure(release_manager):
    """Payments, March 2026, by month (times UTC):

    A 1.0.0  succeeded 03-02 10:00, its smoke test passed
    B 1.1.0  succeeded 03-05 10:00, its post-deploy smoke test failed 03-05 10:20
             ("verification failed"; nobody rolled back yet)
    C 1.2.0  succeeded 03-10 10:00
    D 1.3.0  failed    03-12 10:00

    Finished deployments: A, B, C (succeeded) and D (failed) = 4.
    Failed changes: B (verification failed) and D (failed) = 2.
    Change-failure rate = 2 / 4 = 50.0 %. Without counting B it would be 1 / 4 = 25.0 %.
    Deployment frequency is still 3: B did deploy.
    """
    product = ProductFactory(name="Payments", slug="payments")
    a, b, c, d = (
        ReleaseFactory(product=product, version=v, created_by=release_manager)
        for v in ("1.0.0", "1.1.0", "1.2.0", "1.3.0")
    )
    deploy(a, "succeeded", at(2, 10))
    deploy(b, "succeeded", at(5, 10), verification_failed_at=at(5, 10, 20))
    deploy(c, "succeeded", at(10, 10))
    deploy(d, "failed", at(12, 10))
    figures = metrics_compute(
        releases=Release.objects.filter(product=product),
        period="month",
        start=date(2026, 3, 1),
        end=date(2026, 3, 31),
    )
    [march] = figures.buckets
    assert (march.deployments, march.finished, march.failures) == (3, 4, 2)
    assert march.failure_rate == 50.0


def test_a_failing_post_deploy_check_reported_by_ci_moves_the_figure(team):
    """One release deployed now and verified by a failing smoke check: 1 finished, 1 failed."""
    release = release_open_now(team, version="3.0.0")
    services.deployment_record(release=release, actor=team["rm"], status="succeeded")
    today = timezone.now().date()

    def rate():
        [bucket] = metrics_compute(
            releases=Release.objects.filter(pk=release.pk), period="month", start=today, end=today
        ).buckets
        return bucket.finished, bucket.failures, bucket.failure_rate

    assert rate() == (1, 0, 0.0)
    services.gate_check_report(
        release=release, actor=team["dev"], name="smoke", status="pass", phase="after_deployment"
    )
    assert rate() == (1, 0, 0.0)  # a passing check changes nothing
    services.gate_check_report(
        release=release, actor=team["dev"], name="smoke", status="fail", phase="after_deployment"
    )
    assert rate() == (1, 1, 100.0)
    # A pre-approval check failing now is no post-deploy verification.
    services.gate_check_report(release=release, actor=team["dev"], name="lint", status="fail")
    assert rate() == (1, 1, 100.0)
