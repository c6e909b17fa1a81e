"""The Chromium journey of RAD templates: rm writes Payments API's RAD template on the
product's settings pages, applies a post-release review's suggested change to it in one
step, and dev's next release starts its RAD from the template."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import services
from approvals.models import RadRevision, RadTemplate
from tests.factories import build_team
from tests.helpers import axe_serious_violations, release_open_now, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUGGESTION = "Payout queue depth below 100\nRefund error rate flat"


def look(page, screenshot, name: str) -> None:
    """Axe-clean, and a screenshot at 1280 and at 360 px without sideways scrolling."""
    assert axe_serious_violations(page) == [], name
    screenshot(f"templates-{name}")
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot(f"templates-{name}-360")
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > 362)
        .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
        .slice(0, 8)"""
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, (name, wide)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_rm_writes_the_template_applies_a_review_and_a_new_rad_starts_from_it(page, screenshot):
    team = build_team()
    product = team["product"]
    earlier = release_open_now(team, version="2.3.0")
    services.deployment_record(release=earlier, actor=team["rm"], status="succeeded")
    services.review_record(
        release=earlier,
        actor=team["dev"],
        went_well="Quiet cut-over.",
        slipped="Nobody watched the payout queue.",
        template_changes=SUGGESTION,
    )

    # rm opens the RAD template from the policy page.
    sign_in(page, "rm")
    page.goto(f"/products/{product.slug}/settings/policy/")
    page.get_by_role("link", name="RAD template").click()
    assert "No template yet" in page.get_by_test_id("no-template").inner_text()
    page.get_by_label("Scope").fill("## What ships\n\n## Not in this release")
    page.get_by_label("Required suite").fill("Contract (card network)")
    page.get_by_label("Rollback steps").fill("1. Flags off\n2. Roll back the image")
    page.get_by_label("Checklist item").fill("Error rate below 0.1% for 30 min")
    # A bad link is refused with a field error; nothing is saved.
    page.get_by_label("Link").fill("not a link")
    page.get_by_role("button", name="Save template").click()
    assert "Enter a valid URL." in page.locator(".field-error").inner_text()
    assert not RadTemplate.objects.filter(product=product).exists()
    page.get_by_label("Link").fill("")
    page.get_by_role("button", name="Save template").click()
    assert "RAD template saved" in page.get_by_role("status").inner_text()
    look(page, screenshot, "template")
    assert RadTemplate.objects.get(product=product).content["monitoring"] == [
        "Error rate below 0.1% for 30 min"
    ]

    # The review of 2.3.0 suggested two monitoring items: rm applies them in one step.
    page.goto(earlier.get_absolute_url())
    page.get_by_role("link", name="Apply to the RAD template").click()
    assert "Payout queue depth below 100" in page.get_by_test_id("suggestion").inner_text()
    look(page, screenshot, "apply-review")
    page.get_by_label("Post-deployment monitoring: each line becomes a checklist item").check()
    page.get_by_role("button", name="Apply to the template").click()
    assert "Applied the review of Payments API 2.3.0" in page.get_by_role("status").inner_text()
    assert RadTemplate.objects.get(product=product).content["monitoring"] == [
        "Error rate below 0.1% for 30 min",
        "Payout queue depth below 100",
        "Refund error rate flat",
    ]

    # dev's next release: the RAD editor starts from the template.
    start = timezone.now() + timedelta(days=9)
    nxt = services.release_create(
        product=product,
        version="2.4.0",
        title="SEPA Instant",
        release_type="normal",
        window_start=start,
        window_end=start + timedelta(hours=2),
        actor=team["rm"],
    )
    sign_in(page, "dev")
    page.goto(nxt.get_absolute_url())
    assert "from an earlier release" in page.get_by_text("Revision 1 starts from").inner_text()
    page.get_by_role("link", name="Edit RAD").first.click()
    assert "RAD template of Payments API" in page.get_by_test_id("rad-start").inner_text()
    assert page.get_by_label("Rollback steps").input_value().startswith("1. Flags off")
    look(page, screenshot, "rad-from-template")
    page.get_by_role("button", name="Save revision").click()
    assert "Saved as RAD revision 1" in page.get_by_role("status").inner_text()
    revision = RadRevision.objects.get(release=nxt)
    assert revision.author == team["dev"]
    assert revision.content["monitoring"][-1] == "Refund error rate flat"
    assert [s["name"] for s in revision.content["test_suites"]] == ["Contract (card network)"]
