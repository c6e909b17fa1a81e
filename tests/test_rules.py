"""The approval rules (approvals/rules.py), branch by branch, from tables.

The rules are pure functions: every case here feeds them unsaved model
instances and reads the sentence a user would see. Only the last test goes
through the sign-off service and the database, to show a refusal is logged.
"""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals import rules, services
from approvals.lifecycle import ReleaseType, Status
from approvals.models import ApprovalPolicy, FreezeWindow, GateCheck, Product, Release, SignOff
from audit.models import Action, ChangeLogEntry
from raci.models import Activity
from tests.factories import PASSWORD_FACTORY, activity, build_team, complete_rad

User = get_user_model()

# --- people and things, never saved ------------------------------------------------

PO = User(pk=1, username="po", first_name="Pat", last_name="Owner")
DEV = User(pk=2, username="dev", first_name="Dana", last_name="Developer")
QA = User(pk=3, username="qa")  # no full name: shown by username
RM = User(pk=4, username="rm", first_name="Rae", last_name="Manager")

PAYMENTS = Product(pk=10, name="Payments API", slug="payments-api")
LEDGER = Product(pk=11, name="Ledger", slug="ledger")

SCOPE = Activity(pk=100, name="Business scope", is_go_no_go=False)
GO = Activity(pk=101, name="Go/no-go decision", is_go_no_go=True)

TODAY = date(2025, 3, 14)
WINDOW_START = datetime(2025, 3, 20, 9, 0, tzinfo=UTC)
WINDOW_END = datetime(2025, 3, 20, 11, 0, tzinfo=UTC)


def release(**fields) -> Release:
    values = {
        "product": PAYMENTS,
        "version": "2.4.0",
        "status": Status.IN_REVIEW,
        "release_type": ReleaseType.NORMAL,
        "window_start": WINDOW_START,
        "window_end": WINDOW_END,
        "submitted_by_id": DEV.pk,
    }
    values.update(fields)
    return Release(**values)


def hotfix(**fields) -> Release:
    return release(release_type=ReleaseType.HOTFIX, version="2.4.1", **fields)


def defect(title, severity, state="open") -> dict:
    return {"title": title, "severity": severity, "state": state, "link": ""}


def revision(*, number=1, author=DEV, defects=(), rehearsed_on="2025-03-09"):
    content = {"defects": list(defects), "rollback": {"rehearsed_on": rehearsed_on}}
    return SimpleNamespace(number=number, author_id=author.pk, content=content)


def check(name, status) -> GateCheck:
    return GateCheck(name=name, status=status)


def freeze(reason, *, product=None, start=None, end=None) -> FreezeWindow:
    return FreezeWindow(
        product=product,
        reason=reason,
        start=start or datetime(2025, 3, 19, 0, 0, tzinfo=UTC),
        end=end or datetime(2025, 3, 21, 18, 30, tzinfo=UTC),
    )


YEAR_END = freeze("Year-end freeze")
PEAK = freeze(
    "Peak season",
    product=PAYMENTS,
    start=datetime(2025, 3, 20, 8, 5, tzinfo=UTC),
    end=datetime(2025, 3, 20, 12, 0, tzinfo=UTC),
)
YEAR_END_REASON = (
    "The deployment window overlaps the freeze “Year-end freeze” "
    "(all products, 2025-03-19 00:00 – 2025-03-21 18:30 UTC)."
)
PEAK_REASON = (
    "The deployment window overlaps the freeze “Peak season” "
    "(Payments API, 2025-03-20 08:05 – 2025-03-20 12:00 UTC)."
)
HOTFIX_HINT = " A hotfix may go ahead once an emergency reason is recorded."


# --- ready for sign-off (SPEC §2) ---------------------------------------------------


def policy(**fields) -> ApprovalPolicy:
    values = {"required_checks": ["unit-tests", "security-scan"], "max_rehearsal_age_days": 30}
    values.update(fields)
    return ApprovalPolicy(product=PAYMENTS, **values)


PASSING = [check("unit-tests", "pass"), check("security-scan", "pass")]

