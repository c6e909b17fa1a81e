"""Lockouts, sessions and hardening (issue 10, items 3-5).

Sign-in and signature lockouts (django-axes), the idle and absolute session
limits, password change and "sign out everywhere", the refusal log line, the
API's JSON limits, webhook targets and product visibility.
"""

import io
import logging
import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.logging import RefusalFilter
from accounts.middleware import SEEN, STARTED
from api import services as api_services
from api.models import WebhookDelivery
from api.webhooks import webhooks_dispatch
from approvals import services
from approvals.models import FreezeWindow, SignOff
from audit.models import Action
from meetings.models import Notification
from tests.factories import PASSWORD, ProductFactory, activity
from tests.helpers import entries, new_token, release_open_now

pytestmark = pytest.mark.django_db


def login_post(client: Client, username: str, password: str, address: str = "10.1.1.1"):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def signed_in(client: Client) -> bool:
    return client.get(reverse("home")).status_code == 200


# --- sign-in lockouts ---------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_and_the_right_one_then_fails(team):
    client = Client()
    for _ in range(4):
        assert login_post(client, "po", "wrong").status_code == 200
    locked = login_post(client, "po", "wrong")
    assert locked.status_code == 429
    assert "locked for 15 minutes" in locked.content.decode()
    refused = login_post(client, "po", PASSWORD)
    assert refused.status_code == 429
    assert not signed_in(client)
    [lock] = entries(Action.AUTH_LOCKED)
    assert lock.after["username"] == "po"
    assert lock.after["via"] == "sign-in"
    assert lock.actor_name == "po"
    notice = Notification.objects.get(user=team["rm"])
    assert notice.title == "Account locked: po"
    assert notice.url == reverse("accounts:lockout_list")
    assert not Notification.objects.filter(user=team["po"]).exists()


def test_failures_from_one_address_lock_it_for_every_account(team):
    client = Client()
    for username in ("po", "qa", "sre", "dev", "cc"):
        login_post(client, username, "wrong", address="10.9.9.9")
    assert login_post(client, "ii", PASSWORD, address="10.9.9.9").status_code == 429
    # The same account from another address is not locked: only the address is.
    assert login_post(Client(), "ii", PASSWORD, address="10.2.2.2").status_code == 302


def test_four_failures_do_not_lock_and_a_success_clears_them(team):
    client = Client()
    for _ in range(4):
        login_post(client, "po", "wrong")
    assert login_post(client, "po", PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="po").exists()
    assert entries(Action.AUTH_LOCKED) == []


def test_the_lock_lifts_when_the_cool_down_has_passed(team):
    client = Client()
    for _ in range(5):
        login_post(client, "po", "wrong")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert login_post(client, "po", PASSWORD).status_code == 302


def test_a_release_manager_sees_and_lifts_a_lock_and_the_unlock_is_logged(team):
    for _ in range(5):
        login_post(Client(), "po", "wrong")
    manager = Client()
    manager.force_login(team["rm"])
    page = manager.get(reverse("accounts:lockout_list")).content.decode()
    assert "Unlock account po" in page
    response = manager.post(
        reverse("accounts:lockout_lift"), {"kind": "account", "value": "po"}, follow=True
    )
    assert "Unlocked account po." in response.content.decode()
    [unlock] = entries(Action.AUTH_UNLOCKED)
    assert unlock.actor == team["rm"]
    assert unlock.after["username"] == "po"
    assert login_post(Client(), "po", PASSWORD, address="10.3.3.3").status_code == 302


@pytest.mark.parametrize("username", ["po", "auditor", "outsider"])
def test_only_release_managers_and_admins_see_or_lift_locks(team, username):
    client = Client()
    client.force_login(team[username])
    assert client.get(reverse("accounts:lockout_list")).status_code == 403
    lift = client.post(reverse("accounts:lockout_lift"), {"kind": "account", "value": "po"})
    assert lift.status_code == 403
    assert entries(Action.AUTH_UNLOCKED) == []
    admin = Client()
    admin.force_login(team["admin"])
    assert admin.get(reverse("accounts:lockout_list")).status_code == 200


# --- signature lockouts ---------------------------------------------------------------


