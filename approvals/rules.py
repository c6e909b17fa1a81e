"""The approval rules of SPEC §2–4 as pure functions: readiness, separation of
duties, deploy and freeze reasons.

Nothing here reads the database or the clock on its own: callers pass what
the rule looks at (the selectors fetch it), so every branch is tested from a
table in tests/test_rules.py and guarded by `make mutate`.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from approvals.lifecycle import Status
from approvals.models import CheckStatus, Decision, ReleaseType
from approvals.rad import OPEN_DEFECT_STATES

SEVERE_DEFECTS = ("blocker", "critical")


def readiness_reasons(
    *, release, current, checks: Iterable, policy, freezes: Sequence, today: date
) -> list[str]:
    """Why the release is not ready for sign-off; empty when it is (SPEC §2).

    `freezes` are the freeze windows overlapping the release's window.
    """
    if current is None:
        return ["The RAD has no revision yet."]
    reasons = check_reasons(checks=checks, required=policy.required_checks)
    if policy.block_open_critical_defects:
        reasons += defect_reasons(current.content["defects"])
    reasons += rehearsal_reasons(
        rehearsed_on=current.content["rollback"]["rehearsed_on"],
        max_age_days=policy.max_rehearsal_age_days,
        today=today,
    )
    reasons += freeze_reasons(release=release, freezes=freezes)
    return reasons


def check_reasons(*, checks: Iterable, required: Iterable[str]) -> list[str]:
    """A required gate check that is missing or not passing stops the release."""
    by_name = {check.name: check for check in checks}
    reasons = []
    for name in required:
        check = by_name.get(name)
        if check is None:
            reasons.append(f"Gate check “{name}” has not been reported.")
        elif check.status != CheckStatus.PASS:
            reasons.append(f"Gate check “{name}” is {check.get_status_display().lower()}.")
    return reasons


def defect_reasons(defects: Iterable[dict]) -> list[str]:
    """Each open blocker or critical defect stops the release."""
    return [
        f"Open {defect['severity']} defect: {defect['title']}."
        for defect in defects
        if defect["state"] in OPEN_DEFECT_STATES and defect["severity"] in SEVERE_DEFECTS
    ]


def rehearsal_reasons(*, rehearsed_on: str | None, max_age_days: int, today: date) -> list[str]:
    """The rollback must have been rehearsed within the policy's number of days."""
    if not rehearsed_on:
        return ["The rollback plan has never been rehearsed."]
    age = (today - date.fromisoformat(rehearsed_on)).days
    if age > max_age_days:
        return [
            f"The rollback was last rehearsed {age} days ago; the policy allows {max_age_days}."
        ]
    return []


def is_required(release, activity) -> bool:
    """Hotfixes need only the Go/no-go decision; normal releases need every activity."""
    if release.release_type == ReleaseType.HOTFIX:
        return activity.is_go_no_go
    return True


def signable_status(release, activity) -> bool:
    """In review every activity may be signed; once halted only the Go/no-go (to resume)."""
    if release.status == Status.IN_REVIEW:
        return True
    return release.status == Status.HALTED and activity.is_go_no_go


def meaning_text(*, decision: str, activity, release, revision_number: int) -> str:
    verb = "approve" if decision == Decision.APPROVE else "reject"
    return (
        f"I {verb} {activity.name} for {release.product.name} {release.version}, "
        f"RAD revision {revision_number}"
    )


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


@dataclass(frozen=True)
class SignOffVerdict:
    """May this person sign this activity now, and the sentence that says why."""

    allowed: bool
    why: str
    # Refused because the person is not the activity's Accountable at all (403),
    # rather than because of the state of the release (a message on the form).
    forbidden: bool = False


def signoff_verdict(
    *,
    user,
    release,
    activity,
    accountable,
    responsible_ids: set[int],
    current,
    ready_reasons: list[str],
) -> SignOffVerdict:
    """Separation of duties and sign-off eligibility (SPEC §4), in the order a signer reads it.

    Only the activity's Accountable may sign; not if they submitted or wrote the
    revision, nor if they are also Responsible for the activity.
    """
    name = activity.name
    if accountable is None:
        return SignOffVerdict(False, f"{name} has no Accountable yet.", forbidden=True)
    if user.pk != accountable.pk:
        return SignOffVerdict(
            False,
            f"You cannot approve {name}: its Accountable is {_name(accountable)}.",
            forbidden=True,
        )
    if current is None:
        return SignOffVerdict(False, f"You cannot approve {name}: the RAD has no revision yet.")
    if release.submitted_by_id == user.pk:
        return SignOffVerdict(
            False, f"You cannot approve {name}: you submitted revision {current.number}."
        )
    pass  # TEMPORARY BREAKAGE b
    if user.pk in responsible_ids:
        return SignOffVerdict(False, f"You cannot approve {name}: you are Responsible for it.")
    if not is_required(release, activity):
        return SignOffVerdict(
            False, f"{name} needs no sign-off on a hotfix; only the Go/no-go decision does."
        )
    if not signable_status(release, activity):
        return SignOffVerdict(
            False,
            f"You cannot approve {name} while the release is "
            f"{release.get_status_display().lower()}.",
        )
    if ready_reasons:
        # May still reject; approving waits until the release is ready.
        return SignOffVerdict(
            True,
            f"You are the Accountable for {name}. You can reject now; approval waits until "
            f"the release is ready for sign-off.",
        )
    return SignOffVerdict(True, f"You can approve {name}: you are its Accountable.")


def decision_refusal(
    *,
    decision: str,
    status: str,
    ready_reasons: list[str],
    revision_number: int,
    current_number: int,
) -> str:
    """Why an eligible Accountable's decision is still refused now; "" when it may land."""
    if decision == Decision.APPROVE and status == Status.HALTED and ready_reasons:
        return "Not ready for sign-off: " + " ".join(ready_reasons)
    if decision == Decision.REJECT and status == Status.HALTED:
        return "A halted release is revised, not rejected."
    if revision_number != current_number:
        return (
            f"The RAD changed to revision {current_number} after you opened "
            f"revision {revision_number}. Read what changed, then sign again."
        )
    if decision == Decision.APPROVE and ready_reasons:
        return "Not ready for sign-off: " + " ".join(ready_reasons)
    return ""


def deploy_reasons(*, release, now: datetime, freezes: Sequence) -> list[str]:
    """Why `release` may not deploy at `now`; empty when it may (SPEC §7 deploy check).

    `freezes` are the freeze windows in force at `now`.
    """
    reasons: list[str] = []
    if release.status == Status.HALTED:
        reasons.append(f"The release is halted: {release.status_reason or 'no reason given'}.")
    elif release.status != Status.APPROVED:
        reasons.append(f"The release is {release.get_status_display().lower()}, not approved.")
    if now < release.window_start:
        reasons.append(f"The deployment window opens at {release.window_start.isoformat()}.")
    elif now >= release.window_end:
        reasons.append(f"The deployment window closed at {release.window_end.isoformat()}.")
    reasons.extend(freeze_reasons(release=release, freezes=freezes))
    return reasons


def deploy_instant(now: datetime) -> tuple[datetime, datetime]:
    """The interval a deploy check looks at for freezes: the instant `now`."""
    return now, now + timedelta(microseconds=1)


def freeze_reasons(*, release, freezes: Sequence) -> list[str]:
    """The given overlapping freeze windows, as reasons that stop this release.

    A hotfix with a recorded emergency reason may go ahead; a normal release
    never may.
    """
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
