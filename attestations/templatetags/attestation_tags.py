"""The release page's attestation panel: approvals sits below this app, so the
panel fetches its own row here instead of the view importing attestations."""

from dataclasses import dataclass
from datetime import datetime

from django import template

from approvals.models import Release
from attestations.selectors import attestation_latest, attestation_withdrawn_unsigned

register = template.Library()


@dataclass(frozen=True)
class AttestationPanel:
    revoked: bool
    keyid: str
    issued_at: datetime
    changelog_seq: int
    reason: str
    subjects: int


@register.simple_tag
def release_attestation(release: Release) -> AttestationPanel | None:
    """What the page says about the release's attestation in force; None before approval."""
    latest = attestation_latest(release=release)
    if latest is None:
        return None
    statement = latest.envelope_statement()
    unsigned = attestation_withdrawn_unsigned(release=release, latest=latest)
    return AttestationPanel(
        revoked=latest.is_revocation or unsigned,
        keyid=latest.keyid,
        issued_at=latest.issued_at,
        changelog_seq=latest.changelog_seq,
        reason=statement["predicate"].get("reason", "") if latest.is_revocation else "",
        subjects=len(statement["subject"]),
    )
