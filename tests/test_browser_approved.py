"""The Chromium journey of «"Approved" means approved»: CI reports an artifact, the
Accountables sign it (the dialog shows the digest), a scan turns red and blocks the
deploy, and a deployment recorded after the window is flagged unauthorized."""

import json
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import ApprovalPolicy, Deployment
from tests.factories import ACCOUNTABLES, PASSWORD, activity, build_team
from tests.helpers import axe_serious_violations, new_token, release_open_now, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DIGEST = "sha256:" + "3f" * 32


def ci(live_server, token, method, path, body=None) -> tuple[int, dict]:
    """What the pipeline does: a bearer-token HTTP call to the live server."""
    request = urllib.request.Request(  # noqa: S310 - the live test server on loopback
        f"{live_server.url}/api/v1/releases/payments-api/3.0.0/{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_an_artifact_is_signed_blocked_by_a_red_scan_and_a_late_deploy_is_flagged(
    page, screenshot, live_server
):
    team = build_team()
    ApprovalPolicy.objects.create(product=team["product"], required_checks=["security-scan"])
    release = release_open_now(team, version="3.0.0", approve=False)
    token = new_token(team)

    # CI reports what it built and a passing scan.
    status, body = ci(
        live_server,
        token,
        "POST",
        "artifacts/",
        {
            "artifacts": [
                {"name": "registry.example.test/payments-api", "kind": "image", "digest": DIGEST}
            ]
        },
    )
    assert status == 201 and body["artifacts"][0]["digest"] == DIGEST
    assert (
        ci(live_server, token, "POST", "checks/", {"name": "security-scan", "status": "pass"})[0]
        == 201
    )

    # Each Accountable signs; the dialog names the digest the signature covers.
    for name, username in ACCOUNTABLES.items():
        sign_in(page, username)
        page.goto(f"/releases/payments-api/3.0.0/signoff/{activity(release, name).pk}/")
        assert DIGEST in page.get_by_test_id("signed-artifacts").inner_text()
        assert "artifact set sha256:" in page.get_by_test_id("meaning").inner_text()
        if name == "Business scope":
            assert axe_serious_violations(page) == []
            screenshot("approved-sign-dialog-with-digest")
            page.set_viewport_size({"width": 360, "height": 800})
            screenshot("approved-sign-dialog-360")
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
            page.set_viewport_size({"width": 1280, "height": 900})
        page.get_by_label("Your password").fill(PASSWORD)
        page.get_by_role("button", name="Sign approval").click()
        assert "is recorded" in page.get_by_role("status").inner_text()
    assert ci(live_server, token, "GET", f"deploy-check?artifact={DIGEST}")[0] == 200

    # The scan turns red after approval: the page shows the block, deploy-check says 409.
    assert (
        ci(live_server, token, "POST", "checks/", {"name": "security-scan", "status": "fail"})[0]
        == 201
    )
    sign_in(page, "po")
    page.goto(release.get_absolute_url())
    blocked = page.get_by_test_id("deploy-blocked")
    assert "Gate check “security-scan” is fail." in blocked.inner_text()
    screenshot("approved-deploy-blocked")
    status, body = ci(live_server, token, "GET", f"deploy-check?artifact={DIGEST}")
    assert status == 409 and [r["code"] for r in body["refusals"]] == ["check_failing"]

    # The window closes; the release manager records the deployment anyway.
    closed = timezone.now() - timedelta(minutes=5)
    type(release).objects.filter(pk=release.pk).update(
        window_start=closed - timedelta(hours=2), window_end=closed
    )
    sign_in(page, "rm")
    page.goto(release.get_absolute_url())
    page.get_by_label("Status").select_option("succeeded")
    page.get_by_role("button", name="Record deployment").click()
    # The deployment page says what will be flagged before anything is recorded (issue 14).
    assert "The deployment window closed" in page.get_by_test_id("deployment-warnings").inner_text()
    assert not Deployment.objects.exists()
    page.get_by_label("I know; record it, flagged unauthorized").check()
    page.get_by_role("button", name="Record deployment").click()
    assert "flagged unauthorized" in page.get_by_role("status").inner_text()
    banner = page.get_by_test_id("unauthorized-banner")
    assert "The deployment window closed" in banner.inner_text()
    assert axe_serious_violations(page) == []
    screenshot("approved-unauthorized-banner")
    page.get_by_role("link", name="All unauthorized changes").click()
    assert "Payments API 3.0.0" in page.get_by_role("table").inner_text()
    screenshot("approved-unauthorized-list")
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot("approved-unauthorized-list-360")

    [deployment] = Deployment.objects.all()
    assert deployment.unauthorized
    assert {r["code"] for r in deployment.unauthorized_reasons} == {
        "window_closed",
        "check_failing",
    }
