"""The approval rules of docs/domain.md and docs/permissions.md as pure functions: readiness, separation of
duties, deploy and freeze reasons.

Nothing here reads the database or the clock on its own: callers pass what
the rule looks at (the selectors fetch it), so every branch is tested from a
table in tests/test_rules.py and guarded by `make mutate`.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from approvals.lifecycle import Status
from approvals.models import (
    CheckPhase,
    CheckStatus,
    Decision,
    ReleaseType,
    SignOffMethod,
    VerbalState,
)
from approvals.rad import OPEN_DEFECT_STATES, RISK_CATEGORIES

SEVERE_DEFECTS = ("blocker", "critical")


def readiness_reasons(
    *,
    release,
    current,
    checks: Iterable,
    policy,
    freezes: Sequence,
    today: date,
    drilled_on: date | None = None,
    conflicts: Sequence = (),
) -> list[str]:
    """Why the release is not ready for sign-off; empty when it is (docs/domain.md).

    `freezes` are the freeze windows overlapping the release's window.
    """
    return [
        refusal.message
        for refusal in readiness_refusals(
            release=release,
            current=current,
            checks=checks,
            policy=policy,
            freezes=freezes,
            today=today,
            drilled_on=drilled_on,
            conflicts=conflicts,
        )
    ]


def readiness_refusals(
    *,
    release,
    current,
    checks: Iterable,
    policy,
    freezes: Sequence,
    today: date,
    drilled_on: date | None = None,
    conflicts: Sequence = (),
) -> list["Refusal"]:
    """`readiness_reasons` with the stable code of each, as the deploy check reports them."""
    if current is None:
        return [Refusal("rad_missing", "The RAD has no revision yet.")]
    refusals = check_refusals(checks=checks, required=policy.required_checks)
    if policy.block_open_critical_defects:
        refusals += [Refusal("defect_open", r) for r in defect_reasons(current.content["defects"])]
    refusals += rehearsal_refusals(
        rehearsed_on=latest_rehearsal(
            rehearsed_on=current.content["rollback"]["rehearsed_on"], drilled_on=drilled_on
        ),
        max_age_days=policy.max_rehearsal_age_days,
        today=today,
    )
    refusals += [
        Refusal("quality_below_policy", r)
        for r in quality_reasons(content=current.content, policy=policy)
    ]
    refusals += [Refusal("frozen", r) for r in freeze_reasons(release=release, freezes=freezes)]
    refusals += risk_category_refusals(
        risks=current.content.get("risks", []),
        required=getattr(policy, "required_risk_categories", None) or [],
    )
    if policy.block_on_conflict:
        refusals += [Refusal("window_conflict", c.message) for c in conflicts]
    return refusals


def check_refusals(*, checks: Iterable, required: Iterable[str]) -> list["Refusal"]:
    # Post-deploy checks verify a deployment; readiness reads the checks before approval.
    by_name = {
        check.name: check
        for check in checks
        if getattr(check, "phase", CheckPhase.BEFORE_APPROVAL) == CheckPhase.BEFORE_APPROVAL
    }
    refusals = []
    for name in required:
        check = by_name.get(name)
        if check is None:
            refusals.append(Refusal("check_missing", f"Gate check “{name}” has not been reported."))
        elif check.status != CheckStatus.PASS:
            refusals.append(
                Refusal(
                    "check_failing",
                    f"Gate check “{name}” is {check.get_status_display().lower()}.",
                )
            )
    return refusals


def defect_reasons(defects: Iterable[dict]) -> list[str]:
    """Each open blocker or critical defect stops the release."""
    return [
        f"Open {defect['severity']} defect: {defect['title']}."
        for defect in defects
        if defect["state"] in OPEN_DEFECT_STATES and defect["severity"] in SEVERE_DEFECTS
    ]


def rehearsal_refusals(
    *, rehearsed_on: str | None, max_age_days: int, today: date
) -> list["Refusal"]:
    if not rehearsed_on:
        return [Refusal("rehearsal_missing", "The rollback plan has never been rehearsed.")]
    age = (today - date.fromisoformat(rehearsed_on)).days
    if age > max_age_days:
        return [
            Refusal(
                "rehearsal_stale",
                f"The rollback was last rehearsed {age} days ago; the policy allows {max_age_days}.",
            )
        ]
    return []


def is_required(release, activity, routing=None) -> bool:
    """Hotfixes need only the Go/no-go decision; normal releases need every activity,
    or on the fast path (`routing_for`) only the policy's fast-path activities."""
    if release.release_type == ReleaseType.HOTFIX:
        return activity.is_go_no_go
    if routing is not None and routing.fast:
        return activity.name in routing.activities
    return True


