import copy
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals.models import Product, Release

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
    password = factory.django.Password("correct-horse-battery")


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
