"""Signing by re-authenticating at the OpenID Connect provider (issue 10, item 2, SSO users).

A signer who signed in through the provider has no local password: the sign
dialog sends them to sign in again there (prompt=login, max_age=0), and the
callback records the signature only when the verified ID token names them
and says they signed in after the click. Runs against the real provider of
tests/test_sso.py (tests/oidc/provider.mjs).
"""

import time
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.conf import settings as dj_settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals import services
from approvals.models import SignOff
from audit.models import Action
from raci import services as raci_services
from relapp.credentials import (
    REAUTH_SESSION_KEY,
    ProviderReauthentication,
    provider_reauthentication,
)
from tests.factories import PASSWORD, activity
from tests.helpers import CALLBACK, Provider, configure_oidc, entries, provider_running, sign

SIGN_CALLBACK = "http://testserver/account/oidc/signoff-callback/"
OIDC_BACKEND = "accounts.backends.OIDCBackend"

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def provider(tmp_path_factory) -> Iterator[Provider]:
    with provider_running(tmp_path_factory.mktemp("oidc"), f"{CALLBACK},{SIGN_CALLBACK}") as p:
        yield p


@pytest.fixture
def po_at_provider(provider, settings, team) -> Client:
    """po, the Accountable of "Business scope", signed in through the provider (no password)."""
    configure_oidc(settings, provider)
    accounts = {"po": {"password": "po-provider-password", "email": "po@relapp.test"}}
    accounts["bo"] = {"password": "bo-provider-password", "email": "bo@relapp.test"}
    provider.set_accounts(accounts)
    po = team["po"]
    po.set_unusable_password()
    po.save()
    client = Client()
    client.force_login(po, backend=OIDC_BACKEND)
    return client


def signoff_url(release, name="Business scope") -> str:
    return reverse(
        "approvals:signoff",
        kwargs={
            "product": release.product.slug,
            "version": release.version,
            "activity_id": activity(release, name).pk,
        },
    )


