"""The event catalogue: which change-log entry is which event, who hears of it, what it says.

One place for every channel: e-mail, in-app, the digest and chat messages are
all rendered from the `EventMessage` built here. Recipients are only people
who may see the release (the same permission check as the release page), so
an outsider never hears of a release they cannot open.
"""

import re
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from approvals.models import Decision, Release, SignOff
from approvals.selectors import operations_accountable_ids, policy_for
from approvals.services import rad_current
from audit.models import Action
from notifications.models import Channel, Event
from raci import permissions
from raci.models import Assignment, Letter

# What a user gets when they never chose: the events that ask something of
# them arrive by e-mail, the rest wait in Relapp.
DEFAULT_CHANNEL = {
    Event.SIGNATURE_REQUESTED: Channel.EMAIL,
    Event.SIGNED: Channel.DIGEST,
    Event.REJECTED: Channel.EMAIL,
    Event.SIGNATURE_VOIDED: Channel.EMAIL,
    Event.APPROVED: Channel.IN_APP,
    Event.HALTED: Channel.EMAIL,
    Event.RESUMED: Channel.IN_APP,
    Event.DEPLOYMENT_STARTED: Channel.IN_APP,
    Event.DEPLOYMENT_SUCCEEDED: Channel.IN_APP,
    Event.DEPLOYMENT_FAILED: Channel.EMAIL,
    Event.DEPLOYMENT_ROLLED_BACK: Channel.EMAIL,
    Event.APPROVAL_EXPIRING: Channel.EMAIL,
    # The Accountable already gets the confirmation e-mail from the sign-off itself.
    Event.VERBAL_TO_CONFIRM: Channel.IN_APP,
    Event.MENTIONED: Channel.EMAIL,
    Event.REVIEW_DUE: Channel.EMAIL,
    Event.ARTIFACT_REPORTED: Channel.IN_APP,
    Event.ARTIFACT_REMOVED: Channel.IN_APP,
    Event.UNAUTHORIZED_CHANGE: Channel.EMAIL,
    Event.VERIFICATION_FAILED: Channel.EMAIL,
}

# Who hears of each event, in words (the preferences page shows it).
AUDIENCE = {
    Event.SIGNATURE_REQUESTED: "each Accountable still to sign",
    Event.SIGNED: "the Responsible and the release manager",
    Event.REJECTED: "the Responsible and the release manager, with the reason",
    Event.SIGNATURE_VOIDED: "the signer, with the link to what changed",
    Event.APPROVED: "everyone on the release's RACI and its release manager",
    Event.HALTED: "everyone on the release's RACI and its release manager",
    Event.RESUMED: "everyone on the release's RACI and its release manager",
    Event.DEPLOYMENT_STARTED: "everyone on the release's RACI and its release manager",
    Event.DEPLOYMENT_SUCCEEDED: "everyone on the release's RACI and its release manager",
    Event.DEPLOYMENT_FAILED: "everyone on the release's RACI and its release manager",
    Event.DEPLOYMENT_ROLLED_BACK: "everyone on the release's RACI and its release manager",
    Event.APPROVAL_EXPIRING: "the release manager and the Accountables",
    Event.VERBAL_TO_CONFIRM: "the Accountable the verbal approval names",
    Event.MENTIONED: "each person @mentioned who may see the release",
    Event.REVIEW_DUE: "the release manager of the hotfix",
    Event.ARTIFACT_REPORTED: "everyone on the release's RACI and its release manager",
    Event.ARTIFACT_REMOVED: "everyone on the release's RACI and its release manager",
    Event.UNAUTHORIZED_CHANGE: "release managers and auditors who may see the release",
    Event.VERIFICATION_FAILED: "the release manager and the Operations Accountable",
}

_TRANSITION_EVENTS = {
    Action.RELEASE_SUBMITTED: Event.SIGNATURE_REQUESTED,
    Action.RELEASE_REJECTED: Event.REJECTED,
    Action.RELEASE_APPROVED: Event.APPROVED,
    Action.RELEASE_HALTED: Event.HALTED,
    Action.RELEASE_RESUMED: Event.RESUMED,
    Action.RELEASE_DEPLOYED: Event.DEPLOYMENT_SUCCEEDED,
    Action.RELEASE_ROLLED_BACK: Event.DEPLOYMENT_ROLLED_BACK,
    Action.SIGNOFF_VOIDED: Event.SIGNATURE_VOIDED,
    Action.VERBAL_RECORDED: Event.VERBAL_TO_CONFIRM,
    Action.COMMENT_ADDED: Event.MENTIONED,
    Action.REVIEW_DUE: Event.REVIEW_DUE,
    Action.DEPLOYMENT_UNAUTHORIZED: Event.UNAUTHORIZED_CHANGE,
    Action.DEPLOYMENT_VERIFICATION_FAILED: Event.VERIFICATION_FAILED,
}
# Deployments that do not move the lifecycle are logged as DEPLOYMENT_RECORDED.
_RECORDED_DEPLOYMENTS = {
    "started": Event.DEPLOYMENT_STARTED,
    "failed": Event.DEPLOYMENT_FAILED,
}
MENTION = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")
# Events about one person only: never posted to a product's chat channels.
PERSONAL_EVENTS = frozenset({Event.SIGNATURE_VOIDED, Event.VERBAL_TO_CONFIRM, Event.MENTIONED})
CHANNEL_EVENTS = [(e.value, e.label) for e in Event if e not in PERSONAL_EVENTS]


