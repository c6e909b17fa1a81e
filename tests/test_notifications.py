"""Notifications: every event reaches its audience on the channel each person chose, and no
one else; e-mails (HTML and text from the same event), unsubscribe links, the digest and the
preferences page."""

import dataclasses
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals import services
from approvals.lifecycle import Status
from approvals.selectors import policy_for
from meetings.models import Notification
from notifications.events import expiring_message
from notifications.models import Channel, DigestItem, Event, NotificationPreference
from notifications.services import (
    approvals_expiring_warn,
    digests_send,
    notify,
    preferences_for,
    unsubscribe_token,
)
from tests.factories import complete_rad
from tests.helpers import approve_all, release_open_now, sign

pytestmark = pytest.mark.django_db

EVERYONE = ("po", "qa", "sre", "dev", "cc", "ii", "rm", "auditor", "outsider", "admin")
PARTICIPANTS = {"po", "qa", "sre", "dev", "cc", "ii", "rm"}


class Heard:
    """What each persona received on each channel during the `with` block."""

    def __init__(self, team, capture):
        self.team = team
        self.capture = capture

    def __enter__(self):
        self.last_notification = (
            Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        )
        self.last_digest = (
            DigestItem.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        )
        self.mails_before = len(mail.outbox)
        self.callbacks = self.capture(execute=True)
        self.callbacks.__enter__()
        return self

    def __exit__(self, *exc):
        self.callbacks.__exit__(*exc)
        new = Notification.objects.filter(pk__gt=self.last_notification).select_related("user")
        self.in_app = {n.user.username for n in new}
        self.titles: dict[str, list[str]] = {}
        for n in new:
            self.titles.setdefault(n.user.username, []).append(n.title)
        digests = DigestItem.objects.filter(pk__gt=self.last_digest).select_related("user")
        self.digest = {d.user.username for d in digests}
        self.mails = mail.outbox[self.mails_before :]
        by_address = {self.team[name].email: name for name in EVERYONE}
        self.email = {by_address[m.to[0]] for m in self.mails}
        return False

    def told(self, words: str) -> set[str]:
        """Who got an in-app notification whose title contains `words`."""
        return {name for name, titles in self.titles.items() if any(words in t for t in titles)}

    def mail_to(self, username):
        [found] = [m for m in self.mails if m.to == [self.team[username].email]]
        return found


@pytest.fixture
def heard(team, django_capture_on_commit_callbacks):
    return lambda: Heard(team, django_capture_on_commit_callbacks)


def new_release(team, version="2.4.0", **kwargs):
    start = timezone.now() + timedelta(days=2)
    release = services.release_create(
        product=team["product"],
        version=version,
        title="SEPA Instant",
        release_type="normal",
        window_start=start,
        window_end=start + timedelta(hours=2),
        actor=team["rm"],
    )
    services.rad_revise(release=release, content=complete_rad(), actor=team["dev"])
    return release


def submitted(team, heard, version="2.4.0"):
    release = new_release(team, version)
    with heard() as got:
        services.release_submit(release=release, actor=team["dev"])
    release.refresh_from_db()
    return release, got


# --- every event reaches its audience and no one else -------------------------------------


def test_submission_asks_each_accountable_and_nobody_else(team, heard):
    release, got = submitted(team, heard)
    assert got.in_app == {"po", "qa", "sre", "rm"}
    assert got.email == {"po", "qa", "sre", "rm"}  # the default for this event is e-mail
    assert got.titles["po"] == ["Payments API 2.4.0 waits for your signature"]
    message = got.mail_to("qa")
    assert message.subject == "Payments API 2.4.0 waits for your signature"


def test_a_signature_tells_the_responsible_and_release_manager(team, heard, release):
    with heard() as got:
        sign(release, team["po"], "Business scope")
    assert got.in_app == {"dev", "rm"}
    assert got.digest == {"dev", "rm"}  # "signed" defaults to the daily digest
    assert got.email == set()


def test_a_rejection_reaches_responsible_and_release_manager_with_the_reason(team, heard, release):
    with heard() as got:
        sign(release, team["qa"], "Test thresholds", decision="reject", comment="p99 too slow")
    assert {"dev", "rm"} <= got.email
    text = got.mail_to("dev").body
    assert "p99 too slow" in text
    html = got.mail_to("dev").alternatives[0][0]
    assert "p99 too slow" in html
    assert "outsider" not in got.in_app | got.email | got.digest


