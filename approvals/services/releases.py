"""Writes to products and releases: creation, submission, the reasoned transitions
(cancel, halt, revise), comments, the freeze override, policies and the RACI matrix."""

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.lifecycle import (
    BEFORE_DEPLOYMENT,
    FINISHED,
    RACI_EDITABLE,
    Transition,
    next_status,
)
from approvals.models import (
    ApprovalPolicy,
    Comment,
    Product,
    Release,
    ReleaseType,
)
from approvals.rad import SECTION_TITLES, rad_incomplete_sections
from approvals.selectors import policy_for
from approvals.services.base import (
    DomainError,
    release_lock,
    release_transition,
    signoffs_void,
)
from approvals.services.policies import policy_snapshot, policy_version_after_change
from approvals.services.rad import rad_current
from audit.changelog import changelog_record
from audit.models import Action
from raci import services as raci_services


def product_create(*, name: str, slug: str, actor) -> Product:
    product = Product(name=name.strip(), slug=slug.strip())
    product.full_clean()
    with transaction.atomic():
        try:
            with transaction.atomic():
                product.save()
        except IntegrityError:
            raise ValidationError({"slug": "A product with this name or slug exists."}) from None
        ApprovalPolicy.objects.create(product=product)
        raci_services.raci_template_ensure(product=product)
        changelog_record(
            action=Action.PRODUCT_CREATED,
            actor=actor,
            product=product,
            obj=product,
            after={"name": product.name, "slug": product.slug},
        )
    return product


def release_create(
    *,
    product: Product,
    version: str,
    title: str,
    release_type: str,
    window_start: datetime,
    window_end: datetime,
    actor,
    fixes: Release | None = None,
    cutoff_at: datetime | None = None,
) -> Release:
    """A new draft release; its code cut-off defaults to the product policy's offset."""
    if cutoff_at is None:
        days = policy_for(product).cutoff_days_before_window
        cutoff_at = window_start - timedelta(days=days)
    release = Release(
        product=product,
        version=version.strip(),
        title=title.strip(),
        release_type=release_type,
        fixes=fixes,
        window_start=window_start,
        window_end=window_end,
        created_by=actor,
        cutoff_at=cutoff_at,
    )
    errors: dict[str, str] = {}
    if window_end <= window_start:
        errors["window_end"] = "The deployment window must end after it starts."
    if cutoff_at > window_start:
        errors["cutoff_at"] = "The code cut-off must come before the deployment window."
    if release_type == ReleaseType.HOTFIX:
        if fixes is None:
            errors["fixes"] = "A hotfix must name the release it fixes."
        elif fixes.product_id != product.pk:
            errors["fixes"] = "A hotfix must fix a release of the same product."
    elif fixes is not None:
        errors["fixes"] = "Only a hotfix fixes another release."
    try:
        release.full_clean(exclude=["created_by"], validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, " ".join(messages))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        try:
            with transaction.atomic():
                release.save()
        except IntegrityError:
            raise ValidationError(
                {"version": f"{product.name} already has a release {release.version}."}
            ) from None
        changelog_record(
            action=Action.RELEASE_CREATED,
            actor=actor,
            release=release,
            after=release_snapshot(release),
        )
        raci_services.raci_apply_template(release=release, actor=actor)
    return release


def release_snapshot(release: Release) -> dict[str, Any]:
    return {
        "product": release.product.slug,
        "version": release.version,
        "title": release.title,
        "type": release.release_type,
        "fixes": release.fixes.version if release.fixes_id else None,
        "window_start": release.window_start.isoformat(),
        "window_end": release.window_end.isoformat(),
        "status": release.status,
        "cutoff_at": release.cutoff_at.isoformat() if release.cutoff_at else None,
    }


def release_submit(*, release: Release, actor) -> Release:
    with transaction.atomic():
        release = release_lock(release)
        next_status(status=release.status, transition=Transition.SUBMIT)
        current = rad_current(release)
        if current is None:
            raise DomainError(
                "Write the RAD before submitting: it has no revision yet.",
                problems={"scope": "The RAD is empty."},
            )
        problems = rad_incomplete_sections(current.content)
        if problems:
            raise DomainError("The RAD is not complete enough for review.", problems=problems)
        release.submitted_by = actor
        release.save(update_fields=["submitted_by", "updated_at"])
        return release_transition(
            release=release,
            transition=Transition.SUBMIT,
            actor=actor,
            after_extra={"revision": current.number, "sha256": current.sha256},
        )


