"""Webhooks: the outbox written with the change, signed deliveries, retries, the log.

The sending tests post to a real HTTP server on 127.0.0.1 in a thread; the
last test runs the real Celery worker and beat against it.
"""

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from api import services as api_services
from api.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from api.webhooks import (
    deliveries_claim,
    retry_delay,
    webhook_signature,
    webhook_signature_valid,
    webhooks_dispatch,
)
from approvals import services
from audit.models import Action, ChangeLogEntry
from tests.factories import ProductFactory, build_team
from tests.helpers import approve_all, release_open_now, sign


class Receiver:
    """A real HTTP endpoint: answers the given statuses in turn, then 200."""

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
                if status in (301, 302):
                    self.send_response(status)
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                    self.end_headers()
                    return
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"thanks" if status < 300 else b"receiver is down")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/relapp"

    def wait_for(self, count: int, timeout: float = 60) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.1)
        raise AssertionError(f"Expected {count} deliveries, got {len(self.requests)}")

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
    for one in started:
        one.stop()


def endpoint_for(team, url, events=("release.approved",), product=None):
    return api_services.webhook_endpoint_create(
        product=product or team["product"], url=url, events=list(events), actor=team["rm"]
    )


# --- the outbox -----------------------------------------------------------------


def test_an_approval_writes_one_outbox_row_per_subscribed_endpoint(team):
    ledger = ProductFactory(name="Ledger", slug="ledger")
    wanted, _ = endpoint_for(team, "https://hooks.example.com/a")
    endpoint_for(team, "https://hooks.example.com/deploys", events=["deployment.*"])
    endpoint_for(team, "https://hooks.example.com/ledger", product=ledger)
    inactive, _ = endpoint_for(team, "https://hooks.example.com/off")
    api_services.webhook_endpoint_update(
        endpoint=inactive,
        actor=team["rm"],
        url=inactive.url,
        events=inactive.events,
        is_active=False,
    )
    release = release_open_now(team, version="3.0.0")
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.endpoint == wanted
    assert delivery.event == "release.approved"
    approved = ChangeLogEntry.objects.get(action=Action.RELEASE_APPROVED)
    assert delivery.changelog_seq == approved.seq
    body = json.loads(delivery.body)
    assert body["id"] == str(delivery.event_id)
    assert body["event"] == "release.approved"
    assert body["release"]["product"] == "payments-api"
    assert body["release"]["version"] == "3.0.0"
    assert body["release"]["status"] == "approved"
    assert body["release"]["api_url"].endswith("/api/v1/releases/payments-api/3.0.0/")
    assert body["changelog"] == {"seq": approved.seq, "hash": approved.hash}
    assert body["actor"] == "Rm Tester (rm)"
    assert release.status == "approved"


def test_the_outbox_row_rolls_back_with_its_change(team):
    endpoint_for(team, "https://hooks.example.com/a", events=["release.halted"])
    release = release_open_now(team, version="3.0.0")
    with pytest.raises(RuntimeError), transaction.atomic():
        services.release_halt(release=release, actor=team["rm"], reason="Outage")
        assert WebhookDelivery.objects.count() == 1  # written with the halt…
        raise RuntimeError("the transaction fails after the halt")
    assert WebhookDelivery.objects.count() == 0  # …and gone with it
    release.refresh_from_db()
    assert release.status == "approved"


def test_halts_rejections_and_every_deployment_become_events(team):
    endpoint_for(
        team,
        "https://hooks.example.com/all",
        events=["release.approved", "release.halted", "release.rejected", "deployment.*"],
    )
    release = release_open_now(team, version="3.0.0")
    services.release_halt(release=release, actor=team["rm"], reason="Outage")
    sign(release, team["rm"], "Go/no-go decision")  # resumes: approved again
    for status in ("started", "failed", "started", "succeeded", "rolled_back"):
        services.deployment_record(release=release, actor=team["rm"], status=status)
    rejected = release_open_now(team, version="3.1.0", approve=False)
    sign(rejected, team["qa"], "Test thresholds", decision="reject", comment="E2E flaky")
    events = list(WebhookDelivery.objects.order_by("changelog_seq").values_list("event", flat=True))
    assert events == [
        "release.approved",
        "release.halted",
        "release.approved",
        "deployment.started",
        "deployment.failed",
        "deployment.started",
        "deployment.succeeded",
        "deployment.rolled_back",
        "release.rejected",
    ]
    ids = list(WebhookDelivery.objects.values_list("event_id", flat=True))
    assert len(set(ids)) == len(ids)  # every event its own id
    rolled_back = json.loads(WebhookDelivery.objects.get(event="deployment.rolled_back").body)
    assert rolled_back["deployment"] == {
        "status": "rolled_back",
        "environment": "production",
        "details": "",
    }