READINESS = [
    pytest.param(
        {"current": None},
        ["The RAD has no revision yet."],
        id="a release without a RAD revision is not ready, whatever else holds",
    ),
    pytest.param({}, [], id="passing checks, no severe defect and a fresh rehearsal: ready"),
    pytest.param(
        {"checks": [check("unit-tests", "pass")]},
        ["Gate check “security-scan” has not been reported."],
        id="a required check not reported stops it",
    ),
    pytest.param(
        {"current": revision(defects=[defect("Double charge", "critical")])},
        ["Open critical defect: Double charge."],
        id="an open critical defect stops it",
    ),
    pytest.param(
        {
            "current": revision(defects=[defect("Double charge", "critical")]),
            "policy": policy(block_open_critical_defects=False),
        },
        [],
        id="unless the policy lets open critical defects through",
    ),
    pytest.param(
        {"current": revision(rehearsed_on="2025-01-01")},
        ["The rollback was last rehearsed 72 days ago; the policy allows 30."],
        id="a stale rehearsal stops it",
    ),
    pytest.param(
        {
            "current": revision(rehearsed_on="2025-01-01"),
            "policy": policy(max_rehearsal_age_days=90),
        },
        [],
        id="the rehearsal age comes from the policy",
    ),
    pytest.param(
        {"freezes": [YEAR_END]},
        [YEAR_END_REASON],
        id="a freeze over the window stops it",
    ),
    pytest.param(
        {
            "checks": [check("unit-tests", "fail")],
            "current": revision(defects=[defect("Outage", "blocker")], rehearsed_on=None),
            "freezes": [YEAR_END],
        },
        [
            "Gate check “unit-tests” is fail.",
            "Gate check “security-scan” has not been reported.",
            "Open blocker defect: Outage.",
            "The rollback plan has never been rehearsed.",
            YEAR_END_REASON,
        ],
        id="every reason is listed: checks, defects, rehearsal, freezes",
    ),
]


@pytest.mark.parametrize(("changes", "reasons"), READINESS)
def test_readiness_reasons(changes, reasons):
    arguments = {
        "release": release(),
        "current": revision(),
        "checks": PASSING,
        "policy": policy(),
        "freezes": [],
        "today": TODAY,
    }
    arguments.update(changes)
    assert rules.readiness_reasons(**arguments) == reasons


CHECKS = [
    pytest.param([], [], [], id="no check required: nothing to wait for"),
    pytest.param(["unit-tests"], PASSING, [], id="a required check that passes"),
    pytest.param(
        ["unit-tests"],
        [],
        ["Gate check “unit-tests” has not been reported."],
        id="a required check never reported",
    ),
    pytest.param(
        ["unit-tests"],
        [check("unit-tests", "fail")],
        ["Gate check “unit-tests” is fail."],
        id="a required check that fails",
    ),
    pytest.param(
        ["unit-tests"],
        [check("unit-tests", "pending")],
        ["Gate check “unit-tests” is pending."],
        id="a required check still pending",
    ),
    pytest.param(
        [],
        [check("lint", "fail")],
        [],
        id="a failing check the policy does not require is ignored",
    ),
    pytest.param(
        ["security-scan", "unit-tests"],
        [check("unit-tests", "fail"), check("security-scan", "pending")],
        ["Gate check “security-scan” is pending.", "Gate check “unit-tests” is fail."],
        id="in the order the policy names them",
    ),
]


@pytest.mark.parametrize(("required", "checks", "reasons"), CHECKS)
def test_check_reasons(required, checks, reasons):
    assert rules.check_reasons(checks=checks, required=required) == reasons


DEFECTS = [
    pytest.param(defect("Outage", "blocker"), ["Open blocker defect: Outage."], id="open blocker"),
    pytest.param(
        defect("Double charge", "critical"),
        ["Open critical defect: Double charge."],
        id="open critical",
    ),
    pytest.param(
        defect("Outage", "blocker", "in_progress"),
        ["Open blocker defect: Outage."],
        id="a blocker in progress is still open",
    ),
    pytest.param(defect("Outage", "blocker", "fixed"), [], id="a fixed blocker"),
    pytest.param(defect("Outage", "critical", "deferred"), [], id="a deferred critical"),
    pytest.param(defect("Typo", "major"), [], id="an open major defect does not stop it"),
    pytest.param(defect("Typo", "minor"), [], id="an open minor defect does not stop it"),
]


@pytest.mark.parametrize(("one", "reasons"), DEFECTS)
def test_only_open_blocker_and_critical_defects_stop_the_release(one, reasons):
    assert rules.defect_reasons([one]) == reasons


