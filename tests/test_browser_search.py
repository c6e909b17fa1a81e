"""The header's search and My sign-offs in real Chromium, on a laptop and a phone.

Screenshots: tests/artifacts/search-{1280,360}.png, my-signoffs-sections-{1280,360}.png.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import services
from approvals.models import ApprovalPolicy
from tests.factories import build_team, complete_rad, release_in_review
from tests.helpers import axe_serious_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 360)


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert axe_serious_violations(page) == []


def _open_menu_on_a_phone(page, width: int) -> None:
    if width < 720:
        page.get_by_role("button", name="Menu").click()


@pytest.mark.parametrize("width", WIDTHS)
def test_searching_from_the_header(page, screenshot, width):
    team = build_team()
    release = release_in_review(team)  # Payments API 2.4.0 "SEPA Instant"
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "po")
    _open_menu_on_a_phone(page, width)
    box = page.get_by_role("searchbox", name="Search Relapp")
    box.fill("pay")
    box.press("Enter")  # no JavaScript needed: a GET form
    page.wait_for_url("**/search/?q=pay")
    results = page.locator("main")
    assert results.get_by_role("link", name="Payments API 2.4.0").first.is_visible()
    assert results.get_by_role("heading", name="People 0").is_visible()
    page.goto("/search/?q=tester")
    people = page.locator('[data-testid="person"]')
    assert people.count() == 7
    assert "Payments API 2.4.0 (Accountable)" in people.filter(has_text="(po)").inner_text()
    _fits(page, width)
    screenshot(f"search-{width}")
    page.goto("/search/?q=p")
    assert page.get_by_text("Type at least 2 characters to search.").is_visible()
    _fits(page, width)
    # The reader can open what they found.
    page.goto("/search/?q=sepa")
    page.get_by_role("link", name="Payments API 2.4.0").click()
    page.wait_for_url(f"**{release.get_absolute_url()}")


@pytest.mark.parametrize("width", WIDTHS)
def test_my_signoffs_ready_and_waiting(page, screenshot, width):
    team = build_team()
    ready_release = release_in_review(team, version="2.4.0")
    blocked = release_in_review(team, version="2.5.0")
    ApprovalPolicy.objects.create(product=team["product"], required_checks=["security-scan"])
    services.gate_check_report(
        release=blocked, actor=team["rm"], name="security-scan", status="fail"
    )
    services.gate_check_report(
        release=ready_release, actor=team["rm"], name="security-scan", status="pass"
    )
    start = timezone.now() + timedelta(days=6)
    draft = services.release_create(
        product=team["product"],
        version="3.0.0",
        title="Ledger export",
        release_type="normal",
        window_start=start,
        window_end=start + timedelta(hours=2),
        actor=team["rm"],
    )
    services.rad_revise(release=draft, content=complete_rad(), actor=team["dev"])
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "po")
    page.goto("/my/signoffs/")
    ready = page.locator('[data-testid="ready"]')
    waiting = page.locator('[data-testid="waiting"]')
    assert "Gate check “security-scan” is fail." in waiting.inner_text()
    assert "The RAD is not submitted yet." in waiting.inner_text()
    assert "Gate check “security-scan” has not been reported." in waiting.inner_text()  # 3.0.0
    assert ready.get_by_role("link", name="Review and sign").count() == 1  # 2.4.0
    _fits(page, width)
    screenshot(f"my-signoffs-sections-{width}")