def event_for_entry(entry) -> str | None:
    """The notification event a change-log entry stands for, if any."""
    if entry.release_id is None:
        return None
    after = entry.after or {}
    if entry.action == Action.DEPLOYMENT_RECORDED:
        return _RECORDED_DEPLOYMENTS.get(after.get("deployment"))
    if entry.action == Action.SIGNOFF_RECORDED:
        return Event.SIGNED if after.get("decision") == Decision.APPROVE else None
    if entry.action == Action.COMMENT_ADDED and not MENTION.search(after.get("body") or ""):
        return None
    if entry.action == Action.ARTIFACTS_CHANGED:
        return _artifact_event(after.get("changed") or [])
    return _TRANSITION_EVENTS.get(entry.action)


def _artifact_event(changed: list) -> str | None:
    """Removed when any artifact left the set, else reported (added or a new digest)."""
    if not changed:
        return None
    if any(not new for _, _, new in changed):
        return Event.ARTIFACT_REMOVED
    return Event.ARTIFACT_REPORTED


@dataclass(frozen=True)
class EventMessage:
    """What every channel says about one event; every link is absolute."""

    event: str
    release: Release
    title: str
    summary: str
    actor: str
    reason: str = ""
    url: str = ""
    actions: list[tuple[str, str]] = field(default_factory=list)

    @property
    def event_label(self) -> str:
        return Event(self.event).label

    @property
    def path(self) -> str:
        return self.url.removeprefix(settings.SITE_URL)


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _release_path(release: Release, name: str, **extra) -> str:
    return reverse(
        f"approvals:{name}",
        kwargs={"product": release.product.slug, "version": release.version, **extra},
    )


_SUMMARIES = {
    Event.SIGNATURE_REQUESTED: "{release} was submitted and waits for your signature.",
    Event.SIGNED: "{actor} signed {release}.",
    Event.REJECTED: "{actor} rejected {release}; it went back to draft.",
    Event.SIGNATURE_VOIDED: "Your signature on {release} was voided: sign again after "
    "reviewing what changed.",
    Event.APPROVED: "{release} is approved: every required sign-off is in.",
    Event.HALTED: "{release} was halted.",
    Event.RESUMED: "{release} was resumed and is approved again.",
    Event.DEPLOYMENT_STARTED: "A deployment of {release} started.",
    Event.DEPLOYMENT_SUCCEEDED: "{release} was deployed.",
    Event.DEPLOYMENT_FAILED: "A deployment of {release} failed.",
    Event.DEPLOYMENT_ROLLED_BACK: "{release} was rolled back.",
    Event.APPROVAL_EXPIRING: "The approval of {release} expires on {when}; after that the "
    "Go/no-go Accountable signs again before it may deploy.",
    Event.VERBAL_TO_CONFIRM: "{actor} recorded a verbal approval in your name on {release}; "
    "confirm or dispute it.",
    Event.MENTIONED: "{actor} mentioned you in a comment on {release}.",
    Event.REVIEW_DUE: "The post-release review of {release} is due now: write it in Relapp.",
    Event.ARTIFACT_REPORTED: "{actor} reported artifacts of {release}: {names}.",
    Event.ARTIFACT_REMOVED: "{actor} removed artifacts of {release}: {names}.",
    Event.UNAUTHORIZED_CHANGE: "A deployment of {release} was recorded while the deploy "
    "check refused it.",
    Event.VERIFICATION_FAILED: "A post-deploy check failed for the deployment of {release}. "
    "The release page offers to record the rollback.",
}


def message_for(*, event: str, entry, release: Release) -> EventMessage:
    after = entry.after or {}
    actor = entry.actor_name
    names = ", ".join(
        name + ("" if new else " (removed)") for name, _, new in after.get("changed") or []
    )
    summary = _SUMMARIES[Event(event)].format(release=release, actor=actor, names=names)
    reason = entry.reason
    if event == Event.SIGNED:
        summary = (
            f"{after.get('printed_name') or actor} signed “{after.get('activity')}” of {release}."
        )
    if event == Event.MENTIONED:
        reason = after.get("body", "")
    if event.startswith("deployment_") and after.get("environment"):
        summary = summary.rstrip(".") + f" ({after['environment']})."
    detail = absolute(release.get_absolute_url())
    actions = [("Review RAD", detail)]
    if event in (Event.SIGNATURE_REQUESTED, Event.SIGNATURE_VOIDED):
        actions.append(("Sign", absolute(reverse("approvals:my_signoffs"))))
    if event == Event.SIGNATURE_VOIDED:
        actions.insert(0, ("What changed", absolute(_release_path(release, "rad_diff"))))
    if event == Event.VERBAL_TO_CONFIRM and entry.object_id:
        path = reverse("approvals:verbal_respond", kwargs={"signoff_id": int(entry.object_id)})
        actions.insert(0, ("Confirm or dispute", absolute(path)))
    actions = _rhythm_actions(event, release, actions)
    title = _TITLES.get(event, "{release}: {label}").format(
        release=release, label=Event(event).label.lower()
    )
    return EventMessage(
        event=event,
        release=release,
        title=title[:200],
        summary=summary,
        actor=actor,
        reason=reason,
        url=actions[0][1],
        actions=actions,
    )