def test_each_severe_defect_is_its_own_reason():
    defects = [defect("Outage", "blocker"), defect("Typo", "minor"), defect("Leak", "critical")]
    assert rules.defect_reasons(defects) == [
        "Open blocker defect: Outage.",
        "Open critical defect: Leak.",
    ]


REHEARSALS = [
    pytest.param(None, ["The rollback plan has never been rehearsed."], id="never rehearsed"),
    pytest.param("", ["The rollback plan has never been rehearsed."], id="no date given"),
    pytest.param("2025-03-14", [], id="rehearsed today"),
    pytest.param("2025-02-12", [], id="rehearsed exactly the allowed 30 days ago"),
    pytest.param(
        "2025-02-11",
        ["The rollback was last rehearsed 31 days ago; the policy allows 30."],
        id="rehearsed one day too long ago",
    ),
]


@pytest.mark.parametrize(("rehearsed_on", "reasons"), REHEARSALS)
def test_the_rollback_must_have_been_rehearsed_recently(rehearsed_on, reasons):
    assert (
        rules.rehearsal_reasons(rehearsed_on=rehearsed_on, max_age_days=30, today=TODAY) == reasons
    )


# --- which activities need a signature, and when -------------------------------------

REQUIRED = [
    pytest.param(release(), SCOPE, True, id="a normal release needs every activity"),
    pytest.param(release(), GO, True, id="a normal release needs the Go/no-go decision"),
    pytest.param(hotfix(), GO, True, id="a hotfix needs the Go/no-go decision"),
    pytest.param(hotfix(), SCOPE, False, id="a hotfix needs no other activity"),
]


@pytest.mark.parametrize(("the_release", "the_activity", "required"), REQUIRED)
def test_is_required(the_release, the_activity, required):
    assert rules.is_required(the_release, the_activity) is required


SIGNABLE = [
    pytest.param(Status.IN_REVIEW, SCOPE, True, id="in review every activity is signed"),
    pytest.param(Status.IN_REVIEW, GO, True, id="in review the Go/no-go too"),
    pytest.param(Status.HALTED, GO, True, id="halted, the Go/no-go is signed again to resume"),
    pytest.param(Status.HALTED, SCOPE, False, id="halted, no other activity"),
    *[
        pytest.param(status, activity, False, id=f"{status}: {activity.name} is not signed")
        for status in Status.values
        if status not in (Status.IN_REVIEW, Status.HALTED)
        for activity in (SCOPE, GO)
    ],
]


@pytest.mark.parametrize(("status", "the_activity", "signable"), SIGNABLE)
def test_signable_status(status, the_activity, signable):
    assert rules.signable_status(release(status=status), the_activity) is signable


MEANINGS = [
    pytest.param(
        "approve", "I approve Business scope for Payments API 2.4.0, RAD revision 3", id="approve"
    ),
    pytest.param(
        "reject", "I reject Business scope for Payments API 2.4.0, RAD revision 3", id="reject"
    ),
]


@pytest.mark.parametrize(("decision", "meaning"), MEANINGS)
def test_the_meaning_names_decision_activity_release_and_revision(decision, meaning):
    text = rules.meaning_text(
        decision=decision, activity=SCOPE, release=release(), revision_number=3
    )
    assert text == meaning


# --- separation of duties (SPEC §4) ----------------------------------------------------


def verdict(user, **changes) -> tuple[bool, str, bool]:
    """The verdict for `user` signing Business scope, whose Accountable is Pat Owner."""
    arguments = {
        "user": user,
        "release": release(),
        "activity": SCOPE,
        "accountable": PO,
        "responsible_ids": {DEV.pk},
        "current": revision(number=2, author=DEV),
        "ready_reasons": [],
    }
    arguments.update(changes)
    result = rules.signoff_verdict(**arguments)
    return result.allowed, result.why, result.forbidden


def test_the_accountable_may_approve_when_ready():
    assert verdict(PO) == (True, "You can approve Business scope: you are its Accountable.", False)


