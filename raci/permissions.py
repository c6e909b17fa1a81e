"""Who may do what: the only module that calls django-guardian.

Object permissions on a release come from its RACI matrix; the groups
"Release managers" and "Auditors" carry global permissions (SPEC §4).
"""

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.db.models import QuerySet
from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

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


def checker_for(user, releases: Iterable | None = None) -> ObjectPermissionChecker:
    """One checker per page; prefetch once so rows cost no queries."""
    checker = ObjectPermissionChecker(user)
    if releases is not None:
        releases = list(releases)
        if releases and user.is_active and not user.is_superuser:
            checker.prefetch_perms(releases)
    return checker


def has_release_perm(user, codename: str, release, checker=None) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or user.has_perm(f"approvals.{codename}"):
        return True
    checker = checker or ObjectPermissionChecker(user)
    return checker.has_perm(codename, release)


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
    checker = checker or ObjectPermissionChecker(user)
    return frozenset((global_perms | set(checker.get_perms(release))) & ALL_RELEASE_PERMS)


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


def release_perms_grant(*, user, release, codenames: Iterable[str]) -> list[str]:
    granted = []
    checker = ObjectPermissionChecker(user)
    for codename in codenames:
        if not checker.has_perm(codename, release):
            assign_perm(f"approvals.{codename}", user, release)
            granted.append(codename)
    return granted


def release_perms_revoke(*, user, release, codenames: Iterable[str]) -> list[str]:
    revoked = []
    checker = ObjectPermissionChecker(user)
    for codename in codenames:
        if checker.has_perm(codename, release):
            remove_perm(f"approvals.{codename}", user, release)
            revoked.append(codename)
    return revoked