_TITLES = {
    Event.SIGNATURE_REQUESTED: "{release} waits for your signature",
    Event.REVIEW_DUE: "Post-release review due for {release}",
    Event.UNAUTHORIZED_CHANGE: "Unauthorized deployment of {release}",
}


def _rhythm_actions(event: str, release: Release, actions: list) -> list:
    """The first link of the review, unauthorized and verification events is where to act."""
    if event == Event.REVIEW_DUE:
        return [("Write the review", absolute(_release_path(release, "review_create"))), *actions]
    if event == Event.UNAUTHORIZED_CHANGE:
        return [*actions, ("Unauthorized changes", absolute(reverse("evidence:unauthorized_list")))]
    if event == Event.VERIFICATION_FAILED:
        return [("Record the rollback", absolute(release.get_absolute_url() + "#rhythm")), *actions]
    return actions


# --- recipients -----------------------------------------------------------------------


def _users(ids) -> list:
    return list(get_user_model().objects.filter(pk__in=set(ids), is_active=True))


def _letters(release: Release, *letters: str) -> set[int]:
    return set(
        Assignment.objects.filter(activity__release=release, letter__in=letters).values_list(
            "user_id", flat=True
        )
    )


def _participants(release: Release) -> set[int]:
    return _letters(release, *Letter.values) | {release.created_by_id}


def _still_to_sign(release: Release) -> set[int]:
    current = rad_current(release)
    accountable = Assignment.objects.filter(
        activity__release=release, letter=Letter.ACCOUNTABLE
    ).values_list("activity_id", "user_id")
    signed = set(
        SignOff.objects.filter(
            release=release, revision=current, voided_at__isnull=True
        ).values_list("activity_id", flat=True)
    )
    return {user_id for activity_id, user_id in accountable if activity_id not in signed}


def _signer_of(entry) -> set[int]:
    if not entry.object_id or entry.object_type != SignOff._meta.label:
        return set()
    return set(SignOff.objects.filter(pk=int(entry.object_id)).values_list("signer_id", flat=True))


def _mentioned(entry) -> set[int]:
    names = set(MENTION.findall((entry.after or {}).get("body", "")))
    if not names:
        return set()
    return set(get_user_model().objects.filter(username__in=names).values_list("pk", flat=True))


def _watchers() -> set[int]:
    """Release managers and auditors: they watch every unauthorized change."""
    return set(
        get_user_model()
        .objects.filter(groups__name__in=[permissions.RELEASE_MANAGERS, permissions.AUDITORS])
        .values_list("pk", flat=True)
    )


def _candidates(event: str, entry, release: Release) -> set[int]:
    if event == Event.SIGNATURE_REQUESTED:
        return _still_to_sign(release)
    if event in (Event.SIGNED, Event.REJECTED):
        return _letters(release, Letter.RESPONSIBLE) | {release.created_by_id}
    if event in (Event.SIGNATURE_VOIDED, Event.VERBAL_TO_CONFIRM):
        return _signer_of(entry)
    if event == Event.MENTIONED:
        return _mentioned(entry)
    if event == Event.APPROVAL_EXPIRING:
        return _letters(release, Letter.ACCOUNTABLE) | {release.created_by_id}
    if event == Event.REVIEW_DUE:
        return {release.created_by_id}
    if event == Event.UNAUTHORIZED_CHANGE:
        return _watchers()
    if event == Event.VERIFICATION_FAILED:
        policy = policy_for(release.product)
        return {release.created_by_id, *operations_accountable_ids(release=release, policy=policy)}
    return _participants(release)


def may_see(user, release: Release) -> bool:
    return permissions.VIEW in permissions.release_perms_for(user, release)


def recipients_for(*, event: str, entry, release: Release) -> list:
    """Who hears of `event`: its audience, minus whoever caused it, minus anyone who
    may not see the release. `entry` is None for events no change caused (an expiry)."""
    ids = _candidates(event, entry, release)
    if entry is not None:
        ids.discard(entry.actor_id)
    return sorted(
        (user for user in _users(ids) if may_see(user, release)), key=lambda u: u.username
    )


def expiring_message(*, release: Release, expires_at) -> EventMessage:
    """The approval-expiring event: no change-log entry causes it, the clock does."""
    when = f"{expires_at:%Y-%m-%d %H:%M} UTC"
    return EventMessage(
        event=Event.APPROVAL_EXPIRING,
        release=release,
        title=f"{release}: approval expiring soon",
        summary=_SUMMARIES[Event.APPROVAL_EXPIRING].format(release=release, when=when),
        actor="Relapp",
        url=absolute(release.get_absolute_url()),
        actions=[("Review RAD", absolute(release.get_absolute_url()))],
    )
