"""A year of release history for two products, so the calendar and the metrics show
something true to look at.

The past cannot be replayed through the services (the change log stamps every
entry with the database's clock), so the history is written as it would be
imported from an earlier tool: closed releases with their windows, deployment
outcomes and fire drills at their real dates, in bulk, with one change-log
entry per product saying what was imported. Approval lead time and waiting
come from the releases the demo takes through the services.
"""

from datetime import date, timedelta

from django.utils import timezone

from approvals import services
from approvals.lifecycle import Status
from approvals.models import (
    Deployment,
    DeploymentStatus,
    DrillOutcome,
    Product,
    Release,
    ReleaseType,
)
from audit.changelog import changelog_record
from audit.models import Action

WEEKS = 52
# product slug -> (name, deploy targets, drill rule, weeks between failures, months since drill)
PRODUCTS = {
    "payments-api": ("Payments API", ["payments-db", "prod-eu"], "FREQ=MONTHLY;INTERVAL=3", 7),
    "ledger": ("Ledger", ["ledger-db", "prod-eu"], "FREQ=MONTHLY", 5),
}


def _history_rows(product: Product, *, actor, now, every: int):
    """Weekly releases 1.N.0 over the last year: most deploy cleanly; every `every`th fails
    once and succeeds 3 hours later; every 11th is rolled back and fixed by a hotfix 1.N.1
    two days on; every 17th went out before its window opened (unauthorized)."""
    releases, deployments = [], []
    for week in range(WEEKS):
        start = (now - timedelta(weeks=WEEKS - week)).replace(hour=9, minute=0)
        start += timedelta(days=week % 3)
        release = Release(
            product=product,
            version=f"1.{week}.0",
            title=f"Weekly release {week + 1}",
            window_start=start,
            window_end=start + timedelta(hours=2),
            status=Status.CLOSED,
            created_by=actor,
            approved_at=start - timedelta(hours=20 + week % 9 * 4),
            deployed_at=start + timedelta(minutes=20),
        )
        releases.append((release, start - timedelta(days=4 + week % 5)))
        moments = [(DeploymentStatus.SUCCEEDED, start + timedelta(minutes=20))]
        if week % every == every - 1:
            moments = [
                (DeploymentStatus.FAILED, start + timedelta(minutes=20)),
                (DeploymentStatus.SUCCEEDED, start + timedelta(hours=3, minutes=20)),
            ]
        if week % 11 == 10:
            moments.append((DeploymentStatus.ROLLED_BACK, start + timedelta(hours=5)))
        for status, moment in moments:
            deployments.append((release, status, moment, week % 17 == 16))
        if week % 11 == 10:
            fix_start = start + timedelta(days=2)
            hotfix = Release(
                product=product,
                version=f"1.{week}.1",
                title=f"Hotfix for weekly release {week + 1}",
                release_type=ReleaseType.HOTFIX,
                fixes=release,
                window_start=fix_start,
                window_end=fix_start + timedelta(hours=1),
                status=Status.CLOSED,
                created_by=actor,
                approved_at=fix_start - timedelta(hours=2),
                deployed_at=fix_start + timedelta(minutes=10),
            )
            releases.append((hotfix, start + timedelta(hours=6)))
            deployments.append(
                (hotfix, DeploymentStatus.SUCCEEDED, fix_start + timedelta(minutes=10), False)
            )
    return releases, deployments


def _write(product: Product, *, actor, now, every: int) -> int:
    releases, deployments = _history_rows(product, actor=actor, now=now, every=every)
    for release, _ in releases:  # hotfixes point at a release saved just before them
        if release.fixes is not None:
            release.fixes_id = release.fixes.pk
        release.save()
    for release, created_at in releases:
        Release.objects.filter(pk=release.pk).update(created_at=created_at)
    rows = Deployment.objects.bulk_create(
        [
            Deployment(release=r, status=s, recorded_by=actor, unauthorized=u)
            for r, s, _, u in deployments
        ]
    )
    for row, (_, _, moment, _) in zip(rows, deployments, strict=True):
        Deployment.objects.filter(pk=row.pk).update(recorded_at=moment)
    return len(releases)


def _drills(product: Product, *, actor, rule: str, today: date) -> None:
    first = today - timedelta(days=360)
    services.drill_schedule_set(
        product=product, actor=actor, rrule=rule, first_on=first, grace_days=7
    )
    step = 91 if "INTERVAL=3" in rule else 30
    # Ledger's monthly drills stopped two months ago: the calendar shows one overdue.
    last = today - timedelta(days=5 if step == 91 else 65)
    day, n = first, 0
    while day <= last:
        services.drill_record(
            product=product,
            actor=actor,
            held_on=day,
            scenario="Roll back to the previous image" if n % 2 else "Database failover",
            participants="Rafael Martins, Sasha Reyes, Dana Evans",
            outcome=DrillOutcome.PARTIAL if n == 1 else DrillOutcome.SUCCEEDED,
            rollback_minutes=18 - min(n, 10),
            evidence_url=f"https://wiki.example.com/drills/{product.slug}/{day.isoformat()}",
            today=today,
        )
        day, n = day + timedelta(days=step), n + 1


def seed_history(*, users: dict) -> list[str]:
    """Create the second product and a year of history for both; returns what was created."""
    rm = users["rm"]
    created: list[str] = []
    now = timezone.now()
    today = timezone.localdate()
    for slug, (name, targets, rule, every) in PRODUCTS.items():
        product = Product.objects.filter(slug=slug).first()
        if product is None:
            product = services.product_create(name=name, slug=slug, actor=rm)
            created.append(f"product {slug}")
        if Release.objects.filter(product=product, version="1.0.0").exists():
            continue
        services.product_targets_set(product=product, actor=rm, targets=targets)
        count = _write(product, actor=rm, now=now, every=every)
        _drills(product, actor=rm, rule=rule, today=today)
        changelog_record(
            action=Action.PRODUCT_CHANGED,
            actor=rm,
            product=product,
            obj=product,
            after={"history_imported": {"releases": count, "weeks": WEEKS}},
            reason="Demo: a year of release history imported",
        )
        created.append(f"a year of history for {slug} ({count} releases)")
    created += _conflicting_release(rm)
    return created


def _conflicting_release(rm) -> list[str]:
    """Ledger 2.0.0 deploys to prod-eu an hour into Payments API 2.4.0's window: a conflict."""
    ledger = Product.objects.get(slug="ledger")
    payments = Release.objects.filter(product__slug="payments-api", version="2.4.0").first()
    if payments is None or Release.objects.filter(product=ledger, version="2.0.0").exists():
        return []
    start = payments.window_start + timedelta(hours=1)
    services.release_create(
        product=ledger,
        version="2.0.0",
        title="Ledger on the new settlement schema",
        release_type="normal",
        window_start=start,
        window_end=start + timedelta(hours=2),
        actor=rm,
    )
    return ["ledger 2.0.0 (overlaps Payments API 2.4.0 on prod-eu)"]