def test_a_voided_signature_tells_the_signer_with_the_diff_link(team, heard, release):
    sign(release, team["po"], "Business scope")
    with heard() as got:
        sign(release, team["qa"], "Test thresholds", decision="reject", comment="Flaky suite")
    # po's signature was voided by the rejection: po hears of it, with what changed.
    voided = [m for m in got.mails if m.to == [team["po"].email] and "voided" in m.subject]
    assert len(voided) == 1
    diff = settings.SITE_URL + reverse(
        "approvals:rad_diff", kwargs={"product": "payments-api", "version": "2.4.0"}
    )
    assert diff in voided[0].body
    assert got.in_app == {"po", "dev", "rm"}


def test_approval_halt_and_resume_reach_every_participant(team, heard, release):
    with heard() as got:
        approve_all(release, team)
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    approved = got.told("approved")
    # rm signed last (the Go/no-go): whoever caused an event is not told of it.
    assert approved == PARTICIPANTS - {"rm"}

    with heard() as got:
        services.release_halt(release=release, actor=team["rm"], reason="Payment provider outage")
    assert got.in_app == PARTICIPANTS - {"rm"}
    assert "Payment provider outage" in got.mail_to("po").body

    release.refresh_from_db()
    with heard() as got:
        sign(release, team["rm"], "Go/no-go decision")
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    assert got.told("resumed") == PARTICIPANTS - {"rm"}


@pytest.mark.parametrize(
    ("status", "event"),
    [
        ("started", Event.DEPLOYMENT_STARTED),
        ("succeeded", Event.DEPLOYMENT_SUCCEEDED),
        ("failed", Event.DEPLOYMENT_FAILED),
    ],
)
def test_deployments_reach_every_participant(team, heard, status, event):
    release = release_open_now(team, version="3.0.0")
    with heard() as got:
        services.deployment_record(
            release=release, actor=team["sre"], status=status, environment="eu-prod"
        )
    assert got.in_app == PARTICIPANTS - {"sre"}
    assert got.told(Event(event).label.lower()) == PARTICIPANTS - {"sre"}
    assert "outsider" not in got.in_app and "auditor" not in got.in_app


def test_a_rollback_reaches_every_participant_by_email(team, heard):
    release = release_open_now(team, version="3.0.1")
    services.deployment_record(release=release, actor=team["sre"], status="succeeded")
    with heard() as got:
        services.deployment_record(
            release=release, actor=team["sre"], status="rolled_back", details="Error spike"
        )
    assert got.in_app == PARTICIPANTS - {"sre"}
    assert got.email == PARTICIPANTS - {"sre"}  # rolled back defaults to e-mail
    assert "Error spike" in got.mail_to("rm").body


def test_a_verbal_approval_asks_the_named_accountable_to_confirm(team, heard, release):
    with heard() as got:
        services.signoff_record_verbal(
            release=release,
            activity_id=release.activities.get(name="Operational readiness").pk,
            recorded_by=team["rm"],
            channel="phone",
            given_at=timezone.now() - timedelta(minutes=5),
            note="Approved on the bridge call",
        )
    assert got.told("verbal") == {"sre"}
    # The confirmation e-mail comes from the sign-off itself; the event adds no second one.
    assert [m.subject for m in got.mails if m.to == [team["sre"].email]] == [
        "Confirm your verbal approval of Payments API 2.4.0"
    ]
    [notification] = Notification.objects.filter(user=team["sre"], title__contains="verbal")
    assert notification.url.startswith("/signoffs/")


def test_a_mention_reaches_only_people_who_may_see_the_release(team, heard, release):
    with heard() as got:
        services.release_comment(
            release=release,
            actor=team["dev"],
            body="@po please check the scope; cc @outsider and @nobody-here",
        )
    assert got.in_app == {"po"}
    assert got.email == {"po"}
    assert "please check the scope" in got.mail_to("po").body


def test_an_outsider_hears_nothing_on_any_channel_whatever_they_chose(team, heard):
    for event in Event.values:
        NotificationPreference.objects.create(user=team["outsider"], event=event, channel="email")
    release, got = submitted(team, heard, "5.0.0")
    with heard() as later:
        services.release_comment(release=release, actor=team["dev"], body="@outsider look")
        approve_all(release, team)
        services.release_halt(release=release, actor=team["rm"], reason="Stop")
    for channel in (got.in_app, got.email, got.digest, later.in_app, later.email, later.digest):
        assert "outsider" not in channel
    assert not Notification.objects.filter(user=team["outsider"]).exists()


def test_unrelated_changes_tell_nobody(team, heard, release):
    with heard() as got:
        services.rad_revise(release=release, content=complete_rad(scope="More"), actor=team["dev"])
        services.gate_check_report(
            release=release, actor=team["rm"], name="unit-tests", status="pass"
        )
    assert got.in_app == set() and got.email == set()


