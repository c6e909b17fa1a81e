"""The release page's attestation panel in Chromium: signed after approval, with the
envelope one click away, and revoked after a halt."""

import json

import pytest
from django.db import connections

from approvals import services
from tests.factories import build_team
from tests.helpers import (
    ARTIFACTS,
    attestation_key_pem,
    axe_serious_violations,
    release_attested,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_release_page_shows_the_signed_attestation_then_its_revocation(
    page, screenshot, live_server, settings
):
    settings.ATTESTATION_SIGNING_KEY = attestation_key_pem()
    settings.ATTESTATION_SIGNING_KEY_FILE = ""
    settings.ATTESTATION_KEY_ID = "relapp-2026-11"
    team = build_team()
    release = release_attested(
        team, version="3.0.0", key_pem=settings.ATTESTATION_SIGNING_KEY, key_id="relapp-2026-11"
    )

    sign_in(page, "auditor")
    page.goto(release.get_absolute_url())
    panel = page.get_by_test_id("attestation")
    assert "Signed" in panel.get_by_role("heading").inner_text()
    assert "2 artifact digests above, signed with Ed25519" in panel.inner_text()
    assert "relapp-2026-11" in panel.inner_text()
    assert axe_serious_violations(page) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(ARTIFACTS / "attestation-panel-1280.png"))
    screenshot("attestation-release-page-1280")
    page.set_viewport_size({"width": 360, "height": 800})
    panel.screenshot(path=str(ARTIFACTS / "attestation-panel-360.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.set_viewport_size({"width": 1280, "height": 900})

    panel.get_by_role("link", name="Signed envelope (JSON)").click()
    envelope = json.loads(page.locator("body").inner_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert envelope["signatures"][0]["keyid"] == "relapp-2026-11"
    page.go_back()
    page.get_by_test_id("attestation").get_by_role("link", name="Public keys").click()
    keys = json.loads(page.locator("body").inner_text())
    assert [k["keyid"] for k in keys["keys"]] == ["relapp-2026-11"]

    connections.close_all()
    services.release_halt(release=release, actor=team["rm"], reason="Fraud spike in card vault")
    page.goto(release.get_absolute_url())
    panel = page.get_by_test_id("attestation")
    assert "Revoked" in panel.get_by_role("heading").inner_text()
    assert "withdrawn: Fraud spike in card vault" in panel.inner_text()
    assert axe_serious_violations(page) == []
    panel.screenshot(path=str(ARTIFACTS / "attestation-panel-revoked-1280.png"))
    page.set_viewport_size({"width": 360, "height": 800})
    panel.screenshot(path=str(ARTIFACTS / "attestation-panel-revoked-360.png"))
    screenshot("attestation-release-page-360")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
