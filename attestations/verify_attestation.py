"""Verify a Relapp approval attestation offline: Python 3.11+ and `cryptography` only.

Written apart from Relapp's signing code on purpose (it imports neither
Django nor Relapp), so a deploy gate can run it with nothing but this file,
the envelope and the public key:

    python3 verify_attestation.py attestation.json --key attestation-key.pem
    python3 verify_attestation.py attestations.json --keys attestation-keys.json \
        --artifact sha256:<64 hex>

FILE is one DSSE envelope (what GET /api/v1/releases/<product>/<version>/attestation
answers) or an evidence pack's attestations.json (every envelope of the
release, oldest first; the last one is in force). --key is one Ed25519
public key (PEM); --keys is Relapp's key list (the well-known URL or the
pack's attestation-keys.json), which also checks each envelope was issued
inside its key's validity period.

Exit status 0: every signature verifies, the approval is in force (not
revoked, not past its expires_at) and, with --artifact, the digest is one
of its subjects.
Otherwise 1, with the reason on the last line.
"""

import argparse
import base64
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

DSSE_TYPE = "application/vnd.in-toto+json"
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
APPROVAL = "https://relapp.dev/approval/v1"
REVOCATION = "https://relapp.dev/approval-revocation/v1"


class Failed(Exception):
    pass


def _pem_key(text: str) -> Ed25519PublicKey:
    key = load_pem_public_key(text.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):
        raise Failed("the public key is not an Ed25519 key")
    return key


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def keys_from(*, pem_file: str | None, keys_file: str | None) -> dict[str, dict[str, Any]]:
    """key id (or "*" for a bare PEM) -> {"key", "valid_from", "valid_until"}."""
    if pem_file:
        return {"*": {"key": _pem_key(Path(pem_file).read_text(encoding="ascii"))}}
    document = json.loads(Path(keys_file).read_text(encoding="utf-8"))
    return {
        row["keyid"]: {
            "key": _pem_key(row["public_key_pem"]),
            "valid_from": _when(row.get("valid_from")),
            "valid_until": _when(row.get("valid_until")),
        }
        for row in document["keys"]
    }


def _encode(payload_type: str, payload: bytes) -> bytes:
    # DSSE v1 pre-authentication encoding, from the DSSE specification.
    type_bytes = payload_type.encode("utf-8")
    parts = [b"DSSEv1", str(len(type_bytes)).encode(), type_bytes, str(len(payload)).encode()]
    return b" ".join(parts) + b" " + payload


def verify_envelope(envelope: Any, keys: dict[str, dict[str, Any]]) -> tuple[str, dict]:
    """(key id, statement), or Failed: signature, statement shape and key period checked."""
    if not isinstance(envelope, dict) or envelope.get("payloadType") != DSSE_TYPE:
        raise Failed(f"not a DSSE envelope of type {DSSE_TYPE}")
    try:
        payload = base64.b64decode(envelope["payload"], validate=True)
    except (KeyError, TypeError, ValueError):
        raise Failed("the envelope's payload is not base64") from None
    signed = _encode(DSSE_TYPE, payload)
    for signature in envelope.get("signatures") or []:
        keyid = signature.get("keyid", "") if isinstance(signature, dict) else ""
        entry = keys.get(keyid) or keys.get("*")
        if entry is None:
            continue
        try:
            entry["key"].verify(base64.b64decode(signature.get("sig", ""), validate=True), signed)
        except (InvalidSignature, TypeError, ValueError):
            continue
        statement = _statement(payload)
        _check_period(statement, entry, keyid)
        return keyid, statement
    raise Failed("no signature verifies with the given public key")


def _statement(payload: bytes) -> dict:
    try:
        statement = json.loads(payload.decode("utf-8"))
    except ValueError:
        raise Failed("the signed payload is not JSON") from None
    if statement.get("_type") != STATEMENT_V1:
        raise Failed(f"not an in-toto Statement v1 (_type {statement.get('_type')!r})")
    if statement.get("predicateType") not in (APPROVAL, REVOCATION):
        raise Failed(f"unknown predicateType {statement.get('predicateType')!r}")
    subjects = statement.get("subject") or []
    if not subjects or not all(isinstance(s.get("digest"), dict) and s["digest"] for s in subjects):
        raise Failed("every subject needs a digest")
    return statement