def signable_status(release, activity) -> bool:
    """In review every activity may be signed; once halted only the Go/no-go (to resume)."""
    if release.status == Status.IN_REVIEW:
        return True
    return release.status == Status.HALTED and activity.is_go_no_go


def meaning_text(
    *,
    decision: str,
    activity,
    release,
    revision_number: int,
    artifacts_sha256: str = "",
    judged_risks: Sequence[str] = (),
) -> str:
    """What the signer declares; it names the artifact set when the release has one, and
    the risk categories the signer judges when the policy routes them to this activity."""
    verb = "approve" if decision == Decision.APPROVE else "reject"
    text = (
        f"I {verb} {activity.name} for {release.product.name} {release.version}, "
        f"RAD revision {revision_number}"
    )
    if artifacts_sha256:
        text += f", artifact set sha256:{artifacts_sha256}"
    if judged_risks:
        text += ", having judged its " + ", ".join(judged_risks) + " risks"
    return text


def judged_risk_categories(*, activity_name: str, judge_activity: str, required) -> list[str]:
    """The required risk categories (labels) the named activity's Accountable judges."""
    if not judge_activity or activity_name != judge_activity:
        return []
    return [RISK_CATEGORIES.get(c, c) for c in required or []]


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
    team=None,
    member_ids: frozenset[int] = frozenset(),
    on_behalf_of=None,
    routing=None,
) -> SignOffVerdict:
    """Separation of duties and sign-off eligibility (docs/permissions.md), in the order a signer reads it.

    Only the activity's Accountable may sign (with a `team` as the Accountable:
    any member, each for themselves); not if they submitted or wrote the
    revision, nor if they are also Responsible for the activity.
    """
    name = activity.name
    if on_behalf_of is not None:
        return _delegate_verdict(
            user=user,
            release=release,
            activity=activity,
            accountable=accountable,
            responsible_ids=responsible_ids,
            current=current,
            ready_reasons=ready_reasons,
            team=team,
            member_ids=member_ids,
            on_behalf_of=on_behalf_of,
            routing=routing,
        )
    if team is not None:
        if user.pk not in member_ids:
            return SignOffVerdict(
                False,
                f"You cannot approve {name}: its Accountable is the team {team.name}, "
                "and you are not a member.",
                forbidden=True,
            )
    elif accountable is None:
        return SignOffVerdict(False, f"{name} has no Accountable yet.", forbidden=True)
    elif user.pk != accountable.pk:
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
    if current.author_id == user.pk:
        return SignOffVerdict(
            False, f"You cannot approve {name}: you wrote revision {current.number}."
        )
    if user.pk in responsible_ids:
        return SignOffVerdict(False, f"You cannot approve {name}: you are Responsible for it.")
    if not is_required(release, activity, routing):
        if routing is not None and routing.fast:
            return SignOffVerdict(False, f"{name} needs no sign-off on the fast path.")
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


# --- approvals that count, and the deploy check (docs/lifecycle.md) --------------------


