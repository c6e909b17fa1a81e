"""Gate checks from CI, deployments and the post-release review."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction

from approvals.lifecycle import (
    IllegalTransition,
    Status,
    Transition,
    next_status,
)
from approvals.models import (
    CheckStatus,
    Deployment,
    DeploymentStatus,
    GateCheck,
    PostReleaseReview,
    Release,
    ReleaseType,
)
from approvals.selectors import policy_for
from approvals.services.base import db_now, release_lock, release_transition
from audit.changelog import changelog_record
from audit.models import Action


def gate_check_report(
    *, release: Release, actor, name: str, status: str, details: str = "", url: str = ""
) -> GateCheck:
    name = name.strip()
    errors = {}
    if not name:
        errors["name"] = "Name the check."
    if status not in CheckStatus.values:
        errors["status"] = "Status must be pass, fail or pending."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        release = release_lock(release)
        previous = GateCheck.objects.filter(release=release, name=name).first()
        before = {"status": previous.status} if previous else None
        check, _ = GateCheck.objects.update_or_create(
            release=release,
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
            after={"name": name, "status": status, "details": details, "url": url},
        )
    return check


def deployment_record(
    *, release: Release, actor, status: str, environment: str = "production", details: str = ""
) -> Deployment:
    if status not in DeploymentStatus.values:
        raise ValidationError(
            {"status": "Status must be started, succeeded, failed or rolled_back."}
        )
    environment = (environment or "production").strip()
    with transaction.atomic():
        release = release_lock(release)
        deployment = Deployment(
            release=release,
            status=status,
            environment=environment,
            details=details,
            recorded_by=actor,
        )
        info = {"deployment": status, "environment": environment, "details": details}
        if status == DeploymentStatus.SUCCEEDED:
            next_status(status=release.status, transition=Transition.DEPLOY)
            deployment.save()
            release.deployed_at = db_now()
            if release.release_type == ReleaseType.HOTFIX:
                days = policy_for(release.product).hotfix_review_days
                release.review_due_at = release.deployed_at + timedelta(days=days)
            release.save(update_fields=["deployed_at", "review_due_at", "updated_at"])
            # The review reminder is planned by the meetings app from this change-log entry.
            release_transition(
                release=release, transition=Transition.DEPLOY, actor=actor, after_extra=info
            )
        elif status == DeploymentStatus.ROLLED_BACK:
            next_status(status=release.status, transition=Transition.ROLL_BACK)
            deployment.save()
            release_transition(
                release=release,
                transition=Transition.ROLL_BACK,
                actor=actor,
                reason=details,
                after_extra=info,
            )
        else:
            if release.status != Status.APPROVED:
                raise IllegalTransition(Transition.DEPLOY, release.status)
            deployment.save()
            changelog_record(
                action=Action.DEPLOYMENT_RECORDED,
                actor=actor,
                release=release,
                obj=deployment,
                after=info,
                reason=details,
            )
    return deployment


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
