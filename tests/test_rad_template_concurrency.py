"""Two release managers change the RAD template at the same instant: nothing is lost."""

import threading

import pytest
from django.db import connection

from approvals import services
from approvals.models import RadTemplate
from audit.models import Action, ChangeLogEntry
from tests.factories import build_team, user_create
from tests.helpers import release_open_now

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(functions) -> list:
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def runner(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except Exception as error:  # noqa: BLE001 - reported to the test below
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_reviews_applied_at_once_to_a_product_without_a_template_both_count():
    team = build_team()
    second_rm = user_create("rm2", groups=("Release managers",))
    reviews = []
    for version, line in (("2.3.0", "Payout queue depth below 100"), ("2.3.1", "Refunds flat")):
        release = release_open_now(team, version=version)
        services.deployment_record(release=release, actor=team["rm"], status="succeeded")
        reviews.append(
            services.review_record(
                release=release,
                actor=team["dev"],
                went_well="ok",
                slipped="-",
                template_changes=line,
            )
        )

    def apply(review, actor):
        return lambda: services.rad_template_apply_review(
            product=team["product"],
            review=review,
            section="monitoring",
            text=review.template_changes,
            actor=actor,
        )

    results = run_together([apply(reviews[0], team["rm"]), apply(reviews[1], second_rm)])

    assert all(isinstance(r, RadTemplate) for r in results), results
    monitoring = RadTemplate.objects.get(product=team["product"]).content["monitoring"]
    assert sorted(monitoring) == ["Payout queue depth below 100", "Refunds flat"]
    logged = ChangeLogEntry.objects.filter(action=Action.POLICY_CHANGED).order_by("seq")
    assert [len(e.after["rad_template"]["monitoring"]) for e in logged] == [1, 2]
