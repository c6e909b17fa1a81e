"""The Chromium journey of the release rhythm (issue 15): the release manager records a
deployment; the SRE ticks the post-deploy checklist from a phone-sized window; CI reports
a failing smoke test; the release page shows it and offers the rollback."""

import json
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import services
from approvals.models import ApprovalPolicy, Deployment, MonitoringTick
from tests.factories import PASSWORD, activity, build_team, complete_rad
from tests.helpers import ARTIFACTS, approve_all, axe_serious_violations, new_token, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHECKLIST = ["Error rate below 0.1 % on the checkout dashboard", "p99 latency under 300 ms"]


def ci(live_server, token, path, body) -> tuple[int, dict]:
    """The pipeline: a bearer-token POST to the live server."""
    request = urllib.request.Request(  # noqa: S310 - the live test server on loopback
        f"{live_server.url}/api/v1/releases/payments-api/5.0.0/{path}",
        method="POST",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _fits(page, width: int) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width


def _shoot_panel(page, name: str) -> None:
    """The "After the deployment" panel alone, to look at without the whole page."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("#rhythm").screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_deploy_tick_on_a_phone_failing_smoke_test_and_rollback(page, screenshot, live_server):
    team = build_team()
    start = timezone.now() - timedelta(hours=1)
    release = services.release_create(
        product=team["product"],
        version="5.0.0",
        title="Instant refunds",
        release_type="normal",
        window_start=start,
        window_end=start + timedelta(hours=4),
        actor=team["rm"],
    )
    services.rad_revise(
        release=release, content=complete_rad(monitoring=CHECKLIST), actor=team["dev"]
    )
    services.release_submit(release=release, actor=team["dev"])
    approve_all(release, team)
    token = new_token(team)

    # The release manager records the deployment.
    sign_in(page, "rm")
    page.goto(release.get_absolute_url())
    page.get_by_label("Status").select_option("succeeded")
    page.get_by_role("button", name="Record deployment").click()
    assert page.get_by_test_id("release-status").inner_text() == "Deployed"
    checklist = page.get_by_test_id("monitoring-checklist")
    assert "0 of 2 ticked" in page.locator("#rhythm").inner_text()
    assert "Tick" not in checklist.inner_text()  # rm is neither Responsible nor Operations
    screenshot("rhythm-deployed-rm")
    _shoot_panel(page, "rhythm-panel-deployed-1280")

    # The SRE (Accountable of Operational readiness) ticks the first item on a phone.
    sign_in(page, "sre")
    page.set_viewport_size({"width": 360, "height": 800})
    page.goto(release.get_absolute_url() + "#rhythm")
    page.get_by_label("Note").first.fill("Flat at 0.02 %")
    page.get_by_label("Dashboard link").first.fill("https://grafana.example.com/d/checkout")
    page.get_by_role("button", name="Tick “Error rate below").click()
    assert "Ticked" in page.get_by_role("status").inner_text()
    items = page.get_by_test_id("checklist-item")
    assert "Flat at 0.02 %" in items.nth(0).inner_text()
    assert "1 of 2 ticked" in page.locator("#rhythm").inner_text()
    assert _fits(page, 360)
    assert axe_serious_violations(page) == []
    page.locator("#rhythm").scroll_into_view_if_needed()
    screenshot("rhythm-sre-ticked-360")
    _shoot_panel(page, "rhythm-panel-sre-360")
    [tick] = MonitoringTick.objects.all()
    assert (tick.ticked_by.username, tick.link) == ("sre", "https://grafana.example.com/d/checkout")

    # CI reports a failing post-deploy smoke test.
    status, body = ci(
        live_server,
        token,
        "checks/",
        {
            "name": "smoke-checkout",
            "status": "fail",
            "phase": "after_deployment",
            "details": "POST /checkout answered 502",
            "url": "https://ci.example.com/runs/81",
        },
    )
    assert status == 201 and body["phase"] == "after_deployment"

    # The release page shows it and offers the rollback.
    sign_in(page, "rm")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(release.get_absolute_url())
    banner = page.get_by_test_id("verification-failed")
    assert "smoke-checkout" in banner.inner_text()
    assert "POST /checkout answered 502" in page.get_by_test_id("post-deploy-checks").inner_text()
    assert axe_serious_violations(page) == []
    screenshot("rhythm-verification-failed")
    _shoot_panel(page, "rhythm-panel-failed-1280")
    page.set_viewport_size({"width": 360, "height": 800})
    assert _fits(page, 360)
    screenshot("rhythm-verification-failed-360")
    _shoot_panel(page, "rhythm-panel-failed-360")
    page.set_viewport_size({"width": 1280, "height": 900})
    banner.get_by_role("button", name="Record rollback").click()
    assert page.get_by_test_id("release-status").inner_text() == "Rolled back"
    deployment = Deployment.objects.get(status="succeeded")
    assert deployment.verification_check == "smoke-checkout"
    assert Deployment.objects.filter(status="rolled_back").exists()
    screenshot("rhythm-rolled-back")


def test_a_late_scope_change_is_marked_and_acknowledged_when_signing(page, screenshot):
    team = build_team()
    ApprovalPolicy.objects.create(product=team["product"], cutoff_ack_required=True)
    start = timezone.now() + timedelta(days=2)
    release = services.release_create(
        product=team["product"],
        version="5.1.0",
        title="Late scope",
        release_type="normal",
        window_start=start,
        window_end=start + timedelta(hours=2),
        actor=team["rm"],
        cutoff_at=timezone.now() - timedelta(hours=3),
    )
    services.rad_revise(release=release, content=complete_rad(), actor=team["dev"])
    late = complete_rad(scope="## What ships\n\n- Faster checkout\n- Instant refunds (late)")
    services.rad_revise(release=release, content=late, actor=team["dev"])
    services.release_submit(release=release, actor=team["dev"])
    approve_all(release, team, skip=("Go/no-go decision",))

    sign_in(page, "rm")
    page.goto(release.get_absolute_url())
    assert "Revision 2" in page.get_by_test_id("scope-after-cutoff").inner_text()
    assert page.get_by_test_id("revision-late-scope").count() == 1
    assert axe_serious_violations(page) == []
    screenshot("rhythm-late-scope-release")
    page.get_by_test_id("scope-after-cutoff").screenshot(
        path=str(ARTIFACTS / "rhythm-late-scope-callout.png")
    )
    page.get_by_role("link", name="See what changed").click()
    assert (
        "Scope changed after the code cut-off"
        in page.get_by_test_id("diff-late-scope").inner_text()
    )
    screenshot("rhythm-late-scope-diff")

    page.goto(f"/releases/payments-api/5.1.0/signoff/{activity(release, 'Go/no-go decision').pk}/")
    page.set_viewport_size({"width": 360, "height": 800})
    assert page.get_by_test_id("cutoff-ack").is_visible()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign approval").click()
    assert "acknowledge the change" in page.locator(".form-errors").inner_text()
    assert _fits(page, 360)
    assert axe_serious_violations(page) == []
    screenshot("rhythm-sign-ack-refused-360")
    page.get_by_label("I acknowledge that the scope changed after the code cut-off.").check()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign approval").click()
    assert "is recorded" in page.get_by_role("status").inner_text()
    assert page.get_by_test_id("release-status").inner_text() == "Approved"
