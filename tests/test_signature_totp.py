"""Signatures with two components (issue 10, item 2, local users).

A local user enrols an authenticator app (TOTP, django-otp) on the account
page; their signatures then need the password and a current code, and the
record names the components. A product's policy may require two components.
Wrong codes are refused, logged and count towards the signature lockout.
"""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp import models as totp_models
from django_otp.plugins.otp_totp.models import TOTPDevice

from approvals import services
from approvals.models import ApprovalPolicy, SignOff
from approvals.services import signoff_manifest
from audit.models import Action
from tests.factories import PASSWORD, activity
from tests.helpers import entries, sign

pytestmark = pytest.mark.django_db

NOW = 1_900_000_000.0  # a fixed clock: a code never expires halfway through a test


@pytest.fixture
def clock(monkeypatch):
    """django-otp's clock, frozen at NOW; `clock.now` may be moved on."""
    fake = SimpleNamespace(now=NOW)
    monkeypatch.setattr(totp_models, "time", SimpleNamespace(time=lambda: fake.now))
    return fake


def code(device: TOTPDevice, *, at: float = NOW) -> str:
    """The code `device`'s app shows at time `at` (django_otp.oath)."""
    generator = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    generator.time = at
    return str(generator.token()).zfill(device.digits)


def enrol(user) -> TOTPDevice:
    """`user` has a confirmed authenticator (as the account page leaves it)."""
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def require_two_components(team) -> None:
    policy, _ = ApprovalPolicy.objects.get_or_create(product=team["product"])
    policy.signature_requires_two_components = True
    policy.save()


def signoff_url(release, name="Business scope") -> str:
    return reverse(
        "approvals:signoff",
        kwargs={
            "product": release.product.slug,
            "version": release.version,
            "activity_id": activity(release, name).pk,
        },
    )


def sign_post(client, release, *, password=PASSWORD, code=""):
    return client.post(
        signoff_url(release),
        {"decision": "approve", "comment": "", "password": password, "code": code, "revision": 1},
        REMOTE_ADDR="10.6.6.6",
    )


def signed_in_as(team, username: str) -> Client:
    client = Client()
    client.force_login(team[username])
    return client


# --- enrolment on the account page --------------------------------------------------


def test_enrolment_shows_the_secret_and_is_active_only_once_a_code_confirms_it(
    team, release, clock, settings
):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no wait after the wrong code below
    client = signed_in_as(team, "po")
    account = client.get(reverse("accounts:account")).content.decode()
    assert "Set up or manage your authenticator app" in account
    assert client.post(reverse("accounts:authenticator_start")).status_code == 302
    device = TOTPDevice.objects.get(user=team["po"])
    assert not device.confirmed
    page = client.get(reverse("accounts:authenticator")).content.decode()
    assert "otpauth://totp/" in page
    secret = page.split('data-testid="totp-secret">')[1].split("<")[0]
    assert "".join(secret.split()) in page  # the base32 secret is also in the link
    # Not active yet: a signature still needs the password only.
    assert 'name="code"' not in client.get(signoff_url(release)).content.decode()

    wrong = client.post(reverse("accounts:authenticator_confirm"), {"code": "000000"})
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.content.decode()
    device.refresh_from_db()
    assert not device.confirmed

    right = client.post(reverse("accounts:authenticator_confirm"), {"code": code(device)})
    assert right.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    [enabled] = entries(Action.AUTHENTICATOR_ENABLED)
    assert enabled.actor == team["po"]
    page = client.get(reverse("accounts:authenticator")).content.decode()
    assert "Remove the authenticator" in page
    assert 'name="code"' in client.get(signoff_url(release)).content.decode()


