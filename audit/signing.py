"""Ed25519 signatures on checkpoints, so an auditor can verify them offline.

The private key lives outside the database (CHANGELOG_SIGNING_KEY_FILE or
CHANGELOG_SIGNING_KEY, PEM); `manage.py changelog_public_key` prints the
public key and every evidence pack ships it. A checkpoint's signature covers
its canonical JSON without the `signature` field.
"""

import base64
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _signed_bytes(document: dict[str, Any]) -> bytes:
    unsigned = {key: value for key, value in document.items() if key != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode("utf-8")


def changelog_signing_key() -> Ed25519PrivateKey | None:
    """The configured checkpoint signing key, or None when there is none."""
    pem = settings.CHANGELOG_SIGNING_KEY
    if settings.CHANGELOG_SIGNING_KEY_FILE:
        pem = Path(settings.CHANGELOG_SIGNING_KEY_FILE).read_text(encoding="ascii")
    if not pem:
        return None
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("The change-log signing key must be an Ed25519 key.")
    return key


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_key(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def sign_document(document: dict[str, Any], key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.sign(_signed_bytes(document))).decode("ascii")


def signature_valid(document: dict[str, Any], public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(
            base64.b64decode(document.get("signature") or ""), _signed_bytes(document)
        )
    except (InvalidSignature, ValueError):
        return False
    return True
