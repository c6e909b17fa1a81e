"""Signature credentials: the password, plus an authenticator code (TOTP) once enrolled.

21 CFR Part 11 §11.200 asks for two distinct components when a signature is
given outside a continuous session. A local user's components are the
password and, once they have confirmed an authenticator on their account page
(accounts), a time-based code from it. django-otp's TOTPDevice keeps the
secret and refuses a code twice (`last_t`), outside the drift window, or
while throttled after failures.

This module sits below approvals in the layers (pyproject.toml), so the
sign-off services can check credentials without importing accounts.
"""

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, logout
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_python3_ldap.ldap import connection as ldap_connection

PASSWORD = "password"  # noqa: S105 (a component's name)
PASSWORD_TOTP = "password+totp"  # noqa: S105 (a component's name)

WRONG_PASSWORD = "Wrong password: the sign-off was not recorded."  # noqa: S105 (a message)
WRONG_CODE = "Wrong or already used authenticator code: the sign-off was not recorded."
CODE_MISSING = "Enter the code from your authenticator app: this signature needs it."
ENROL_FIRST = (
    "This product requires two components for every signature (your password and an "
    "authenticator code). Set up an authenticator app on your account page (Account › "
    "Authenticator app), then sign."
)


@dataclass(frozen=True)
class CredentialCheck:
    """The outcome of a signature's credential check.

    `components` names what was verified ("password" or "password+totp") when
    the check passed; otherwise `refusal` says why, and `wrong_credential` is
    True when it counts as an attempt at unauthorized use (signature lockout).
    """

    components: str = ""
    refusal: str = ""
    wrong_credential: bool = False

    @property
    def ok(self) -> bool:
        return not self.refusal


def totp_device(user, *, confirmed: bool = True) -> TOTPDevice | None:
    """The user's authenticator (confirmed ones only, unless asked otherwise)."""
    if user is None or not getattr(user, "pk", None):
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").first()


def has_authenticator(user) -> bool:
    return totp_device(user) is not None


def totp_verify(device: TOTPDevice, code: str) -> bool:
    """True when `code` is a current, unused code of `device`; False for anything else.

    The device row is locked so two requests cannot both spend one code.
    """
    code = (code or "").strip().replace(" ", "")
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        # verify_token answers False for anything that is not a valid, unused,
        # current code (letters included) and then counts it in the throttle.
        return locked.verify_token(code)


def password_valid(*, user, password: str) -> bool:
    """The signer's password: the local one, or for a directory account a fresh LDAP bind.

    Directory accounts have no usable local password (django-python3-ldap sets
    none); their password is checked by binding to the directory again, so an
    LDAP signer signs with the same password they sign in with.
    """
    if user.has_usable_password():
        return user.check_password(password)
    if not (getattr(settings, "LDAP_ENABLED", False) and password):
        return False
    with ldap_connection(username=user.get_username(), password=password) as bound:
        return bound is not None


def signature_credentials_check(
    *, user, password: str, code: str = "", require_two: bool = False
) -> CredentialCheck:
    """Check a signer's credentials; see CredentialCheck.

    With an authenticator, its code is always required (a signer cannot drop
    to one component). A policy may require two components: a signer without
    an authenticator is then refused with a pointer to the account page, and
    that is not a failed attempt.
    """
    device = totp_device(user)
    if device is None and require_two:
        return CredentialCheck(refusal=ENROL_FIRST)
    if not password_valid(user=user, password=password):
        return CredentialCheck(refusal=WRONG_PASSWORD, wrong_credential=True)
    if device is None:
        return CredentialCheck(components=PASSWORD)
    if not (code or "").strip():
        return CredentialCheck(refusal=CODE_MISSING)
    if not totp_verify(device, code):
        return CredentialCheck(refusal=WRONG_CODE, wrong_credential=True)
    return CredentialCheck(components=PASSWORD_TOTP)


def signature_failed(request: HttpRequest) -> HttpResponse | None:
    """Count a wrong signature password or code; the sign-in page once the account is locked.

    django-axes counts it (it listens to `user_login_failed`; `signature` in
    the credentials selects the signature limit). At the limit it locks the
    account and every session of it ends (accounts.services).
    """
    user_login_failed.send(
        sender=__name__,
        credentials={"username": request.user.get_username(), "signature": True},
        request=request,
    )
    if not getattr(request, "axes_locked_out", False):
        return None
    logout(request)
    messages.error(
        request,
        "Too many wrong signature passwords or codes: you were signed out and your account is "
        "locked. A release manager can unlock it, or try again after the cool-down.",
    )
    return redirect("login")


