"""Every write to releases and RADs. One transaction, the row locked, one
change-log entry, per function."""

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from approvals.lifecycle import RAD_EDITABLE, IllegalTransition, Status, Transition, next_status
from approvals.models import Comment, Product, RadRevision, Release, ReleaseType
from approvals.rad import rad_incomplete_sections, rad_normalise, rad_sha256
from audit.changelog import changelog_record
from audit.models import Action


class DomainError(Exception):
    """A refused change. Its message is shown to the user; nothing changed."""

    def __init__(self, message: str, *, problems: dict[str, str] | None = None):
        super().__init__(message)
        self.problems = problems or {}


# Re-exported so callers catch one family of errors.
__all__ = ["DomainError", "IllegalTransition"]

_TRANSITION_ACTIONS = {
    Transition.SUBMIT: Action.RELEASE_SUBMITTED,
    Transition.APPROVE: Action.RELEASE_APPROVED,
    Transition.REJECT: Action.RELEASE_REJECTED,
    Transition.HALT: Action.RELEASE_HALTED,
    Transition.RESUME: Action.RELEASE_RESUMED,
    Transition.REVISE: Action.RELEASE_REVISED,
    Transition.DEPLOY: Action.RELEASE_DEPLOYED,
    Transition.ROLL_BACK: Action.RELEASE_ROLLED_BACK,
    Transition.CLOSE: Action.RELEASE_CLOSED,
    Transition.CANCEL: Action.RELEASE_CANCELLED,
}


def release_lock(release: Release) -> Release:
    """Re-read the release with its row locked for the current transaction."""
    return Release.objects.select_for_update().select_related("product").get(pk=release.pk)


def release_transition(
    *,
    release: Release,
    transition: str,
    actor,
    reason: str = "",
    after_extra: dict[str, Any] | None = None,
) -> Release:
    """Move a *locked* release along the lifecycle table and log it.

    Callers hold the transaction; this is the one place a status changes.
    """
    before = release.status
    release.status = next_status(status=before, transition=transition)
    release.status_reason = reason
    release.save(update_fields=["status", "status_reason", "updated_at"])
    changelog_record(
        action=_TRANSITION_ACTIONS[Transition(transition)],
        actor=actor,
        release=release,
        before={"status": before},
        after={"status": release.status, **(after_extra or {})},
        reason=reason,
    )
    return release


def product_create(*, name: str, slug: str, actor) -> Product:
    product = Product(name=name.strip(), slug=slug.strip())
    product.full_clean()
    with transaction.atomic():
        try:
            with transaction.atomic():
                product.save()
        except IntegrityError:
            raise ValidationError({"slug": "A product with this name or slug exists."}) from None
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
) -> Release:
    release = Release(
        product=product,
        version=version.strip(),
        title=title.strip(),
        release_type=release_type,
        fixes=fixes,
        window_start=window_start,
        window_end=window_end,
        created_by=actor,
    )
    errors: dict[str, str] = {}
    if window_end <= window_start:
        errors["window_end"] = "The deployment window must end after it starts."
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
    }


def rad_current(release: Release) -> RadRevision | None:
    return release.revisions.order_by("-number").first()


def rad_revise(*, release: Release, content: dict[str, Any], actor) -> RadRevision | None:
    """Write a new RAD revision, or return None when nothing really changed."""
    normalised = rad_normalise(content)
    digest = rad_sha256(normalised)
    with transaction.atomic():
        release = release_lock(release)
        if release.status not in RAD_EDITABLE:
            raise DomainError(
                f"The RAD cannot be edited while the release is {release.get_status_display().lower()}."
            )
        current = rad_current(release)
        if current is not None and current.sha256 == digest:
            return None
        revision = RadRevision.objects.create(
            release=release,
            number=(current.number + 1) if current else 1,
            author=actor,
            content=normalised,
            sha256=digest,
        )
        changelog_record(
            action=Action.RAD_REVISED,
            actor=actor,
            release=release,
            obj=revision,
            before={"revision": current.number, "sha256": current.sha256} if current else None,
            after={"revision": revision.number, "sha256": revision.sha256},
        )
    return revision


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


def release_cancel(*, release: Release, actor, reason: str) -> Release:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the release is cancelled."})
    with transaction.atomic():
        release = release_lock(release)
        return release_transition(
            release=release, transition=Transition.CANCEL, actor=actor, reason=reason
        )


def release_comment(*, release: Release, actor, body: str) -> Comment:
    body = body.strip()
    if not body:
        raise ValidationError({"body": "Write something before posting."})
    if len(body) > 5000:
        raise ValidationError({"body": "Keep comments under 5,000 characters."})
    with transaction.atomic():
        release = release_lock(release)
        if release.status in (Status.CLOSED, Status.CANCELLED):
            raise DomainError("The release is closed for comments.")
        comment = Comment.objects.create(release=release, author=actor, body=body)
        changelog_record(
            action=Action.COMMENT_ADDED,
            actor=actor,
            release=release,
            obj=comment,
            after={"body": body},
        )
    return comment
