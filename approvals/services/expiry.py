"""Approvals that run out: an expired approval, or a hotfix's verbal Go/no-go nobody confirmed.

The beat task `approvals.approvals_expire` calls `approvals_expire` every
minute. Each release is handled in its own transaction with its row locked,
so two workers never halt the same release twice.
"""

from datetime import datetime

from django.db import transaction

from approvals.lifecycle import Status, Transition
from approvals.models import Release, SignOff, SignOffMethod, VerbalState
from approvals.rules import approval_expired, verbal_grace_expired
from approvals.selectors import policy_for
from approvals.services.base import db_now, release_lock, release_transition, signoffs_void


def approvals_expire(*, now: datetime | None = None) -> dict[str, int]:
    """Halt approved releases whose approval expired or whose verbal grace ran out."""
    now = now or db_now()
    halted = {"expired": 0, "verbal_unconfirmed": 0}
    for release in Release.objects.filter(status=Status.APPROVED).select_related("product"):
        reason = _expiry_reason(release=release, now=now)
        if reason is None:
            continue
        with transaction.atomic():
            locked = release_lock(release)
            if locked.status != Status.APPROVED or _expiry_reason(release=locked, now=now) is None:
                continue
            kind, text = reason
            release_transition(release=locked, transition=Transition.HALT, actor=None, reason=text)
            signoffs_void(
                release=locked, actor=None, reason="Release halted", activity__is_go_no_go=True
            )
            halted[kind] += 1
    return halted


def _expiry_reason(*, release: Release, now: datetime) -> tuple[str, str] | None:
    policy = policy_for(release.product)
    if approval_expired(
        approved_at=release.approved_at, validity_days=policy.approval_validity_days, now=now
    ):
        return (
            "expired",
            f"The approval expired after {policy.approval_validity_days} days; the Go/no-go "
            "Accountable signs again to resume.",
        )
    pending = SignOff.objects.filter(
        release=release,
        voided_at__isnull=True,
        method=SignOffMethod.VERBAL,
        verbal_state=VerbalState.PENDING,
    ).select_related("activity")
    for signoff in pending:
        if verbal_grace_expired(
            signoff=signoff, grace_hours=policy.hotfix_verbal_grace_hours, now=now
        ):
            return (
                "verbal_unconfirmed",
                f"The verbal approval of {signoff.activity.name} was not confirmed by "
                f"{signoff.printed_name} within {policy.hotfix_verbal_grace_hours} hours.",
            )
    return None