def test_unrelated_changes_write_no_outbox_rows(team):
    endpoint_for(team, "https://hooks.example.com/a", events=["release.approved", "deployment.*"])
    release_open_now(team, version="3.0.0", approve=False)
    assert ChangeLogEntry.objects.count() > 5
    assert not WebhookDelivery.objects.exists()


# --- sending --------------------------------------------------------------------


def test_a_delivery_arrives_signed_with_the_event_id(team, receiver):
    hook = receiver()
    endpoint, secret = endpoint_for(team, hook.url)
    release_open_now(team, version="3.0.0")
    assert webhooks_dispatch() == 1
    [request] = hook.requests
    delivery = WebhookDelivery.objects.get()
    headers = request["headers"]
    assert headers["X-Relapp-Event"] == "release.approved"
    assert headers["X-Relapp-Event-Id"] == str(delivery.event_id)
    assert headers["X-Relapp-Attempt"] == "1"
    assert headers["Content-Type"] == "application/json"
    assert webhook_signature_valid(secret, request["body"], headers["X-Relapp-Signature"])
    assert not webhook_signature_valid(
        "whsec_other", request["body"], headers["X-Relapp-Signature"]
    )
    assert json.loads(request["body"])["id"] == str(delivery.event_id)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert webhooks_dispatch() == 0  # delivered once, never again