def _reasoned_transition(
    *,
    release: Release,
    actor,
    transition: str,
    reason: str,
    missing: str,
    void_reason: str = "",
    **void_filters,
) -> Release:
    """A transition that needs a reason, optionally voiding live sign-offs with it."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": missing})
    with transaction.atomic():
        release = release_transition(
            release=release_lock(release), transition=transition, actor=actor, reason=reason
        )
        if void_reason:
            signoffs_void(release=release, actor=actor, reason=void_reason, **void_filters)
    return release


def release_cancel(*, release: Release, actor, reason: str) -> Release:
    return _reasoned_transition(
        release=release,
        actor=actor,
        transition=Transition.CANCEL,
        reason=reason,
        missing="Say why the release is cancelled.",
    )


def release_halt(*, release: Release, actor, reason: str) -> Release:
    # Resuming needs the Go/no-go Accountable to sign again: void that signature.
    return _reasoned_transition(
        release=release,
        actor=actor,
        transition=Transition.HALT,
        reason=reason,
        missing="Say why the release is halted.",
        void_reason=f"Release halted: {reason.strip()}",
        activity__is_go_no_go=True,
    )


def release_revise(*, release: Release, actor, reason: str) -> Release:
    return _reasoned_transition(
        release=release,
        actor=actor,
        transition=Transition.REVISE,
        reason=reason,
        missing="Say what needs revising.",
        void_reason="The release went back to draft",
    )


def release_comment(*, release: Release, actor, body: str, section: str = "") -> Comment:
    body = body.strip()
    if section and section not in SECTION_TITLES:
        raise ValidationError({"section": "Choose a section of the RAD, or none."})
    if not body:
        raise ValidationError({"body": "Write something before posting."})
    if len(body) > 5000:
        raise ValidationError({"body": "Keep comments under 5,000 characters."})
    with transaction.atomic():
        release = release_lock(release)
        if release.status in FINISHED:
            raise DomainError("The release is closed for comments.")
        comment = Comment.objects.create(release=release, author=actor, body=body, section=section)
        changelog_record(
            action=Action.COMMENT_ADDED,
            actor=actor,
            release=release,
            obj=comment,
            after={"body": body, "section": section} if section else {"body": body},
        )
    return comment


def release_freeze_override(*, release: Release, actor, reason: str) -> Release:
    """Record the emergency that lets a hotfix deploy inside a freeze window."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Describe the emergency."})
    with transaction.atomic():
        release = release_lock(release)
        if release.release_type != ReleaseType.HOTFIX:
            raise DomainError("Only a hotfix may deploy inside a freeze window.")
        if release.status not in BEFORE_DEPLOYMENT:
            raise DomainError("The release is past deployment.")
        before = release.freeze_override_reason
        release.freeze_override_reason = reason
        release.save(update_fields=["freeze_override_reason", "updated_at"])
        changelog_record(
            action=Action.FREEZE_CHANGED,
            actor=actor,
            release=release,
            before={"freeze_override_reason": before} if before else None,
            after={"freeze_override_reason": reason},
            reason=reason,
        )
    return release


def policy_save(*, policy: ApprovalPolicy, actor, changed: list[str]) -> ApprovalPolicy:
    """Save a product's approval policy (admin form) and log what changed."""
    fields = [
        "required_checks",
        "max_rehearsal_age_days",
        "block_open_critical_defects",
        "hotfix_review_days",
        "reminder_offsets_seconds",
        "signoff_reminder_seconds",
        "approval_validity_days",
        "halt_on_check_failure",
        "hotfix_verbal_grace_hours",
        "min_pass_rate",
        "suite_min_pass_rates",
        "zero_failure_suites",
        "block_marked_findings",
        "signature_requires_two_components",
    ]
    with transaction.atomic():
        previous = ApprovalPolicy.objects.select_for_update().filter(pk=policy.pk).first()
        policy.save()
        before = {f: getattr(previous, f) for f in fields} if previous else None
        after = {f: getattr(policy, f) for f in fields}
        if before != after:
            changelog_record(
                action=Action.POLICY_CHANGED,
                actor=actor,
                product=policy.product,
                obj=policy,
                before=before,
                after=after,
                reason=", ".join(changed),
            )
            policy_version_after_change(
                product=policy.product,
                actor=actor,
                before=policy_snapshot(previous) if previous else policy_snapshot(ApprovalPolicy()),
                after=policy_snapshot(policy),
            )
    return policy


def release_raci_update(
    *,
    release: Release,
    actor,
    cells: dict[int, dict[int, str]],
    new_activity: str = "",
    new_activity_cells: dict[int, str] | None = None,
) -> bool:
    """Replace the release's RACI matrix; False when nothing changed.

    Sign-offs by someone who is no longer the activity's Accountable are voided
    and the object permissions follow the matrix, all in one transaction.
    """
    with transaction.atomic():
        release = release_lock(release)
        if release.status not in RACI_EDITABLE:
            raise ValidationError(
                f"The RACI matrix is fixed once the release is {release.get_status_display().lower()}."
            )
        change = raci_services.raci_matrix_replace(
            release=release,
            actor=actor,
            cells=cells,
            new_activity=new_activity,
            new_activity_cells=new_activity_cells,
        )
        if not change.changed:
            return False
        for activity_id in change.accountable_changed:
            signoffs_void(
                release=release,
                actor=actor,
                reason="The activity's Accountable changed",
                activity_id=activity_id,
                now=timezone.now(),
            )
        raci_services.raci_permissions_sync(release=release, actor=actor)
    return True
