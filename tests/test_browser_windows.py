"""Moving a deployment window in real Chromium: from the release page, warned about a freeze
and a conflicting release, confirmed, at desktop and phone width, axe clean."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import FreezeWindow, Release
from tests.factories import ReleaseFactory, build_team, release_in_review
from tests.helpers import axe_serious_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_release_manager_moves_a_window_into_a_freeze_after_a_warning(page, screenshot):
    team = build_team()
    release = release_in_review(team)
    start = timezone.localtime(timezone.now() + timedelta(days=12)).replace(second=0, microsecond=0)
    FreezeWindow.objects.create(
        product=None,
        start=start - timedelta(days=1),
        end=start + timedelta(days=1),
        reason="Year-end freeze",
        created_by=team["rm"],
    )
    ReleaseFactory(
        product=team["product"],
        version="2.5.0",
        window_start=start,
        window_end=start + timedelta(hours=3),
        created_by=team["rm"],
    )
    sign_in(page, "rm")
    page.goto(release.get_absolute_url())
    page.get_by_role("link", name="Move window").click()
    page.get_by_label("New window start").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("New window end").fill(
        (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_label("Why it moves").fill("The bank moved the settlement day")
    page.get_by_role("button", name="Move window").click()
    warnings = page.get_by_test_id("window-warnings")
    assert "Year-end freeze" in warnings.inner_text()
    assert "Payments API 2.5.0" in warnings.inner_text()
    assert axe_serious_violations(page) == []
    screenshot("windows-move-warnings-1280")
    page.set_viewport_size({"width": 360, "height": 780})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_serious_violations(page) == []
    screenshot("windows-move-warnings-360")
    page.set_viewport_size({"width": 1280, "height": 900})
    release.refresh_from_db()
    assert release.window_start != start
    page.get_by_label("I know; move it to this window anyway").check()
    page.get_by_role("button", name="Move window").click()
    page.wait_for_url(f"**{release.get_absolute_url()}")
    assert "Deployment window moved." in page.content()
    assert "Conflict:" in page.content()
    screenshot("windows-moved-release-1280")
    assert Release.objects.get(pk=release.pk).window_start == start
