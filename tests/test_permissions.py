"""Who holds which permission (raci/permissions.py): the RACI letters, the role
groups, what a person sees and the "Your access" sentences.

The tables restate docs/permissions.md on their own, so a wrong entry in the
module fails a test here.
"""

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.contrib.contenttypes.models import ContentType
from guardian.shortcuts import assign_perm

from approvals.models import Release
from raci import permissions
from raci.selectors import raci_matrix
from tests.factories import persona, release_in_review, user_create

VIEW, EDIT, SUBMIT, COMMENT, HALT = (
    "view_release",
    "edit_rad",
    "submit_release",
    "comment_release",
    "halt_release",
)
SCHEDULE, RACI, VERBAL, DEPLOY = (
    "schedule_meeting",
    "manage_raci",
    "record_verbal",
    "record_deployment",
)

LETTERS = [
    pytest.param(["R"], {VIEW, EDIT, SUBMIT, COMMENT, HALT, SCHEDULE}, id="Responsible"),
    pytest.param(["A"], {VIEW, COMMENT, HALT}, id="Accountable"),
    pytest.param(["C"], {VIEW, COMMENT}, id="Consulted"),
    pytest.param(["I"], {VIEW}, id="Informed"),
    pytest.param(["A", "I"], {VIEW, COMMENT, HALT}, id="letters on several activities add up"),
    pytest.param(["R", "C"], {VIEW, EDIT, SUBMIT, COMMENT, HALT, SCHEDULE}, id="R and C"),
    pytest.param([], set(), id="no letter, no permission"),
]


@pytest.mark.parametrize(("letters", "perms"), LETTERS)
def test_each_raci_letter_grants_its_permissions(letters, perms):
    assert permissions.perms_for_letters(iter(letters)) == frozenset(perms)


ROLE_GROUPS = {
    "Release managers": {
        "approvals.add_product",
        "approvals.view_product",
        "approvals.add_release",
        *(f"approvals.{p}" for p in (VIEW, EDIT, SUBMIT, COMMENT, HALT, SCHEDULE)),
        *(f"approvals.{p}" for p in (RACI, VERBAL, DEPLOY)),
        "audit.view_changelogentry",
        "approvals.add_freezewindow",
        "approvals.delete_freezewindow",
        "approvals.add_firedrill",
        "approvals.change_approvalpolicy",
        "raci.change_team",
        "raci.add_delegation",
    },
    "Auditors": {"approvals.view_product", "approvals.view_release", "audit.view_changelogentry"},
}


def group_perms(name: str) -> set[str]:
    group = Group.objects.get(name=name)
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }


@pytest.mark.django_db
def test_the_role_groups_get_exactly_their_global_permissions():
    Group.objects.filter(name__in=ROLE_GROUPS).delete()
    permissions.ensure_role_groups()
    for name, perms in ROLE_GROUPS.items():
        assert group_perms(name) == perms


@pytest.mark.django_db
def test_the_role_groups_are_repaired_not_duplicated():
    Group.objects.get(name="Auditors").permissions.clear()
    permissions.ensure_role_groups(sender=None)
    permissions.ensure_role_groups(sender=None)
    assert Group.objects.filter(name="Auditors").count() == 1
    assert group_perms("Auditors") == ROLE_GROUPS["Auditors"]


@pytest.mark.django_db
def test_a_same_named_permission_of_another_app_is_never_granted():
    # A model that moved apps (freeze windows did) can leave its old content type
    # behind; this one sorts before "approvals", so a lookup by codename alone finds it.
    stale = ContentType.objects.create(app_label="accounts", model="freezewindow")
    Permission.objects.create(content_type=stale, codename="add_freezewindow", name="stale")
    Group.objects.filter(name="Release managers").delete()
    permissions.ensure_role_groups()
    assert "accounts.add_freezewindow" not in group_perms("Release managers")
    assert "approvals.add_freezewindow" in group_perms("Release managers")


# --- what a person sees --------------------------------------------------------------


@pytest.fixture
def second(team):
    return release_in_review(team, version="2.5.0")


def visible(user) -> set[str]:
    return set(
        permissions.releases_visible_to(user, Release.objects.all()).values_list(
            "version", flat=True
        )
    )


@pytest.mark.parametrize(
    ("username", "versions"),
    [
        pytest.param("ii", {"2.4.0", "2.5.0"}, id="someone in the RACI sees its releases"),
        pytest.param("rm", {"2.4.0", "2.5.0"}, id="a release manager sees all"),
        pytest.param("auditor", {"2.4.0", "2.5.0"}, id="an auditor sees all"),
        pytest.param("admin", {"2.4.0", "2.5.0"}, id="a superuser sees all"),
        pytest.param("outsider", set(), id="someone outside sees none"),
    ],
)
def test_people_see_the_releases_they_take_part_in(team, release, second, username, versions):
    assert visible(team[username]) == versions


def test_a_superuser_in_no_group_and_no_matrix_still_sees_everything(team, release):
    assert visible(user_create("root", is_superuser=True)) == {"2.4.0"}