def test_nothing_is_sent_when_the_change_rolls_back(team, heard):
    release = new_release(team, "6.0.0")
    with heard() as got, pytest.raises(RuntimeError), transaction.atomic():
        services.release_submit(release=release, actor=team["dev"])
        raise RuntimeError("the request failed after the submit")
    assert got.in_app == set() and got.email == set()


# --- preferences: each person on the channel they chose -------------------------------


def test_each_recipient_is_told_on_the_channel_they_chose(team, heard):
    choices = {"po": Channel.DIGEST, "qa": Channel.NONE, "sre": Channel.IN_APP, "rm": Channel.EMAIL}
    for name, channel in choices.items():
        NotificationPreference.objects.create(
            user=team[name], event=Event.SIGNATURE_REQUESTED, channel=channel
        )
    _, got = submitted(team, heard)
    assert got.in_app == {"po", "sre", "rm"}
    assert got.email == {"rm"}
    assert got.digest == {"po"}


def test_the_daily_digest_collects_items_once(team, heard):
    NotificationPreference.objects.create(
        user=team["po"], event=Event.SIGNATURE_REQUESTED, channel=Channel.DIGEST
    )
    submitted(team, heard)
    mail.outbox.clear()
    assert digests_send() >= 1
    [digest] = [m for m in mail.outbox if m.to == [team["po"].email]]
    assert "Payments API 2.4.0 waits for your signature" in digest.body
    assert settings.SITE_URL + "/releases/payments-api/2.4.0/" in digest.body
    # What waits for po: the Business scope signature, linked to its page.
    assert "Waiting for your signature:\n\n- Payments API 2.4.0: Business scope" in digest.body
    assert f"{settings.SITE_URL}/releases/payments-api/2.4.0/signoff/" in digest.body
    assert "Payments API 2.4.0" in digest.alternatives[0][0]
    mail.outbox.clear()
    digests_send()
    assert [m for m in mail.outbox if m.to == [team["po"].email]] == []


def test_the_email_is_html_and_text_with_absolute_links_and_an_unsubscribe_header(team, heard):
    _, got = submitted(team, heard)
    message = got.mail_to("po")
    html = message.alternatives[0][0]
    links = re.findall(r'href="([^"]+)"', html)
    assert links and all(link.startswith(settings.SITE_URL + "/") for link in links)
    for line in message.body.splitlines():
        if "http" in line:
            assert settings.SITE_URL + "/" in line
    header = message.extra_headers["List-Unsubscribe"]
    assert header.startswith(f"<{settings.SITE_URL}/notifications/unsubscribe/")
    assert header.endswith("/one-click/>")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    page_link = header.strip("<>").removesuffix("one-click/")
    assert page_link in message.body and page_link in html


def test_a_mail_client_unsubscribes_in_one_click_without_a_csrf_token(team, heard):
    """RFC 8058: the client POSTs List-Unsubscribe=One-Click to the header's URL."""
    _, got = submitted(team, heard)
    url = got.mail_to("po").extra_headers["List-Unsubscribe"].strip("<>")
    path = url.removeprefix(settings.SITE_URL)
    mail_client = Client(enforce_csrf_checks=True)
    assert mail_client.post(path, {"List-Unsubscribe": "Other"}).status_code == 400
    assert preferences_for(team["po"])[Event.SIGNATURE_REQUESTED] == Channel.EMAIL
    answered = mail_client.post(path, {"List-Unsubscribe": "One-Click"})
    assert answered.status_code == 200 and answered.json() == {"unsubscribed": True}
    assert preferences_for(team["po"])[Event.SIGNATURE_REQUESTED] == Channel.NONE
    forged = path.replace("/one-click/", "x/one-click/")
    assert mail_client.post(forged, {"List-Unsubscribe": "One-Click"}).status_code == 400


def test_one_click_unsubscribe_turns_the_event_off(client, team, heard):
    token = unsubscribe_token(user=team["po"], event=Event.SIGNATURE_REQUESTED)
    url = reverse("notifications:unsubscribe", kwargs={"token": token})
    page = client.get(url)
    assert page.status_code == 200 and "Submitted for your signature" in page.content.decode()
    assert (
        preferences_for(team["po"])[Event.SIGNATURE_REQUESTED] == Channel.EMAIL
    )  # GET changes nothing
    assert client.post(url).status_code == 200
    assert preferences_for(team["po"])[Event.SIGNATURE_REQUESTED] == Channel.NONE
    _, got = submitted(team, heard)
    assert "po" not in got.in_app | got.email


def test_a_forged_or_altered_unsubscribe_token_changes_nothing(client, team):
    token = unsubscribe_token(user=team["po"], event=Event.SIGNATURE_REQUESTED)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (forged, "not-a-token", token.replace(":", ";")):
        response = client.post(reverse("notifications:unsubscribe", kwargs={"token": bad}))
        assert response.status_code == 400
    assert not NotificationPreference.objects.exists()


