"""The release lifecycle (approvals/lifecycle.py): every transition from every
state, and every action for every state and every permission.

The tables below restate docs/lifecycle.md and docs/permissions.md on their
own; they never read the module's tables, so a wrong entry there fails a test
here.
"""

from types import SimpleNamespace

import pytest

from approvals.lifecycle import (
    IllegalTransition,
    ReleaseAccess,
    ReleaseAction,
    ReleaseType,
    Status,
    Transition,
    actions_for,
    allowed_transitions,
    next_status,
    permission_for,
    sources,
)
from raci import permissions

DRAFT, IN_REVIEW, APPROVED, HALTED = "draft", "in_review", "approved", "halted"
DEPLOYED, ROLLED_BACK, CLOSED, CANCELLED = "deployed", "rolled_back", "closed", "cancelled"
ALL_STATES = (DRAFT, IN_REVIEW, APPROVED, HALTED, DEPLOYED, ROLLED_BACK, CLOSED, CANCELLED)
BEFORE_DEPLOYMENT = (DRAFT, IN_REVIEW, APPROVED, HALTED)

# (transition, from) -> to; every pair not listed is illegal.
LEGAL = {
    ("submit", DRAFT): IN_REVIEW,
    ("approve", IN_REVIEW): APPROVED,
    ("reject", IN_REVIEW): DRAFT,
    ("halt", APPROVED): HALTED,
    ("resume", HALTED): APPROVED,
    ("revise", HALTED): DRAFT,
    ("deploy", APPROVED): DEPLOYED,
    ("roll_back", DEPLOYED): ROLLED_BACK,
    ("close", DEPLOYED): CLOSED,
    ("close", ROLLED_BACK): CLOSED,
    **{("cancel", state): CANCELLED for state in BEFORE_DEPLOYMENT},
}
TRANSITIONS = (
    "submit",
    "approve",
    "reject",
    "halt",
    "resume",
    "revise",
    "deploy",
    "roll_back",
    "close",
    "cancel",
)
LABELS = {
    "submit": "Submit for review",
    "approve": "Approve",
    "reject": "Reject",
    "halt": "Halt",
    "resume": "Resume",
    "revise": "Revise",
    "deploy": "Record deployment",
    "roll_back": "Record rollback",
    "close": "Close with post-release review",
    "cancel": "Cancel",
}
STATE_WORDS = {
    DRAFT: "draft",
    IN_REVIEW: "in review",
    APPROVED: "approved",
    HALTED: "halted",
    DEPLOYED: "deployed",
    ROLLED_BACK: "rolled back",
    CLOSED: "closed",
    CANCELLED: "cancelled",
}


def test_the_tables_here_name_every_state_and_transition():
    assert set(ALL_STATES) == set(Status.values)
    assert set(TRANSITIONS) == set(Transition.values)


# --- transitions ------------------------------------------------------------------


@pytest.mark.parametrize("status", ALL_STATES)
@pytest.mark.parametrize("transition", TRANSITIONS)
def test_every_transition_from_every_state_is_legal_or_refused(transition, status):
    if (transition, status) in LEGAL:
        assert next_status(status=status, transition=transition) == LEGAL[(transition, status)]
    else:
        with pytest.raises(IllegalTransition) as refused:
            next_status(status=status, transition=transition)
        assert (refused.value.transition, refused.value.status) == (transition, status)
        assert str(refused.value) == (
            f"“{LABELS[transition]}” is not possible while the release is {STATE_WORDS[status]}."
        )


@pytest.mark.parametrize("status", ALL_STATES)
def test_allowed_transitions_lists_the_legal_ones_in_table_order(status):
    expected = [t for t in TRANSITIONS if (t, status) in LEGAL]
    assert allowed_transitions(status) == expected


@pytest.mark.parametrize("transition", TRANSITIONS)
def test_sources_are_the_states_a_transition_starts_from(transition):
    assert set(sources(transition)) == {s for (t, s) in LEGAL if t == transition}


def test_nothing_happens_to_a_closed_or_cancelled_release():
    assert allowed_transitions(CLOSED) == []
    assert allowed_transitions(CANCELLED) == []


# --- actions: what a person can do on a release now -----------------------------------

# action -> (the permission that grants it, the states it is possible in)
WHO_AND_WHEN = {
    "edit_rad": ("edit_rad", (DRAFT, IN_REVIEW)),
    "edit_artifacts": ("edit_rad", (DRAFT, IN_REVIEW)),
    "submit": ("submit_release", (DRAFT,)),
    "comment": ("comment_release", (*BEFORE_DEPLOYMENT, DEPLOYED, ROLLED_BACK)),
    "halt": ("halt_release", (APPROVED,)),
    "revise": ("edit_rad", (HALTED,)),
    "schedule_meeting": ("schedule_meeting", BEFORE_DEPLOYMENT),
    "edit_raci": ("manage_raci", (DRAFT, IN_REVIEW, HALTED)),
    "cancel": ("manage_raci", BEFORE_DEPLOYMENT),
    "record_verbal": ("record_verbal", (IN_REVIEW, HALTED)),
    "override_freeze": ("record_verbal", BEFORE_DEPLOYMENT),
    "record_deployment": ("record_deployment", (APPROVED, DEPLOYED)),
    "review": ("edit_rad", (DEPLOYED, ROLLED_BACK)),
    "move_window": ("manage_raci", BEFORE_DEPLOYMENT),
}
HOTFIX_ONLY = {"override_freeze"}
PERMISSIONS = (
    "view_release",
    "edit_rad",
    "submit_release",
    "comment_release",
    "halt_release",
    "schedule_meeting",
    "manage_raci",
    "record_verbal",
    "record_deployment",
)


