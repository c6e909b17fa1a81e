"""Two release managers change the RAD template at the same instant: nothing is lost."""

import pytest

from approvals import services
from approvals.models import RadTemplate
from audit.models import Action, ChangeLogEntry
from tests.factories import build_team, user_create
from tests.helpers import release_open_now, run_together

pytestmark = pytest.mark.django_db(transaction=True)


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
