"""The authenticator app (TOTP) of a local account: enrol, confirm, disable; logged.

A signature then needs its code besides the password (relapp.credentials).
The device is django-otp's TOTPDevice; it is active only once confirmed with
a code, so a secret that never reached an app cannot lock anyone out.
"""

from base64 import b32encode

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.changelog import changelog_record
from audit.models import Action
from relapp.credentials import (
    CredentialCheck,
    signature_credentials_check,
    totp_device,
    totp_verify,
)

DEVICE_NAME = "Authenticator app"


def authenticator_secret(device: TOTPDevice) -> str:
    """The base32 secret an app accepts when typed in, in groups of four."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def authenticator_enrol_start(*, user) -> TOTPDevice:
    """A new, unconfirmed authenticator with a fresh secret (any earlier unconfirmed one goes)."""
    if totp_device(user) is not None:
        raise ValueError("You already have an authenticator: disable it first.")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def authenticator_confirm(*, user, code: str) -> bool:
    """Activate the pending authenticator when `code` is right; logged. False when it is not."""
    device = totp_device(user, confirmed=False)
    if device is None or not totp_verify(device, code):
        return False
    with transaction.atomic():
        TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
        changelog_record(
            action=Action.AUTHENTICATOR_ENABLED,
            actor=user,
            obj=user,
            after={"device": device.name, "components": "password+totp"},
            reason="Authenticator app confirmed: signatures now need its code",
        )
    return True


def authenticator_disable(*, user, password: str, code: str) -> CredentialCheck:
    """Remove the authenticator, given the password and a current code; logged.

    Returns the credential check: when it failed nothing changed, and a
    `wrong_credential` counts towards the signature lockout (the caller reports it).
    """
    if totp_device(user) is None:
        return CredentialCheck(refusal="You have no authenticator to remove.")
    check = signature_credentials_check(user=user, password=password, code=code)
    if not check.ok:
        return check
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        changelog_record(
            action=Action.AUTHENTICATOR_DISABLED,
            actor=user,
            obj=user,
            after={"components": "password"},
            reason="Authenticator app removed: signatures need the password only",
        )
    return check
