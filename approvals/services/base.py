"""What every write to a release shares: the row lock, the one place a status
changes, the database clock, and voiding sign-offs."""

from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from approvals.lifecycle import (
    Transition,
    next_status,
)
from approvals.models import (
    Release,
    SignOff,
)
from audit.changelog import changelog_record
from audit.models import Action


class DomainError(Exception):
    """A refused change. Its message is shown to the user; nothing changed."""

    def __init__(self, message: str, *, problems: dict[str, str] | None = None):
        super().__init__(message)
        self.problems = problems or {}


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


def db_now() -> datetime:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            return cursor.fetchone()[0]
    return timezone.now()


def signoffs_void(
    *, release: Release, actor, reason: str, now: datetime | None = None, **filters
) -> int:
    """Void live sign-offs of `release` (optionally narrowed by `filters`), one entry each."""
    now = now or db_now()
    live = SignOff.objects.filter(
        release=release, voided_at__isnull=True, **filters
    ).select_related("activity")
    count = 0
    for signoff in live:
        signoff.voided_at = now
        signoff.void_reason = reason
        signoff.save(update_fields=["voided_at", "void_reason"])
        changelog_record(
            action=Action.SIGNOFF_VOIDED,
            actor=actor,
            release=release,
            obj=signoff,
            before={
                "activity": signoff.activity.name,
                "decision": signoff.decision,
                "revision": signoff.revision_number,
                "signer": signoff.printed_name,
            },
            reason=reason,
        )
        count += 1
    return count
