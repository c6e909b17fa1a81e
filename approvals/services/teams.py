"""Approver teams on releases: a team as an activity's Accountable, and leaving a team.

Membership itself is raci's (`raci.services.team_member_add/remove`, which
re-derive the permissions); here what that means for sign-offs.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from approvals.lifecycle import RACI_EDITABLE, SIGNABLE
from approvals.models import Release, SignOff
from approvals.rules import team_rule_refusal
from approvals.services.base import db_now, release_lock, signoffs_void
from audit.changelog import changelog_record
from audit.models import Action
from raci import services as raci_services
from raci.models import Activity, Assignment, Letter, Team


def _rule(activity) -> dict:
    if activity.team_id is None:
        accountable = next(
            (a.user for a in activity.assignments.all() if a.letter == Letter.ACCOUNTABLE), None
        )
        return {"accountable": accountable.get_username() if accountable else None}
    return {"team": activity.team.name, "required": activity.team_required}


def activity_team_set(
    *, release: Release, actor, activity_id: int, team: Team | None, required: int = 1
) -> bool:
    """Make `team` the Accountable of an activity with an M-of-N rule (None: back to a person).

    The person who was Accountable keeps no A letter; live sign-offs on the
    activity are voided (its Accountable changed); the members' permissions
    follow in the same transaction. False when nothing changed.
    """
    with transaction.atomic():
        release = release_lock(release)
        if release.status not in RACI_EDITABLE:
            raise ValidationError(
                f"The RACI matrix is fixed once the release is {release.get_status_display().lower()}."
            )
        activity = (
            Activity.objects.select_related("team")
            .prefetch_related("assignments__user")
            .filter(release=release, pk=activity_id)
            .first()
        )
        if activity is None:
            raise ValidationError({"activity": "This release has no such activity."})
        if team is not None:
            team = Team.objects.select_for_update().get(pk=team.pk)
            refusal = team_rule_refusal(required=required, member_count=team.members.count())
            if refusal:
                raise ValidationError({"required": refusal})
        before = _rule(activity)
        if team is None and activity.team_id is None:
            return False
        if team is not None and activity.team_id == team.pk and activity.team_required == required:
            return False
        if team is not None:
            Assignment.objects.filter(activity=activity, letter=Letter.ACCOUNTABLE).delete()
        activity.team = team
        activity.team_required = required if team is not None else 1
        activity.save(update_fields=["team", "team_required"])
        activity = Activity.objects.prefetch_related("assignments__user").get(pk=activity.pk)
        changelog_record(
            action=Action.RACI_CHANGED,
            actor=actor,
            release=release,
            obj=activity,
            before={activity.name: before},
            after={activity.name: _rule(activity)},
            reason="Accountable team set" if team else "Accountable team removed",
        )
        signoffs_void(
            release=release,
            actor=actor,
            reason="The activity's Accountable changed",
            activity_id=activity.pk,
            now=db_now(),
        )
        raci_services.raci_permissions_sync(release=release, actor=actor)
    return True


def team_member_remove(*, team: Team, user, actor) -> bool:
    """Remove a member: their permissions go at once, and their live approvals on
    releases still being signed are voided (they no longer speak for the team)."""
    with transaction.atomic():
        changed = raci_services.team_member_remove(team=team, user=user, actor=actor)
        if not changed:
            return False
        release_ids = (
            SignOff.objects.filter(
                activity__team=team,
                seat=user,
                voided_at__isnull=True,
                release__status__in=SIGNABLE,
            )
            .values_list("release_id", flat=True)
            .distinct()
        )
        for release in Release.objects.filter(pk__in=list(release_ids)).order_by("pk"):
            release = release_lock(release)
            signoffs_void(
                release=release,
                actor=actor,
                reason=f"{user.get_username()} left the team {team.name}",
                activity__team=team,
                seat=user,
            )
    return True
