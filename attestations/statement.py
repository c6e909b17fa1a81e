"""The in-toto Statement v1 of an approval or a revocation (docs/attestations.md).

Subjects are the release's artifacts (name + digest); the predicate says
what was approved (or withdrawn), on which RAD revision, by whom, under
which policy, and which change-log entry recorded it.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from approvals.artifacts import artifact_set, artifact_set_sha256
from approvals.models import Release, SignOff
from approvals.rules import is_required
from approvals.selectors import policy_for
from audit.models import Action, ChangeLogEntry

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
APPROVAL_PREDICATE = "https://relapp.dev/approval/v1"
REVOCATION_PREDICATE = "https://relapp.dev/approval-revocation/v1"


def utc_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def subjects_for(artifacts: list[dict[str, str]]) -> list[dict[str, Any]]:
    """in-toto resource descriptors: `sha256` for images and packages, `gitCommit` for commits."""
    rows = []
    for artifact in artifacts:
        digest = artifact["digest"]
        algorithm, _, value = digest.partition(":")
        descriptor = {"sha256": value} if algorithm == "sha256" and value else {"gitCommit": digest}
        rows.append(
            {
                "name": artifact["name"],
                "digest": descriptor,
                "annotations": {"kind": artifact["kind"]},
            }
        )
    return rows


def _policy_version(release: Release) -> int:
    """The seq of the product's latest policy.changed entry: 0 for the policy it was created with."""
    latest = (
        ChangeLogEntry.objects.filter(product_id=release.product_id, action=Action.POLICY_CHANGED)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    return latest or 0


def _signoff(signoff: SignOff) -> dict[str, Any]:
    return {
        "activity": signoff.activity.name,
        "signer": signoff.printed_name,
        "decision": signoff.decision,
        "method": signoff.method,
        "components": signoff.components,
        "recorded_by": signoff.recorded_by.get_username() if signoff.recorded_by_id else None,
        "signed_at": utc_text(signoff.signed_at),
        "meaning": signoff.meaning,
        "rad_revision": signoff.revision_number,
        "rad_sha256": signoff.revision_sha256,
        "artifacts_sha256": signoff.artifacts_sha256,
    }


def _required_signoffs(release: Release, revision_id: int) -> list[dict[str, Any]]:
    live = (
        SignOff.objects.filter(release=release, revision_id=revision_id, voided_at__isnull=True)
        .select_related("activity", "recorded_by")
        .order_by("activity__position", "signed_at")
    )
    return [_signoff(s) for s in live if is_required(release, s.activity)]


def _changelog(entry: ChangeLogEntry) -> dict[str, Any]:
    return {"seq": entry.seq, "hash": entry.hash, "action": entry.action}


def approval_statement(
    *, release: Release, artifacts: list[dict[str, str]], current, entry: ChangeLogEntry
) -> dict[str, Any]:
    policy = policy_for(release.product)
    approved_at = release.approved_at or entry.created_at
    predicate = {
        "product": {"slug": release.product.slug, "name": release.product.name},
        "version": release.version,
        "title": release.title,
        "release_type": release.release_type,
        "status": release.status,
        "rad": {"revision": current.number, "sha256": current.sha256},
        "artifacts_sha256": artifact_set_sha256(artifacts),
        "signoffs": _required_signoffs(release, current.pk),
        "policy": {
            "version": _policy_version(release),
            "approval_validity_days": policy.approval_validity_days,
        },
        "window": {"start": utc_text(release.window_start), "end": utc_text(release.window_end)},
        "approved_at": utc_text(approved_at),
        "expires_at": utc_text(approved_at + timedelta(days=policy.approval_validity_days)),
        "issued_at": utc_text(entry.created_at),
        "changelog": _changelog(entry),
    }
    return {
        "_type": STATEMENT_TYPE,
        "subject": subjects_for(artifacts),
        "predicateType": APPROVAL_PREDICATE,
        "predicate": predicate,
    }


def revocation_statement(
    *, release: Release, revoked, entry: ChangeLogEntry, reason: str
) -> dict[str, Any]:
    """Withdraws the approval `revoked` (an Attestation) for the same subjects."""
    approved = revoked.envelope_statement()
    predicate = {
        "product": {"slug": release.product.slug, "name": release.product.name},
        "version": release.version,
        "status": release.status,
        "reason": reason,
        "revokes": {
            "payload_sha256": revoked.payload_sha256,
            "changelog": approved["predicate"]["changelog"],
        },
        "revoked_at": utc_text(entry.created_at),
        "issued_at": utc_text(entry.created_at),
        "changelog": _changelog(entry),
    }
    return {
        "_type": STATEMENT_TYPE,
        "subject": approved["subject"],
        "predicateType": REVOCATION_PREDICATE,
        "predicate": predicate,
    }


def artifacts_of(release: Release) -> list[dict[str, str]]:
    return artifact_set(release.artifacts.all())
