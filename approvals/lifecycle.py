"""The release lifecycle of docs/lifecycle.md as one table, and what a person may do in each state.

Every status change goes through `next_status`, so an illegal transition is
refused the same way everywhere (services, API, admin actions). Which actions
a person has on a release now comes from `actions_for` alone: views,
templates and the API ask it, never a list of statuses of their own.
"""

from dataclasses import dataclass
from typing import Any

from django.db import models

from raci import permissions


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    HALTED = "halted", "Halted"
    DEPLOYED = "deployed", "Deployed"
    ROLLED_BACK = "rolled_back", "Rolled back"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


class ReleaseType(models.TextChoices):
    NORMAL = "normal", "Normal"
    HOTFIX = "hotfix", "Hotfix"


class Transition(models.TextChoices):
    SUBMIT = "submit", "Submit for review"
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    HALT = "halt", "Halt"
    RESUME = "resume", "Resume"
    REVISE = "revise", "Revise"
    DEPLOY = "deploy", "Record deployment"
    ROLL_BACK = "roll_back", "Record rollback"
    CLOSE = "close", "Close with post-release review"
    CANCEL = "cancel", "Cancel"


BEFORE_DEPLOYMENT = (Status.DRAFT, Status.IN_REVIEW, Status.APPROVED, Status.HALTED)
# Nothing more happens to a release in these states.
FINISHED = (Status.CLOSED, Status.CANCELLED)

# transition -> (states it may start from, state it ends in)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    Transition.SUBMIT: ((Status.DRAFT,), Status.IN_REVIEW),
    Transition.APPROVE: ((Status.IN_REVIEW,), Status.APPROVED),
    Transition.REJECT: ((Status.IN_REVIEW,), Status.DRAFT),
    Transition.HALT: ((Status.APPROVED,), Status.HALTED),
    Transition.RESUME: ((Status.HALTED,), Status.APPROVED),
    Transition.REVISE: ((Status.HALTED,), Status.DRAFT),
    Transition.DEPLOY: ((Status.APPROVED,), Status.DEPLOYED),
    Transition.ROLL_BACK: ((Status.DEPLOYED,), Status.ROLLED_BACK),
    Transition.CLOSE: ((Status.DEPLOYED, Status.ROLLED_BACK), Status.CLOSED),
    Transition.CANCEL: (BEFORE_DEPLOYMENT, Status.CANCELLED),
}

# States in which the RAD may still be edited (a new revision voids sign-offs).
RAD_EDITABLE = (Status.DRAFT, Status.IN_REVIEW)
# States in which the artifact set may change (a change voids sign-offs).
ARTIFACTS_EDITABLE = RAD_EDITABLE
# States in which an Accountable may sign (once halted, only the Go/no-go, to resume).
SIGNABLE = (Status.IN_REVIEW, Status.HALTED)
# States in which the RACI matrix may still change (a new Accountable voids sign-offs).
RACI_EDITABLE = (Status.DRAFT, Status.IN_REVIEW, Status.HALTED)


class IllegalTransition(Exception):
    def __init__(self, transition: str, status: str):
        self.transition = transition
        self.status = status
        super().__init__(
            f"“{Transition(transition).label}” is not possible while the release is "
            f"{Status(status).label.lower()}."
        )


def next_status(*, status: str, transition: str) -> str:
    sources, target = TRANSITIONS[transition]
    if status not in sources:
        raise IllegalTransition(transition, status)
    return target


def allowed_transitions(status: str) -> list[str]:
    return [name for name, (sources, _) in TRANSITIONS.items() if status in sources]


def sources(transition: str) -> tuple[str, ...]:
    """The states `transition` may start from."""
    return TRANSITIONS[transition][0]