def _sign_post(client, release, password):
    scope = activity(release, "Business scope")
    url = reverse(
        "approvals:signoff",
        kwargs={
            "product": release.product.slug,
            "version": release.version,
            "activity_id": scope.pk,
        },
    )
    return client.post(
        url,
        {"decision": "approve", "comment": "", "password": password, "revision": 1},
        REMOTE_ADDR="10.4.4.4",
    )


def test_three_wrong_signature_passwords_end_the_session_and_lock_the_account(team, release):
    signer, elsewhere = Client(), Client()
    signer.force_login(team["po"])
    elsewhere.force_login(team["po"])
    for _ in range(2):
        response = _sign_post(signer, release, "wrong")
        assert response.status_code == 200
        assert "Wrong password: the sign-off was not recorded." in response.content.decode()
    third = _sign_post(signer, release, "wrong")
    assert third.status_code == 302
    assert third["Location"] == reverse("login")
    # Both sessions ended: this one and the one on another device.
    assert not signed_in(signer)
    assert not signed_in(elsewhere)
    # The right password no longer signs anyone in, from any address.
    assert login_post(Client(), "po", PASSWORD, address="10.5.5.5").status_code == 429
    [lock] = entries(Action.AUTH_LOCKED)
    assert (lock.after["username"], lock.after["via"]) == ("po", "signature")
    assert "3 wrong signature passwords" in lock.reason
    assert len(entries(Action.SIGNOFF_REFUSED)) == 3
    assert Notification.objects.filter(user=team["rm"], title="Account locked: po").exists()
    assert not SignOff.objects.exists()


def test_colleagues_failed_sign_ins_behind_one_address_do_not_lock_a_signer(team, release):
    for username in ("qa", "sre", "dev", "cc"):
        login_post(Client(), username, "wrong", address="10.4.4.4")
    signer = Client()
    signer.force_login(team["po"])
    assert _sign_post(signer, release, "wrong").status_code == 200
    assert signed_in(signer)
    assert entries(Action.AUTH_LOCKED) == []


def test_the_signature_lock_lifts_when_a_release_manager_unlocks(team, release):
    signer = Client()
    signer.force_login(team["po"])
    for _ in range(3):
        _sign_post(signer, release, "wrong")
    manager = Client()
    manager.force_login(team["rm"])
    manager.post(reverse("accounts:lockout_lift"), {"kind": "account", "value": "po"})
    again = Client()
    assert login_post(again, "po", PASSWORD, address="10.4.4.4").status_code == 302
    assert _sign_post(again, release, PASSWORD).status_code == 302
    assert SignOff.objects.get().signer == team["po"]


def test_wrong_verbal_confirmation_passwords_count_towards_the_signature_lock(team, release):
    verbal = services.signoff_record_verbal(
        release=release,
        activity_id=activity(release, "Business scope").pk,
        recorded_by=team["rm"],
        given_at=timezone.now() - timedelta(minutes=5),
        channel="phone call",
        note="Said yes on the bridge",
    )
    client = Client()
    client.force_login(team["po"])
    url = reverse("approvals:verbal_respond", kwargs={"signoff_id": verbal.pk})
    body = {"response": "confirm", "password": "wrong", "note": ""}
    assert client.post(url, body).status_code == 200
    assert client.post(url, body).status_code == 200
    assert client.post(url, body)["Location"] == reverse("login")
    assert not signed_in(client)
    assert entries(Action.AUTH_LOCKED)[0].after["via"] == "signature"


# --- sessions -------------------------------------------------------------------------


def _age_session(client: Client, **seconds_ago) -> None:
    session = client.session
    now = int(time.time())
    for key, ago in seconds_ago.items():
        session[{"started": STARTED, "seen": SEEN}[key]] = now - ago
    session.save()


def test_a_session_idle_for_thirty_minutes_is_signed_out(team):
    client = Client()
    client.force_login(team["po"])
    assert signed_in(client)
    _age_session(client, seen=29 * 60)
    assert signed_in(client)
    _age_session(client, seen=31 * 60)
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert "30 minutes without activity" in response.content.decode()


