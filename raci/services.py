"""Writes to RACI matrices. Every change re-derives the release's object
permissions in the same transaction and logs both."""

from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from audit.changelog import changelog_record
from audit.models import Action
from raci import permissions
from raci.models import (
    DEFAULT_ACTIVITIES,
    GO_NO_GO,
    Activity,
    Assignment,
    Delegation,
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


# --- delegation -------------------------------------------------------------------------


def _delegation_doc(delegation) -> dict:
    return {
        "absent": delegation.absent.get_username(),
        "delegate": delegation.delegate.get_username(),
        "starts_at": delegation.starts_at.isoformat(),
        "ends_at": delegation.ends_at.isoformat(),
        "reason": delegation.reason,
    }


def delegation_create(
    *, absent, delegate, starts_at, ends_at, reason: str, actor, now
) -> Delegation:
    """An out-of-office period with a delegate, set by the absent person or a release manager.

    Refused: a period that ends before it starts or is already over, oneself as
    delegate, an inactive delegate, and a period overlapping another delegation
    of the same person (one delegate at a time).
    """
    errors = {}
    if absent.pk == delegate.pk:
        errors["delegate"] = "Choose someone else: nobody delegates to themselves."
    elif not delegate.is_active:
        errors["delegate"] = f"{delegate.get_username()} cannot sign: the account is inactive."
    if ends_at <= starts_at:
        errors["ends_at"] = "The period must end after it starts."
    elif ends_at <= now:
        errors["ends_at"] = "The period is already over."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        # Lock the absent person's delegations so two overlapping ones cannot both land.
        list(Delegation.objects.select_for_update().filter(absent=absent))
        overlapping = Delegation.objects.filter(
            absent=absent,
            cancelled_at__isnull=True,
            starts_at__lt=ends_at,
            ends_at__gt=starts_at,
        ).first()
        if overlapping is not None:
            raise ValidationError(
                {
                    "starts_at": f"{absent.get_username()} already has "
                    f"{overlapping.delegate.get_username()} as delegate in that period."
                }
            )
        delegation = Delegation.objects.create(
            absent=absent,
            delegate=delegate,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason.strip(),
            created_by=actor,
        )
        changelog_record(
            action=Action.RACI_CHANGED,
            actor=actor,
            obj=delegation,
            after=_delegation_doc(delegation),
            reason=f"Delegation set: {delegate.get_username()} signs for "
            f"{absent.get_username()} during the period",
        )
    return delegation


def delegation_cancel(*, delegation, actor, now) -> bool:
    """End a delegation now (or drop one not started yet); False when it was over already."""
    with transaction.atomic():
        delegation = Delegation.objects.select_for_update().get(pk=delegation.pk)
        if delegation.cancelled_at is not None or delegation.ends_at <= now:
            return False
        delegation.cancelled_at = now
        delegation.save(update_fields=["cancelled_at"])
        changelog_record(
            action=Action.RACI_CHANGED,
            actor=actor,
            obj=delegation,
            before=_delegation_doc(delegation),
            after={**_delegation_doc(delegation), "cancelled_at": now.isoformat()},
            reason="Delegation cancelled",
        )
    return True


def delegations_announce(*, now) -> dict[str, int]:
    """Beat: log each delegation the moment it starts and ends, exactly once.

    Each row is claimed by a conditional update that must change it, so two
    workers never log the same start or end twice.
    """
    counts = {"started": 0, "ended": 0}
    due_start = Delegation.objects.filter(
        start_logged_at__isnull=True, starts_at__lte=now, cancelled_at__isnull=True
    ).values_list("pk", flat=True)
    for pk in list(due_start):
        with transaction.atomic():
            if not Delegation.objects.filter(pk=pk, start_logged_at__isnull=True).update(
                start_logged_at=now
            ):
                continue
            delegation = Delegation.objects.select_related("absent", "delegate").get(pk=pk)
            changelog_record(
                action=Action.RACI_CHANGED,
                obj=delegation,
                after=_delegation_doc(delegation),
                reason=f"Delegation started: {delegation.delegate.get_username()} signs for "
                f"{delegation.absent.get_username()}",
            )
            counts["started"] += 1
    due_end = (
        Delegation.objects.filter(end_logged_at__isnull=True, start_logged_at__isnull=False)
        .filter(Q(ends_at__lte=now) | Q(cancelled_at__lte=now))
        .values_list("pk", flat=True)
    )
    for pk in list(due_end):
        with transaction.atomic():
            if not Delegation.objects.filter(pk=pk, end_logged_at__isnull=True).update(
                end_logged_at=now
            ):
                continue
            delegation = Delegation.objects.select_related("absent", "delegate").get(pk=pk)
            changelog_record(
                action=Action.RACI_CHANGED,
                obj=delegation,
                before=_delegation_doc(delegation),
                reason=f"Delegation ended: {delegation.delegate.get_username()} no longer "
                f"signs for {delegation.absent.get_username()}",
            )
            counts["ended"] += 1
    return counts
