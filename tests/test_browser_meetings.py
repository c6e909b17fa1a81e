from datetime import timedelta

import pytest
from django.utils import timezone
from icalendar import Calendar

from meetings.models import Notification
from tests.factories import build_team, release_in_review
from tests.helpers import axe_serious_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_scheduling_a_gate_meeting_reaches_an_attendee(page, screenshot, tmp_path):
    team = build_team()
    release = release_in_review(team)
    Notification.objects.all().delete()  # the submission's own notices (notifications app)
    start = timezone.localtime(timezone.now() + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )

    sign_in(page, "rm")
    page.goto(release.get_absolute_url())
    page.get_by_role("link", name="Schedule meeting").click()
    page.get_by_label("Start").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Location or link").fill("https://meet.example.com/gate")
    page.get_by_role("button", name="Schedule meeting").click()
    assert "Gate meeting scheduled" in page.get_by_role("status").inner_text()
    assert page.get_by_role("heading", name=f"Release gate: {release}").is_visible()

    sign_in(page, "po")
    bell = page.get_by_role("link", name="Notifications: 1 unread")
    assert page.get_by_test_id("unread-count").inner_text() == "1"
    bell.click()
    page.get_by_role("link", name=f"Gate meeting for {release}").first.click()
    agenda = page.get_by_role("region", name="Agenda")
    assert "Sign-offs still pending" in agenda.inner_text()
    assert "Business scope — Po Tester" in agenda.inner_text()
    assert axe_serious_violations(page) == []
    screenshot("meeting-agenda")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download .ics").click()
    path = tmp_path / "invite.ics"
    download_info.value.save_as(path)

    event = Calendar.from_ical(path.read_bytes()).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == f"Release gate: {release}"
    assert event.decoded("DTSTART") == start
    assert str(event["LOCATION"]) == "https://meet.example.com/gate"
    attendees = sorted(str(a) for a in event["ATTENDEE"])
    assert "mailto:po@example.test" in attendees
