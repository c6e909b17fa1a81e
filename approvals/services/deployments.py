"""Gate checks from CI, deployments and the post-release review."""

from collections.abc import Sequence
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction

from approvals import selectors
from approvals.lifecycle import Status, Transition, next_status, sources
from approvals.models import (
    CheckPhase,
    CheckStatus,
    Deployment,
    DeploymentStatus,
    GateCheck,
    PostReleaseReview,
    Release,
    ReleaseType,
)
from approvals.selectors import policy_for
from approvals.services.base import db_now, release_lock, release_transition, signoffs_void
from approvals.services.monitoring import verification_record
from audit.changelog import changelog_record
from audit.models import Action


def gate_check_report(
    *,
    release: Release,
    actor,
    name: str,
    status: str,
    details: str = "",
    url: str = "",
    phase: str = CheckPhase.BEFORE_APPROVAL,
) -> GateCheck:
    """Record a check CI reported; a required one turning red after approval may halt the release.

    A post-deploy check (`phase` after_deployment) that fails marks the deployment
    it verifies "verification failed" (services.monitoring).
    """
    name = name.strip()
    errors = {}
    if not name:
        errors["name"] = "Name the check."
    if status not in CheckStatus.values:
        errors["status"] = "Status must be pass, fail or pending."
    if phase not in CheckPhase.values:
        errors["phase"] = "Phase must be before_approval or after_deployment."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        release = release_lock(release)
        previous = GateCheck.objects.filter(release=release, phase=phase, name=name).first()
        before = {"status": previous.status} if previous else None
        check, _ = GateCheck.objects.update_or_create(
            release=release,
            phase=phase,
            name=name,
            defaults={
                "status": status,
                "details": details,
                "url": url,
                "reported_by": actor,
                "reported_at": db_now(),
            },
        )
        changelog_record(
            action=Action.GATE_CHECK_REPORTED,
            actor=actor,
            release=release,
            obj=check,
            before=before,
            after={
                "name": name,
                "status": status,
                "details": details,
                "url": url,
                **({"phase": phase} if phase != CheckPhase.BEFORE_APPROVAL else {}),
            },
        )
        _halt_on_red_check(release=release, check=check, actor=actor)
        verification_record(release=release, check=check, actor=actor)
    return check


def _halt_on_red_check(*, release: Release, check: GateCheck, actor) -> None:
    """Policy option: a required check that is not passing halts an approved release at once."""
    policy = policy_for(release.product)
    if (
        release.status == Status.APPROVED
        and policy.halt_on_check_failure
        and check.phase == CheckPhase.BEFORE_APPROVAL
        and check.name in policy.required_checks
        and check.status != CheckStatus.PASS
    ):
        release_transition(
            release=release,
            transition=Transition.HALT,
            actor=actor,
            reason=f"Required gate check “{check.name}” is {check.get_status_display().lower()} "
            "after approval",
        )
        signoffs_void(
            release=release, actor=actor, reason="Release halted", activity__is_go_no_go=True
        )


def deployment_record(
    *,
    release: Release,
    actor,
    status: str,
    environment: str = "production",
    details: str = "",
    artifact: str = "",
    warnings_acknowledged: Sequence[str] = (),
) -> Deployment:
    """Record a deployment as the fact it is; one the deploy check refuses is flagged unauthorized.

    Facts are facts (docs/lifecycle.md): an unauthorized deployment is kept, marked with
    the deploy check's reasons at that moment, and logged as such. The release
    moves along the lifecycle only where the transition is legal. `artifact`: the
    digest deployed, checked against the approved set when given; `warnings_acknowledged`:
    what the page form warned would be flagged and the recorder confirmed.
    """
    if status not in DeploymentStatus.values:
        raise ValidationError(
            {"status": "Status must be started, succeeded, failed or rolled_back."}
        )
    environment = (environment or "production").strip()
    with transaction.atomic():
        release = release_lock(release)
        now = db_now()
        refusals = (
            []
            if status == DeploymentStatus.ROLLED_BACK
            else selectors.deploy_check_now(release=release, now=now, artifact=artifact)
        )
        deployment = Deployment.objects.create(
            release=release,
            status=status,
            environment=environment,
            details=details,
            recorded_by=actor,
            unauthorized=bool(refusals),
            unauthorized_reasons=[{"code": r.code, "message": r.message} for r in refusals],
        )
        info = {"deployment": status, "environment": environment, "details": details}
        if artifact:
            info["artifact"] = artifact
        if warnings_acknowledged:
            info["warnings_acknowledged"] = list(warnings_acknowledged)
        if not _deployment_transition(release=release, status=status, actor=actor, info=info):
            changelog_record(
                action=Action.DEPLOYMENT_RECORDED,
                actor=actor,
                release=release,
                obj=deployment,
                after=info,
                reason=details,
            )
        if refusals:
            changelog_record(
                action=Action.DEPLOYMENT_UNAUTHORIZED,
                actor=actor,
                release=release,
                obj=deployment,
                after={**info, "reasons": deployment.unauthorized_reasons},
                reason="Recorded while the deploy check refused: "
                + " ".join(r.message for r in refusals),
            )
    return deployment


def _deployment_transition(*, release: Release, status: str, actor, info: dict) -> bool:
    """Move the release for a succeeded or rolled-back deployment when the lifecycle allows it."""
    transition = {
        DeploymentStatus.SUCCEEDED: Transition.DEPLOY,
        DeploymentStatus.ROLLED_BACK: Transition.ROLL_BACK,
    }.get(status)
    if transition is None or release.status not in sources(transition):
        return False
    if transition == Transition.DEPLOY:
        release.deployed_at = db_now()
        if release.release_type == ReleaseType.HOTFIX:
            days = policy_for(release.product).hotfix_review_days
            release.review_due_at = release.deployed_at + timedelta(days=days)
        release.save(update_fields=["deployed_at", "review_due_at", "updated_at"])
        # The review reminder is planned by the meetings app from this change-log entry.
    release_transition(
        release=release,
        transition=transition,
        actor=actor,
        reason=info["details"] if transition == Transition.ROLL_BACK else "",
        after_extra=info,
    )
    return True


def review_record(
    *, release: Release, actor, went_well: str, slipped: str, template_changes: str = ""
) -> PostReleaseReview:
    went_well, slipped = went_well.strip(), slipped.strip()
    errors = {}
    if not went_well:
        errors["went_well"] = "Say what went well."
    if not slipped:
        errors["slipped"] = "Say what slipped (or write “nothing”)."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        release = release_lock(release)
        next_status(status=release.status, transition=Transition.CLOSE)
        review = PostReleaseReview.objects.create(
            release=release,
            went_well=went_well,
            slipped=slipped,
            template_changes=template_changes.strip(),
            author=actor,
        )
        release_transition(
            release=release,
            transition=Transition.CLOSE,
            actor=actor,
            after_extra={
                "went_well": went_well,
                "slipped": slipped,
                "template_changes": review.template_changes,
            },
        )
    return review
