"""Who may do what: the only module that calls django-guardian.

Object permissions on a release come from its RACI matrix; the groups
"Release managers" and "Auditors" carry global permissions (docs/permissions.md).
"""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models import QuerySet
from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

RELEASE_MANAGERS = "Release managers"
AUDITORS = "Auditors"

# Codenames on approvals.Release.
VIEW = "view_release"
EDIT_RAD = "edit_rad"
SUBMIT = "submit_release"
COMMENT = "comment_release"
HALT = "halt_release"
SCHEDULE_MEETING = "schedule_meeting"
MANAGE_RACI = "manage_raci"
RECORD_VERBAL = "record_verbal"
RECORD_DEPLOYMENT = "record_deployment"

# docs/permissions.md: what each RACI letter grants on the release it appears in.
LETTER_PERMISSIONS: dict[str, frozenset[str]] = {
    "R": frozenset({VIEW, EDIT_RAD, SUBMIT, COMMENT, HALT, SCHEDULE_MEETING}),
    "A": frozenset({VIEW, COMMENT, HALT}),
    "C": frozenset({VIEW, COMMENT}),
    "I": frozenset({VIEW}),
}

ROLE_GROUP_PERMISSIONS: dict[str, list[str]] = {
    RELEASE_MANAGERS: [
        "approvals.add_product",
        "approvals.view_product",
        "approvals.add_release",
        f"approvals.{VIEW}",
        f"approvals.{EDIT_RAD}",
        f"approvals.{SUBMIT}",
        f"approvals.{COMMENT}",
        f"approvals.{HALT}",
        f"approvals.{SCHEDULE_MEETING}",
        f"approvals.{MANAGE_RACI}",
        f"approvals.{RECORD_VERBAL}",
        f"approvals.{RECORD_DEPLOYMENT}",
        "audit.view_changelogentry",
        "approvals.add_freezewindow",
        "approvals.delete_freezewindow",
        "approvals.add_firedrill",
        "approvals.change_approvalpolicy",
        "raci.change_team",
        "raci.add_delegation",
    ],
    AUDITORS: [
        "approvals.view_product",
        f"approvals.{VIEW}",
        "audit.view_changelogentry",
    ],
}


def ensure_role_groups(**kwargs) -> None:
    """Create the role groups with their global permissions (post_migrate)."""
    for group_name, perms in ROLE_GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:
                wanted.append(permission)
        group.permissions.add(*wanted)


ALL_RELEASE_PERMS = frozenset(
    {
        VIEW,
        EDIT_RAD,
        SUBMIT,
        COMMENT,
        HALT,
        SCHEDULE_MEETING,
        MANAGE_RACI,
        RECORD_VERBAL,
        RECORD_DEPLOYMENT,
    }
)