def test_a_failed_attempt_waits_for_its_backoff(team, receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 60
    hook = receiver(statuses=[503])
    endpoint_for(team, hook.url)
    release_open_now(team, version="3.0.0")
    before = timezone.now()
    assert webhooks_dispatch() == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.last_error == "HTTP 503 Service Unavailable"
    assert delivery.next_attempt_at >= before + timedelta(seconds=60)
    assert webhooks_dispatch() == 0  # not due yet
    assert len(hook.requests) == 1


def test_backoff_doubles_up_to_the_cap(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    settings.WEBHOOK_RETRY_MAX_SECONDS = 200
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [30, 60, 120, 200, 200]


def test_it_gives_up_after_the_last_attempt(team, receiver, settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    hook = receiver(statuses=[500] * 10)
    endpoint_for(team, hook.url)
    release_open_now(team, version="3.0.0")
    assert webhooks_dispatch() == 3
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 3)
    assert [a.status_code for a in WebhookAttempt.objects.order_by("number")] == [500, 500, 500]
    assert len({r["headers"]["X-Relapp-Event-Id"] for r in hook.requests}) == 1
    assert [r["headers"]["X-Relapp-Attempt"] for r in hook.requests] == ["1", "2", "3"]


def test_a_redirect_is_not_a_delivery_and_is_not_followed(team, receiver):
    hook = receiver(statuses=[302])
    endpoint_for(team, hook.url)
    release_open_now(team, version="3.0.0")
    webhooks_dispatch()
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code == 302
    assert WebhookDelivery.objects.get().status == DeliveryStatus.PENDING


def test_an_unreachable_receiver_is_logged_as_an_error(team, receiver):
    hook = receiver()
    url = hook.url
    hook.stop()  # nothing listens on that port any more
    endpoint_for(team, url)
    release_open_now(team, version="3.0.0")
    webhooks_dispatch()
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert "Connection refused" in attempt.error or "URLError" in attempt.error


def test_a_claimed_delivery_is_not_claimed_twice_until_its_claim_runs_out(team):
    endpoint_for(team, "http://127.0.0.1:9/never-called")
    release_open_now(team, version="3.0.0")
    first = deliveries_claim()
    assert len(first) == 1
    assert deliveries_claim() == []  # a second worker finds nothing to take
    WebhookDelivery.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    again = deliveries_claim()  # the first worker died: its claim ran out
    assert [pk for pk, _ in again] == [pk for pk, _ in first]
    assert again[0][1] != first[0][1]


def test_the_signature_is_the_hmac_of_the_body():
    # Known answer: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
    assert webhook_signature("key", b"The quick brown fox jumps over the lazy dog") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


# --- the pages ------------------------------------------------------------------


def test_a_release_manager_creates_a_webhook_and_sees_the_secret_once(client, team):
    client.force_login(team["rm"])
    response = client.post(
        "/webhooks/new/",
        {
            "product": team["product"].pk,
            "url": "https://hooks.example.com/relapp",
            "events": ["release.approved", "deployment.*"],
            "description": "Chat notifications",
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    endpoint = team["product"].webhook_endpoints.get()
    assert endpoint.secret in response.content.decode()
    assert endpoint.events == ["deployment.*", "release.approved"]
    detail = client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert endpoint.secret not in detail
    entry = ChangeLogEntry.objects.get(action=Action.WEBHOOK_CHANGED)
    assert entry.actor == team["rm"]
    assert endpoint.secret not in json.dumps(entry.after)


def test_bad_webhook_input_is_shown_on_the_form(client, team):
    client.force_login(team["rm"])
    response = client.post(
        "/webhooks/new/", {"product": team["product"].pk, "url": "ftp://x", "events": []}
    )
    assert response.status_code == 400
    assert not team["product"].webhook_endpoints.exists()
    page = response.content.decode()
    assert "Enter a valid URL." in page
    assert "Choose at least one event." in page


@pytest.mark.parametrize("path", ["/webhooks/", "/webhooks/new/", "/service-accounts/"])
def test_only_release_managers_manage_webhooks_and_accounts(client, team, path):
    client.force_login(team["dev"])
    assert client.get(path).status_code == 403
    refusal = ChangeLogEntry.objects.get(action=Action.ACCESS_REFUSED)
    assert refusal.actor == team["dev"]


def test_rotating_the_secret_signs_later_attempts_with_the_new_one(client, team, receiver):
    hook = receiver(statuses=[500])
    endpoint, old = endpoint_for(team, hook.url)
    release_open_now(team, version="3.0.0")
    webhooks_dispatch()
    client.force_login(team["rm"])
    response = client.post(f"/webhooks/{endpoint.pk}/secret/")
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret in response.content.decode()
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    webhooks_dispatch()
    first, second = hook.requests
    assert first["body"] == second["body"]
    assert webhook_signature_valid(old, first["body"], first["headers"]["X-Relapp-Signature"])
    assert webhook_signature_valid(
        endpoint.secret, second["body"], second["headers"]["X-Relapp-Signature"]
    )


def test_editing_an_endpoint_is_logged(client, team):
    endpoint, _ = endpoint_for(team, "https://hooks.example.com/a")
    client.force_login(team["rm"])
    client.post(
        f"/webhooks/{endpoint.pk}/edit/",
        {"url": "https://hooks.example.com/b", "events": ["release.halted"], "is_active": ""},
    )
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events, endpoint.is_active) == (
        "https://hooks.example.com/b",
        ["release.halted"],
        False,
    )
    changed = ChangeLogEntry.objects.filter(action=Action.WEBHOOK_CHANGED).order_by("-seq").first()
    assert changed.before["url"] == "https://hooks.example.com/a"
    assert changed.after["is_active"] is False


# --- the real worker ------------------------------------------------------------


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_retries_until_the_receiver_accepts(start_worker, receiver):
    """Fails twice, then succeeds: three signed attempts, one event id, all in the log."""
    team = build_team()
    hook = receiver(statuses=[500, 500])
    endpoint, secret = endpoint_for(team, hook.url)
    start_worker(
        beat=True,
        env={"WEBHOOK_DISPATCH_SECONDS": "1", "WEBHOOK_RETRY_BASE_SECONDS": "1"},
    )
    release = release_open_now(team, version="3.0.0", approve=False)
    approve_all(release, team)
    requests = hook.wait_for(3)
    ids = {r["headers"]["X-Relapp-Event-Id"] for r in requests}
    delivery = WebhookDelivery.objects.get()
    assert ids == {str(delivery.event_id)}
    assert [r["headers"]["X-Relapp-Attempt"] for r in requests] == ["1", "2", "3"]
    assert len({r["body"] for r in requests}) == 1
    for request in requests:
        assert webhook_signature_valid(
            secret, request["body"], request["headers"]["X-Relapp-Signature"]
        )
    deadline = time.monotonic() + 30
    while delivery.status != DeliveryStatus.DELIVERED and time.monotonic() < deadline:
        time.sleep(0.1)
        delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert [a.status_code for a in delivery.attempt_log.order_by("number")] == [500, 500, 200]
    assert webhooks_dispatch() == 0  # nothing left to send: delivered exactly once
    assert len(hook.requests) == 3
    client = Client()
    client.force_login(team["rm"])
    log = client.get(f"/webhooks/{endpoint.pk}/").content.decode()
    assert log.count("<strong>HTTP 500</strong>") == 2
    assert log.count("<strong>HTTP 200</strong>") == 1
    assert "Delivered" in log
    assert str(delivery.event_id) in log
