"""Writes to RACI matrices. Every change re-derives the release's object
permissions in the same transaction and logs both."""

from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.changelog import changelog_record
from audit.models import Action
from raci import permissions
from raci.models import (
    DEFAULT_ACTIVITIES,
    GO_NO_GO,
    Activity,
    Assignment,
    Letter,
    Team,
    TemplateActivity,
    TemplateAssignment,
)


def raci_template_ensure(*, product) -> list[TemplateActivity]:
    """Give a product the default activities of docs/domain.md if it has none."""
    existing = list(product.template_activities.all())
    if existing:
        return existing
    return [
        TemplateActivity.objects.create(
            product=product, name=name, position=index, is_go_no_go=name == GO_NO_GO
        )
        for index, name in enumerate(DEFAULT_ACTIVITIES)
    ]


def template_log(*, product, actor) -> None:
    """Log a product's RACI template as it now stands (edited in the admin)."""
    snapshot = {
        template.name: {a.user.get_username(): a.letter for a in template.assignments.all()}
        for template in TemplateActivity.objects.filter(product=product).prefetch_related(
            "assignments__user"
        )
    }
    changelog_record(
        action=Action.POLICY_CHANGED,
        actor=actor,
        product=product,
        after={"raci_template": snapshot},
        reason="RACI template changed; new releases copy it",
    )


def raci_matrix_snapshot(release) -> dict[str, dict[str, str]]:
    """activity name -> {username: letter}; what the change log records."""
    snapshot: dict[str, dict[str, str]] = {}
    activities = Activity.objects.filter(release=release).prefetch_related("assignments__user")
    for activity in activities:
        snapshot[activity.name] = {
            a.user.get_username(): a.letter for a in activity.assignments.all()
        }
    return snapshot


def _desired_perms(release) -> dict:
    letters = defaultdict(set)
    for assignment in Assignment.objects.filter(activity__release=release).select_related("user"):
        letters[assignment.user].add(assignment.letter)
    # The members of an Accountable team hold what an Accountable holds.
    members = (
        get_user_model().objects.filter(approver_teams__activities__release=release).distinct()
    )
    for member in members:
        letters[member].add(Letter.ACCOUNTABLE)
    return {user: permissions.perms_for_letters(ls) for user, ls in letters.items()}


def raci_permissions_sync(*, release, actor) -> None:
    """Make the release's object permissions follow its matrix; log each grant and revoke."""
    for user, granted, revoked in permissions.release_perms_sync(
        release=release, desired=_desired_perms(release)
    ):
        if granted:
            changelog_record(
                action=Action.PERMISSION_GRANTED,
                actor=actor,
                release=release,
                after={"user": user.get_username(), "permissions": granted},
            )
        if revoked:
            changelog_record(
                action=Action.PERMISSION_REVOKED,
                actor=actor,
                release=release,
                before={"user": user.get_username(), "permissions": revoked},
            )


def raci_apply_template(*, release, actor) -> None:
    """Copy the product template into a new release (inside release_create)."""
    templates = raci_template_ensure(product=release.product)
    for template in templates:
        activity = Activity.objects.create(
            release=release,
            name=template.name,
            position=template.position,
            is_go_no_go=template.is_go_no_go,
        )
        Assignment.objects.bulk_create(
            Assignment(activity=activity, user_id=cell.user_id, letter=cell.letter)
            for cell in template.assignments.all()
        )
    changelog_record(
        action=Action.RACI_CHANGED,
        actor=actor,
        release=release,
        after=raci_matrix_snapshot(release),
        reason="Applied the product's RACI template",
    )
    raci_permissions_sync(release=release, actor=actor)


@dataclass(frozen=True)
class RaciChange:
    """What a matrix replacement changed: whether anything did, and whose A moved."""

    changed: bool
    accountable_changed: tuple[int, ...] = ()