def counts_toward_approval(*, signoff, release, activity, grace_hours: int, now: datetime) -> bool:
    """Whether a live sign-off counts toward the release's approval now.

    An e-signature counts. A verbal approval is a witnessed record, not a
    signature: it counts once its Accountable confirmed it; only a hotfix's
    Go/no-go may count a pending one, for the policy's grace hours.
    """
    if signoff.voided_at is not None or signoff.decision != Decision.APPROVE:
        return False
    if signoff.method == SignOffMethod.E_SIGNATURE:
        return True
    if getattr(activity, "team_id", None):
        # A team member signs for themselves; nobody's record stands in for one.
        return False
    if signoff.verbal_state == VerbalState.CONFIRMED:
        return True
    return (
        signoff.verbal_state == VerbalState.PENDING
        and release.release_type == ReleaseType.HOTFIX
        and activity.is_go_no_go
        and grace_hours > 0
        and now < signoff.signed_at + timedelta(hours=grace_hours)
    )


def verbal_grace_expired(*, signoff, grace_hours: int, now: datetime) -> bool:
    """A pending verbal approval whose hotfix grace has run out unconfirmed."""
    return (
        signoff.voided_at is None
        and signoff.verbal_state == VerbalState.PENDING
        and grace_hours > 0
        and now >= signoff.signed_at + timedelta(hours=grace_hours)
    )


def approval_expired(*, approved_at: datetime | None, validity_days: int, now: datetime) -> bool:
    """An approval is valid `validity_days` after the last required sign-off landed."""
    return approved_at is not None and now >= approved_at + timedelta(days=validity_days)


def pass_rate(suite: dict) -> float | None:
    """Passed / (passed + failed) in per cent; None when the suite ran nothing."""
    ran = suite["passed"] + suite["failed"]
    return None if ran == 0 else 100.0 * suite["passed"] / ran


def _percent(value: float) -> str:
    return f"{value:.1f} %"


def quality_reasons(*, content: dict, policy) -> list[str]:
    """The RAD's test results and findings against the policy's thresholds, with the numbers."""
    suites = content["test_suites"]
    reasons = []
    if policy.min_pass_rate is not None and suites:
        overall = pass_rate(
            {
                "passed": sum(s["passed"] for s in suites),
                "failed": sum(s["failed"] for s in suites),
            }
        )
        if overall is not None and overall < float(policy.min_pass_rate):
            reasons.append(
                f"All suites: {_percent(overall)} passed, policy needs "
                f"{_percent(float(policy.min_pass_rate))}."
            )
    by_name = {s["name"]: s for s in suites}
    for name, minimum in sorted((policy.suite_min_pass_rates or {}).items()):
        suite = by_name.get(name)
        rate = pass_rate(suite) if suite else None
        if rate is None:
            reasons.append(f"{name}: no results in the RAD; policy needs {_percent(minimum)}.")
        elif rate < float(minimum):
            reasons.append(f"{name}: {_percent(rate)} passed, policy needs {_percent(minimum)}.")
    for name in policy.zero_failure_suites or []:
        suite = by_name.get(name)
        if suite is None:
            reasons.append(f"{name}: no results in the RAD; policy needs it with no failures.")
        elif suite["failed"]:
            reasons.append(f"{name}: {suite['failed']} failed, policy allows none.")
    if policy.block_marked_findings:
        for key, label in (("performance", "Performance"), ("security", "Security")):
            if content.get(f"{key}_blocking"):
                reasons.append(f"{label} findings are marked blocking.")
    return reasons


@dataclass(frozen=True)
class Refusal:
    """One reason the deploy check says no: a stable code for machines, a sentence for people."""

    code: str
    message: str


