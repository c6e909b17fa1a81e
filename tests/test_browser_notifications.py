"""The notification settings page, a rendered notification e-mail and its unsubscribe link, and
the chat channels page, in real Chromium at 1280 and 360 pixels."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from approvals import services
from notifications.models import Channel, Event, NotificationPreference
from tests.factories import build_team, complete_rad
from tests.helpers import axe_serious_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits_360(page, screenshot, name: str) -> None:
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot(f"{name}-360")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_user_changes_how_they_hear_of_an_event(page, screenshot):
    build_team()
    sign_in(page, "po")
    page.goto("/notifications/")
    page.get_by_role("link", name="Settings").click()
    assert page.get_by_role("heading", name="Notification settings").is_visible()
    select = page.get_by_label("Sign-off recorded")
    assert select.input_value() == Channel.DIGEST
    select.select_option(label="Nothing")
    page.get_by_label("Release halted").select_option(label="Chat channel")
    assert axe_serious_violations(page) == []
    screenshot("notification-settings")
    _fits_360(page, screenshot, "notification-settings")
    page.get_by_role("button", name="Save settings").click()
    assert "Preferences saved (2 changes)." in page.get_by_role("status").inner_text()
    assert page.get_by_label("Sign-off recorded").input_value() == Channel.NONE
    chosen = dict(
        NotificationPreference.objects.filter(user__username="po").values_list("event", "channel")
    )
    assert chosen == {Event.SIGNED: Channel.NONE, Event.HALTED: Channel.CHAT}


def test_the_notification_email_renders_and_its_unsubscribe_link_works(
    page, screenshot, live_server, settings
):
    settings.SITE_URL = live_server.url
    team = build_team()
    start = timezone.now() + timedelta(days=2)
    release = services.release_create(
        product=team["product"],
        version="2.4.0",
        title="SEPA Instant",
        release_type="normal",
        window_start=start,
        window_end=start + timedelta(hours=2),
        actor=team["rm"],
    )
    services.rad_revise(release=release, content=complete_rad(), actor=team["dev"])
    mail.outbox.clear()
    services.release_submit(release=release, actor=team["dev"])
    [message] = [m for m in mail.outbox if m.to == ["po@example.test"]]
    html = message.alternatives[0][0]

    page.set_content(html)
    assert page.get_by_role(
        "heading", name="Payments API 2.4.0 waits for your signature"
    ).is_visible()
    assert page.get_by_role("link", name="Review RAD").get_attribute("href") == (
        f"{live_server.url}/releases/payments-api/2.4.0/"
    )
    assert axe_serious_violations(page) == []
    screenshot("notification-email")
    _fits_360(page, screenshot, "notification-email")

    page.get_by_role("link", name="Unsubscribe from “Submitted for your signature”").click()
    assert page.get_by_role("heading", name="Unsubscribe").is_visible()
    screenshot("notification-unsubscribe")
    page.get_by_role("button", name="Unsubscribe").click()
    assert page.get_by_role("heading", name="Unsubscribed").is_visible()
    chosen = NotificationPreference.objects.get(user=team["po"], event=Event.SIGNATURE_REQUESTED)
    assert chosen.channel == Channel.NONE


def test_a_release_manager_sees_the_chat_channels_page(page, screenshot, settings):
    build_team()
    sign_in(page, "rm")
    page.goto("/webhooks/")
    page.get_by_role("link", name="Chat channels").click()
    assert page.get_by_role("heading", name="Chat channels").is_visible()
    page.get_by_label("Product").select_option(label="Payments API")
    page.get_by_label("Channel name").fill("payments-releases")
    page.get_by_label("Incoming webhook URL").fill("http://10.0.0.8/hook")
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    page.get_by_role("button", name="Add channel").click()
    assert "private address" in page.locator(".field-error").inner_text()
    assert axe_serious_violations(page) == []
    screenshot("chat-channels")
    _fits_360(page, screenshot, "chat-channels")