@pytest.mark.parametrize(
    ("user", "accountable", "why"),
    [
        pytest.param(
            PO, None, "Business scope has no Accountable yet.", id="an activity without an A"
        ),
        pytest.param(
            DEV,
            PO,
            "You cannot approve Business scope: its Accountable is Pat Owner.",
            id="someone else",
        ),
        pytest.param(
            PO,
            QA,
            "You cannot approve Business scope: its Accountable is qa.",
            id="the A without a full name is named by username",
        ),
    ],
)
def test_only_the_accountable_may_sign(user, accountable, why):
    assert verdict(user, accountable=accountable) == (False, why, True)


def test_the_submitter_of_the_revision_cannot_sign():
    assert verdict(PO, release=release(submitted_by_id=PO.pk)) == (
        False,
        "You cannot approve Business scope: you submitted revision 2.",
        False,
    )


@pytest.mark.parametrize("status", [Status.IN_REVIEW, Status.HALTED])
def test_the_author_of_the_revision_cannot_sign(status):
    # dev submitted; the Accountable wrote the revision being signed.
    assert verdict(PO, release=release(status=status), current=revision(number=2, author=PO)) == (
        False,
        "You cannot approve Business scope: you wrote revision 2.",
        False,
    )


@pytest.mark.parametrize("responsible_ids", [{PO.pk}, {DEV.pk, PO.pk}])
def test_the_responsible_cannot_sign(responsible_ids):
    assert verdict(PO, responsible_ids=responsible_ids) == (
        False,
        "You cannot approve Business scope: you are Responsible for it.",
        False,
    )


ORDER = [
    pytest.param(
        {"accountable": None, "current": None},
        "Business scope has no Accountable yet.",
        id="no Accountable before no revision",
    ),
    pytest.param(
        {"current": None, "release": release(submitted_by_id=PO.pk)},
        "You cannot approve Business scope: the RAD has no revision yet.",
        id="no revision before the submitter",
    ),
    pytest.param(
        {"release": release(submitted_by_id=PO.pk), "current": revision(number=2, author=PO)},
        "You cannot approve Business scope: you submitted revision 2.",
        id="the submitter before the author",
    ),
    pytest.param(
        {"current": revision(number=2, author=PO), "responsible_ids": {PO.pk}},
        "You cannot approve Business scope: you wrote revision 2.",
        id="the author before the Responsible",
    ),
    pytest.param(
        {"responsible_ids": {PO.pk}, "release": hotfix()},
        "You cannot approve Business scope: you are Responsible for it.",
        id="the Responsible before the hotfix rule",
    ),
    pytest.param(
        {"release": hotfix(status=Status.APPROVED)},
        "Business scope needs no sign-off on a hotfix; only the Go/no-go decision does.",
        id="the hotfix rule before the state",
    ),
    pytest.param(
        {"release": release(status=Status.APPROVED), "ready_reasons": ["Not ready."]},
        "You cannot approve Business scope while the release is approved.",
        id="the state before readiness",
    ),
]


@pytest.mark.parametrize(("changes", "why"), ORDER)
def test_refusals_come_in_the_order_a_signer_reads_them(changes, why):
    allowed, text, _ = verdict(PO, **changes)
    assert (allowed, text) == (False, why)


ELIGIBILITY = [
    pytest.param(
        {"current": None},
        (False, "You cannot approve Business scope: the RAD has no revision yet.", False),
        id="nothing to sign without a revision",
    ),
    pytest.param(
        {"release": hotfix()},
        (
            False,
            "Business scope needs no sign-off on a hotfix; only the Go/no-go decision does.",
            False,
        ),
        id="a hotfix's other activities need no signature",
    ),
    pytest.param(
        {"release": hotfix(), "activity": GO},
        (True, "You can approve Go/no-go decision: you are its Accountable.", False),
        id="a hotfix's Go/no-go is signed",
    ),
    *[
        pytest.param(
            {"release": release(status=status)},
            (
                False,
                f"You cannot approve Business scope while the release is {label.lower()}.",
                False,
            ),
            id=f"nothing is signed while {status}",
        )
        for status, label in Status.choices
        if status not in (Status.IN_REVIEW, Status.HALTED)
    ],
    pytest.param(
        {"release": release(status=Status.HALTED)},
        (False, "You cannot approve Business scope while the release is halted.", False),
        id="halted, only the Go/no-go is signed",
    ),
    pytest.param(
        {"release": release(status=Status.HALTED), "activity": GO},
        (True, "You can approve Go/no-go decision: you are its Accountable.", False),
        id="halted, the Go/no-go is signed to resume",
    ),
    pytest.param(
        {"ready_reasons": ["Gate check “unit-tests” is fail."]},
        (
            True,
            "You are the Accountable for Business scope. You can reject now; approval waits "
            "until the release is ready for sign-off.",
            False,
        ),
        id="not ready: the Accountable may still reject",
    ),
]