def deploy_refusals(
    *,
    release,
    now: datetime,
    freezes: Sequence,
    readiness: Sequence[Refusal],
    policy,
    approved_digests: Iterable[str],
    artifact: str = "",
) -> list[Refusal]:
    """Why `release` may not deploy at `now` (docs/lifecycle.md), re-evaluated from scratch.

    `readiness` are the sign-off readiness refusals as they stand now (checks,
    defects, rehearsal, quality); `approved_digests` the artifact set the
    approval covers; `artifact` the digest the pipeline is about to deploy.
    """
    refusals: list[Refusal] = []
    if release.status == Status.HALTED:
        refusals.append(
            Refusal(
                "halted", f"The release is halted: {release.status_reason or 'no reason given'}."
            )
        )
    elif release.status != Status.APPROVED:
        refusals.append(
            Refusal(
                "not_approved",
                f"The release is {release.get_status_display().lower()}, not approved.",
            )
        )
    elif approval_expired(
        approved_at=release.approved_at, validity_days=policy.approval_validity_days, now=now
    ):
        refusals.append(
            Refusal(
                "approval_expired",
                f"The approval expired {policy.approval_validity_days} days after "
                f"{release.approved_at.isoformat()}; the Go/no-go Accountable must sign again.",
            )
        )
    refusals += window_refusals(release=release, now=now)
    refusals += [
        Refusal("frozen", reason) for reason in freeze_reasons(release=release, freezes=freezes)
    ]
    refusals += [r for r in readiness if r.code != "frozen"]
    refusals += artifact_refusals(approved_digests=approved_digests, artifact=artifact)
    return refusals


def window_refusals(*, release, now: datetime) -> list[Refusal]:
    """Before the window opens and from the moment it closes, nothing deploys."""
    if now < release.window_start:
        return [
            Refusal(
                "window_not_open",
                f"The deployment window opens at {release.window_start.isoformat()}.",
            )
        ]
    if now >= release.window_end:
        return [
            Refusal(
                "window_closed",
                f"The deployment window closed at {release.window_end.isoformat()}.",
            )
        ]
    return []


def artifact_refusals(*, approved_digests: Iterable[str], artifact: str) -> list[Refusal]:
    """The digest about to deploy must be one the approval covers."""
    if not artifact:
        return []
    approved = set(approved_digests)
    if artifact in approved:
        return []
    if not approved:
        return [
            Refusal(
                "artifact_not_approved",
                f"{artifact} was not approved: the release lists no artifacts.",
            )
        ]
    return [Refusal("artifact_not_approved", f"{artifact} is not one of the approved artifacts.")]


# --- the release rhythm: cut-off, post-deploy checklist and checks, risk categories ----


def scope_changed_after_cutoff(
    *, cutoff_at: datetime | None, now: datetime, previous_scope: str | None, new_scope: str
) -> bool:
    """A revision written after the cut-off whose Scope differs from the one before it."""
    return (
        cutoff_at is not None
        and now > cutoff_at
        and previous_scope is not None
        and previous_scope != new_scope
    )


def cutoff_ack_refusal(
    *, required: bool, is_go_no_go: bool, decision: str, scope_changed: bool, acknowledged: bool
) -> str:
    """With the policy on, the Go/no-go approval must acknowledge a scope change after cut-off."""
    if (
        required
        and is_go_no_go
        and decision == Decision.APPROVE
        and scope_changed
        and not acknowledged
    ):
        return (
            "The scope changed after the code cut-off: acknowledge the change to approve "
            "the Go/no-go decision."
        )
    return ""


def monitoring_tick_refusal(
    *, status: str, has_deployment: bool, may_tick: bool, position: int, items: int
) -> tuple[str, bool]:
    """(why a checklist item may not be ticked, whether that is a 403); ("", False) when it may.

    Only the Responsibles and the Operations Accountable tick, and only once a
    deployment succeeded and the release is deployed.
    """
    if not may_tick:
        return (
            "Only the Responsibles and the Operations Accountable tick the post-deploy checklist.",
            True,
        )
    if status != Status.DEPLOYED or not has_deployment:
        return "The checklist is ticked after a deployment succeeded, not before.", False
    if not 0 <= position < items:
        return "The RAD's monitoring checklist has no such item.", False
    return "", False


def monitoring_overdue(*, deployed_at: datetime | None, hours: int, now: datetime) -> bool:
    """Unticked items are overdue once the policy's hours after the deployment have passed."""
    return deployed_at is not None and now >= deployed_at + timedelta(hours=hours)


def verification_fails(*, phase: str, status: str, release_status: str) -> bool:
    """A post-deploy check reported failing while the release is deployed fails its verification."""
    return (
        phase == CheckPhase.AFTER_DEPLOYMENT
        and status == CheckStatus.FAIL
        and release_status == Status.DEPLOYED
    )


