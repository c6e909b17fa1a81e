"""The release list's orderings and the object-permission lookups read indexes, not
whole tables, on a filled database: 400,000 object-permission rows and thousands of
releases (EXPLAIN on the very SQL the selectors send, after ANALYZE)."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from guardian.core import ObjectPermissionChecker

from approvals.models import Release
from approvals.selectors import RELEASE_SORTS, ReleaseFilters, release_list_for_user
from raci import permissions
from tests.factories import ProductFactory, release_history_bulk, user_create

pytestmark = pytest.mark.django_db

RELEASES, USERS = 2_000, 200  # 2,000 × 200 = 400,000 object-permission rows


def _plan(sql: str, params=()) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _fill(team) -> None:
    """RELEASES releases, each viewable by USERS people directly and by USERS groups
    (one person per group): 400,000 rows in each object-permission table."""
    release_history_bulk(
        product=ProductFactory(name="Bulk", slug="bulk"),
        created_by=team["rm"],
        releases=RELEASES,
        deployments=0,
    )
    for n in range(USERS):
        user_create(f"viewer{n}").groups.add(Group.objects.create(name=f"viewers-{n}"))
    view = Permission.objects.get(content_type__app_label="approvals", codename=permissions.VIEW)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO approvals_releaseuserobjectpermission "
            "(user_id, permission_id, content_object_id) "
            "SELECT u.id, %s, r.id FROM auth_user u CROSS JOIN approvals_release r "
            "WHERE u.username LIKE 'viewer%%'",
            [view.pk],
        )
        cursor.execute(
            "INSERT INTO approvals_releasegroupobjectpermission "
            "(group_id, permission_id, content_object_id) "
            "SELECT g.id, %s, r.id FROM auth_group g CROSS JOIN approvals_release r "
            "WHERE g.name LIKE 'viewers-%%'",
            [view.pk],
        )
        for table in ("releaseuserobjectpermission", "releasegroupobjectpermission"):
            cursor.execute(f"SELECT count(*) FROM approvals_{table}")  # noqa: S608 - fixed names
            assert cursor.fetchone()[0] >= RELEASES * USERS
        cursor.execute("ANALYZE")


def _release_list_orderings_read_an_index(rm) -> None:
    for sort in RELEASE_SORTS:
        if sort in ("release", "-release"):
            continue  # ordered by the product's name: a join, served per product
        releases = release_list_for_user(user=rm, filters=ReleaseFilters(sort=sort))[:25]
        sql, params = releases.query.sql_with_params()
        plan = _plan(sql, params)
        assert "Seq Scan on approvals_release " not in plan, (sort, plan)
        assert "Index Scan" in plan, (sort, plan)


def _object_permission_lookups_read_indexes(user) -> None:
    release = Release.objects.order_by("-id").first()
    with CaptureQueriesContext(connection) as captured:
        visible = list(
            release_list_for_user(user=user, filters=ReleaseFilters()).values_list("pk", flat=True)[
                :25
            ]
        )
        perms = ObjectPermissionChecker(user).get_perms(release)
        held = permissions.release_perms_for(user, release)
    assert len(visible) == 25
    assert permissions.VIEW in perms and permissions.VIEW in held
    plans = [
        _plan(query["sql"])
        for query in captured.captured_queries
        if "objectpermission" in query["sql"]
    ]
    assert len(plans) >= 2, "the lookups should read the object-permission tables"
    for plan in plans:
        assert "Seq Scan on approvals_releaseuserobjectpermission" not in plan, plan
        assert "Seq Scan on approvals_releasegroupobjectpermission" not in plan, plan


def test_release_orderings_and_object_permissions_read_indexes_when_filled(team):
    _fill(team)
    _release_list_orderings_read_an_index(team["rm"])
    _object_permission_lookups_read_indexes(type(team["rm"]).objects.get(username="viewer7"))