@pytest.mark.parametrize(("changes", "expected"), ELIGIBILITY)
def test_eligibility_follows_the_release(changes, expected):
    assert verdict(PO, **changes) == expected


DECISIONS = [
    pytest.param("approve", Status.IN_REVIEW, [], 2, "", id="ready: an approval lands"),
    pytest.param("reject", Status.IN_REVIEW, ["x"], 2, "", id="a rejection need not wait"),
    pytest.param(
        "approve",
        Status.IN_REVIEW,
        ["Gate check “unit-tests” is fail.", "Open blocker defect: Outage."],
        2,
        "Not ready for sign-off: Gate check “unit-tests” is fail. Open blocker defect: Outage.",
        id="not ready: an approval waits",
    ),
    pytest.param(
        "approve",
        Status.IN_REVIEW,
        [],
        1,
        "The RAD changed to revision 2 after you opened revision 1. "
        "Read what changed, then sign again.",
        id="a signature on a stale revision",
    ),
    pytest.param(
        "reject",
        Status.IN_REVIEW,
        [],
        1,
        "The RAD changed to revision 2 after you opened revision 1. "
        "Read what changed, then sign again.",
        id="a rejection of a stale revision",
    ),
    pytest.param(
        "approve",
        Status.IN_REVIEW,
        ["Not ready."],
        1,
        "The RAD changed to revision 2 after you opened revision 1. "
        "Read what changed, then sign again.",
        id="in review, staleness before readiness",
    ),
    pytest.param("approve", Status.HALTED, [], 2, "", id="halted and ready: the Go/no-go resumes"),
    pytest.param(
        "approve",
        Status.HALTED,
        ["Not ready."],
        1,
        "Not ready for sign-off: Not ready.",
        id="halted, readiness before staleness",
    ),
    pytest.param(
        "reject",
        Status.HALTED,
        [],
        1,
        "A halted release is revised, not rejected.",
        id="a halted release is not rejected",
    ),
]


@pytest.mark.parametrize(("decision", "status", "ready", "opened", "refusal"), DECISIONS)
def test_decision_refusal(decision, status, ready, opened, refusal):
    assert (
        rules.decision_refusal(
            decision=decision,
            status=status,
            ready_reasons=ready,
            revision_number=opened,
            current_number=2,
        )
        == refusal
    )


# --- may it deploy now (SPEC §7) --------------------------------------------------------

INSIDE = WINDOW_START + timedelta(minutes=30)

DEPLOY = [
    pytest.param({}, INSIDE, [], [], id="approved, inside its window, no freeze: it may deploy"),
    pytest.param({}, WINDOW_START, [], [], id="the window is open from its first instant"),
    pytest.param(
        {},
        WINDOW_START - timedelta(microseconds=1),
        [],
        ["The deployment window opens at 2025-03-20T09:00:00+00:00."],
        id="a window not yet open stops it",
    ),
    pytest.param(
        {},
        WINDOW_END - timedelta(microseconds=1),
        [],
        [],
        id="the window is open until its last instant",
    ),
    pytest.param(
        {},
        WINDOW_END,
        [],
        ["The deployment window closed at 2025-03-20T11:00:00+00:00."],
        id="a window that has closed stops it",
    ),
    pytest.param(
        {},
        WINDOW_END + timedelta(days=3),
        [],
        ["The deployment window closed at 2025-03-20T11:00:00+00:00."],
        id="a window closed days ago stops it",
    ),
    pytest.param(
        {"status": Status.HALTED, "status_reason": "Card network outage"},
        INSIDE,
        [],
        ["The release is halted: Card network outage."],
        id="a halted release says why",
    ),
    pytest.param(
        {"status": Status.HALTED, "status_reason": ""},
        INSIDE,
        [],
        ["The release is halted: no reason given."],
        id="a halted release without a reason",
    ),
    *[
        pytest.param(
            {"status": status},
            INSIDE,
            [],
            [f"The release is {label.lower()}, not approved."],
            id=f"a release {status} may not deploy",
        )
        for status, label in Status.choices
        if status not in (Status.APPROVED, Status.HALTED)
    ],
    pytest.param(
        {},
        INSIDE,
        [PEAK],
        [PEAK_REASON],
        id="a freeze in force stops it",
    ),
    pytest.param(
        {"status": Status.HALTED, "status_reason": "Outage"},
        WINDOW_END,
        [YEAR_END],
        [
            "The release is halted: Outage.",
            "The deployment window closed at 2025-03-20T11:00:00+00:00.",
            YEAR_END_REASON,
        ],
        id="every reason is listed: state, window, freezes",
    ),
]


