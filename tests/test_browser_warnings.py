"""Issue 14, "warnings where the mistake is made", in real Chromium: a release manager
walks into the gate-meeting, deployment and webhook warnings, at 1280 px and 360 px,
confirms each, and nothing is wider than the phone's screen or fails axe."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from api.models import WebhookEndpoint
from approvals.models import Deployment, FreezeWindow
from audit.models import Action
from meetings.models import GateMeeting
from tests.factories import build_team, release_in_review
from tests.helpers import axe_serious_violations, entries, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _check_both_widths(page, screenshot, name: str) -> None:
    assert axe_serious_violations(page) == []
    screenshot(f"{name}-1280")
    page.set_viewport_size({"width": 360, "height": 780})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert axe_serious_violations(page) == []
    screenshot(f"{name}-360")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_gate_meeting_after_the_window_and_in_a_freeze_warns_before_it_is_scheduled(
    page, screenshot
):
    team = build_team()
    release = release_in_review(team)  # window opens in two days
    start = timezone.localtime(timezone.now() + timedelta(days=3)).replace(second=0, microsecond=0)
    FreezeWindow.objects.create(
        product=team["product"],
        start=start - timedelta(hours=2),
        end=start + timedelta(hours=2),
        reason="Card-scheme change freeze",
        created_by=team["rm"],
    )
    sign_in(page, "rm")
    page.goto(release.get_absolute_url())
    page.goto(
        reverse(
            "meetings:meeting_create",
            kwargs={"product": release.product.slug, "version": release.version},
        )
    )
    page.locator("#id_start").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Location or link").fill("Room 4")
    page.get_by_role("button", name="Schedule meeting").click()
    warnings = page.get_by_test_id("meeting-warnings").inner_text()
    assert "after the deployment window opens" in warnings
    assert "Card-scheme change freeze" in warnings
    assert page.get_by_label("Location or link").input_value() == "Room 4"
    assert not GateMeeting.objects.exists()
    _check_both_widths(page, screenshot, "warnings-meeting")
    page.get_by_label("I know; schedule the meeting at this time anyway").check()
    page.get_by_role("button", name="Schedule meeting").click()
    page.wait_for_url("**/meetings/*/")
    [entry] = entries(Action.MEETING_SCHEDULED)
    assert len(entry.after["warnings_acknowledged"]) == 2


def test_a_deployment_of_an_unapproved_release_says_it_will_be_flagged_first(page, screenshot):
    team = build_team()
    release = release_in_review(team)
    sign_in(page, "rm")
    page.goto(release.url("deployment_create"))
    preview = page.get_by_test_id("deployment-warnings").inner_text()
    assert "will be flagged unauthorized" in preview and "not approved" in preview
    page.get_by_label("Status").select_option("started")
    page.get_by_label("Details").fill("Pushed by hand during the incident")
    page.get_by_role("button", name="Record deployment").click()
    assert (
        "This deployment will be recorded and flagged unauthorized"
        in page.get_by_test_id("deployment-warnings").inner_text()
    )
    assert page.get_by_label("Details").input_value() == "Pushed by hand during the incident"
    assert not Deployment.objects.exists()
    _check_both_widths(page, screenshot, "warnings-deployment")
    page.get_by_label("I know; record it, flagged unauthorized").check()
    page.get_by_role("button", name="Record deployment").click()
    page.wait_for_url(f"**{release.get_absolute_url()}")
    assert "flagged unauthorized" in page.get_by_role("status").inner_text()
    [deployment] = Deployment.objects.all()
    assert deployment.unauthorized


def test_a_plain_http_webhook_to_a_registered_url_warns_before_it_is_saved(page, screenshot):
    team = build_team()
    sign_in(page, "rm")
    page.goto(reverse("api:webhook_create"))
    page.get_by_label("Payload URL").fill("http://10.0.0.8/hook")
    page.get_by_label("Release approved", exact=True).check()
    page.get_by_role("button", name="Create webhook").click()
    assert "private address" in page.locator(".field-error").first.inner_text()
    page.get_by_label("Payload URL").fill("http://hooks.example.com/relapp")
    page.get_by_role("button", name="Create webhook").click()
    assert "plain http" in page.get_by_test_id("webhook-warnings").inner_text()
    assert not WebhookEndpoint.objects.exists()
    _check_both_widths(page, screenshot, "warnings-webhook")
    page.get_by_label("I know; save this webhook anyway").check()
    page.get_by_role("button", name="Create webhook").click()
    assert "whsec_" in page.content()
    [endpoint] = WebhookEndpoint.objects.all()
    assert endpoint.product == team["product"]
