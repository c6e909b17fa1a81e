"""The release calendar and the metrics page in real Chromium: keyboard, phone width, axe."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import services
from approvals.models import Deployment, Product
from tests.factories import ProductFactory, ReleaseFactory, build_team, release_in_review
from tests.helpers import axe_serious_violations, schedule, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _world():
    team = build_team()
    release = release_in_review(team)
    schedule(release, team)
    services.product_targets_set(product=team["product"], actor=team["rm"], targets=["prod-eu"])
    ledger = ProductFactory(name="Ledger", slug="ledger", deploy_targets=["prod-eu"])
    ReleaseFactory(
        product=ledger,
        version="3.0.0",
        window_start=release.window_start + timedelta(hours=1),
        window_end=release.window_end + timedelta(hours=1),
        created_by=team["rm"],
    )
    services.drill_schedule_set(
        product=team["product"],
        actor=team["rm"],
        rrule="FREQ=WEEKLY",
        first_on=timezone.localdate(),
        grace_days=2,
    )
    Deployment.objects.create(release=release, status="succeeded", recorded_by=team["rm"])
    return team, release


def test_the_calendar_works_by_keyboard_on_a_desktop_and_a_phone(page, screenshot):
    team, release = _world()
    assert Product.objects.count() == 2
    sign_in(page, "rm")
    page.goto(f"/calendar/month/?date={release.window_start.date().isoformat()}")
    assert page.get_by_role("link", name=f"Deployment window: {release}").first.is_visible()
    assert (
        "Conflict"
        in page.get_by_role("link", name=f"Deployment window: {release}").first.inner_text()
    )
    assert axe_serious_violations(page) == []
    screenshot("calendar-month-1280")
    # Keyboard: Tab reaches the week view link, Enter follows it.
    page.get_by_role("link", name="Week", exact=True).focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/calendar/week/**")
    assert page.get_by_role("link", name=f"Release gate: {release}").first.is_visible()
    screenshot("calendar-week-1280")
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(f"/calendar/month/?date={release.window_start.date().isoformat()}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the month view overflows a phone: {width}px"
    assert axe_serious_violations(page) == []
    screenshot("calendar-month-360")
    page.goto("/calendar/agenda/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot("calendar-agenda-360")
    page.get_by_role("link", name=f"Deployment window: {release}").first.click()
    page.wait_for_url(f"**{release.get_absolute_url()}")
    assert page.get_by_role("heading", name="Window conflicts").is_visible()


def test_the_metrics_page_is_readable_and_accessible(page, screenshot):
    team, release = _world()
    sign_in(page, "rm")
    page.goto("/metrics/")
    assert page.get_by_role("img", name="Deployment frequency").first.is_visible()
    assert axe_serious_violations(page) == []
    screenshot("metrics-1280")
    page.get_by_text("Table of deployment frequency").click()
    assert page.get_by_role("table", name="Deployment frequency per period").is_visible()
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto("/metrics/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_serious_violations(page) == []
    screenshot("metrics-360")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/products/{team['product'].slug}/drills/")
    assert axe_serious_violations(page) == []
    screenshot("drills-1280")