def test_a_session_ends_after_twelve_hours_even_when_active(team):
    client = Client()
    client.force_login(team["po"])
    _age_session(client, started=12 * 3600 + 60, seen=10)
    assert not signed_in(client)


def test_the_limits_are_settings(team, settings):
    settings.SESSION_IDLE_MINUTES = 5
    client = Client()
    client.force_login(team["po"])
    _age_session(client, seen=6 * 60)
    assert not signed_in(client)


def test_changing_the_password_ends_the_other_sessions(team):
    here, elsewhere = Client(), Client()
    here.force_login(team["po"])
    elsewhere.force_login(team["po"])
    response = here.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-passphrase-42",
            "new_password2": "a-new-long-passphrase-42",
        },
    )
    assert response.status_code == 302
    assert signed_in(here)
    assert not signed_in(elsewhere)


def test_sign_out_everywhere_ends_every_other_session_and_is_logged(team):
    here, elsewhere, other_user = Client(), Client(), Client()
    here.force_login(team["po"])
    elsewhere.force_login(team["po"])
    other_user.force_login(team["qa"])
    page = here.get(reverse("accounts:account")).content.decode()
    assert "Sign out everywhere else" in page
    response = here.post(reverse("accounts:sign_out_everywhere"), follow=True)
    assert "1 other session ended" in response.content.decode()
    assert signed_in(here)
    assert not signed_in(elsewhere)
    assert signed_in(other_user)
    [entry] = [e for e in entries(Action.LOGOUT) if e.reason == "Signed out everywhere"]
    assert (entry.actor, entry.after) == (team["po"], {"sessions_ended": 1})


# --- refusals in the server log -------------------------------------------------------


def test_a_refused_request_logs_one_line_without_a_traceback(team):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # no filter of its own: the logger's applies
    logger = logging.getLogger("django.request")
    assert any(isinstance(f, RefusalFilter) for f in logger.filters)
    logger.addHandler(handler)
    client = Client()
    client.force_login(team["outsider"])
    try:
        response = client.get(reverse("accounts:lockout_list"))
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 403
    [line] = stream.getvalue().splitlines()
    assert "Traceback" not in stream.getvalue()
    assert line.startswith("Refused 403: user=outsider path=/account/lockouts/")
    assert "reason='You may not see locked accounts.'" in line
    assert line.endswith(f"request_id={response['X-Request-ID']}")


def test_a_missing_page_is_one_line_too(team):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        Client().get("/no/such/page/")
    finally:
        logger.removeHandler(handler)
    [line] = stream.getvalue().splitlines()
    assert line.startswith("Refused 404: user=- path=/no/such/page/")


# --- API JSON limits ------------------------------------------------------------------


@pytest.fixture
def post_checks(team):
    """POST a raw body to the gate-check endpoint of an open release, with a token."""
    release = release_open_now(team, version="3.1.0", approve=False)
    token = new_token(team)
    url = f"/api/v1/releases/{release.product.slug}/{release.version}/checks/"

    def post(body: bytes):
        return Client().post(
            url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )

    return post


def test_a_deeply_nested_json_body_is_a_400_not_a_500(post_checks):
    response = post_checks(b"[" * 100_000)
    assert response.status_code == 400
    assert response.json() == {
        "error": "parse_error",
        "detail": "The JSON body is nested deeper than 32 levels.",
    }


def test_json_just_over_the_depth_limit_is_refused_and_at_it_is_parsed(post_checks):
    too_deep = post_checks(b'{"a":' * 33 + b"1" + b"}" * 33)
    assert too_deep.json()["error"] == "parse_error"
    at_limit = post_checks(b'{"a":' * 32 + b"1" + b"}" * 32)
    assert at_limit.status_code == 400
    assert at_limit.json()["error"] == "validation_failed"  # parsed, then its fields checked


def test_an_oversized_json_body_is_a_400(post_checks, settings):
    settings.API_JSON_MAX_BYTES = 1000
    response = post_checks(b'{"name": "' + b"x" * 2000 + b'"}')
    assert response.status_code == 400
    assert response.json()["detail"] == "The JSON body is larger than 1000 bytes."