def test_removing_the_authenticator_needs_the_password_and_a_code(team, clock, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no wait after the wrong code below
    device = enrol(team["po"])
    client = signed_in_as(team, "po")
    url = reverse("accounts:authenticator_disable")
    refused = client.post(url, {"password": PASSWORD, "code": code(device, at=NOW - 600)})
    assert refused.status_code == 400
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    done = client.post(url, {"password": PASSWORD, "code": code(device)})
    assert done.status_code == 302
    assert not TOTPDevice.objects.exists()
    [disabled] = entries(Action.AUTHENTICATOR_DISABLED)
    assert disabled.actor == team["po"]


# --- signing ---------------------------------------------------------------------------


def test_a_signature_with_password_and_code_records_both_components(team, release, clock):
    device = enrol(team["po"])
    signoff, created = sign(release, team["po"], "Business scope", code=code(device))
    assert created
    assert (signoff.method, signoff.components) == ("e-signature", "password+totp")
    assert signoff_manifest(signoff)["components"] == "password+totp"
    [recorded] = entries(Action.SIGNOFF_RECORDED)
    assert recorded.after["components"] == "password+totp"


def test_without_an_authenticator_the_record_says_password(team, release):
    signoff, _ = sign(release, team["po"], "Business scope")
    assert signoff.components == "password"
    assert entries(Action.SIGNOFF_RECORDED)[0].after["components"] == "password"


def test_an_enrolled_signer_cannot_drop_the_code(team, release, clock):
    enrol(team["po"])
    with pytest.raises(services.SignOffRefused, match="Enter the code") as error:
        sign(release, team["po"], "Business scope")
    assert not error.value.wrong_credential  # the password was right; nothing to count
    assert not SignOff.objects.exists()


def test_a_wrong_code_is_refused_logged_and_counts_as_a_wrong_credential(team, release, clock):
    device = enrol(team["po"])
    wrong = code(device, at=NOW + 600)  # a real code of this secret, but not a current one
    with pytest.raises(services.SignOffRefused, match="Wrong or already used") as error:
        sign(release, team["po"], "Business scope", code=wrong)
    assert error.value.wrong_credential
    assert not SignOff.objects.exists()
    [refusal] = entries(Action.SIGNOFF_REFUSED)
    assert refusal.actor == team["po"]
    assert refusal.reason.startswith("Wrong or already used authenticator code")


def test_a_wrong_password_with_a_right_code_does_not_spend_the_code(team, release, clock):
    device = enrol(team["po"])
    with pytest.raises(services.SignOffRefused, match="Wrong password"):
        sign(release, team["po"], "Business scope", password="nope", code=code(device))
    signoff, _ = sign(release, team["po"], "Business scope", code=code(device))
    assert signoff.components == "password+totp"


def test_a_replayed_code_is_refused(team, release, clock):
    device = enrol(team["po"])
    used = code(device)
    sign(release, team["po"], "Business scope", code=used)
    # The same code again, for another signature of the same person, within its 30 s.
    services.signoffs_void(release=release, actor=team["rm"], reason="sign again")
    with pytest.raises(services.SignOffRefused, match="already used") as error:
        sign(release, team["po"], "Business scope", code=used)
    assert error.value.wrong_credential
    assert SignOff.objects.filter(voided_at__isnull=True).count() == 0


def test_a_policy_requiring_two_components_refuses_a_password_only_signer(team, release, clock):
    require_two_components(team)
    with pytest.raises(services.SignOffRefused, match="account page") as error:
        sign(release, team["po"], "Business scope")
    assert not error.value.wrong_credential
    assert not SignOff.objects.exists()
    [refusal] = entries(Action.SIGNOFF_REFUSED)
    assert "requires two components" in refusal.reason

    device = enrol(team["po"])
    signoff, _ = sign(release, team["po"], "Business scope", code=code(device))
    assert signoff.components == "password+totp"


def test_the_policy_flag_is_in_the_change_log_of_policy_changes(team):
    policy, _ = ApprovalPolicy.objects.get_or_create(product=team["product"])
    policy.signature_requires_two_components = True
    services.policy_save(
        policy=policy, actor=team["admin"], changed=["signature_requires_two_components"]
    )
    [changed] = entries(Action.POLICY_CHANGED)
    assert changed.after["signature_requires_two_components"] is True


def test_a_verbal_confirmation_records_its_components(team, release, clock):
    device = enrol(team["po"])
    verbal = services.signoff_record_verbal(
        release=release,
        activity_id=activity(release, "Business scope").pk,
        recorded_by=team["rm"],
        given_at=timezone.now() - timedelta(minutes=5),
        channel="phone call",
        note="",
    )
    assert verbal.components == ""
    with pytest.raises(services.SignOffRefused, match="Enter the code"):
        services.signoff_verbal_respond(
            signoff=verbal, actor=team["po"], confirm=True, password=PASSWORD
        )
    confirmed = services.signoff_verbal_respond(
        signoff=verbal, actor=team["po"], confirm=True, password=PASSWORD, code=code(device)
    )
    assert confirmed.components == "password+totp"
    assert entries(Action.VERBAL_CONFIRMED)[0].after["components"] == "password+totp"


# --- the pages -----------------------------------------------------------------------------


def test_the_sign_dialog_asks_for_the_code_once_enrolled(team, release, clock):
    client = signed_in_as(team, "po")
    assert 'name="code"' not in client.get(signoff_url(release)).content.decode()
    device = enrol(team["po"])
    page = client.get(signoff_url(release)).content.decode()
    assert "Authenticator code" in page
    assert 'autocomplete="one-time-code"' in page
    response = sign_post(client, release, code=code(device))
    assert response.status_code == 302
    detail = client.get(release.get_absolute_url()).content.decode()
    assert "(password and authenticator code)" in detail


def test_the_sign_dialog_points_to_the_account_page_when_the_policy_requires_it(team, release):
    require_two_components(team)
    client = signed_in_as(team, "po")
    page = client.get(signoff_url(release)).content.decode()
    assert 'data-testid="enrol-first"' in page
    assert reverse("accounts:account") in page
    response = sign_post(client, release)
    assert response.status_code == 200
    assert "requires two components for every signature" in response.content.decode()
    assert not SignOff.objects.exists()


@pytest.mark.parametrize(
    "garbage",
    ["abcdef", "12345", "1234567", "１２３４５６", "' OR 1=1 --", "9" * 5000, "12\x0034"],
)
def test_garbage_in_the_code_field_is_a_form_error_never_a_500(team, release, clock, garbage):
    enrol(team["po"])
    client = signed_in_as(team, "po")
    response = sign_post(client, release, code=garbage)
    assert response.status_code == 200
    assert "field-error" in response.content.decode()
    assert not SignOff.objects.exists()
    assert entries(Action.SIGNOFF_REFUSED) == []


def test_three_wrong_codes_end_the_session_and_lock_the_account(team, release, clock):
    device = enrol(team["po"])
    signer, elsewhere = signed_in_as(team, "po"), signed_in_as(team, "po")
    for _ in range(2):
        response = sign_post(signer, release, code="000000")
        assert response.status_code == 200
        assert "Wrong or already used authenticator code" in response.content.decode()
    third = sign_post(signer, release, code="000000")
    assert third.status_code == 302
    assert third["Location"] == reverse("login")
    for client in (signer, elsewhere):
        assert client.get(reverse("home")).status_code == 302  # signed out
    [lock] = entries(Action.AUTH_LOCKED)
    assert (lock.after["username"], lock.after["via"]) == ("po", "signature")
    assert len(entries(Action.SIGNOFF_REFUSED)) == 3
    # Locked: the right password and code no longer sign anyone in.
    again = Client()
    login = again.post(
        reverse("login"), {"username": "po", "password": PASSWORD}, REMOTE_ADDR="10.7.7.7"
    )
    assert login.status_code == 429
    assert not SignOff.objects.exists()
    assert TOTPDevice.objects.get(pk=device.pk).confirmed  # the authenticator stays


def test_wrong_codes_when_removing_the_authenticator_count_towards_the_lock(team, clock):
    enrol(team["po"])
    client = signed_in_as(team, "po")
    url = reverse("accounts:authenticator_disable")
    for _ in range(2):
        assert client.post(url, {"password": PASSWORD, "code": "000000"}).status_code == 400
    assert client.post(url, {"password": PASSWORD, "code": "000000"})["Location"] == reverse(
        "login"
    )
    assert entries(Action.AUTH_LOCKED)[0].after["via"] == "signature"
    assert TOTPDevice.objects.filter(user=team["po"]).exists()