def expected_actions(status: str, *, is_hotfix: bool, perms) -> set[str]:
    return {
        action
        for action, (perm, states) in WHO_AND_WHEN.items()
        if perm in perms and status in states and (is_hotfix or action not in HOTFIX_ONLY)
    }


def test_the_action_table_here_names_every_action_and_permission():
    assert set(WHO_AND_WHEN) == set(ReleaseAction.values)
    assert set(PERMISSIONS) == permissions.ALL_RELEASE_PERMS


@pytest.mark.parametrize("action", WHO_AND_WHEN)
def test_each_action_is_granted_by_one_permission(action):
    assert permission_for(action) == WHO_AND_WHEN[action][0]


@pytest.mark.parametrize("is_hotfix", [False, True], ids=["normal", "hotfix"])
@pytest.mark.parametrize("perm", PERMISSIONS)
@pytest.mark.parametrize("status", ALL_STATES)
def test_actions_for_every_state_and_every_permission(status, perm, is_hotfix):
    got = actions_for(status=status, is_hotfix=is_hotfix, perms=frozenset({perm}))
    assert got == expected_actions(status, is_hotfix=is_hotfix, perms={perm})


@pytest.mark.parametrize("is_hotfix", [False, True], ids=["normal", "hotfix"])
@pytest.mark.parametrize("status", ALL_STATES)
def test_actions_for_someone_holding_every_permission(status, is_hotfix):
    got = actions_for(status=status, is_hotfix=is_hotfix, perms=frozenset(PERMISSIONS))
    assert got == expected_actions(status, is_hotfix=is_hotfix, perms=PERMISSIONS)


@pytest.mark.parametrize("status", ALL_STATES)
def test_no_permission_means_no_action(status):
    assert actions_for(status=status, is_hotfix=True, perms=frozenset()) == frozenset()


@pytest.mark.parametrize("status", BEFORE_DEPLOYMENT)
def test_only_a_hotfix_records_an_emergency_freeze_override(status):
    perms = frozenset({"record_verbal"})
    assert "override_freeze" in actions_for(status=status, is_hotfix=True, perms=perms)
    assert "override_freeze" not in actions_for(status=status, is_hotfix=False, perms=perms)


@pytest.mark.parametrize("status", (DEPLOYED, ROLLED_BACK, CLOSED, CANCELLED))
def test_no_freeze_override_once_deployed_or_finished(status):
    perms = frozenset({"record_verbal"})
    assert "override_freeze" not in actions_for(status=status, is_hotfix=True, perms=perms)


def test_a_viewer_can_do_nothing_in_any_state():
    for status in ALL_STATES:
        assert actions_for(status=status, is_hotfix=False, perms=frozenset({"view_release"})) == (
            frozenset()
        )


# --- ReleaseAccess: "may" (ever, else 403) and "can" (now, else the page says why) ------


def access(status: str, perms, *, release_type: str = ReleaseType.NORMAL) -> ReleaseAccess:
    release = SimpleNamespace(status=status, release_type=release_type)
    return ReleaseAccess.of(release, frozenset(perms))


def test_access_keeps_the_release_and_the_permissions():
    release = SimpleNamespace(status=DRAFT, release_type=ReleaseType.NORMAL)
    result = ReleaseAccess.of(release, frozenset({"edit_rad"}))
    assert result.release is release
    assert result.perms == frozenset({"edit_rad"})
    assert result.actions == frozenset({"edit_rad", "edit_artifacts"})


@pytest.mark.parametrize("release_type", [ReleaseType.NORMAL, ReleaseType.HOTFIX])
@pytest.mark.parametrize("status", ALL_STATES)
def test_access_has_the_actions_of_the_table(status, release_type):
    result = access(status, PERMISSIONS, release_type=release_type)
    expected = expected_actions(
        status, is_hotfix=release_type == ReleaseType.HOTFIX, perms=PERMISSIONS
    )
    assert result.actions == expected
    assert result.can_do == {action: action in expected for action in WHO_AND_WHEN}
    assert all(result.can(action) is (action in expected) for action in WHO_AND_WHEN)


def test_a_release_manager_may_halt_but_cannot_while_in_review():
    result = access(IN_REVIEW, {"halt_release", "view_release"})
    assert result.may(ReleaseAction.HALT)
    assert not result.can(ReleaseAction.HALT)
    assert result.can_do["halt"] is False


def test_someone_without_the_permission_may_not_even_when_the_state_allows():
    result = access(APPROVED, {"view_release", "comment_release"})
    assert not result.may(ReleaseAction.HALT)
    assert not result.can(ReleaseAction.HALT)
    assert result.may(ReleaseAction.COMMENT)
    assert result.can(ReleaseAction.COMMENT)


def test_a_normal_release_never_offers_the_freeze_override_it_may_hold():
    result = access(APPROVED, {"record_verbal"})
    assert result.may(ReleaseAction.OVERRIDE_FREEZE)
    assert not result.can(ReleaseAction.OVERRIDE_FREEZE)
    hotfix = access(APPROVED, {"record_verbal"}, release_type=ReleaseType.HOTFIX)
    assert hotfix.can(ReleaseAction.OVERRIDE_FREEZE)
