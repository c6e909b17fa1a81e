"""Readiness and sign-off rules shared by the services, the pages and the API."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import timezone

from approvals.lifecycle import Status
from approvals.models import ApprovalPolicy, CheckStatus, Decision, ReleaseType
from approvals.rad import OPEN_DEFECT_STATES


def policy_for(product) -> ApprovalPolicy:
    """The product's policy, or the defaults when none was saved."""
    try:
        return product.policy
    except ApprovalPolicy.DoesNotExist:
        return ApprovalPolicy(product=product)


def readiness_reasons(*, release, current, checks, policy, today: date | None = None) -> list[str]:
    """Why the release is not ready for sign-off; empty when it is (SPEC §2)."""
    reasons: list[str] = []
    if current is None:
        return ["The RAD has no revision yet."]
    by_name = {check.name: check for check in checks}
    for name in policy.required_checks:
        check = by_name.get(name)
        if check is None:
            reasons.append(f"Gate check “{name}” has not been reported.")
        elif check.status != CheckStatus.PASS:
            reasons.append(f"Gate check “{name}” is {check.get_status_display().lower()}.")
    if policy.block_open_critical_defects:
        open_severe = [
            d
            for d in current.content["defects"]
            if d["state"] in OPEN_DEFECT_STATES and d["severity"] in ("blocker", "critical")
        ]
        for defect in open_severe:
            reasons.append(f"Open {defect['severity']} defect: {defect['title']}.")
    rehearsed = current.content["rollback"]["rehearsed_on"]
    today = today or timezone.localdate()
    if not rehearsed:
        reasons.append("The rollback plan has never been rehearsed.")
    else:
        age = (today - date.fromisoformat(rehearsed)).days
        if age > policy.max_rehearsal_age_days:
            reasons.append(
                f"The rollback was last rehearsed {age} days ago; the policy allows "
                f"{policy.max_rehearsal_age_days}."
            )
    reasons.extend(
        freeze_reasons(release=release, start=release.window_start, end=release.window_end)
    )
    return reasons


def is_required(release, activity) -> bool:
    """Hotfixes need only the Go/no-go decision; normal releases need every activity."""
    if release.release_type == ReleaseType.HOTFIX:
        return activity.is_go_no_go
    return True


def meaning_text(*, decision: str, activity, release, revision_number: int) -> str:
    verb = "approve" if decision == Decision.APPROVE else "reject"
    return (
        f"I {verb} {activity.name} for {release.product.name} {release.version}, "
        f"RAD revision {revision_number}"
    )


@dataclass
class SignOffRow:
    """One activity on the approval progress panel."""

    activity: object
    accountable: object | None
    responsible: list = field(default_factory=list)
    required: bool = True
    live: object | None = None
    history: list = field(default_factory=list)
    can_sign: bool = False
    why: str = ""


def signable_status(release, activity) -> bool:
    if release.status == Status.IN_REVIEW:
        return True
    return release.status == Status.HALTED and activity.is_go_no_go


def deploy_reasons(*, release, now=None) -> list[str]:
    """Why `release` may not deploy now; empty when it may (SPEC §7 deploy check)."""
    now = now or timezone.now()
    reasons: list[str] = []
    if release.status == Status.HALTED:
        reasons.append(f"The release is halted: {release.status_reason or 'no reason given'}.")
    elif release.status != Status.APPROVED:
        reasons.append(f"The release is {release.get_status_display().lower()}, not approved.")
    if now < release.window_start:
        reasons.append(f"The deployment window opens at {release.window_start.isoformat()}.")
    elif now >= release.window_end:
        reasons.append(f"The deployment window closed at {release.window_end.isoformat()}.")
    reasons.extend(freeze_reasons(release=release, start=now, end=now + timedelta(microseconds=1)))
    return reasons


def freeze_reasons(*, release, start, end) -> list[str]:
    """Freeze windows overlapping [start, end] that stop this release.

    A hotfix with a recorded emergency reason may go ahead; a normal release
    never may.
    """
    from meetings.selectors import freezes_overlapping

    freezes = freezes_overlapping(product=release.product, start=start, end=end)
    if not freezes:
        return []
    if release.release_type == ReleaseType.HOTFIX and release.freeze_override_reason:
        return []
    reasons = []
    for freeze in freezes:
        scope = "all products" if freeze.product_id is None else freeze.product.name
        reason = (
            f"The deployment window overlaps the freeze “{freeze.reason}” "
            f"({scope}, {freeze.start:%Y-%m-%d %H:%M} – {freeze.end:%Y-%m-%d %H:%M} UTC)."
        )
        if release.release_type == ReleaseType.HOTFIX:
            reason += " A hotfix may go ahead once an emergency reason is recorded."
        reasons.append(reason)
    return reasons
