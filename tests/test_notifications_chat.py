"""Slack and Microsoft Teams: per-product channels fed through the outbox to a real HTTP
receiver on 127.0.0.1, retries, the address guard, the channel page and the signed
`/relapp status` slash command."""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals import services
from audit.models import Action, ChangeLogEntry
from notifications.models import (
    Channel,
    ChatDelivery,
    ChatDestination,
    DeliveryStatus,
    Event,
    NotificationPreference,
)
from notifications.services import (
    chat_deliveries_claim,
    chat_destination_create,
    chat_dispatch,
)
from notifications.slack import slack_signature
from tests.factories import ProductFactory, build_team, complete_rad
from tests.helpers import approve_all, release_open_now, sign

pytestmark = pytest.mark.django_db

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documentation example shape
SITE = "http://relapp.test"


class Receiver:
    """A real HTTP endpoint standing in for Slack or Teams: answers the given statuses, then 200."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"invalid_payload")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/services/T000/B000/XXXX"

    def payloads(self) -> list[dict]:
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    started = []

    def start(statuses=()):
        started.append(Receiver(statuses))
        return started[-1]

    yield start
    for r in started:
        r.stop()


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.SLACK_SIGNING_SECRET = SECRET


def channel(team, url, kind="slack", events=(), product=None):
    return chat_destination_create(
        actor=team["rm"],
        product=product or team["product"],
        kind=kind,
        name="payments-releases",
        url=url,
        events=list(events),
    )


# --- the outbox and the payloads --------------------------------------------------------


def test_an_approval_posts_a_block_kit_message_with_deep_links(team, release, receiver):
    slack = receiver()
    channel(team, slack.url, events=[Event.APPROVED])
    approve_all(release, team)
    assert ChatDelivery.objects.filter(status=DeliveryStatus.PENDING).count() == 1
    assert chat_dispatch() == 1
    [payload] = slack.payloads()
    assert payload["text"].startswith("Payments API 2.4.0: release approved")
    kinds = [block["type"] for block in payload["blocks"]]
    assert kinds[0] == "header" and kinds[-1] == "actions"
    assert payload["blocks"][0]["text"]["type"] == "plain_text"
    fields = {
        f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in payload["blocks"][2]["fields"]
    }
    assert fields["*Product*"] == "Payments API" and fields["*Status*"] == "Approved"
    buttons = payload["blocks"][-1]["elements"]
    assert [b["type"] for b in buttons] == ["button"]
    assert buttons[0]["text"] == {"type": "plain_text", "text": "Review RAD"}
    assert buttons[0]["url"] == f"{SITE}/releases/payments-api/2.4.0/"
    assert ChatDelivery.objects.get().status == DeliveryStatus.DELIVERED


def test_a_submission_on_teams_is_an_adaptive_card_with_a_sign_button(team, receiver):
    teams = receiver()
    channel(team, teams.url, kind="teams")
    services_release = _submitted_release(team)
    chat_dispatch()
    [payload] = teams.payloads()
    assert payload["type"] == "message"
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["body"][0]["type"] == "TextBlock"
    facts = {f["title"]: f["value"] for f in card["body"][-1]["facts"]}
    assert facts["Version"] == services_release.version
    actions = {a["title"]: a["url"] for a in card["actions"]}
    assert all(a["type"] == "Action.OpenUrl" for a in card["actions"])
    assert actions["Sign"] == f"{SITE}/my/signoffs/"
    assert actions["Review RAD"] == f"{SITE}/releases/payments-api/2.4.0/"


def _submitted_release(team):
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
    services.release_submit(release=release, actor=team["dev"])
    return release


def test_people_who_chose_chat_are_named_under_the_message(team, receiver):
    slack = receiver()
    channel(team, slack.url, events=[Event.SIGNATURE_REQUESTED])
    for name in ("po", "qa"):
        NotificationPreference.objects.create(
            user=team[name], event=Event.SIGNATURE_REQUESTED, channel=Channel.CHAT
        )
    NotificationPreference.objects.create(
        user=team["outsider"], event=Event.SIGNATURE_REQUESTED, channel=Channel.CHAT
    )
    _submitted_release(team)
    chat_dispatch()
    [payload] = slack.payloads()
    [context] = [b for b in payload["blocks"] if b["type"] == "context"]
    assert context["elements"][0]["text"] == "For: Po Tester, Qa Tester"


def test_a_channel_hears_only_its_own_products_and_events(team, release, receiver):
    slack = receiver()
    channel(team, slack.url, events=[Event.HALTED])
    other = ProductFactory(name="Ledger", slug="ledger")
    channel(team, receiver().url, product=other)
    sign(release, team["po"], "Business scope")  # "signed": not subscribed
    assert ChatDelivery.objects.count() == 0
    approve_all(release, team, skip=("Business scope",))
    services.release_halt(release=release, actor=team["rm"], reason="Provider outage")
    assert list(ChatDelivery.objects.values_list("event", flat=True)) == [Event.HALTED]
    chat_dispatch()
    assert "Provider outage" in json.dumps(slack.payloads()[0])


def test_the_outbox_row_rolls_back_with_its_change(team, release, receiver):
    channel(team, receiver().url)
    with pytest.raises(RuntimeError), transaction.atomic():
        approve_all(release, team)
        assert ChatDelivery.objects.filter(event=Event.APPROVED).count() == 1
        raise RuntimeError("rolled back")
    assert ChatDelivery.objects.count() == 0


def test_personal_events_never_reach_a_channel(team, release, receiver):
    channel(team, receiver().url)  # every event
    services.release_comment(release=release, actor=team["dev"], body="@po a private nudge")
    sign(release, team["po"], "Business scope")
    sign(release, team["qa"], "Test thresholds", decision="reject", comment="Flaky")
    events = set(ChatDelivery.objects.values_list("event", flat=True))
    assert events == {Event.SIGNED, Event.REJECTED}  # no mention, no voided signature
    with pytest.raises(ValidationError):
        channel(team, receiver().url, events=[Event.MENTIONED])


def test_a_failed_post_is_retried_with_backoff_until_it_arrives(team, release, receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    slack = receiver(statuses=[500, 503])
    channel(team, slack.url, events=[Event.APPROVED])
    approve_all(release, team)
    chat_dispatch()
    delivery = ChatDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_error.startswith("HTTP 500")
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=25)
    assert chat_dispatch() == 0  # not due yet
    ChatDelivery.objects.update(next_attempt_at=timezone.now())
    chat_dispatch()
    ChatDelivery.objects.update(next_attempt_at=timezone.now())
    chat_dispatch()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 3
    bodies = [r["body"] for r in slack.requests]
    assert len(bodies) == 3 and len(set(bodies)) == 1  # the same frozen message each time


def test_it_gives_up_after_the_last_attempt(team, release, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    slack = receiver(statuses=[500, 500, 500])
    channel(team, slack.url, events=[Event.APPROVED])
    approve_all(release, team)
    chat_dispatch()
    ChatDelivery.objects.update(next_attempt_at=timezone.now())
    chat_dispatch()
    delivery = ChatDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 2


def test_a_claimed_delivery_is_not_claimed_twice(team, release, receiver):
    channel(team, receiver().url, events=[Event.APPROVED])
    approve_all(release, team)
    first = chat_deliveries_claim()
    assert len(first) == 1
    assert chat_deliveries_claim() == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.0.10/hook",
        "http://[::1]:8080/hook",
        "ftp://hooks.slack.com/x",
    ],
)
def test_internal_addresses_are_refused_as_channels(team, url, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    with pytest.raises(ValidationError) as error:
        channel(team, url)
    assert "url" in error.value.message_dict
    assert not ChatDestination.objects.exists()


def test_loopback_is_refused_at_send_time_too(team, release, receiver, settings):
    slack = receiver()
    channel(team, slack.url, events=[Event.APPROVED])
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    approve_all(release, team)
    chat_dispatch()
    delivery = ChatDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert "loopback" in delivery.last_error
    assert slack.requests == []


# --- the channel page ------------------------------------------------------------------


def test_a_release_manager_adds_and_removes_a_channel(client, team, receiver):
    client.force_login(team["rm"])
    page = client.get(reverse("notifications:chat_destination_list"))
    assert page.status_code == 200
    url = receiver().url
    response = client.post(
        reverse("notifications:chat_destination_list"),
        {"product": team["product"].pk, "kind": "teams", "name": "#rel", "url": url},
    )
    assert response.status_code == 302
    destination = ChatDestination.objects.get()
    assert (destination.kind, destination.name, destination.url) == ("teams", "rel", url)
    logged = ChangeLogEntry.objects.filter(action=Action.WEBHOOK_CHANGED).order_by("seq")
    assert [e.reason for e in logged] == ["Microsoft Teams channel added"]
    response = client.post(
        reverse("notifications:chat_destination_delete", kwargs={"pk": destination.pk})
    )
    assert response.status_code == 302
    destination.refresh_from_db()
    assert not destination.is_active
    assert logged.all().count() == 2


def test_bad_channel_input_is_shown_on_the_form(client, team, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    client.force_login(team["rm"])
    response = client.post(
        reverse("notifications:chat_destination_list"),
        {"product": team["product"].pk, "kind": "slack", "name": "x", "url": "http://10.0.0.5/"},
    )
    assert response.status_code == 400
    assert "private address" in response.content.decode()
    response = client.post(
        reverse("notifications:chat_destination_list"),
        {"product": "", "kind": "irc", "name": "", "url": "nope"},
    )
    assert response.status_code == 400
    assert not ChatDestination.objects.exists()


@pytest.mark.parametrize("who", ["dev", "po", "auditor", "outsider"])
def test_only_release_managers_manage_channels(client, team, receiver, who):
    destination = channel(team, receiver().url)
    client.force_login(team[who])
    assert client.get(reverse("notifications:chat_destination_list")).status_code == 403
    response = client.post(
        reverse("notifications:chat_destination_list"),
        {"product": team["product"].pk, "kind": "slack", "name": "x", "url": receiver().url},
    )
    assert response.status_code == 403
    response = client.post(
        reverse("notifications:chat_destination_delete", kwargs={"pk": destination.pk})
    )
    assert response.status_code == 403
    assert ChatDestination.objects.filter(is_active=True).count() == 1
    assert ChangeLogEntry.objects.filter(action=Action.ACCESS_REFUSED, actor=team[who]).count() == 3


# --- the slash command -----------------------------------------------------------------


def slash(client, text, *, timestamp=None, secret=SECRET, signature=None):
    body = urlencode(
        {"command": "/relapp", "text": text, "user_id": "U123", "team_id": "T123"}
    ).encode()
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature or slack_signature(secret, timestamp, body),
    }
    return client.post(
        reverse("notifications:slack_command"),
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )


def test_the_slash_command_answers_sign_offs_and_readiness(team, release, receiver):
    channel(team, receiver().url)
    sign(release, team["po"], "Business scope")
    client = Client(enforce_csrf_checks=True)  # Slack sends no CSRF token; the signature counts
    response = slash(client, "status payments-api 2.4.0")
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "ephemeral"
    text = json.dumps(answer)
    assert "Business scope: approve by Po Tester" in text
    assert "Test thresholds: waiting for Qa Tester" in text
    assert "Not deployable now" in text
    assert f"{SITE}/releases/payments-api/2.4.0/" in text


def test_the_slash_command_says_when_it_may_deploy(team, receiver):
    channel(team, receiver().url)
    release = release_open_now(team, version="3.1.0")
    answer = slash(Client(), f"status payments-api {release.version}").json()
    assert "May deploy now." in json.dumps(answer)


def test_a_wrong_signature_is_refused_and_logged(team, release, receiver):
    channel(team, receiver().url)
    response = slash(Client(), "status payments-api 2.4.0", secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"
    assert "2.4.0" not in response.content.decode()
    refusal = ChangeLogEntry.objects.filter(action=Action.ACCESS_REFUSED).latest("seq")
    assert "Wrong Slack request signature" in refusal.reason


def test_a_replayed_request_with_a_stale_timestamp_is_refused(team, release, receiver):
    channel(team, receiver().url)
    stale = int(time.time()) - 6 * 60
    response = slash(Client(), "status payments-api 2.4.0", timestamp=stale)
    assert response.status_code == 401
    assert "Stale" in response.json()["detail"]
    future = int(time.time()) + 6 * 60
    assert slash(Client(), "status payments-api 2.4.0", timestamp=future).status_code == 401


def test_a_signature_for_another_body_is_refused(team, release, receiver):
    channel(team, receiver().url)
    timestamp = str(int(time.time()))
    other = slack_signature(SECRET, timestamp, b"text=status+ledger+1.0.0")
    response = slash(Client(), "status payments-api 2.4.0", timestamp=timestamp, signature=other)
    assert response.status_code == 401


def test_no_secret_configured_refuses_everything(team, release, receiver, settings):
    channel(team, receiver().url)
    settings.SLACK_SIGNING_SECRET = ""
    assert slash(Client(), "status payments-api 2.4.0", secret="").status_code == 401


def test_products_without_a_slack_channel_do_not_answer(team, release, receiver):
    channel(team, receiver().url, kind="teams")
    answer = slash(Client(), "status payments-api 2.4.0").json()
    assert "No release payments-api 2.4.0" in answer["text"]
    assert "Business scope" not in json.dumps(answer)


def test_bad_command_text_gets_the_usage(team):
    for text in ("", "status", "approve payments-api 2.4.0", "status a b c"):
        answer = slash(Client(), text).json()
        assert answer["text"].startswith("Usage:")


def test_the_slash_command_is_post_only(team):
    assert Client().get(reverse("notifications:slack_command")).status_code == 405


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_posts_to_teams_and_retries_until_accepted(start_worker, receiver):
    """The beat's chat-dispatch task, in a real worker: fails once, then arrives."""
    team = build_team()
    teams = receiver(statuses=[502])
    channel(team, teams.url, kind="teams", events=[Event.APPROVED])
    start_worker(
        beat=True,
        env={"WEBHOOK_DISPATCH_SECONDS": "1", "WEBHOOK_RETRY_BASE_SECONDS": "1"},
    )
    release = release_open_now(team, version="3.0.0", approve=False)
    approve_all(release, team)
    deadline = time.monotonic() + 60
    delivery = ChatDelivery.objects.get()
    while delivery.status != DeliveryStatus.DELIVERED and time.monotonic() < deadline:
        time.sleep(0.2)
        delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    payloads = teams.payloads()
    assert len(payloads) == 2 and payloads[0] == payloads[1]
    assert payloads[1]["attachments"][0]["content"]["type"] == "AdaptiveCard"


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_the_same_instant_post_each_message_once(receiver):
    team = build_team()
    slack = receiver()
    channel(team, slack.url)  # every event: submitted, five signatures, approved
    release_open_now(team, version="3.2.0")
    total = ChatDelivery.objects.count()
    assert total >= 7
    start = threading.Barrier(2)
    made = []

    def dispatch():
        try:
            start.wait(timeout=10)
            made.append(chat_dispatch())
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(made) == total
    assert len(slack.requests) == total
    assert len({r["body"] for r in slack.requests}) == total
    assert ChatDelivery.objects.filter(status=DeliveryStatus.DELIVERED, attempts=1).count() == total
