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

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_otp.plugins.otp_totp.models import TOTPDevice

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
    if not user.check_password(password):
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