def risk_category_refusals(*, risks: Iterable[dict], required: Iterable[str]) -> list[Refusal]:
    """Each category the policy names needs at least one assessed risk in the RAD."""
    assessed = {risk.get("category", "technical") for risk in risks}
    missing = [category for category in required if category not in assessed]
    if not missing:
        return []
    return [
        Refusal(
            "risk_category_missing",
            "The risk assessment has no risk in the required categor"
            + ("y " if len(missing) == 1 else "ies ")
            + ", ".join(RISK_CATEGORIES.get(c, c) for c in missing)
            + ".",
        )
    ]


def latest_rehearsal(*, rehearsed_on: str | None, drilled_on: date | None) -> str | None:
    """The RAD's rehearsal date, or the product's latest successful fire drill when newer."""
    if drilled_on is None:
        return rehearsed_on
    if rehearsed_on and date.fromisoformat(rehearsed_on) >= drilled_on:
        return rehearsed_on
    return drilled_on.isoformat()


@dataclass(frozen=True)
class Conflict:
    """Another release whose deployment window overlaps, and what the two share."""

    other: object
    shared: tuple[str, ...]  # "same product", or the shared components/environments

    @property
    def message(self) -> str:
        return (
            f"The deployment window overlaps {self.other}'s "
            f"({self.other.window_start:%Y-%m-%d %H:%M}–{self.other.window_end:%Y-%m-%d %H:%M} "
            f"UTC) on {', '.join(self.shared)}."
        )


