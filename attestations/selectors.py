"""Reads of issued attestations and of the keys that verify them."""

from typing import Any

from approvals.lifecycle import Status
from approvals.models import Release
from attestations.models import Attestation, AttestationKey
from attestations.statement import utc_text


def attestation_latest(*, release: Release) -> Attestation | None:
    """The attestation in force: the newest one issued (an approval or its revocation)."""
    return Attestation.objects.filter(release=release).order_by("-id").first()


# Where an approval attestation still stands; anywhere else it was withdrawn.
APPROVAL_STANDS = (Status.APPROVED, Status.DEPLOYED, Status.ROLLED_BACK, Status.CLOSED)


def attestation_withdrawn_unsigned(*, release: Release, latest: Attestation) -> bool:
    """The latest is an approval, but the release left approval and no revocation was signed
    (the key was unusable at the halt): the approval must not be served as in force."""
    return not latest.is_revocation and release.status not in APPROVAL_STANDS


def attestations_for_release(*, release: Release) -> list[Attestation]:
    return list(Attestation.objects.filter(release=release).order_by("id"))


def attestation_keys_document() -> dict[str, Any]:
    """Every key that ever signed an attestation, with its validity period (rotation)."""
    return {
        "format": "relapp-attestation-keys",
        "version": 1,
        "keys": [
            {
                "keyid": key.keyid,
                "algorithm": "ed25519",
                "public_key_pem": key.public_key_pem,
                "valid_from": utc_text(key.valid_from),
                "valid_until": utc_text(key.valid_until),
            }
            for key in AttestationKey.objects.order_by("valid_from", "id")
        ],
    }