def test_unsubscribe_needs_the_csrf_token(team):
    client = Client(enforce_csrf_checks=True)
    token = unsubscribe_token(user=team["po"], event=Event.SIGNATURE_REQUESTED)
    response = client.post(reverse("notifications:unsubscribe", kwargs={"token": token}))
    assert response.status_code == 403
    assert not NotificationPreference.objects.exists()


def test_the_preferences_page_saves_each_choice(client, team):
    client.force_login(team["po"])
    page = client.get(reverse("notifications:preferences"))
    assert page.status_code == 200
    for event in Event:
        assert event.label in page.content.decode()
    data = dict(preferences_for(team["po"]))
    data[Event.SIGNED] = Channel.NONE
    data[Event.HALTED] = Channel.CHAT
    response = client.post(reverse("notifications:preferences"), data)
    assert response.status_code == 302
    assert preferences_for(team["po"])[Event.SIGNED] == Channel.NONE
    assert preferences_for(team["po"])[Event.HALTED] == Channel.CHAT
    assert preferences_for(team["qa"])[Event.SIGNED] == Channel.DIGEST  # nobody else's


def test_bad_preferences_show_field_errors_and_change_nothing(client, team):
    client.force_login(team["po"])
    data = dict(preferences_for(team["po"]))
    data[Event.SIGNED] = Channel.NONE
    data[Event.HALTED] = "carrier-pigeon"
    response = client.post(reverse("notifications:preferences"), data)
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not NotificationPreference.objects.exists()


def test_preferences_are_per_user_and_need_a_sign_in(client, team):
    response = client.get(reverse("notifications:preferences"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    response = client.post(reverse("notifications:preferences"), {Event.SIGNED: Channel.NONE})
    assert response.status_code == 302
    assert not NotificationPreference.objects.exists()


def test_an_approval_about_to_expire_is_announced_once(team, heard, settings):
    settings.NOTIFICATION_EXPIRY_WARNING_HOURS = 24
    release = release_open_now(team, version="7.0.0")
    validity = policy_for(release.product).approval_validity_days
    # Not yet: the approval is fresh.
    with heard() as got:
        assert approvals_expiring_warn() == 0
    assert got.in_app == set()
    later = release.approved_at + timedelta(days=validity) - timedelta(hours=3)
    with heard() as got:
        assert approvals_expiring_warn(now=later) == 1
    assert got.in_app == {"po", "qa", "sre", "rm"}  # the Accountables and the release manager
    assert got.email == {"po", "qa", "sre", "rm"}
    assert "expires on" in got.mail_to("po").body
    with heard() as again:
        assert approvals_expiring_warn(now=later + timedelta(minutes=30)) == 0
    assert again.in_app == set()
    # Expired already: the halt says so, not this warning.
    assert approvals_expiring_warn(now=later + timedelta(hours=4)) == 0


def test_an_automatic_halt_reaches_every_participant_once(team, heard):
    release = release_open_now(team, version="7.5.0")
    validity = policy_for(release.product).approval_validity_days
    with heard() as got:
        services.approvals_expire(now=release.approved_at + timedelta(days=validity, minutes=1))
    release.refresh_from_db()
    assert release.status == Status.HALTED
    # Nobody caused it, so nobody is left out: the release manager hears of it too.
    assert got.told("halted") == PARTICIPANTS
    halted_mails = [m for m in got.mails if "halted" in m.subject]
    assert sorted(m.to[0] for m in halted_mails) == sorted(
        team[name].email for name in PARTICIPANTS
    )  # one e-mail each, not a second from the meetings app
    assert "approval expired" in got.mail_to("po").body


@pytest.mark.parametrize("event", Event.values)
def test_every_event_goes_to_each_person_on_the_channel_they_chose(team, heard, release, event):
    chosen = {
        "po": Channel.IN_APP,
        "qa": Channel.EMAIL,
        "sre": Channel.DIGEST,
        "rm": Channel.CHAT,
        "dev": Channel.NONE,
    }
    for name, channel in chosen.items():
        NotificationPreference.objects.create(user=team[name], event=event, channel=channel)
    message = expiring_message(release=release, expires_at=timezone.now())
    message = dataclasses.replace(message, event=event)
    with heard() as got:
        delivered = notify(message=message, users=[team[name] for name in chosen])
    assert got.in_app == {"po", "qa", "sre", "rm"}
    assert got.email == {"qa"}
    assert got.digest == {"sre"}
    assert [u.username for u in delivered[Channel.CHAT]] == ["rm"]
    assert [u.username for u in delivered[Channel.NONE]] == ["dev"]
    assert f"Unsubscribe from “{Event(event).label}”" in got.mail_to("qa").body