# --- signing by re-authenticating at the OpenID Connect provider ---------------------
#
# A signer who signed in through the provider has no local password. They sign
# by signing in again there: the sign-off page stores the pending signature
# (the intent) in the session and sends the browser to the provider with
# prompt=login and max_age=0; accounts' callback verifies the ID token
# (mozilla-django-oidc) and builds a ProviderReauthentication with
# `provider_reauthentication` below, which is the only way to make one. The
# sign-off service accepts that object in place of a password.

SSO_REAUTH = "sso-reauth"
SSO_BACKEND = "accounts.backends.OIDCBackend"
REAUTH_SESSION_KEY = "signoff_reauth"
REAUTH_MAX_SECONDS = 600  # an intent older than this is refused
REAUTH_SKEW_SECONDS = 60  # clock difference tolerated between Relapp and the provider

_SEAL = object()


@dataclass(frozen=True)
class ProviderReauthentication:
    """Proof that `user_pk` signed in again at the provider after clicking "sign"."""

    user_pk: int
    auth_time: int
    seal: object = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.seal is not _SEAL:
            raise TypeError("Only provider_reauthentication() makes a ProviderReauthentication.")


def signs_at_provider(request: HttpRequest) -> bool:
    """True when the signer has no local password and signed in through the OIDC provider."""
    user = request.user
    return bool(
        settings.OIDC_ENABLED
        and user.is_authenticated
        and not user.has_usable_password()
        and request.session.get(BACKEND_SESSION_KEY) == SSO_BACKEND
    )


def reauth_origin() -> str:
    """The provider's origin, which the sign dialog's form may redirect to (CSP form-action)."""
    parts = urlsplit(settings.OIDC_OP_AUTHORIZATION_ENDPOINT)
    return f"{parts.scheme}://{parts.netloc}"


def reauth_start(request: HttpRequest, intent: dict) -> str:
    """Store the pending signature in the session; the provider's authorization URL.

    `intent` names the release, activity, decision, comment and revision; the
    click time, state, nonce and PKCE verifier are added here.
    """
    verifier = secrets.token_urlsafe(64)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    request.session[REAUTH_SESSION_KEY] = {
        **intent,
        "clicked_at": time.time(),
        "state": state,
        "nonce": nonce,
        "code_verifier": verifier,
    }
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "redirect_uri": request.build_absolute_uri(reverse("accounts:oidc_signoff_callback")),
        "scope": settings.OIDC_RP_SCOPES,
        "state": state,
        "nonce": nonce,
        "prompt": "login",
        "max_age": "0",
        "login_hint": request.user.get_username(),
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
    }
    return f"{settings.OIDC_OP_AUTHORIZATION_ENDPOINT}?{urlencode(params)}"


def signed_in_as_someone_else(*, user, claims: dict) -> bool:
    """True when the provider's verified claims name another account than the signer.

    An attempt to sign with someone else's identity: the callback counts it
    toward the signature lockout like a wrong password.
    """
    return str(claims.get(settings.OIDC_USERNAME_CLAIM) or "") != user.get_username()


def provider_reauthentication(
    *, user, claims: dict, intent: dict, now: float | None = None
) -> tuple[ProviderReauthentication | None, str]:
    """(proof, "") when verified ID token `claims` show `user` signed in after the click.

    Otherwise (None, why). The token's signature and nonce are checked by the
    caller (mozilla-django-oidc's verify_token) before this.
    """
    now = time.time() if now is None else now
    name = settings.OIDC_PROVIDER_NAME
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    try:
        expired = float(claims.get("exp")) < now - REAUTH_SKEW_SECONDS
    except (TypeError, ValueError):
        expired = True
    if settings.OIDC_RP_CLIENT_ID not in audiences or expired:
        return None, f"{name} sent an ID token not meant for Relapp now: not recorded."
    if signed_in_as_someone_else(user=user, claims=claims):
        return None, f"You signed in at {name} as someone else: the sign-off was not recorded."
    try:
        auth_time = int(claims.get("auth_time"))
    except (TypeError, ValueError):
        return None, f"{name} did not say when you signed in: the sign-off was not recorded."
    clicked_at = float(intent.get("clicked_at") or 0)
    if auth_time < int(clicked_at):
        return None, (
            f"{name} did not ask for your password again (your sign-in there predates the "
            "click): the sign-off was not recorded."
        )
    if auth_time > now + REAUTH_SKEW_SECONDS or now - clicked_at > REAUTH_MAX_SECONDS:
        return None, f"The sign-in at {name} came too late: the sign-off was not recorded."
    return ProviderReauthentication(user_pk=user.pk, auth_time=auth_time, seal=_SEAL), ""