def release_perms_for(user, release, checker=None) -> frozenset[str]:
    """Every release codename the user holds on this release, globally or on the object."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return ALL_RELEASE_PERMS
    global_perms = {
        name.split(".", 1)[1]
        for name in user.get_all_permissions()
        if name.startswith("approvals.")
    }
    held = set(checker.get_perms(release)) if checker else _object_perms(user, release)
    return frozenset((global_perms | held) & ALL_RELEASE_PERMS)


def _object_perms(user, release) -> set[str]:
    """The codenames `user` holds on `release` directly or through one of their groups:
    what guardian's ObjectPermissionChecker.get_perms answers, in one query (a UNION)
    instead of one per table, on every page of a release."""
    mine = (
        get_user_obj_perms_model(release)
        .objects.filter(user=user, content_object=release)
        .values_list("permission__codename", flat=True)
    )
    groups = (
        get_group_obj_perms_model(release)
        .objects.filter(group__user=user, content_object=release)
        .values_list("permission__codename", flat=True)
    )
    return set(mine.union(groups))


def releases_visible_to(user, queryset: QuerySet) -> QuerySet:
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    return get_objects_for_user(
        user,
        f"approvals.{VIEW}",
        klass=queryset,
        use_groups=True,
        with_superuser=True,
        accept_global_perms=True,
    )


def perms_for_letters(letters: Iterable[str]) -> frozenset[str]:
    perms: set[str] = set()
    for letter in letters:
        perms |= LETTER_PERMISSIONS[letter]
    return frozenset(perms)


def release_object_perms(release) -> dict[int, set[str]]:
    """user id -> object permission codenames held directly on this release."""
    held: dict[int, set[str]] = {}
    # The release's direct foreign-key permission model, found through guardian.
    rows = (
        get_user_obj_perms_model(release)
        .objects.filter(content_object=release)
        .values_list("user_id", "permission__codename")
    )
    for user_id, codename in rows:
        held.setdefault(user_id, set()).add(codename)
    return held


def release_perms_sync(*, release, desired: dict) -> list[tuple[object, list[str], list[str]]]:
    """Make the object permissions on `release` exactly `desired` (user -> codenames).

    Returns (user, granted, revoked) for every user whose permissions changed.
    Runs in the caller's transaction, so the matrix and the permissions change
    together or not at all.
    """
    held = release_object_perms(release)
    users = {user.pk: user for user in desired}
    missing = set(held) - set(users)
    if missing:
        users.update({u.pk: u for u in get_user_model().objects.filter(pk__in=missing)})
    changes = []
    for user_id, user in users.items():
        want = set(desired.get(user, set()))
        have = held.get(user_id, set())
        grant, revoke = sorted(want - have), sorted(have - want)
        for codename in grant:
            assign_perm(f"approvals.{codename}", user, release)
        for codename in revoke:
            remove_perm(f"approvals.{codename}", user, release)
        if grant or revoke:
            changes.append((user, grant, revoke))
    return changes


def release_perms_grant(*, user, release, codenames: Iterable[str]) -> list[str]:
    granted = []
    checker = ObjectPermissionChecker(user)
    for codename in codenames:
        if not checker.has_perm(codename, release):
            assign_perm(f"approvals.{codename}", user, release)
            granted.append(codename)
    return granted


ACTION_LABELS: tuple[tuple[str, str], ...] = (
    (EDIT_RAD, "edit the RAD"),
    (SUBMIT, "submit it for review"),
    (COMMENT, "comment"),
    (HALT, "halt it"),
    (SCHEDULE_MEETING, "schedule the gate meeting"),
    (MANAGE_RACI, "edit the RACI matrix"),
    (RECORD_VERBAL, "record verbal approvals"),
    (RECORD_DEPLOYMENT, "record deployments"),
)
_LETTER_NAMES = {"R": "Responsible", "A": "Accountable", "C": "Consulted", "I": "Informed"}


def access_explanations(*, user, perms: frozenset[str], matrix) -> list[tuple[str, bool, str]]:
    """(action, allowed, why) for the release page's "Your access" panel.

    `matrix` is raci.selectors.raci_matrix(release=...), already loaded for the page.
    """
    mine = [
        (activity.name, matrix.cells[(activity.pk, user.pk)])
        for activity in matrix.activities
        if (activity.pk, user.pk) in matrix.cells
    ]
    held = set(
        user.groups.filter(name__in=(RELEASE_MANAGERS, AUDITORS)).values_list("name", flat=True)
    )
    groups = [name for name in (RELEASE_MANAGERS, AUDITORS) if name in held]  # one query
    rows = []
    for codename, label in ACTION_LABELS:
        granting = next(
            ((name, letter) for name, letter in mine if codename in LETTER_PERMISSIONS[letter]),
            None,
        )
        if codename not in perms:
            if AUDITORS in groups and not mine:
                why = f"You cannot {label}: auditors have read-only access."
            elif mine:
                letters = ", ".join(
                    f"{_LETTER_NAMES[letter]} for {name}" for name, letter in mine[:2]
                )
                why = f"You cannot {label}: you are {letters}, which does not allow it."
            else:
                why = f"You cannot {label}: you are not in this release's RACI matrix."
            rows.append((label, False, why))
        elif user.is_superuser:
            rows.append((label, True, f"You can {label}: you are a superuser."))
        elif granting:
            name, letter = granting
            rows.append(
                (label, True, f"You can {label}: you are {_LETTER_NAMES[letter]} for {name}.")
            )
        else:
            group = next(iter(groups), "a group with that permission")
            rows.append((label, True, f"You can {label}: you are in {group}."))
    return rows