# --- webhook targets ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/",
        "http://localhost/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.20/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_webhooks_to_internal_addresses_are_refused(team, settings, url):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    client = Client()
    client.force_login(team["rm"])
    response = client.post(
        reverse("api:webhook_create"),
        {"product": team["product"].pk, "url": url, "events": ["release.approved"]},
    )
    assert response.status_code == 400  # a field error, nothing saved
    assert "is not allowed as a webhook target" in response.content.decode()
    assert not api_services.WebhookEndpoint.objects.exists()


def test_an_allow_listed_network_is_accepted(team, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["10.0.5.0/24"]
    endpoint, _ = api_services.webhook_endpoint_create(
        product=team["product"],
        url="http://10.0.5.7/hook",
        events=["release.approved"],
        actor=team["rm"],
    )
    assert endpoint.url == "http://10.0.5.7/hook"
    with pytest.raises(api_services.ValidationError):
        api_services.webhook_endpoint_create(
            product=team["product"],
            url="http://10.0.6.7/hook",
            events=["release.approved"],
            actor=team["rm"],
        )


def test_the_target_is_checked_again_at_send_time_after_dns(team, settings):
    # Saved while a receiver on this machine was allowed; the allow-list then changed.
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32", "::1/128"]
    api_services.webhook_endpoint_create(
        product=team["product"],
        url="http://localhost:9/hook",
        events=["release.approved"],
        actor=team["rm"],
    )
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    release_open_now(team, version="3.2.0")
    assert webhooks_dispatch() == 1
    delivery = WebhookDelivery.objects.get()
    assert "localhost resolves to" in delivery.last_error
    assert "loopback address" in delivery.last_error


# --- product visibility ---------------------------------------------------------------


@pytest.fixture
def hidden(team):
    """A product nobody on the team has a role in, with a freeze window."""
    product = ProductFactory(name="Secret Ledger", slug="secret-ledger")
    start = timezone.now() + timedelta(days=3)
    FreezeWindow.objects.create(
        product=product,
        start=start,
        end=start + timedelta(days=1),
        reason="Ledger migration freeze",
        created_by=team["rm"],
    )
    return product


@pytest.mark.parametrize("username", ["outsider", "po"])
def test_people_without_a_role_do_not_see_a_product(team, release, hidden, username):
    client = Client()
    client.force_login(team[username])
    for name in ("approvals:product_list", "approvals:release_list", "meetings:freeze_list"):
        page = client.get(reverse(name)).content.decode()
        assert "Secret Ledger" not in page, name
    assert (
        "Ledger migration freeze"
        not in client.get(reverse("meetings:freeze_list")).content.decode()
    )
    products = client.get(reverse("approvals:product_list")).content.decode()
    assert ("Payments API" in products) == (username == "po")


@pytest.mark.parametrize("username", ["rm", "auditor", "admin"])
def test_release_managers_and_auditors_see_every_product(team, hidden, username):
    client = Client()
    client.force_login(team[username])
    assert "Secret Ledger" in client.get(reverse("approvals:product_list")).content.decode()
    assert "Secret Ledger" in client.get(reverse("approvals:release_list")).content.decode()
    assert "Ledger migration freeze" in client.get(reverse("meetings:freeze_list")).content.decode()


# --- Content-Security-Policy ----------------------------------------------------------


def test_every_page_carries_the_content_security_policy(team):
    header = Client().get(reverse("login"))["Content-Security-Policy"]
    assert "script-src 'self'" in header
    assert "style-src 'self'" in header
    assert "unsafe-inline" not in header
    assert "frame-ancestors 'none'" in header


def test_the_refusal_line_stays_one_line_when_logging_is_configured_twice(team):
    """django.setup() run again in the same process (a script, the page benchmark's
    smoke test) adds the filter a second time; the line must not nest itself."""
    logger = logging.getLogger("django.request")
    extra = RefusalFilter()
    logger.addFilter(extra)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    client = Client()
    client.force_login(team["outsider"])
    try:
        response = client.get(reverse("accounts:lockout_list"))
    finally:
        logger.removeHandler(handler)
        logger.removeFilter(extra)
    [line] = stream.getvalue().splitlines()
    assert line.count("Refused 403") == 1
    assert "reason='You may not see locked accounts.'" in line
    assert line.endswith(f"request_id={response['X-Request-ID']}")