def test_a_group_given_a_release_lets_its_members_see_only_that_one(team, release, second):
    reviewers = Group.objects.create(name="External reviewers")
    assign_perm("approvals.view_release", reviewers, second)
    member = user_create("reviewer")
    member.groups.add(reviewers)
    assert visible(member) == {"2.5.0"}


def test_a_custom_group_with_the_global_permission_sees_every_release(team, release, second):
    readers = Group.objects.create(name="Readers")
    readers.permissions.add(Permission.objects.get(codename="view_release"))
    member = user_create("reader")
    member.groups.add(readers)
    assert visible(member) == {"2.4.0", "2.5.0"}


def test_object_permissions_read_in_one_query_are_guardians_exactly(client, team, release):
    """release_perms_for reads the user's and their groups' object permissions in one
    UNION: the same codenames as guardian's checker, a group's grant reaching only its
    members and only its release, and nobody else getting past the 404."""
    from guardian.core import ObjectPermissionChecker

    other = release_in_review(team, version="2.6.0")
    readers, commenters = Group.objects.create(name="Readers"), Group.objects.create(name="C")
    assign_perm(f"approvals.{permissions.VIEW}", readers, release)
    assign_perm(f"approvals.{permissions.COMMENT}", commenters, other)
    member, both, outsider = user_create("member"), user_create("both"), user_create("outsider")
    member.groups.add(readers)
    both.groups.add(readers, commenters)
    assign_perm(f"approvals.{permissions.COMMENT}", both, release)
    outsider.groups.add(commenters)  # a grant on another release only
    expected = {
        (member, release): {permissions.VIEW},
        (both, release): {permissions.VIEW, permissions.COMMENT},
        (both, other): {permissions.COMMENT},
        (outsider, release): set(),
        (member, other): set(),
    }
    for (user, on), codenames in expected.items():
        held = permissions.release_perms_for(user, on)
        assert held == frozenset(codenames), (user, on, held)
        assert held == frozenset(ObjectPermissionChecker(user).get_perms(on)), (user, on)
    client.force_login(outsider)
    assert client.get(release.get_absolute_url()).status_code == 404
    client.force_login(member)
    assert client.get(release.get_absolute_url()).status_code == 200


def test_nobody_signed_out_or_deactivated_sees_anything(team, release):
    assert visible(AnonymousUser()) == set()
    po = team["po"]
    po.is_active = False
    po.save()
    assert visible(po) == set()
    assert permissions.release_perms_for(po, release) == frozenset()


def test_a_deactivated_superuser_holds_nothing(team, release):
    admin = team["admin"]
    admin.is_active = False
    admin.save()
    assert permissions.release_perms_for(admin, release) == frozenset()
    assert visible(admin) == set()


# --- permissions on one release ----------------------------------------------------------

HELD = [
    pytest.param("dev", {VIEW, EDIT, SUBMIT, COMMENT, HALT, SCHEDULE}, id="R"),
    pytest.param("po", {VIEW, COMMENT, HALT}, id="A"),
    pytest.param("cc", {VIEW, COMMENT}, id="C"),
    pytest.param("ii", {VIEW}, id="I"),
    pytest.param("outsider", set(), id="outside the RACI"),
    pytest.param("auditor", {VIEW}, id="auditor"),
    pytest.param(
        "rm",
        {VIEW, EDIT, SUBMIT, COMMENT, HALT, SCHEDULE, RACI, VERBAL, DEPLOY},
        id="release manager",
    ),
    pytest.param(
        "admin",
        {VIEW, EDIT, SUBMIT, COMMENT, HALT, SCHEDULE, RACI, VERBAL, DEPLOY},
        id="superuser",
    ),
]


@pytest.mark.parametrize(("username", "perms"), HELD)
def test_the_permissions_a_person_holds_on_a_release(team, release, username, perms):
    assert permissions.release_perms_for(team[username], release) == frozenset(perms)


def test_global_permissions_outside_the_release_codenames_are_not_release_permissions(
    team, release
):
    # rm also holds approvals.add_product and audit.view_changelogentry globally.
    assert "add_product" not in permissions.release_perms_for(team["rm"], release)


def test_object_permissions_are_read_per_user(team, release):
    held = permissions.release_object_perms(release)
    assert held[team["dev"].pk] == {VIEW, EDIT, SUBMIT, COMMENT, HALT, SCHEDULE}
    assert held[team["ii"].pk] == {VIEW}
    assert team["outsider"].pk not in held
    assert team["rm"].pk in held  # Accountable of two activities
    assert held[team["rm"].pk] == {VIEW, COMMENT, HALT}


