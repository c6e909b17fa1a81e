"""Issuing attestations: an approval when a release is approved or resumed, a
revocation when it is halted, cancelled, sent back, or a sign-off is voided.

`attestation_from_changelog` is a change-log hook (attestations.apps): it
runs inside the writer's transaction, after the entry is written and while
the chain-head lock is held, so issuing is serialised with every other write
and commits or rolls back with the change that caused it.
"""

import base64
import hashlib
import logging
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from approvals.models import Release
from approvals.services import rad_current
from attestations.dsse import SigningKey, attestation_signing_key, envelope_sign
from attestations.models import Attestation, AttestationKey, AttestationKind
from attestations.statement import approval_statement, artifacts_of, revocation_statement
from audit.models import Action, ChangeLogEntry

logger = logging.getLogger(__name__)

APPROVING = frozenset({Action.RELEASE_APPROVED, Action.RELEASE_RESUMED})
REVOKING = frozenset(
    {
        Action.RELEASE_HALTED,
        Action.RELEASE_CANCELLED,
        Action.RELEASE_REVISED,
        Action.SIGNOFF_VOIDED,
    }
)


def attestation_from_changelog(entry: ChangeLogEntry) -> None:
    """Change-log hook: issue what `entry` calls for (nothing without a signing key)."""
    if entry.release_id is None or entry.action not in APPROVING | REVOKING:
        return
    if entry.action in APPROVING:
        # Fail closed: with a key configured, no approval lands unsigned.
        key = attestation_signing_key()
        if key is not None:
            attestation_issue_approval(release=_release(entry), entry=entry, key=key)
        return
    # Fail safe: nothing about the key may stop a halt. Unsigned, the approval
    # is no longer served as in force (selectors.attestation_withdrawn_unsigned).
    try:
        with transaction.atomic():
            key = attestation_signing_key()
            if key is not None:
                attestation_issue_revocation(release=_release(entry), entry=entry, key=key)
    except (ImproperlyConfigured, OSError, ValueError):
        logger.exception(
            "The revocation for release %s (change-log seq %s) was not signed",
            entry.release_id,
            entry.seq,
        )


def _release(entry: ChangeLogEntry) -> Release:
    return Release.objects.select_related("product").get(pk=entry.release_id)


def attestation_key_register(*, key: SigningKey, now: datetime) -> AttestationKey:
    """The key's row; a new key id opens its period and closes the one in use."""
    row = AttestationKey.objects.select_for_update().filter(keyid=key.keyid).first()
    if row is not None:
        if row.public_key_pem != key.public_pem:
            raise ImproperlyConfigured(
                f"Attestation key id {key.keyid!r} already names another public key; "
                "give a new key a new ATTESTATION_KEY_ID."
            )
        return row
    AttestationKey.objects.filter(valid_until__isnull=True).update(valid_until=now)
    return AttestationKey.objects.create(
        keyid=key.keyid, public_key_pem=key.public_pem, valid_from=now
    )


def _store(
    *, release: Release, kind: str, statement: dict, entry: ChangeLogEntry, key: SigningKey
) -> Attestation:
    attestation_key_register(key=key, now=entry.created_at)
    envelope = envelope_sign(statement, key)
    payload = base64.b64decode(envelope["payload"])
    return Attestation.objects.create(
        release=release,
        kind=kind,
        issued_at=entry.created_at,
        keyid=key.keyid,
        changelog_seq=entry.seq,
        changelog_hash=entry.hash,
        payload_sha256=hashlib.sha256(payload).hexdigest(),
        envelope=envelope,
    )


def attestation_issue_approval(
    *, release: Release, entry: ChangeLogEntry, key: SigningKey
) -> Attestation | None:
    """None when the release ships no artifacts: a statement needs a subject digest."""
    artifacts = artifacts_of(release)
    current = rad_current(release)
    if not artifacts or current is None:
        return None
    statement = approval_statement(
        release=release, artifacts=artifacts, current=current, entry=entry
    )
    return _store(
        release=release, kind=AttestationKind.APPROVAL, statement=statement, entry=entry, key=key
    )


def attestation_issue_revocation(
    *, release: Release, entry: ChangeLogEntry, key: SigningKey
) -> Attestation | None:
    """Revoke the release's approval in force; None when none is (already revoked, never issued)."""
    latest = Attestation.objects.filter(release=release).order_by("-id").first()
    if latest is None or latest.is_revocation:
        return None
    reason = entry.reason or entry.get_action_display()
    statement = revocation_statement(release=release, revoked=latest, entry=entry, reason=reason)
    return _store(
        release=release, kind=AttestationKind.REVOCATION, statement=statement, entry=entry, key=key
    )
