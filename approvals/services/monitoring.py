"""After the deployment: the post-deploy checklist and the verification by post-deploy checks."""

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from approvals.models import Deployment, GateCheck, MonitoringTick, Release
from approvals.rules import monitoring_tick_refusal, verification_fails
from approvals.selectors import deployment_to_verify, monitoring_ticker_ids, policy_for
from approvals.services.base import DomainError, db_now, release_lock
from approvals.services.rad import rad_current
from audit.changelog import changelog_record
from audit.models import Action


class MonitoringRefused(DomainError):
    """A tick refused by the rules; `forbidden` when the person holds no role for it (403)."""

    def __init__(self, message: str, *, forbidden: bool):
        super().__init__(message)
        self.forbidden = forbidden


def _clean_tick(note: str, link: str) -> tuple[str, str]:
    note, link = (note or "").strip(), (link or "").strip()
    errors = {}
    if len(note) > 2000:
        errors["note"] = "Keep the note under 2,000 characters."
    if link:
        try:
            URLValidator(schemes=["http", "https"])(link)
        except ValidationError:
            errors["link"] = "Enter the dashboard's full address (https://…)."
        if len(link) > 500:
            errors["link"] = "Keep the link under 500 characters."
    if errors:
        raise ValidationError(errors)
    return note, link


def monitoring_tick(
    *, release: Release, actor, position: int, note: str = "", link: str = ""
) -> MonitoringTick:
    """Tick one item of the RAD's monitoring checklist for the succeeded deployment.

    Refusals (no role, not deployed yet, no such item, already ticked) are
    logged in the change log and raised after their entry commits.
    """
    note, link = _clean_tick(note, link)
    with transaction.atomic():
        release = release_lock(release)
        deployment = deployment_to_verify(release=release)
        current = rad_current(release)
        items = current.content["monitoring"] if current else []
        policy = policy_for(release.product)
        message, forbidden = monitoring_tick_refusal(
            status=release.status,
            has_deployment=deployment is not None,
            may_tick=actor.pk in monitoring_ticker_ids(release=release, policy=policy),
            position=position,
            items=len(items),
        )
        if not message:
            earlier = MonitoringTick.objects.filter(
                deployment=deployment, position=position
            ).first()
            if earlier is not None:
                message = f"“{earlier.item}” was already ticked by {earlier.ticked_by}."
        if not message:
            tick = MonitoringTick.objects.create(
                deployment=deployment,
                position=position,
                item=items[position][:500],
                ticked_by=actor,
                ticked_at=db_now(),
                note=note,
                link=link,
            )
            changelog_record(
                action=Action.MONITORING_TICKED,
                actor=actor,
                release=release,
                obj=tick,
                after={"item": tick.item, "position": position, "note": note, "link": link},
                reason=note,
            )
            return tick
        changelog_record(
            action=Action.ACCESS_REFUSED,
            actor=actor,
            release=release,
            reason=f"Post-deploy checklist item {position + 1} not ticked: {message}",
        )
    raise MonitoringRefused(message, forbidden=forbidden)


def verification_record(*, release: Release, check: GateCheck, actor) -> Deployment | None:
    """A failing post-deploy check marks the deployment it verifies "verification failed".

    Called inside gate_check_report's transaction with the release locked; the
    notifications app's event catalogue tells the release manager and the Operations
    Accountable from the change-log entry (and webhooks carry it). The first failure
    marks it; later ones are gate-check reports only.
    """
    if not verification_fails(
        phase=check.phase, status=check.status, release_status=release.status
    ):
        return None
    deployment = deployment_to_verify(release=release)
    if deployment is None or deployment.verification_failed_at is not None:
        return None
    deployment.verification_failed_at = check.reported_at
    deployment.verification_check = check.name
    deployment.save(update_fields=["verification_failed_at", "verification_check"])
    changelog_record(
        action=Action.DEPLOYMENT_VERIFICATION_FAILED,
        actor=actor,
        release=release,
        obj=deployment,
        after={"check": check.name, "status": check.status, "details": check.details},
        reason=f"Post-deploy check “{check.name}” failed"
        + (f": {check.details}" if check.details else ""),
    )
    return deployment