def test_sync_grants_and_revokes_exactly_the_difference(team, release):
    dev, ii, outsider = team["dev"], team["ii"], team["outsider"]
    people = {user.pk: user for user in team.values() if hasattr(user, "username")}
    desired = {people[pk]: perms for pk, perms in permissions.release_object_perms(release).items()}
    desired[dev] = {VIEW, COMMENT}  # no longer Responsible
    desired[outsider] = {VIEW}  # newly Informed
    del desired[ii]  # left the matrix
    changes = permissions.release_perms_sync(release=release, desired=desired)
    assert sorted((user.username, granted, revoked) for user, granted, revoked in changes) == [
        ("dev", [], [EDIT, HALT, SCHEDULE, SUBMIT]),
        ("ii", [], [VIEW]),
        ("outsider", [VIEW], []),
    ]
    held = permissions.release_object_perms(release)
    assert held[dev.pk] == {VIEW, COMMENT}
    assert held[outsider.pk] == {VIEW}
    assert ii.pk not in held
    assert permissions.release_perms_sync(release=release, desired=desired) == []


def test_sync_touches_no_other_release(team, release, second):
    permissions.release_perms_sync(release=release, desired={})
    assert permissions.release_object_perms(release) == {}
    assert permissions.release_object_perms(second)[team["ii"].pk] == {VIEW}


def test_a_grant_adds_only_what_is_missing_and_says_what(team, release, second):
    outsider = team["outsider"]
    assert permissions.release_perms_grant(
        user=outsider, release=release, codenames=[VIEW, COMMENT]
    ) == [VIEW, COMMENT]
    assert permissions.release_perms_grant(
        user=outsider, release=release, codenames=[COMMENT, HALT]
    ) == [HALT]
    assert permissions.release_object_perms(release)[outsider.pk] == {VIEW, COMMENT, HALT}
    assert outsider.pk not in permissions.release_object_perms(second)


# --- "Your access": every action, allowed or not, and why ----------------------------------


def access(user, release) -> dict[str, tuple[bool, str]]:
    user = type(user).objects.get(pk=user.pk)  # no stale permission cache
    rows = permissions.access_explanations(
        user=user,
        perms=permissions.release_perms_for(user, release),
        matrix=raci_matrix(release=release),
    )
    return {label: (allowed, why) for label, allowed, why in rows}


def test_the_access_panel_lists_every_action_in_order(team, release):
    rows = permissions.access_explanations(
        user=team["ii"],
        perms=permissions.release_perms_for(team["ii"], release),
        matrix=raci_matrix(release=release),
    )
    assert [label for label, _, _ in rows] == [
        "edit the RAD",
        "submit it for review",
        "comment",
        "halt it",
        "schedule the gate meeting",
        "edit the RACI matrix",
        "record verbal approvals",
        "record deployments",
    ]


EXPLANATIONS = [
    pytest.param(
        "dev",
        "edit the RAD",
        (True, "You can edit the RAD: you are Responsible for Business scope."),
        id="allowed by a letter",
    ),
    pytest.param(
        "po",
        "halt it",
        (True, "You can halt it: you are Accountable for Business scope."),
        id="allowed by the first letter that grants it",
    ),
    pytest.param(
        "cc",
        "halt it",
        (
            False,
            "You cannot halt it: you are Consulted for Business scope, Consulted for Test "
            "thresholds, which does not allow it.",
        ),
        id="refused: the first two letters are named",
    ),
    pytest.param(
        "outsider",
        "comment",
        (False, "You cannot comment: you are not in this release's RACI matrix."),
        id="refused: not in the matrix",
    ),
    pytest.param(
        "auditor",
        "comment",
        (False, "You cannot comment: auditors have read-only access."),
        id="refused: an auditor reads only",
    ),
    pytest.param(
        "rm",
        "record deployments",
        (True, "You can record deployments: you are in Release managers."),
        id="allowed by a role group",
    ),
    pytest.param(
        "rm",
        "halt it",
        (True, "You can halt it: you are Accountable for Deployment & rollback plan."),
        id="a letter is named before a group",
    ),
    pytest.param(
        "admin",
        "edit the RACI matrix",
        (True, "You can edit the RACI matrix: you are a superuser."),
        id="allowed as a superuser",
    ),
]


@pytest.mark.parametrize(("username", "label", "row"), EXPLANATIONS)
def test_each_action_says_why(team, release, username, label, row):
    assert access(team[username], release)[label] == row


def test_an_auditor_in_the_matrix_is_told_about_their_letters(team, release):
    auditor = team["auditor"]
    release.activities.get(name="Business scope").assignments.create(user=auditor, letter="I")
    assert access(auditor, release)["comment"] == (
        False,
        "You cannot comment: you are Informed for Business scope, which does not allow it.",
    )


def test_a_permission_from_elsewhere_is_put_down_to_a_group(team, release):
    outsider = team["outsider"]
    permissions.release_perms_grant(user=outsider, release=release, codenames=[VIEW, HALT])
    assert access(outsider, release)["halt it"] == (
        True,
        "You can halt it: you are in a group with that permission.",
    )


def test_a_superuser_is_allowed_everything(team, release):
    rows = access(persona("admin"), release)
    assert all(allowed for allowed, _ in rows.values())
