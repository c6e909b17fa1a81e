"""The release lifecycle of SPEC §3 as one table.

Every status change goes through `next_status`, so an illegal transition is
refused the same way everywhere (services, API, admin actions).
"""

from django.db import models


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    HALTED = "halted", "Halted"
    DEPLOYED = "deployed", "Deployed"
    ROLLED_BACK = "rolled_back", "Rolled back"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


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


_BEFORE_DEPLOYMENT = (Status.DRAFT, Status.IN_REVIEW, Status.APPROVED, Status.HALTED)

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
    Transition.CANCEL: (_BEFORE_DEPLOYMENT, Status.CANCELLED),
}

# States in which the RAD may still be edited (a new revision voids sign-offs).
RAD_EDITABLE = (Status.DRAFT, Status.IN_REVIEW)


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
