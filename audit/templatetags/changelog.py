from django import template

from audit.models import Action

register = template.Library()

_BADGES = {
    "badge-danger": {
        Action.LOGIN_FAILED,
        Action.ACCESS_REFUSED,
        Action.RELEASE_HALTED,
        Action.RELEASE_REJECTED,
        Action.RELEASE_ROLLED_BACK,
        Action.SIGNOFF_VOIDED,
        Action.SIGNOFF_REFUSED,
        Action.VERBAL_DISPUTED,
    },
    "badge-ok": {
        Action.RELEASE_APPROVED,
        Action.RELEASE_DEPLOYED,
        Action.SIGNOFF_RECORDED,
        Action.VERBAL_CONFIRMED,
        Action.CHECKPOINT_WRITTEN,
    },
    "badge-warn": {
        Action.RELEASE_CANCELLED,
        Action.MEETING_CANCELLED,
        Action.PERMISSION_REVOKED,
        Action.FREEZE_CHANGED,
    },
}
_BADGE_OF = {action: badge for badge, actions in _BADGES.items() for action in actions}


@register.filter
def action_badge(action: str) -> str:
    """The badge class for an action: red for refusals and stops, green for approvals."""
    return _BADGE_OF.get(action, "badge-info")
