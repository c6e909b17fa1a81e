"""The Chromium journey of «Release managers run Relapp from the product»: rm edits the
policy and the RACI template in the product pages, makes a team the Accountable of an
activity, two team members sign, po goes away and bob signs on behalf of po, and rm starts
the next release's RAD from this one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import services
from approvals.lifecycle import Status
from approvals.models import ApprovalPolicy, PolicyVersion, Release, SignOff
from raci.models import TemplateAssignment
from tests.factories import PASSWORD, activity, build_team, release_in_review, user_create
from tests.helpers import axe_serious_violations, sign, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def look(page, screenshot, name: str) -> None:
    """Axe-clean, and a screenshot at 1280 and at 360 px without sideways scrolling."""
    assert axe_serious_violations(page) == [], name
    screenshot(f"policies-{name}")
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot(f"policies-{name}-360")
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > 362)
        .map(e => e.tagName + '.' + e.className + '#' + (e.id || '') + ' ' + Math.round(e.getBoundingClientRect().right))
        .slice(0, 8)"""
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, (name, wide)
    page.set_viewport_size({"width": 1280, "height": 900})


def sign_in_page(page, url: str, *, expect: str = "is recorded") -> None:
    page.goto(url)
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign approval").click()
    assert expect in page.get_by_role("status").inner_text()


def test_rm_sets_policy_template_and_team_members_and_a_delegate_sign(page, screenshot):
    team = build_team()
    for name in ("ana", "ben", "bob"):
        team[name] = user_create(name, first_name=name.title(), last_name="Lead")
    release = release_in_review(team, version="3.0.0")
    product = team["product"]

    # rm edits the approval policy in the product's settings.
    sign_in(page, "rm")
    page.goto("/products/")
    page.get_by_role("link", name="Policy and RACI template of Payments API").click()
    page.get_by_label("Max rehearsal age days").fill("20")
    page.get_by_label("Gate-meeting reminders (hours before)").fill("24, 2")
    page.get_by_role("button", name="Save policy").click()
    assert "Policy saved as version 2" in page.get_by_role("status").inner_text()
    look(page, screenshot, "policy")
    # A clear error for bad input; nothing saved.
    page.get_by_label("Minimum pass rate per suite").fill("Checkout hundred")
    page.get_by_role("button", name="Save policy").click()
    assert "write “Suite name: minimum %”" in page.locator(".field-error").inner_text()
    assert ApprovalPolicy.objects.get(product=product).max_rehearsal_age_days == 20
    assert PolicyVersion.objects.filter(product=product).count() == 2

    # ...and the RACI template: cc becomes Informed on Business scope.
    page.get_by_role("link", name="RACI template").click()
    page.get_by_label("Business scope – cc").select_option("I")
    page.get_by_role("button", name="Save template").click()
    assert "RACI template saved" in page.get_by_role("status").inner_text()
    look(page, screenshot, "raci-template")
    assert (
        TemplateAssignment.objects.get(activity__name="Business scope", user=team["cc"]).letter
        == "I"
    )

    # rm builds a team and makes it the Accountable of Operational readiness, 2 of 2.
    page.get_by_role("link", name="Teams").click()
    page.get_by_label("Name").fill("Security leads")
    page.get_by_role("button", name="Create team").click()
    for name in ("ana", "ben"):
        page.get_by_label("Person").fill(name)
        page.get_by_role("button", name="Add member").click()
        assert f"{name} added" in page.get_by_role("status").inner_text()
    look(page, screenshot, "team")
    page.goto(release.get_absolute_url())
    page.get_by_role("link", name="Accountable teams").click()
    page.get_by_label("Activity").select_option(label="Operational readiness")
    page.get_by_label("Accountable team", exact=True).select_option(label="Security leads")
    page.get_by_label("Approvals needed").fill("2")
    look(page, screenshot, "activity-team")
    page.get_by_role("button", name="Save").click()
    assert "Accountable team saved" in page.get_by_role("status").inner_text()

    # Two members sign, each for themselves.
    ora = f"/releases/payments-api/3.0.0/signoff/{activity(release, 'Operational readiness').pk}/"
    sign_in(page, "ana")
    page.goto("/my/signoffs/")
    assert "as a member of Security leads" in page.get_by_test_id("via-team").inner_text()
    sign_in_page(page, ora)
    assert (
        "1 of 2 from Security leads: Ana Lead approved"
        in page.get_by_test_id("team-progress").inner_text()
    )
    sign_in(page, "ben")
    sign_in_page(page, ora)
    assert "2 of 2 from Security leads" in page.get_by_test_id("team-progress").inner_text()
    look(page, screenshot, "team-progress")

    # po goes away and names bob; bob signs Business scope on behalf of po.
    sign_in(page, "po")
    page.goto("/delegations/")
    page.locator("#id_delegate").select_option(label="bob")
    start = timezone.localtime() - timedelta(minutes=5)
    page.get_by_label("Away from").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Back on").fill((start + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Reason").fill("Holiday")
    page.get_by_role("button", name="Save delegation").click()
    assert "bob signs on behalf of po" in page.get_by_role("status").inner_text()
    look(page, screenshot, "delegations")
    sign_in(page, "bob")
    page.goto("/my/signoffs/")
    assert "Business scope" in page.get_by_test_id("delegated").inner_text()
    look(page, screenshot, "my-signoffs-delegate")
    page.get_by_role("link", name="Review and sign on behalf").click()
    assert "on behalf of" in page.get_by_test_id("meaning").inner_text()
    look(page, screenshot, "sign-on-behalf")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign approval").click()
    assert "is recorded" in page.get_by_role("status").inner_text()

    # The rest sign; the release page names the policy version it was approved under.
    sign(release, team["qa"], "Test thresholds")
    sign(release, team["rm"], "Deployment & rollback plan")
    sign(release, team["rm"], "Go/no-go decision")
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    assert release.policy_version.number == 2
    sign_in(page, "po")
    page.goto(release.get_absolute_url())
    assert "policy version 2" in page.get_by_test_id("policy-version").inner_text()
    assert "on behalf of" in page.get_by_test_id("on-behalf").inner_text()
    look(page, screenshot, "release-approved")
    behalf = SignOff.objects.get(signer=team["bob"])
    assert behalf.on_behalf_of == team["po"]

    # rm starts the next release's RAD from this one: rollback plan and monitoring.
    start = timezone.now() + timedelta(days=10)
    services.release_create(
        product=product,
        version="3.1.0",
        title="Next",
        release_type="normal",
        window_start=start,
        window_end=start + timedelta(hours=2),
        actor=team["rm"],
    )
    sign_in(page, "rm")
    page.goto("/releases/payments-api/3.1.0/")
    page.get_by_role("link", name="Start from an earlier release").click()
    page.get_by_label("Earlier release").select_option(label="Payments API 3.0.0")
    look(page, screenshot, "start-from")
    page.get_by_role("button", name="Copy into a new revision").click()
    assert "RAD revision 1 starts from 3.0.0" in page.get_by_role("status").inner_text()
    copied = services.rad_current(Release.objects.get(version="3.1.0")).content
    assert copied["rollback"] == services.rad_current(release).content["rollback"]
    assert copied["scope"] == ""