@pytest.mark.parametrize(("changes", "now", "freezes", "reasons"), DEPLOY)
def test_deploy_reasons(changes, now, freezes, reasons):
    fields = {"status": Status.APPROVED, **changes}
    assert rules.deploy_reasons(release=release(**fields), now=now, freezes=freezes) == reasons


def test_a_deploy_check_looks_at_the_one_instant_it_is_asked():
    now = datetime(2025, 3, 20, 10, 0, tzinfo=UTC)
    assert rules.deploy_instant(now) == (now, datetime(2025, 3, 20, 10, 0, 0, 1, tzinfo=UTC))


FREEZES = [
    pytest.param(release(), [], [], id="no freeze: nothing to say"),
    pytest.param(release(), [YEAR_END], [YEAR_END_REASON], id="a freeze of all products"),
    pytest.param(release(), [PEAK], [PEAK_REASON], id="a freeze of this product names it"),
    pytest.param(
        release(), [YEAR_END, PEAK], [YEAR_END_REASON, PEAK_REASON], id="each freeze is a reason"
    ),
    pytest.param(
        release(freeze_override_reason="Card payments failing"),
        [YEAR_END],
        [YEAR_END_REASON],
        id="a normal release never deploys in a freeze, emergency or not",
    ),
    pytest.param(
        hotfix(),
        [YEAR_END, PEAK],
        [YEAR_END_REASON + HOTFIX_HINT, PEAK_REASON + HOTFIX_HINT],
        id="a hotfix is told how to go ahead",
    ),
    pytest.param(
        hotfix(freeze_override_reason="Card payments failing"),
        [YEAR_END, PEAK],
        [],
        id="a hotfix with an emergency reason goes ahead",
    ),
]


@pytest.mark.parametrize(("the_release", "freezes", "reasons"), FREEZES)
def test_freeze_reasons(the_release, freezes, reasons):
    assert rules.freeze_reasons(release=the_release, freezes=freezes) == reasons


def test_a_freeze_of_another_product_is_named_for_it():
    other = freeze("Ledger migration", product=LEDGER)
    [reason] = rules.freeze_reasons(release=release(), freezes=[other])
    assert "(Ledger, 2025-03-19 00:00 – 2025-03-21 18:30 UTC)" in reason


# --- through the service: a refusal is logged and nothing is signed -----------------


@pytest.mark.django_db
def test_the_accountable_who_wrote_the_revision_is_refused_and_the_refusal_logged():
    team = build_team()
    start = timezone.now() + timedelta(days=2)
    the_release = services.release_create(
        product=team["product"],
        version="2.4.0",
        title="SEPA Instant",
        release_type="normal",
        window_start=start,
        window_end=start + timedelta(hours=2),
        actor=team["rm"],
    )
    # po, the Accountable of Business scope, writes the RAD; dev submits it.
    services.rad_revise(release=the_release, content=complete_rad(), actor=team["po"])
    services.release_submit(release=the_release, actor=team["dev"])
    with pytest.raises(services.SignOffRefused) as refused:
        services.signoff_record(
            release=the_release,
            activity_id=activity(the_release, "Business scope").pk,
            signer=team["po"],
            decision="approve",
            comment="",
            password=PASSWORD_FACTORY,
            revision_number=1,
        )
    assert str(refused.value) == "You cannot approve Business scope: you wrote revision 1."
    assert not refused.value.forbidden
    assert not SignOff.objects.exists()
    [entry] = ChangeLogEntry.objects.filter(action=Action.SIGNOFF_REFUSED)
    assert (entry.actor, entry.release_id, entry.reason) == (
        team["po"],
        the_release.pk,
        "You cannot approve Business scope: you wrote revision 1.",
    )
