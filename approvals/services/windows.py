"""Moving a release's deployment window.

What a signature declares ("I approve <activity> for <product> <version>,
RAD revision N", SPEC §2) names no window, so the RAD sign-offs stay. The
Go/no-go decision is the one about *when*: a move voids the live Go/no-go
sign-off ("Deployment window moved after signing"), and an approved release
halts, so the pipeline is blocked until the Go/no-go Accountable signs again
for the new window (resume). A hotfix's emergency freeze override was recorded
for the freeze its old window fell in, so the move clears it too (the new
window's freeze needs its own reason).
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from approvals.lifecycle import BEFORE_DEPLOYMENT, Status, Transition
from approvals.models import Release
from approvals.rules import window_move_refusals
from approvals.services.base import (
    DomainError,
    db_now,
    release_lock,
    release_transition,
    signoffs_void,
)
from audit.changelog import changelog_record
from audit.models import Action

VOID_REASON = "Deployment window moved after signing"


def _window(release: Release) -> dict[str, str | None]:
    return {
        "window_start": release.window_start.isoformat(),
        "window_end": release.window_end.isoformat(),
        "cutoff_at": release.cutoff_at.isoformat() if release.cutoff_at else None,
        "status": release.status,
        "freeze_override_reason": release.freeze_override_reason,
    }


def release_window_move(
    *, release: Release, actor, window_start: datetime, window_end: datetime, reason: str
) -> Release:
    """Move the window (the code cut-off moves with it), log before/after, void the Go/no-go.

    Refused (DomainError, nothing changed) once the release is deployed or finished.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the window moves."})
    if len(reason) > 2000:
        raise ValidationError({"reason": "Keep the reason under 2,000 characters."})
    with transaction.atomic():
        release = release_lock(release)
        if release.status not in BEFORE_DEPLOYMENT:
            raise DomainError(
                "The deployment window is fixed once the release is "
                f"{release.get_status_display().lower()}."
            )
        now = db_now()
        refusals = window_move_refusals(
            old_start=release.window_start,
            old_end=release.window_end,
            start=window_start,
            end=window_end,
            now=now,
        )
        if refusals:
            raise ValidationError(refusals)
        before = _window(release)
        shift = window_start - release.window_start
        if release.cutoff_at is not None:
            release.cutoff_at = release.cutoff_at + shift
        release.window_start, release.window_end = window_start, window_end
        release.freeze_override_reason = ""
        release.save(
            update_fields=[
                "window_start",
                "window_end",
                "cutoff_at",
                "freeze_override_reason",
                "updated_at",
            ]
        )
        changelog_record(
            action=Action.RELEASE_WINDOW_MOVED,
            actor=actor,
            release=release,
            before=before,
            after=_window(release),
            reason=reason,
        )
        if release.status == Status.APPROVED:
            release_transition(
                release=release,
                transition=Transition.HALT,
                actor=actor,
                reason=f"Deployment window moved: {reason}. The Go/no-go Accountable signs "
                "again to resume.",
            )
        signoffs_void(
            release=release, actor=actor, reason=VOID_REASON, now=now, activity__is_go_no_go=True
        )
    return release