def raci_matrix_replace(
    *,
    release,
    actor,
    cells: dict[int, dict[int, str]],
    new_activity: str = "",
    new_activity_cells: dict[int, str] | None = None,
) -> RaciChange:
    """Replace the matrix with `cells` (activity id -> user id -> letter) and log it.

    Validates exactly one Accountable per activity. Runs in the caller's
    transaction with the release locked; whether the release's state allows
    the change, what happens to sign-offs and the permission sync are decided
    by the caller (approvals' `release_raci_update`).
    """
    new_activity = new_activity.strip()
    activities = {a.pk: a for a in Activity.objects.filter(release=release).select_related("team")}
    planned = {pk: dict(cells.get(pk, {})) for pk in activities}
    _validate_matrix(
        activities=activities,
        cells=cells,
        planned=planned,
        new_activity=new_activity,
        new_activity_cells=new_activity_cells or {},
    )
    before = raci_matrix_snapshot(release)
    previous_a = {
        a.activity_id: a.user_id
        for a in Assignment.objects.filter(activity__release=release, letter=Letter.ACCOUNTABLE)
    }
    Assignment.objects.filter(activity__release=release).delete()
    assignments = [
        Assignment(activity_id=pk, user_id=uid, letter=letter)
        for pk, row in planned.items()
        for uid, letter in row.items()
    ]
    if new_activity:
        activity = Activity.objects.create(
            release=release, name=new_activity, position=len(activities)
        )
        assignments += [
            Assignment(activity=activity, user_id=uid, letter=letter)
            for uid, letter in (new_activity_cells or {}).items()
        ]
    Assignment.objects.bulk_create(assignments)
    after = raci_matrix_snapshot(release)
    if after == before:
        return RaciChange(changed=False)
    changelog_record(
        action=Action.RACI_CHANGED, actor=actor, release=release, before=before, after=after
    )
    moved = tuple(
        pk
        for pk, old_a in previous_a.items()
        if next((u for u, letter in planned[pk].items() if letter == Letter.ACCOUNTABLE), None)
        != old_a
    )
    return RaciChange(changed=True, accountable_changed=moved)


def _validate_matrix(
    *,
    activities: dict,
    cells: dict[int, dict[int, str]],
    planned: dict[int, dict[int, str]],
    new_activity: str,
    new_activity_cells: dict[int, str],
) -> None:
    if set(cells) - set(activities):
        raise ValidationError("The matrix names an activity this release does not have.")
    if new_activity and any(a.name.lower() == new_activity.lower() for a in activities.values()):
        raise ValidationError({"new_activity": f"There is already an activity “{new_activity}”."})
    user_ids = {uid for row in cells.values() for uid in row} | set(new_activity_cells)
    if user_ids - set(get_user_model().objects.in_bulk(user_ids)):
        raise ValidationError("The matrix names a person who does not exist.")
    errors = []
    for pk, row in planned.items():
        for letter in row.values():
            if letter not in Letter.values:
                raise ValidationError(f"“{letter}” is not a RACI letter.")
        accountable = [uid for uid, letter in row.items() if letter == Letter.ACCOUNTABLE]
        if getattr(activities[pk], "team_id", None):
            # A team is this activity's Accountable: no person may be A as well.
            if accountable:
                errors.append(
                    f"{activities[pk].name}: its Accountable is the team "
                    f"{activities[pk].team.name}; give the person another letter."
                )
            continue
        if len(accountable) != 1:
            errors.append(
                f"{activities[pk].name}: needs exactly one Accountable (A), has {len(accountable)}."
            )
    new_accountables = [
        u for u, letter in new_activity_cells.items() if letter == Letter.ACCOUNTABLE
    ]
    if new_activity and len(new_accountables) != 1:
        errors.append(f"{new_activity}: needs exactly one Accountable (A).")
    if errors:
        raise ValidationError(errors)