def click_sign(client: Client, release, *, decision="approve", comment="") -> str:
    """Submit the sign dialog; the provider's authorization URL it redirects to."""
    response = client.post(
        signoff_url(release), {"decision": decision, "comment": comment, "revision": 1}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def sign_in_at_provider(url: str, username: str, password: str) -> str:
    """Follow the provider like a browser, answering its login form; the callback URL."""
    browser = requests.Session()
    for _ in range(10):
        response = browser.get(url, allow_redirects=False, timeout=10)
        if response.status_code in (302, 303):
            url = urljoin(url, response.headers["Location"])
            if url.startswith(SIGN_CALLBACK):
                return url
            continue
        assert 'name="password"' in response.text, response.text[:500]
        response = browser.post(
            urljoin(url, f"{urlsplit(url).path}/login"),
            data={"login": username, "password": password},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code in (302, 303), response.text[:500]
        url = urljoin(url, response.headers["Location"])
    raise AssertionError("The provider kept redirecting.")


def come_back(client: Client, callback_url: str, **override):
    parts = urlsplit(callback_url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | override
    return client.get(parts.path, query)


def release_page_message(client: Client, response) -> str:
    assert response.status_code == 302
    return client.get(response["Location"]).content.decode()


def test_the_dialog_asks_an_sso_signer_to_sign_in_again_at_the_provider(po_at_provider, release):
    response = po_at_provider.get(signoff_url(release))
    page = response.content.decode()
    assert "Sign by signing in again at Test IdP" in page
    assert 'name="password"' not in page
    # The form's POST redirects to the provider, which CSP form-action must allow here.
    issuer = dj_settings.OIDC_OP_AUTHORIZATION_ENDPOINT.split("/", 3)[:3]
    assert f"form-action 'self' {'/'.join(issuer)}" in response["Content-Security-Policy"]


def test_a_local_signer_still_gets_the_password_field(provider, settings, team, release):
    configure_oidc(settings, provider)
    client = Client()
    client.force_login(team["po"])
    page = client.get(signoff_url(release)).content.decode()
    assert 'name="password"' in page and "signing in again at" not in page


def test_the_click_goes_to_the_provider_with_prompt_login_and_max_age_0(po_at_provider, release):
    url = click_sign(po_at_provider, release)
    query = parse_qs(urlsplit(url).query)
    intent = po_at_provider.session[REAUTH_SESSION_KEY]
    assert url.split("?")[0] == dj_settings.OIDC_OP_AUTHORIZATION_ENDPOINT
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]
    assert query["state"] == [intent["state"]] and query["nonce"] == [intent["nonce"]]
    assert query["redirect_uri"] == [SIGN_CALLBACK]
    assert intent["activity_id"] == activity(release, "Business scope").pk
    assert SignOff.objects.count() == 0


def test_the_form_rules_still_hold_without_a_password(po_at_provider, release):
    response = po_at_provider.post(
        signoff_url(release), {"decision": "reject", "comment": "", "revision": 1}
    )
    assert response.status_code == 200
    assert "Say why you reject" in response.content.decode()
    assert REAUTH_SESSION_KEY not in po_at_provider.session


def test_signing_in_again_at_the_provider_records_the_signature(po_at_provider, release):
    callback = sign_in_at_provider(
        click_sign(po_at_provider, release), "po", "po-provider-password"
    )

    response = come_back(po_at_provider, callback)

    assert response.status_code == 302
    assert response["Location"] == release.get_absolute_url() + "#approvals"
    [signoff] = SignOff.objects.all()
    assert (signoff.signer.username, signoff.decision, signoff.method) == (
        "po",
        "approve",
        "e-signature",
    )
    assert signoff.components == "sso-reauth"
    assert "Business scope" in signoff.meaning
    [recorded] = entries(Action.SIGNOFF_RECORDED)
    assert recorded.after == services.signoff_manifest(signoff)
    assert recorded.after["components"] == "sso-reauth"
    assert REAUTH_SESSION_KEY not in po_at_provider.session
    assert "Your decision is recorded" in release_page_message(po_at_provider, response)


def test_a_sign_in_at_the_provider_before_the_click_is_refused(po_at_provider, release):
    callback = sign_in_at_provider(
        click_sign(po_at_provider, release), "po", "po-provider-password"
    )
    # As if the provider had reused an earlier sign-in: the click came after it.
    session = po_at_provider.session
    session[REAUTH_SESSION_KEY] = session[REAUTH_SESSION_KEY] | {
        "clicked_at": session[REAUTH_SESSION_KEY]["clicked_at"] + 120
    }
    session.save()

    response = come_back(po_at_provider, callback)

    assert SignOff.objects.count() == 0
    [refused] = entries(Action.SIGNOFF_REFUSED)
    assert "predates the click" in refused.reason
    assert "predates the click" in release_page_message(po_at_provider, response)
    assert REAUTH_SESSION_KEY not in po_at_provider.session


def test_a_callback_with_a_wrong_state_is_refused(po_at_provider, release):
    callback = sign_in_at_provider(
        click_sign(po_at_provider, release), "po", "po-provider-password"
    )

    response = come_back(po_at_provider, callback, state="not-the-state")

    assert SignOff.objects.count() == 0
    [refused] = entries(Action.SIGNOFF_REFUSED)
    assert "does not match" in refused.reason
    assert "does not match" in release_page_message(po_at_provider, response)
    # The intent is gone: the real answer cannot be replayed after the refusal.
    come_back(po_at_provider, callback)
    assert SignOff.objects.count() == 0


def test_another_users_sign_in_at_the_provider_is_refused(po_at_provider, release):
    callback = sign_in_at_provider(
        click_sign(po_at_provider, release), "bo", "bo-provider-password"
    )

    response = come_back(po_at_provider, callback)

    assert SignOff.objects.count() == 0
    [refused] = entries(Action.SIGNOFF_REFUSED)
    assert "as someone else" in refused.reason
    assert "as someone else" in release_page_message(po_at_provider, response)


def test_a_made_up_code_is_refused_not_a_server_error(po_at_provider, release):
    click_sign(po_at_provider, release)
    state = po_at_provider.session[REAUTH_SESSION_KEY]["state"]

    response = po_at_provider.get(SIGN_CALLBACK, {"code": "made-up", "state": state})

    assert response.status_code == 302
    assert SignOff.objects.count() == 0
    assert len(entries(Action.SIGNOFF_REFUSED)) == 1


def test_a_callback_without_a_pending_signature_records_nothing(po_at_provider, release):
    response = po_at_provider.get(SIGN_CALLBACK, {"code": "x", "state": "y"})
    assert response.status_code == 302
    assert SignOff.objects.count() == 0


def test_the_service_accepts_a_reauthentication_only_from_relapp_credentials(team, release):
    with pytest.raises(TypeError):
        ProviderReauthentication(user_pk=team["po"].pk, auth_time=0)
    assert sign(release, team["po"], "Business scope", password=PASSWORD)[0].components == (
        "password"
    )


def test_the_service_refuses_another_signers_reauthentication(po_at_provider, team, release):
    intent = {"clicked_at": time.time() - 1}
    claims = {
        "preferred_username": "qa",
        "aud": "relapp",
        "exp": time.time() + 60,
        "auth_time": int(time.time()),
    }
    proof, why = provider_reauthentication(user=team["qa"], claims=claims, intent=intent)
    assert proof is not None and why == ""
    with pytest.raises(services.SignOffRefused):
        services.signoff_record(
            release=release,
            activity_id=activity(release, "Business scope").pk,
            signer=team["po"],
            decision="approve",
            comment="",
            password="",
            revision_number=1,
            reauthenticated=proof,
        )
    assert SignOff.objects.count() == 0
    assert len(entries(Action.SIGNOFF_REFUSED)) == 1


def test_the_callback_is_404_when_sso_is_off(client, team, settings):
    settings.OIDC_ENABLED = False
    client.force_login(team["po"])
    assert client.get(SIGN_CALLBACK).status_code == 404


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_sso_user_signs_their_activity_by_signing_in_again_with_chromium(
    page, live_server, settings, tmp_path, screenshot, team, release
):
    callbacks = [
        f"{live_server.url}/account/oidc/callback/",
        f"{live_server.url}/account/oidc/signoff-callback/",
    ]
    with provider_running(tmp_path, ",".join(callbacks)) as provider:
        configure_oidc(settings, provider)
        provider.set_accounts(
            {
                "po": {
                    "password": "po-provider-password",
                    "email": "po@relapp.test",
                    "name": "Pat Owner",
                }
            }
        )
        po = team["po"]
        po.set_unusable_password()
        po.save()
        page.goto("/login/")
        page.get_by_role("link", name="Sign in with Test IdP").click()
        page.wait_for_url(f"{provider.issuer}/interaction/**")
        page.fill("#login", "po")
        page.fill("#password", "po-provider-password")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/")

        page.goto(release.get_absolute_url())
        page.locator(f'a[href="{signoff_url(release)}?decision=approve"]').first.click()
        button = page.get_by_role("button", name="Sign by signing in again at Test IdP")
        assert page.locator('input[name="password"]').count() == 0
        screenshot("sso-sign-dialog")
        button.click()
        # The provider asks for the password again, although its session is live.
        page.wait_for_url(f"{provider.issuer}/interaction/**")
        screenshot("sso-sign-provider-asks-again")
        page.fill("#login", "po")
        page.fill("#password", "po-provider-password")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}{release.get_absolute_url()}**")
        components = page.get_by_test_id("signoff-components").first
        assert "signed in again at the single sign-on provider" in components.inner_text()
        screenshot("sso-signed")
    [signoff] = SignOff.objects.all()
    assert (signoff.signer.username, signoff.components) == ("po", "sso-reauth")


# --- verbal approvals answered by signing in again at the provider -------------------


def record_verbal(release, recorder):
    return services.signoff_record_verbal(
        release=release,
        activity_id=activity(release, "Business scope").pk,
        recorded_by=recorder,
        channel="phone call",
        given_at=timezone.now() - timedelta(minutes=1),
        note="",
    )


def answer_verbal(client: Client, verbal, response: str, note: str = "") -> str:
    """Submit the verbal-approval answer; the provider's authorization URL it redirects to."""
    url = reverse("approvals:verbal_respond", kwargs={"signoff_id": verbal.pk})
    page = client.get(url).content.decode()
    assert 'name="password"' not in page
    assert "signing in again at" in page
    answered = client.post(url, {"response": response, "note": note})
    assert answered.status_code == 302, answered.content.decode()[:2000]
    assert answered["Location"].startswith(dj_settings.OIDC_OP_AUTHORIZATION_ENDPOINT)
    return answered["Location"]


def test_an_sso_accountable_confirms_a_verbal_approval_at_the_provider(
    po_at_provider, team, release
):
    verbal = record_verbal(release, team["rm"])
    callback = sign_in_at_provider(
        answer_verbal(po_at_provider, verbal, "confirm"), "po", "po-provider-password"
    )

    response = come_back(po_at_provider, callback)

    verbal.refresh_from_db()
    assert (verbal.verbal_state, verbal.components) == ("confirmed", "sso-reauth")
    [confirmed] = entries(Action.VERBAL_CONFIRMED)
    assert (confirmed.actor.username, confirmed.after["components"]) == ("po", "sso-reauth")
    assert "verbal approval is confirmed" in release_page_message(po_at_provider, response)


def test_an_sso_accountable_disputes_a_verbal_approval_at_the_provider(
    po_at_provider, team, release
):
    verbal = record_verbal(release, team["rm"])
    callback = sign_in_at_provider(
        answer_verbal(po_at_provider, verbal, "dispute", note="I never said yes"),
        "po",
        "po-provider-password",
    )

    come_back(po_at_provider, callback)

    verbal.refresh_from_db()
    assert verbal.verbal_state == "disputed"
    assert verbal.is_void
    assert "I never said yes" in verbal.void_reason
    assert len(entries(Action.VERBAL_DISPUTED)) == 1


def test_a_verbal_confirmation_by_someone_else_at_the_provider_is_refused(
    po_at_provider, team, release
):
    verbal = record_verbal(release, team["rm"])
    callback = sign_in_at_provider(
        answer_verbal(po_at_provider, verbal, "confirm"), "bo", "bo-provider-password"
    )

    come_back(po_at_provider, callback)

    verbal.refresh_from_db()
    assert verbal.verbal_state == "pending"
    assert entries(Action.VERBAL_CONFIRMED) == []
    [refused] = entries(Action.SIGNOFF_REFUSED)
    assert "as someone else" in refused.reason


def test_the_pending_answer_cannot_be_swapped_for_another_users_verbal_record(
    po_at_provider, team, release
):
    """The intent names a verbal record; the callback still only answers the signer's own."""
    theirs = services.signoff_record_verbal(
        release=release,
        activity_id=activity(release, "Test thresholds").pk,
        recorded_by=team["rm"],
        channel="phone call",
        given_at=timezone.now() - timedelta(minutes=1),
        note="",
    )
    mine = record_verbal(release, team["rm"])
    url = answer_verbal(po_at_provider, mine, "confirm")
    session = po_at_provider.session
    session[REAUTH_SESSION_KEY] = session[REAUTH_SESSION_KEY] | {"signoff_id": theirs.pk}
    session.save()
    callback = sign_in_at_provider(url, "po", "po-provider-password")

    response = come_back(po_at_provider, callback)

    assert response.status_code == 404
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert (theirs.verbal_state, mine.verbal_state) == ("pending", "pending")


def test_signing_in_as_someone_else_three_times_ends_the_session_and_locks(
    po_at_provider, team, release
):
    """Another person's identity at the provider counts like a wrong signature password."""
    for attempt in range(3):
        callback = sign_in_at_provider(
            click_sign(po_at_provider, release), "bo", "bo-provider-password"
        )
        response = come_back(po_at_provider, callback)
        assert response.status_code == 302
        if attempt < 2:  # the first two are refused, the session goes on
            assert response["Location"] == release.get_absolute_url() + "#approvals"
            assert entries(Action.AUTH_LOCKED) == []
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in po_at_provider.session
    [lock] = entries(Action.AUTH_LOCKED)
    assert (lock.after["username"], lock.after["via"]) == ("po", "signature")
    assert len(entries(Action.SIGNOFF_REFUSED)) == 3
    assert not SignOff.objects.exists()


def test_an_sso_delegate_signs_on_behalf_by_signing_in_again_at_the_provider(
    provider, settings, team, release
):
    """qa stands in for po (away); qa signed in through the provider and has no password."""
    configure_oidc(settings, provider)
    provider.set_accounts({"qa": {"password": "qa-provider-password", "email": "qa@relapp.test"}})
    qa = team["qa"]
    qa.set_unusable_password()
    qa.save()
    now = timezone.now()
    raci_services.delegation_create(
        absent=team["po"],
        delegate=qa,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=24),
        reason="Holiday",
        actor=team["po"],
        now=now,
    )
    delegate = Client()
    delegate.force_login(qa, backend=OIDC_BACKEND)
    callback = sign_in_at_provider(click_sign(delegate, release), "qa", "qa-provider-password")

    come_back(delegate, callback)

    [signoff] = SignOff.objects.all()
    assert (signoff.signer, signoff.on_behalf_of) == (qa, team["po"])
    assert signoff.components == "sso-reauth"
    assert "on behalf of" in signoff.meaning
