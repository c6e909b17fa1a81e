"""DSSE envelopes signed with Ed25519, and the attestation signing key.

DSSE v1: the signature covers PAE(payloadType, payload) =
`"DSSEv1" SP len(type) SP type SP len(body) SP body` (lengths in ASCII
decimal bytes), never the JSON around it. The private key lives outside the
database, like the change log's checkpoint key: ATTESTATION_SIGNING_KEY_FILE
or ATTESTATION_SIGNING_KEY (Ed25519, PKCS#8 PEM), named by
ATTESTATION_KEY_ID (default: the SHA-256 of the raw public key, in hex).
"""

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from audit.signing import public_key_pem

PAYLOAD_TYPE = "application/vnd.in-toto+json"


@dataclass(frozen=True)
class SigningKey:
    keyid: str
    private: Ed25519PrivateKey

    @property
    def public_pem(self) -> str:
        return public_key_pem(self.private)


def keyid_for(public: Ed25519PublicKey) -> str:
    """The default key id: SHA-256 of the raw 32-byte public key, hex."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def attestation_signing_key() -> SigningKey | None:
    """The configured attestation key, or None when none is configured (nothing is issued)."""
    pem = settings.ATTESTATION_SIGNING_KEY
    if settings.ATTESTATION_SIGNING_KEY_FILE:
        pem = Path(settings.ATTESTATION_SIGNING_KEY_FILE).read_text(encoding="ascii")
    if not pem:
        return None
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("The attestation signing key must be an Ed25519 key.")
    return SigningKey(keyid=settings.ATTESTATION_KEY_ID or keyid_for(key.public_key()), private=key)


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what the signature covers."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def statement_bytes(statement: dict[str, Any]) -> bytes:
    return json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def envelope_sign(statement: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    payload = statement_bytes(statement)
    signature = key.private.sign(pae(PAYLOAD_TYPE, payload))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [{"keyid": key.keyid, "sig": base64.b64encode(signature).decode("ascii")}],
    }


class EnvelopeInvalid(ValueError):
    """The envelope does not verify; the message says why."""


def envelope_verify(
    envelope: Any, public_keys: dict[str, Ed25519PublicKey]
) -> tuple[str, dict[str, Any]]:
    """(key id, statement) when a signature by one of `public_keys` verifies.

    A key id that is not in `public_keys` is tried against every key only
    when exactly one key is given (a PEM handed over without its id).
    """
    if not isinstance(envelope, dict) or envelope.get("payloadType") != PAYLOAD_TYPE:
        raise EnvelopeInvalid(f"not a DSSE envelope with payloadType {PAYLOAD_TYPE}")
    try:
        payload = base64.b64decode(envelope.get("payload") or "", validate=True)
    except (ValueError, TypeError):
        raise EnvelopeInvalid("the payload is not base64") from None
    message = pae(PAYLOAD_TYPE, payload)
    for entry in envelope.get("signatures") or []:
        if not isinstance(entry, dict):
            continue
        keyid = str(entry.get("keyid") or "")
        key = public_keys.get(keyid)
        if key is None and len(public_keys) == 1:
            key = next(iter(public_keys.values()))
        if key is None:
            continue
        try:
            key.verify(base64.b64decode(entry.get("sig") or "", validate=True), message)
        except (InvalidSignature, ValueError, TypeError):
            continue
        try:
            statement = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise EnvelopeInvalid("the signed payload is not JSON") from None
        return keyid, statement
    raise EnvelopeInvalid("no signature verifies with the given key")


def attestation_key_check(app_configs=None, **kwargs) -> list:
    """System check: a configured attestation key must load, so approvals can be signed."""
    try:
        attestation_signing_key()
    except (OSError, ValueError, TypeError, ImproperlyConfigured) as error:
        return [
            checks.Error(
                f"The attestation signing key cannot be used: {error}",
                hint="Set ATTESTATION_SIGNING_KEY_FILE to a readable Ed25519 PKCS#8 PEM file, "
                "or leave both ATTESTATION_SIGNING_KEY settings empty (nothing is signed).",
                id="attestations.E001",
            )
        ]
    return []