def raci_template_snapshot(product) -> dict[str, dict[str, str]]:
    """Template activity name -> {username: letter}; what the change log records."""
    return {
        template.name: {a.user.get_username(): a.letter for a in template.assignments.all()}
        for template in TemplateActivity.objects.filter(product=product).prefetch_related(
            "assignments__user"
        )
    }


def raci_template_replace(
    *,
    product,
    actor,
    cells: dict[int, dict[int, str]],
    new_activity: str = "",
    new_activity_cells: dict[int, str] | None = None,
) -> bool:
    """Replace the product's RACI template (the settings page); new releases copy it.

    The same validation as a release's matrix: exactly one Accountable per
    activity. Logged with before and after; returns whether anything changed.
    Releases already created keep their own matrix.
    """
    new_activity = new_activity.strip()
    with transaction.atomic():
        type(product).objects.select_for_update().filter(pk=product.pk).first()
        activities = {a.pk: a for a in TemplateActivity.objects.filter(product=product)}
        planned = {pk: dict(cells.get(pk, {})) for pk in activities}
        _validate_matrix(
            activities=activities,
            cells=cells,
            planned=planned,
            new_activity=new_activity,
            new_activity_cells=new_activity_cells or {},
        )
        before = raci_template_snapshot(product)
        TemplateAssignment.objects.filter(activity__product=product).delete()
        assignments = [
            TemplateAssignment(activity_id=pk, user_id=uid, letter=letter)
            for pk, row in planned.items()
            for uid, letter in row.items()
        ]
        if new_activity:
            template = TemplateActivity.objects.create(
                product=product, name=new_activity, position=len(activities)
            )
            assignments += [
                TemplateAssignment(activity=template, user_id=uid, letter=letter)
                for uid, letter in (new_activity_cells or {}).items()
            ]
        TemplateAssignment.objects.bulk_create(assignments)
        after = raci_template_snapshot(product)
        if after == before:
            return False
        changelog_record(
            action=Action.POLICY_CHANGED,
            actor=actor,
            product=product,
            before={"raci_template": before},
            after={"raci_template": after},
            reason="RACI template changed; new releases copy it",
        )
        return True


# --- approver teams ---------------------------------------------------------------------


def _team_members(team) -> list[str]:
    return sorted(member.get_username() for member in team.members.all())


def _team_releases_sync(*, team, actor) -> None:
    """Permissions of every release where the team is an Accountable follow its members."""
    releases = {a.release for a in Activity.objects.filter(team=team).select_related("release")}
    for release in sorted(releases, key=lambda r: r.pk):
        raci_permissions_sync(release=release, actor=actor)


def team_create(*, name: str, actor) -> Team:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Name the team."})
    with transaction.atomic():
        if Team.objects.filter(name__iexact=name).exists():
            raise ValidationError({"name": f"There is already a team “{name}”."})
        team = Team.objects.create(name=name)
        changelog_record(
            action=Action.RACI_CHANGED,
            actor=actor,
            obj=team,
            after={"team": team.name, "members": []},
            reason="Team created",
        )
    return team


def team_member_add(*, team, user, actor) -> bool:
    """Add a member; their permissions on the team's releases follow in this transaction."""
    return _team_membership_change(team=team, user=user, actor=actor, add=True)


def team_member_remove(*, team, user, actor) -> bool:
    """Remove a member; they lose the team's permissions at once, in this transaction."""
    return _team_membership_change(team=team, user=user, actor=actor, add=False)


def _team_membership_change(*, team, user, actor, add: bool) -> bool:
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        before = _team_members(team)
        if add:
            team.members.add(user)
        else:
            team.members.remove(user)
        after = _team_members(team)
        if after == before:
            return False
        changelog_record(
            action=Action.RACI_CHANGED,
            actor=actor,
            obj=team,
            before={"team": team.name, "members": before},
            after={"team": team.name, "members": after},
            reason=f"{user.get_username()} {'added to' if add else 'removed from'} {team.name}",
        )
        _team_releases_sync(team=team, actor=actor)
    return True
