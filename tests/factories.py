"""Personas and factories: every test user, product and release comes from here."""

import copy
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from approvals import services
from approvals.lifecycle import Status
from approvals.models import Deployment, Product, Release
from raci.models import TemplateAssignment
from raci.services import raci_template_ensure

PASSWORD = "correct-horse-battery"  # noqa: S105 - every persona's password
PASSWORD_FACTORY = PASSWORD  # the older name, still imported by test_permission_matrix

# The persona usernames that belong to a group; everyone else belongs to none.
PERSONA_GROUPS = {"rm": ("Release managers",), "auditor": ("Auditors",)}

COMPLETE_RAD = {
    "scope": "## What ships\n\n- Faster checkout",
    "test_suites": [{"name": "Unit", "passed": 120, "failed": 0, "skipped": 2, "link": ""}],
    "performance_findings": "p99 120 ms",
    "security_findings": "Clean scan",
    "defects": [
        {"title": "Typo on receipt", "severity": "minor", "link": "", "state": "open"},
    ],
    "risks": [
        {
            "description": "Cache stampede on deploy",
            "likelihood": 2,
            "impact": 4,
            "mitigation": "Warm the cache first",
            "owner": "sre",
        }
    ],
    "rollback": {
        "steps": "1. Redeploy the previous tag",
        "rehearsed_on": (timezone.localdate() - timedelta(days=5)).isoformat(),
        "evidence_url": "https://wiki.example.com/rehearsal",
    },
    "monitoring": ["Error rate below 0.1%"],
}


def complete_rad(**changes) -> dict:
    content = copy.deepcopy(COMPLETE_RAD)
    content.update(changes)
    return content


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.LazyAttribute(lambda u: u.username.capitalize())
    last_name = "Tester"
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password(PASSWORD)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")


class ReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Release

    product = factory.SubFactory(ProductFactory)
    version = factory.Sequence(lambda n: f"1.{n}.0")
    title = factory.Sequence(lambda n: f"Release number {n}")
    window_start = factory.LazyFunction(lambda: timezone.now() + timedelta(days=2))
    window_end = factory.LazyAttribute(lambda r: r.window_start + timedelta(hours=2))
    created_by = factory.SubFactory(UserFactory, username="rm")


ACCOUNTABLES = {
    "Business scope": "po",
    "Test thresholds": "qa",
    "Operational readiness": "sre",
    "Deployment & rollback plan": "rm",
    "Go/no-go decision": "rm",
}


def user_create(username: str, *, groups: tuple[str, ...] = (), **fields):
    """A user named `username` (the existing one if taken), added to `groups`."""
    user = UserFactory(username=username, **fields)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


def persona(username: str, **fields):
    """A persona by its username: rm is a release manager, auditor an auditor."""
    return user_create(username, groups=PERSONA_GROUPS.get(username, ()), **fields)


def build_team():
    """The personas of a release team, with the demo's RACI as the product template."""
    team = {
        name: persona(name)
        for name in ("po", "qa", "sre", "dev", "cc", "ii", "rm", "auditor", "outsider")
    }
    team["admin"] = persona("admin", is_superuser=True, is_staff=True)
    product = ProductFactory(name="Payments API", slug="payments-api")
    for activity in raci_template_ensure(product=product):
        TemplateAssignment.objects.create(
            activity=activity, user=team[ACCOUNTABLES[activity.name]], letter="A"
        )
        TemplateAssignment.objects.create(activity=activity, user=team["dev"], letter="R")
        TemplateAssignment.objects.create(activity=activity, user=team["cc"], letter="C")
        TemplateAssignment.objects.create(activity=activity, user=team["ii"], letter="I")
    team["product"] = product
    return team


def release_in_review(team, *, version="2.4.0", release_type="normal", fixes=None, **rad):
    """A release created by rm, written and submitted by dev, waiting for sign-offs."""
    start = timezone.now() + timedelta(days=2)
    release = services.release_create(
        product=team["product"],
        version=version,
        title="SEPA Instant",
        release_type=release_type,
        fixes=fixes,
        window_start=start,
        window_end=start + timedelta(hours=2),
        actor=team["rm"],
    )
    services.rad_revise(release=release, content=complete_rad(**rad), actor=team["dev"])
    services.release_submit(release=release, actor=team["dev"])
    release.refresh_from_db()
    return release


def release_of(slug: str, version: str, *, created_by) -> Release:
    """A draft release of product `slug` (made if new), its window opening tomorrow."""
    start = timezone.now() + timedelta(days=1)
    return ReleaseFactory(
        product=ProductFactory(name=slug.title(), slug=slug),
        version=version,
        title=f"{slug} {version}",
        window_start=start,
        window_end=start + timedelta(hours=2),
        created_by=created_by,
    )


def activity(release, name):
    return release.activities.get(name=name)


def release_history_bulk(*, product, created_by, releases: int, deployments: int, days: int = 365):
    """`releases` deployed releases of `product` spread over the last `days`, with
    `deployments` deployments among them (every 10th failed, every 25th rolled back,
    every 50th unauthorized), written in bulk for query-count tests and benchmarks."""
    now = timezone.now()
    step = timedelta(days=days) / max(releases, 1)
    first = now - timedelta(days=days)
    rows = []
    for n in range(releases):
        start = first + step * n + timedelta(days=2)
        rows.append(
            Release(
                product=product,
                version=f"{n // 1000}.{n % 1000}.{n}",
                title=f"Bulk release {n}",
                window_start=start,
                window_end=start + timedelta(hours=2),
                status=Status.CLOSED if start < now else Status.APPROVED,
                created_by=created_by,
                approved_at=start - timedelta(hours=20),
                deployed_at=start + timedelta(minutes=30) if start < now else None,
            )
        )
    made = Release.objects.bulk_create(rows, batch_size=2000)
    Deployment.objects.bulk_create(
        [
            Deployment(
                release=made[n % len(made)],
                status="failed"
                if n % 10 == 9
                else ("rolled_back" if n % 25 == 24 else "succeeded"),
                unauthorized=n % 50 == 49,
                recorded_by=created_by,
            )
            for n in range(deployments)
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        # auto_now_add wrote "now": put creation two days and deployments just after
        # each release's window opens, spread over the minutes of the window.
        cursor.execute(
            "UPDATE approvals_release SET created_at = window_start - interval '2 days' "
            "WHERE product_id = %s",
            [product.pk],
        )
        cursor.execute(
            "UPDATE approvals_deployment d SET recorded_at = r.window_start "
            "+ (d.id %% 90) * interval '1 minute' FROM approvals_release r "
            "WHERE d.release_id = r.id AND r.product_id = %s",
            [product.pk],
        )
    return made
