"""The time zone in real Chromium: the first sign-in takes the browser's zone, pages show
times in it with the UTC instant on hover, the account page changes it; desktop and phone,
axe clean (issue 14, "Time")."""

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import UserTimeZone
from approvals.models import Release
from audit.models import Action, ChangeLogEntry
from tests.factories import build_team, release_in_review
from tests.helpers import ARTIFACTS, axe_serious_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # 10:00 CET in Berlin, 18:00 JST in Tokyo


@pytest.fixture
def berlin_page(browser, live_server):
    """A browser whose clock and zone are Berlin's, as a laptop there would be."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 900},
        timezone_id="Europe/Berlin",
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def capture(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-top.png"))  # the first screenful, legible


def fits_and_is_clean(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert axe_serious_violations(page) == []


@pytest.mark.parametrize("width", [1280, 360])
def test_the_first_sign_in_takes_the_browsers_zone_and_pages_show_it(berlin_page, width):
    page = berlin_page
    page.set_viewport_size({"width": width, "height": 900 if width > 400 else 780})
    team = build_team()
    release = release_in_review(team)
    Release.objects.filter(pk=release.pk).update(
        window_start=START, window_end=START + timedelta(hours=2)
    )
    page.goto("/login/")
    assert page.locator("input[name='browser_tz']").input_value() == "Europe/Berlin"
    sign_in(page, "po")
    assert UserTimeZone.objects.get(user=team["po"]).name == "Europe/Berlin"
    [entry] = ChangeLogEntry.objects.filter(action=Action.TIMEZONE_CHANGED)
    assert entry.after == {"time_zone": "Europe/Berlin"}

    page.goto(release.get_absolute_url())
    start = page.locator("time[datetime='2027-03-01T09:00:00Z']").first
    assert start.inner_text() == "1 Mar 2027, 10:00"
    assert start.get_attribute("title") == "1 Mar 2027, 09:00:00 UTC"
    end = page.locator("time[datetime='2027-03-01T11:00:00Z']").first
    assert end.inner_text() == "12:00 CET"
    start.hover()  # the native tooltip is the title checked above
    fits_and_is_clean(page, width)
    capture(page, f"tz-release-berlin-{width}")

    page.goto("/account/")
    zone = page.get_by_label("Time zone")
    assert zone.input_value() == "Europe/Berlin"
    fits_and_is_clean(page, width)
    capture(page, f"tz-account-{width}")
    zone.select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save time zone").click()
    assert "Times are now shown in Asia/Tokyo." in page.content()
    page.goto(release.get_absolute_url())
    assert page.locator("time[datetime='2027-03-01T09:00:00Z']").first.inner_text() == (
        "1 Mar 2027, 18:00"
    )
    assert page.locator("time[datetime='2027-03-01T11:00:00Z']").first.inner_text() == "20:00 JST"


def test_a_later_sign_in_from_another_zone_keeps_the_setting(berlin_page):
    team = build_team()
    UserTimeZone.objects.create(user=team["rm"], name="America/New_York")
    sign_in(berlin_page, "rm")
    assert UserTimeZone.objects.get(user=team["rm"]).name == "America/New_York"
    berlin_page.goto("/account/")
    assert berlin_page.get_by_label("Time zone").input_value() == "America/New_York"


def test_date_time_fields_say_which_zone_they_are_in(berlin_page):
    team = build_team()
    release = release_in_review(team)
    sign_in(berlin_page, "rm")
    berlin_page.goto(f"/releases/{release.product.slug}/{release.version}/window/")
    hints = berlin_page.get_by_test_id("zone-hint")
    assert hints.count() == 2
    assert (
        hints.first.inner_text()
        == "Times are in Europe/Berlin. Write them as YYYY-MM-DD HH:MM (24-hour)."
    )
    fits_and_is_clean(berlin_page, 1280)
    capture(berlin_page, "tz-window-form-1280")


@pytest.mark.parametrize("locale", ["en-US", "de-DE"])
def test_date_time_fields_read_and_take_one_format_whatever_the_browsers_language(
    browser, live_server, locale
):
    """A native date-time control shows each browser's own format (12/01/2026, 02:00 PM in
    en-US, 01.12.2026, 14:00 in de-DE); Relapp's fields show and take YYYY-MM-DD HH:MM in
    the reader's zone, so the form reads the same to everyone (issue 14, "Time")."""
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 900},
        timezone_id="Europe/Berlin",
        locale=locale,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        team = build_team()
        release = release_in_review(team)
        Release.objects.filter(pk=release.pk).update(
            window_start=START, window_end=START + timedelta(hours=2)
        )
        sign_in(page, "rm")
        page.goto(f"/releases/{release.product.slug}/{release.version}/window/")
        start = page.get_by_label("New window start")
        assert start.get_attribute("type") == "text"
        assert start.get_attribute("placeholder") == "YYYY-MM-DD HH:MM"
        assert start.input_value() == "2027-03-01 10:00"  # 09:00 UTC, shown in Berlin time
        page.goto("/releases/new/")
        window = page.get_by_label("Deployment window start")
        window.fill("2027-03-02 10:00")
        page.get_by_label("Deployment window end").fill("not a time")
        page.get_by_label("Version").fill("9.9.9")
        page.get_by_label("Title").fill("Typed times")
        page.get_by_role("button", name="Create release").click()
        # A wrong entry is a field error; what was typed stays, in the same format.
        assert page.get_by_label("Deployment window start").input_value() == "2027-03-02 10:00"
        assert page.get_by_label("Deployment window end").input_value() == "not a time"
        assert page.locator(".field-error").count() >= 1
        assert not Release.objects.filter(version="9.9.9").exists()
    finally:
        context.close()