class ReleaseAction(models.TextChoices):
    """What a person can do on a release page (and through the API)."""

    EDIT_RAD = "edit_rad", "edit the RAD"
    EDIT_ARTIFACTS = "edit_artifacts", "record the artifacts"
    SUBMIT = "submit", "submit it for review"
    COMMENT = "comment", "comment"
    HALT = "halt", "halt it"
    REVISE = "revise", "send it back to draft"
    SCHEDULE_MEETING = "schedule_meeting", "schedule the gate meeting"
    EDIT_RACI = "edit_raci", "edit the RACI matrix"
    CANCEL = "cancel", "cancel it"
    RECORD_VERBAL = "record_verbal", "record verbal approvals"
    OVERRIDE_FREEZE = "override_freeze", "record an emergency freeze override"
    RECORD_DEPLOYMENT = "record_deployment", "record deployments"
    REVIEW = "review", "write the post-release review"
    MOVE_WINDOW = "move_window", "move the deployment window"


_ALL_STATES = tuple(Status.values)

# action -> (the permission on the release that grants it, the states it is possible in)
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    ReleaseAction.EDIT_RAD: (permissions.EDIT_RAD, RAD_EDITABLE),
    ReleaseAction.EDIT_ARTIFACTS: (permissions.EDIT_RAD, ARTIFACTS_EDITABLE),
    ReleaseAction.SUBMIT: (permissions.SUBMIT, sources(Transition.SUBMIT)),
    ReleaseAction.COMMENT: (
        permissions.COMMENT,
        tuple(s for s in _ALL_STATES if s not in FINISHED),
    ),
    ReleaseAction.HALT: (permissions.HALT, sources(Transition.HALT)),
    ReleaseAction.REVISE: (permissions.EDIT_RAD, sources(Transition.REVISE)),
    ReleaseAction.SCHEDULE_MEETING: (permissions.SCHEDULE_MEETING, BEFORE_DEPLOYMENT),
    ReleaseAction.EDIT_RACI: (permissions.MANAGE_RACI, RACI_EDITABLE),
    ReleaseAction.CANCEL: (permissions.MANAGE_RACI, sources(Transition.CANCEL)),
    ReleaseAction.RECORD_VERBAL: (permissions.RECORD_VERBAL, SIGNABLE),
    ReleaseAction.OVERRIDE_FREEZE: (permissions.RECORD_VERBAL, BEFORE_DEPLOYMENT),
    # A deployment may be recorded once approved, and again (failed, rolled back) after.
    ReleaseAction.RECORD_DEPLOYMENT: (
        permissions.RECORD_DEPLOYMENT,
        (Status.APPROVED, Status.DEPLOYED),
    ),
    ReleaseAction.REVIEW: (permissions.EDIT_RAD, sources(Transition.CLOSE)),
    # Release managers only; an approved release halts (docs: moving a window).
    ReleaseAction.MOVE_WINDOW: (permissions.MANAGE_RACI, BEFORE_DEPLOYMENT),
}
# Only a hotfix may deploy inside a freeze window, so only a hotfix records an override.
HOTFIX_ONLY = frozenset({ReleaseAction.OVERRIDE_FREEZE})


def permission_for(action: str) -> str:
    """The release permission that grants `action`, whatever the state."""
    return ACTIONS[action][0]


def actions_for(*, status: str, is_hotfix: bool, perms: frozenset[str]) -> frozenset[str]:
    """The actions a person holding `perms` has on a release in `status` now."""
    return frozenset(
        action
        for action, (codename, states) in ACTIONS.items()
        if codename in perms and status in states and (is_hotfix or action not in HOTFIX_ONLY)
    )


@dataclass(frozen=True)
class ReleaseAccess:
    """A release as one person reaches it: the permissions they hold and the actions they have.

    `may` answers "is this person ever allowed to" (403 when not); `can`
    answers "can they do it now", which also depends on the release's state
    (when not, the page explains why instead of refusing).
    """

    release: Any
    perms: frozenset[str]
    actions: frozenset[str]

    @classmethod
    def of(cls, release, perms: frozenset[str]) -> "ReleaseAccess":
        actions = actions_for(
            status=release.status, is_hotfix=release.release_type == ReleaseType.HOTFIX, perms=perms
        )
        return cls(release=release, perms=perms, actions=actions)

    def may(self, action: str) -> bool:
        return permission_for(action) in self.perms

    def can(self, action: str) -> bool:
        return action in self.actions

    @property
    def can_do(self) -> dict[str, bool]:
        """action -> bool, for templates: `{% if access.can_do.halt %}`."""
        return {action: action in self.actions for action in ReleaseAction.values}