def windows_overlap(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open windows [start, end): touching ends do not overlap."""
    return a_start < b_end and b_start < a_end


def window_conflicts(*, release, candidates: Iterable) -> list[Conflict]:
    """Releases among `candidates` whose window overlaps `release`'s on the same product
    or on a component or environment both products declare."""
    targets = set(release.product.deploy_targets or ())
    conflicts = []
    for other in candidates:
        if other.pk == release.pk or not windows_overlap(
            release.window_start, release.window_end, other.window_start, other.window_end
        ):
            continue
        if other.product_id == release.product_id:
            shared: tuple[str, ...] = ("the same product",)
        else:
            shared = tuple(sorted(targets & set(other.product.deploy_targets or ())))
        if shared:
            conflicts.append(Conflict(other=other, shared=shared))
    return conflicts


# --- approver teams ----------------------------------------------------------------------


def team_approval_met(*, seats: Iterable[int], required: int) -> bool:
    """M of N: at least `required` different members approved (each counted once)."""
    return required > 0 and len(set(seats)) >= required


def team_progress_text(*, team_name: str, required: int, approvers: Sequence[str]) -> str:
    """ "1 of 2 from Security leads: Ana approved" for the progress panel and the pack."""
    text = f"{min(len(approvers), required)} of {required} from {team_name}"
    if approvers:
        text += ": " + ", ".join(approvers) + " approved"
    return text


def team_rule_refusal(*, required: int, member_count: int) -> str:
    """Why a team cannot be an activity's Accountable with this rule; "" when it can."""
    if required < 1:
        return "At least one member must approve."
    if member_count == 0:
        return "The team has no members yet."
    if required > member_count:
        return f"The team has {member_count} member{'s' if member_count != 1 else ''}; it cannot give {required} approvals."
    return ""


# --- delegation ------------------------------------------------------------------------


def delegation_active(*, delegation, now: datetime) -> bool:
    """A delegation counts from its start until its end, unless cancelled before."""
    if delegation.cancelled_at is not None and delegation.cancelled_at <= now:
        return False
    return delegation.starts_at <= now < delegation.ends_at


def _delegate_verdict(
    *,
    user,
    release,
    activity,
    accountable,
    responsible_ids,
    current,
    ready_reasons,
    team,
    member_ids,
    on_behalf_of,
    routing=None,
) -> SignOffVerdict:
    """`user` signs as themselves for the absent `on_behalf_of` (an active delegation).

    The absent person must be whom the activity waits for; separation of duties
    holds for both: the delegate, and the absent person they speak for.
    """
    name, absent = activity.name, _name(on_behalf_of)
    if on_behalf_of.pk == user.pk:
        return SignOffVerdict(False, "Nobody signs on their own behalf.", forbidden=True)
    if team is not None and on_behalf_of.pk not in member_ids:
        return SignOffVerdict(
            False, f"{absent} is not a member of {team.name}, so cannot sign {name}.", True
        )
    if team is None and (accountable is None or accountable.pk != on_behalf_of.pk):
        return SignOffVerdict(False, f"{absent} is not the Accountable for {name}.", True)
    own = signoff_verdict(
        user=on_behalf_of,
        release=release,
        activity=activity,
        accountable=accountable,
        responsible_ids=responsible_ids,
        current=current,
        ready_reasons=ready_reasons,
        team=team,
        member_ids=member_ids,
        routing=routing,
    )
    if not own.allowed:
        reason = own.why.split(": ", 1)[-1].replace("you ", f"{absent} ")
        return SignOffVerdict(
            False, f"You cannot sign {name} on behalf of {absent}: {reason}", own.forbidden
        )
    if current is not None and release.submitted_by_id == user.pk:
        return SignOffVerdict(
            False, f"You cannot approve {name}: you submitted revision {current.number}."
        )
    if current is not None and current.author_id == user.pk:
        return SignOffVerdict(
            False, f"You cannot approve {name}: you wrote revision {current.number}."
        )
    if user.pk in responsible_ids:
        return SignOffVerdict(False, f"You cannot approve {name}: you are Responsible for it.")
    return SignOffVerdict(True, f"You can sign {name} on behalf of {absent}, who is away.")


# --- risk-based routing ----------------------------------------------------------------


@dataclass(frozen=True)
class Routing:
    """Which activities a release needs, the rule that chose it and why."""

    fast: bool
    why: str
    activities: frozenset[str] = frozenset()


MAJOR_DEFECTS = ("blocker", "critical", "major")


def routing_for(*, content: dict | None, policy) -> Routing:
    """The fast path when the policy enables it, no risk scores above its threshold and
    no major (or worse) defect is open; otherwise every activity."""
    if not policy.fast_path_enabled or not policy.fast_path_activities:
        return Routing(False, "Full approval: the policy has no fast path.")
    if content is None:
        return Routing(False, "Full approval until the RAD is written.")
    limit = policy.fast_path_max_risk_score
    scores = [r["likelihood"] * r["impact"] for r in content.get("risks", [])]
    worst = max(scores, default=0)
    if worst > limit:
        return Routing(
            False, f"Full approval: a risk scores {worst} (likelihood × impact), above {limit}."
        )
    majors = [
        d["title"]
        for d in content.get("defects", [])
        if d["state"] in OPEN_DEFECT_STATES and d["severity"] in MAJOR_DEFECTS
    ]
    if majors:
        return Routing(False, f"Full approval: a major defect is open ({majors[0]}).")
    names = frozenset(policy.fast_path_activities)
    return Routing(
        True,
        f"Fast path: no risk scores above {limit} and no major defect is open, so only "
        f"{', '.join(sorted(names))} need a sign-off.",
        names,
    )


# --- warnings where the mistake is made (the release form) ----------------------------


def window_warnings(
    *, start: datetime, end: datetime, now: datetime, freezes: Sequence, is_hotfix: bool
) -> list[str]:
    """What is wrong with a deployment window before anyone signs for it.

    The release form shows these and asks to confirm: a window in the past
    can never be deployed in, and one inside a freeze is refused at the
    deploy check (a hotfix only with an emergency reason).
    """
    warnings = []
    if start < now:
        warnings.append(
            f"The deployment window starts in the past ({start.astimezone(UTC):%Y-%m-%d %H:%M} UTC): "
            "nobody can deploy in it unless you move it."
        )
    for freeze in freezes:
        if freeze.start < end and freeze.end > start:
            scope = "all products" if freeze.product_id is None else freeze.product.name
            warning = (
                f"The deployment window overlaps the freeze “{freeze.reason}” "
                f"({scope}, {freeze.start:%Y-%m-%d %H:%M} – {freeze.end:%Y-%m-%d %H:%M} UTC): "
            )
            warning += (
                "a hotfix may deploy in it only once an emergency reason is recorded."
                if is_hotfix
                else "the deploy check will refuse it."
            )
            warnings.append(warning)
    return warnings


def window_move_refusals(
    *, old_start: datetime, old_end: datetime, start: datetime, end: datetime, now: datetime
) -> dict[str, str]:
    """Why a deployment window may not move from (old_start, old_end) to (start, end).

    {} when it may. A window that has already ended can never be deployed
    in, so it is refused; a start in the past or a freeze only warns (the
    form's `window_warnings`), as when a release is created.
    """
    if end <= start:
        return {"window_end": "The deployment window must end after it starts."}
    if end <= now:
        return {"window_end": "The new window has already ended: nobody could deploy in it."}
    if (start, end) == (old_start, old_end):
        return {"window_start": "That is the window the release already has."}
    return {}


# --- warnings where the mistake is made (the gate-meeting form) -----------------------


def meeting_warnings(
    *,
    release,
    start: datetime,
    end: datetime,
    freezes: Sequence,
    others: Iterable,
    accountables: dict,
) -> list[str]:
    """What is wrong with a gate-meeting slot [start, end) before anyone is invited.

    A gate meeting decides go/no-go, so it comes before the deployment window
    opens. `freezes` are the freeze windows covering the release's product;
    `others` the other scheduled gate meetings; `accountables` maps a release id
    to the names of its Accountable people. A meeting overlapping another of the
    same release, or one where the same Accountable is expected, is named.
    """
    warnings = []
    if end > release.window_start:
        warnings.append(
            f"The meeting ends at {end:%Y-%m-%d %H:%M} UTC, after the deployment window opens "
            f"({release.window_start:%Y-%m-%d %H:%M} UTC): the gate meeting must decide before "
            "the window."
        )
    for freeze in freezes:
        if windows_overlap(start, end, freeze.start, freeze.end):
            scope = "all products" if freeze.product_id is None else freeze.product.name
            warnings.append(
                f"The meeting falls in the freeze “{freeze.reason}” ({scope}, "
                f"{freeze.start:%Y-%m-%d %H:%M} – {freeze.end:%Y-%m-%d %H:%M} UTC)."
            )
    mine = set(accountables.get(release.pk, ()))
    for other in others:
        if not windows_overlap(start, end, other.start, other.end):
            continue
        when = f"{other.start:%Y-%m-%d %H:%M}–{other.end:%H:%M} UTC"
        if other.release_id == release.pk:
            warnings.append(f"The meeting overlaps another gate meeting of {release} ({when}).")
            continue
        shared = sorted(mine & set(accountables.get(other.release_id, ())))
        if shared:
            warnings.append(
                f"The meeting overlaps the gate meeting for {other.release} ({when}), "
                f"where {', '.join(shared)} {'is' if len(shared) == 1 else 'are'} "
                "Accountable too."
            )
    return warnings


# --- what an Accountable's signature waits on (My sign-offs) ---------------------------


def signoff_waits_on(*, release, has_revision: bool, ready_reasons: Sequence[str]) -> list[str]:
    """What stands between an Accountable and approving now; empty when they can.

    `ready_reasons` is what `readiness_reasons` says of the release. A draft waits
    for its RAD first: not written, sent back (the status reason says why), or not
    submitted; readiness problems already known are listed after that.
    """
    if release.status != Status.DRAFT:
        return list(ready_reasons)
    if not has_revision:
        return ["The Responsible has not written the RAD yet."]
    if release.status_reason:
        first = f"Waiting for the Responsible's revision: sent back ({release.status_reason})."
    else:
        first = "The RAD is not submitted yet."
    return [first, *ready_reasons]