def _check_period(statement: dict, entry: dict, keyid: str) -> None:
    start, end = entry.get("valid_from"), entry.get("valid_until")
    if not (start or end):
        return  # a bare PEM: no period to check
    issued = _when(statement["predicate"].get("issued_at"))
    if issued is None or (start and issued < start) or (end and issued >= end):
        raise Failed(f"issued {issued} outside the validity period of key {keyid}")


def subject_digests(statement: dict) -> list[str]:
    """Each subject's digest as Relapp writes it: sha256:<hex>, or the 40-hex commit."""
    digests = []
    for subject in statement["subject"]:
        digest = subject["digest"]
        digests.append(f"sha256:{digest['sha256']}" if "sha256" in digest else digest["gitCommit"])
    return digests


def describe(statement: dict) -> list[str]:
    """What the statement says, in lines a person reads."""
    p = statement["predicate"]
    product = f"{p['product']['slug']} {p['version']}"
    lines = []
    if statement["predicateType"] == REVOCATION:
        lines.append(f"REVOKED: {product} at {p['revoked_at']}: {p['reason']}")
        lines.append(
            f"  withdraws the approval recorded at change-log seq {p['revokes']['changelog']['seq']}"
        )
    else:
        lines.append(
            f"APPROVED: {product} ({p['title']}), RAD revision {p['rad']['revision']} sha256 {p['rad']['sha256']}"
        )
        lines.append(
            f"  approved {p['approved_at']}, expires {p['expires_at']}, window {p['window']['start']} to {p['window']['end']}"
        )
        lines.append(
            f"  policy version {p['policy']['version']}, artifact set sha256 {p['artifacts_sha256']}"
        )
        for s in p["signoffs"]:
            lines.append(
                f'  signed: {s["activity"]}: {s["signer"]}, {s["method"]}, {s["signed_at"]}: "{s["meaning"]}"'
            )
    for subject, digest in zip(statement["subject"], subject_digests(statement), strict=True):
        lines.append(f"  subject: {subject['name']} {digest}")
    lines.append(
        f"  change log: seq {p['changelog']['seq']} ({p['changelog']['action']}) hash {p['changelog']['hash']}"
    )
    return lines


def conclude(statement: dict, artifact: str | None) -> str:
    """The verdict on the envelope in force; Failed when the approval does not hold."""
    product = f"{statement['predicate']['product']['slug']} {statement['predicate']['version']}"
    if statement["predicateType"] == REVOCATION:
        raise Failed(f"the approval of {product} was revoked")
    expires = _when(statement["predicate"].get("expires_at"))
    if expires is not None and expires <= datetime.now(UTC):
        raise Failed(f"the approval of {product} expired at {statement['predicate']['expires_at']}")
    if artifact:
        wanted = artifact.strip().lower()
        if wanted not in subject_digests(statement):
            raise Failed(f"{artifact} is not one of the approved artifacts of {product}")
        return f"OK: {product} is approved for {wanted}"
    return f"OK: {product} is approved"


def envelopes_in(document: Any) -> list[dict]:
    if isinstance(document, dict) and isinstance(document.get("attestations"), list):
        return [row["envelope"] for row in document["attestations"]]
    return [document]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a Relapp approval attestation offline.")
    parser.add_argument("file")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--key", help="Ed25519 public key, PEM")
    group.add_argument("--keys", help="Relapp's key list (JSON) with validity periods")
    parser.add_argument("--artifact", help="the digest about to deploy")
    args = parser.parse_args(argv)
    try:
        keys = keys_from(pem_file=args.key, keys_file=args.keys)
        envelopes = envelopes_in(json.loads(Path(args.file).read_text(encoding="utf-8")))
        if not envelopes:
            raise Failed("no attestation in the file (the release was never approved)")
        statement = {}
        for envelope in envelopes:
            keyid, statement = verify_envelope(envelope, keys)
            print(f"signature OK (key {keyid})")
            print("\n".join(describe(statement)))
        print(conclude(statement, args.artifact))
    except (Failed, OSError, ValueError, KeyError) as error:
        print(f"FAILED: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
