"""The approval rules (approvals/rules.py), branch by branch, from tables.

The rules are pure functions: every case here feeds them unsaved model
instances and reads the sentence a user would see. Only the last test goes
through the sign-off service and the database, to show a refusal is logged.

`make mutate` breaks the rules, the lifecycle, the permissions and the change
log's chain one change at a time; these tests, tests/test_lifecycle.py,
tests/test_permissions.py and tests/test_chain.py kill every mutant except
these, which change nothing a user or an auditor could notice:

- raci.permissions releases_visible_to 13, 14, 15: dropping `use_groups=True`,
  `with_superuser=True` or `accept_global_perms=True` leaves guardian's default,
  which is the same value (passed anyway, as the house style asks).
- raci.permissions release_perms_for 8, 9, 11: splitting "app_label.codename"
  at every dot, at the last one or at the first two gives the same codename,
  and codenames have no dot.
- audit.chain entry_hash 6, entry_mac 9 and 11, _json_entries 3, 19 and 34,
  _csv_entries 6, verify_export_file 6: a codec or digest name in upper case
  ("UTF-8", "ASCII", "SHA256") names the same codec or digest.
- audit.chain _json_entries 1, 17 and 32, verify_export_file 4: `encoding=None`
  reads the locale's encoding, UTF-8 wherever Relapp runs (tests included).
- audit.chain canonical_json 4: `ensure_ascii=None` is as false as False.
- audit.chain ChainVerifier.feed 14 and 15: `seq > expected` becomes
  `seq >= expected` where seq != expected already holds; feed 35: `linked =
  None` is as false as False.
- audit.chain csv_cell 4: `str(value)` of a str is the value itself.
- audit.chain _json_entries 15: the header line keeps its newline before
  "]}", which JSON allows; 23, 25, 26: other characters stripped from the end
  of an entry line never end one Relapp writes.
- audit.chain verify_export_file 39: the first entry is fed with its own seq
  as the expected one, so not checking it is the same.
- audit.chain ChainVerifier._mac_problem 13 and 33: a missing key id or MAC
  replaced by another string that is not a key id or a MAC either.
"""

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from approvals import rules, services
from approvals.lifecycle import ReleaseType, Status
from approvals.models import ApprovalPolicy, FreezeWindow, GateCheck, Product, Release, SignOff
from approvals.rules import Refusal
from audit.models import Action
from raci.models import Activity
from tests.factories import complete_rad
from tests.helpers import entries, sign

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


def suite(name, passed, failed, skipped=0) -> dict:
    return {"name": name, "passed": passed, "failed": failed, "skipped": skipped, "link": ""}


def defect(title, severity, state="open") -> dict:
    return {"title": title, "severity": severity, "state": state, "link": ""}


def revision(*, number=1, author=DEV, defects=(), rehearsed_on="2025-03-09", suites=(), **marks):
    content = {
        "test_suites": list(suites),
        "defects": list(defects),
        "rollback": {"rehearsed_on": rehearsed_on},
        **marks,
    }
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


# --- ready for sign-off (docs/lifecycle.md) -----------------------------------------


def policy(**fields) -> ApprovalPolicy:
    values = {"required_checks": ["unit-tests", "security-scan"], "max_rehearsal_age_days": 30}
    values.update(fields)
    return ApprovalPolicy(product=PAYMENTS, **values)


PASSING = [check("unit-tests", "pass"), check("security-scan", "pass")]
R = Refusal

READINESS = [
    pytest.param(
        {"current": None},
        [R("rad_missing", "The RAD has no revision yet.")],
        id="a release without a RAD revision is not ready, whatever else holds",
    ),
    pytest.param({}, [], id="passing checks, no severe defect and a fresh rehearsal: ready"),
    pytest.param(
        {"checks": [check("unit-tests", "pass")]},
        [R("check_missing", "Gate check “security-scan” has not been reported.")],
        id="a required check not reported stops it",
    ),
    pytest.param(
        {"current": revision(defects=[defect("Double charge", "critical")])},
        [R("defect_open", "Open critical defect: Double charge.")],
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
        [
            R(
                "rehearsal_stale",
                "The rollback was last rehearsed 72 days ago; the policy allows 30.",
            )
        ],
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
        {"current": revision(suites=[suite("Unit", 9, 1)]), "policy": policy(min_pass_rate=95)},
        [R("quality_below_policy", "All suites: 90.0 % passed, policy needs 95.0 %.")],
        id="test results below the policy stop it",
    ),
    pytest.param(
        {"freezes": [YEAR_END]},
        [R("frozen", YEAR_END_REASON)],
        id="a freeze over the window stops it",
    ),
    pytest.param(
        {
            "checks": [check("unit-tests", "fail")],
            "current": revision(
                defects=[defect("Outage", "blocker")], rehearsed_on=None, security_blocking=True
            ),
            "freezes": [YEAR_END],
        },
        [
            R("check_failing", "Gate check “unit-tests” is fail."),
            R("check_missing", "Gate check “security-scan” has not been reported."),
            R("defect_open", "Open blocker defect: Outage."),
            R("rehearsal_missing", "The rollback plan has never been rehearsed."),
            R("quality_below_policy", "Security findings are marked blocking."),
            R("frozen", YEAR_END_REASON),
        ],
        id="every reason is listed: checks, defects, rehearsal, quality, freezes",
    ),
]


@pytest.mark.parametrize(("changes", "refusals"), READINESS)
def test_readiness(changes, refusals):
    arguments = {
        "release": release(),
        "current": revision(),
        "checks": PASSING,
        "policy": policy(),
        "freezes": [],
        "today": TODAY,
    }
    arguments.update(changes)
    assert rules.readiness_refusals(**arguments) == refusals
    assert rules.readiness_reasons(**arguments) == [r.message for r in refusals]


CHECKS = [
    pytest.param([], [], [], id="no check required: nothing to wait for"),
    pytest.param(["unit-tests"], PASSING, [], id="a required check that passes"),
    pytest.param(
        ["unit-tests"],
        [],
        [R("check_missing", "Gate check “unit-tests” has not been reported.")],
        id="a required check never reported",
    ),
    pytest.param(
        ["unit-tests"],
        [check("unit-tests", "fail")],
        [R("check_failing", "Gate check “unit-tests” is fail.")],
        id="a required check that fails",
    ),
    pytest.param(
        ["unit-tests"],
        [check("unit-tests", "pending")],
        [R("check_failing", "Gate check “unit-tests” is pending.")],
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
        [
            R("check_failing", "Gate check “security-scan” is pending."),
            R("check_failing", "Gate check “unit-tests” is fail."),
        ],
        id="in the order the policy names them",
    ),
]


@pytest.mark.parametrize(("required", "checks", "refusals"), CHECKS)
def test_required_gate_checks_must_pass(required, checks, refusals):
    assert rules.check_refusals(checks=checks, required=required) == refusals


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
    pytest.param(
        None,
        [R("rehearsal_missing", "The rollback plan has never been rehearsed.")],
        id="never rehearsed",
    ),
    pytest.param(
        "",
        [R("rehearsal_missing", "The rollback plan has never been rehearsed.")],
        id="no date given",
    ),
    pytest.param("2025-03-14", [], id="rehearsed today"),
    pytest.param("2025-02-12", [], id="rehearsed exactly the allowed 30 days ago"),
    pytest.param(
        "2025-02-11",
        [
            R(
                "rehearsal_stale",
                "The rollback was last rehearsed 31 days ago; the policy allows 30.",
            )
        ],
        id="rehearsed one day too long ago",
    ),
]


@pytest.mark.parametrize(("rehearsed_on", "refusals"), REHEARSALS)
def test_the_rollback_must_have_been_rehearsed_recently(rehearsed_on, refusals):
    arguments = {"rehearsed_on": rehearsed_on, "max_age_days": 30, "today": TODAY}
    assert rules.rehearsal_refusals(**arguments) == refusals


# --- test results against the policy's thresholds -------------------------------------


PASS_RATES = [
    pytest.param(suite("Unit", 9, 1), 90.0, id="passed over passed and failed"),
    pytest.param(suite("Unit", 3, 0, skipped=7), 100.0, id="skipped tests do not count"),
    pytest.param(suite("Unit", 0, 4), 0.0, id="all failed"),
    pytest.param(suite("Unit", 0, 0, skipped=5), None, id="nothing ran: no rate at all"),
]


@pytest.mark.parametrize(("one", "rate"), PASS_RATES)
def test_the_pass_rate_of_a_suite(one, rate):
    assert rules.pass_rate(one) == rate


QUALITY = [
    pytest.param(
        [suite("Unit", 99, 1)],
        {},
        {},
        [],
        id="no threshold in the policy: nothing to say",
    ),
    pytest.param(
        [suite("Unit", 95, 5)],
        {"min_pass_rate": 95},
        {},
        [],
        id="exactly the minimum pass rate is enough",
    ),
    pytest.param(
        [suite("Unit", 180, 10), suite("E2E", 9, 1)],
        {"min_pass_rate": "95.5"},
        {},
        ["All suites: 94.5 % passed, policy needs 95.5 %."],
        id="the minimum applies to all suites together",
    ),
    pytest.param(
        [suite("Unit", 0, 0, skipped=3)],
        {"min_pass_rate": 95},
        {},
        [],
        id="suites that ran nothing have no overall rate",
    ),
    pytest.param(
        [],
        {"min_pass_rate": 95},
        {},
        [],
        id="no suites: the overall minimum has nothing to measure",
    ),
    pytest.param(
        [suite("Unit", 10, 0), suite("E2E", 9, 1)],
        {"suite_min_pass_rates": {"E2E": 100, "Unit": 100}},
        {},
        ["E2E: 90.0 % passed, policy needs 100.0 %."],
        id="a suite below its own minimum",
    ),
    pytest.param(
        [suite("E2E", 9, 1)],
        {"suite_min_pass_rates": {"E2E": 90}},
        {},
        [],
        id="a suite exactly at its own minimum",
    ),
    pytest.param(
        [suite("E2E", 0, 0)],
        {"suite_min_pass_rates": {"Unit": 80, "E2E": 100}},
        {},
        [
            "E2E: no results in the RAD; policy needs 100.0 %.",
            "Unit: no results in the RAD; policy needs 80.0 %.",
        ],
        id="a suite missing or empty, in name order",
    ),
    pytest.param(
        [suite("Payments", 120, 0), suite("E2E", 40, 2)],
        {"zero_failure_suites": ["Payments", "E2E", "Smoke"]},
        {},
        [
            "E2E: 2 failed, policy allows none.",
            "Smoke: no results in the RAD; policy needs it with no failures.",
        ],
        id="suites that must not fail at all",
    ),
    pytest.param(
        [],
        {},
        {"performance_blocking": True, "security_blocking": True},
        ["Performance findings are marked blocking.", "Security findings are marked blocking."],
        id="findings the RAD marks blocking",
    ),
    pytest.param(
        [],
        {"block_marked_findings": False},
        {"performance_blocking": True, "security_blocking": True},
        [],
        id="unless the policy lets marked findings through",
    ),
    pytest.param(
        [],
        {},
        {"security_blocking": True},
        ["Security findings are marked blocking."],
        id="each marked finding on its own",
    ),
]


@pytest.mark.parametrize(("suites", "thresholds", "marks", "reasons"), QUALITY)
def test_test_results_against_the_policy(suites, thresholds, marks, reasons):
    content = {"test_suites": suites, **marks}
    assert rules.quality_reasons(content=content, policy=policy(**thresholds)) == reasons


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


SET = "c" * 64

MEANINGS = [
    pytest.param(
        "approve",
        "",
        "I approve Business scope for Payments API 2.4.0, RAD revision 3",
        id="approve",
    ),
    pytest.param(
        "reject",
        "",
        "I reject Business scope for Payments API 2.4.0, RAD revision 3",
        id="reject",
    ),
    pytest.param(
        "approve",
        SET,
        f"I approve Business scope for Payments API 2.4.0, RAD revision 3, artifact set sha256:{SET}",
        id="an approval names the artifact set it covers",
    ),
]


@pytest.mark.parametrize(("decision", "artifacts", "meaning"), MEANINGS)
def test_the_meaning_names_decision_activity_release_revision_and_artifacts(
    decision, artifacts, meaning
):
    text = rules.meaning_text(
        decision=decision,
        activity=SCOPE,
        release=release(),
        revision_number=3,
        artifacts_sha256=artifacts,
    )
    assert text == meaning


def test_without_artifacts_the_meaning_names_none():
    text = rules.meaning_text(
        decision="approve", activity=SCOPE, release=release(), revision_number=1
    )
    assert text == "I approve Business scope for Payments API 2.4.0, RAD revision 1"


# --- separation of duties (docs/permissions.md) ------------------------------------------


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


@pytest.mark.parametrize(
    "responsible_ids", [{PO.pk}, {DEV.pk, PO.pk}], ids=["the only R", "one R of several"]
)
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
    pytest.param(
        "approve",
        Status.HALTED,
        ["Gate check “unit-tests” is fail.", "Open blocker defect: Outage."],
        2,
        "Not ready for sign-off: Gate check “unit-tests” is fail. Open blocker defect: Outage.",
        id="halted and not ready: every reason is given",
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


# --- approvals that count (docs/lifecycle.md) --------------------------------------------

SIGNED = datetime(2025, 3, 20, 8, 0, tzinfo=UTC)


def signoff(**fields) -> SignOff:
    values = {
        "decision": "approve",
        "method": "e-signature",
        "verbal_state": "",
        "signed_at": SIGNED,
        "voided_at": None,
    }
    values.update(fields)
    return SignOff(**values)


def verbal(state="pending", **fields) -> SignOff:
    return signoff(method="verbal", verbal_state=state, **fields)


COUNTS = [
    pytest.param(signoff(), release(), SCOPE, 0, SIGNED, True, id="an e-signed approval counts"),
    pytest.param(
        signoff(decision="reject"), release(), SCOPE, 0, SIGNED, False, id="a rejection does not"
    ),
    pytest.param(
        signoff(voided_at=SIGNED), release(), SCOPE, 0, SIGNED, False, id="a void one does not"
    ),
    pytest.param(
        verbal("confirmed"), release(), SCOPE, 0, SIGNED, True, id="a confirmed verbal counts"
    ),
    pytest.param(
        verbal("confirmed", voided_at=SIGNED),
        release(),
        SCOPE,
        0,
        SIGNED,
        False,
        id="a confirmed verbal that was voided does not",
    ),
    pytest.param(
        verbal(), release(), GO, 4, SIGNED, False, id="a pending verbal on a normal release"
    ),
    pytest.param(
        verbal(), hotfix(), GO, 4, SIGNED, True, id="a hotfix's pending verbal Go/no-go, in grace"
    ),
    pytest.param(
        verbal(),
        hotfix(),
        GO,
        4,
        SIGNED + timedelta(hours=4) - timedelta(microseconds=1),
        True,
        id="until the last instant of the grace hours",
    ),
    pytest.param(
        verbal(),
        hotfix(),
        GO,
        4,
        SIGNED + timedelta(hours=4),
        False,
        id="not once the grace hours are over",
    ),
    pytest.param(
        verbal(), hotfix(), GO, 1, SIGNED + timedelta(minutes=59), True, id="one hour of grace"
    ),
    pytest.param(verbal(), hotfix(), GO, 0, SIGNED, False, id="not when the policy gives no grace"),
    pytest.param(
        verbal(),
        hotfix(),
        GO,
        0,
        SIGNED - timedelta(seconds=2),
        False,
        id="no grace, even if the app's clock lags the database's",
    ),
    pytest.param(
        verbal(), hotfix(), SCOPE, 4, SIGNED, False, id="only the Go/no-go, even on a hotfix"
    ),
    pytest.param(
        verbal("disputed"), hotfix(), GO, 4, SIGNED, False, id="a disputed verbal never counts"
    ),
]


@pytest.mark.parametrize(("one", "the_release", "the_activity", "grace", "now", "counts"), COUNTS)
def test_which_approvals_count(one, the_release, the_activity, grace, now, counts):
    assert (
        rules.counts_toward_approval(
            signoff=one, release=the_release, activity=the_activity, grace_hours=grace, now=now
        )
        is counts
    )


GRACE_EXPIRED = [
    pytest.param(verbal(), 4, SIGNED + timedelta(hours=4), True, id="pending when the grace ends"),
    pytest.param(
        verbal(), 4, SIGNED + timedelta(hours=4, microseconds=-1), False, id="still in grace"
    ),
    pytest.param(verbal(), 1, SIGNED + timedelta(hours=1), True, id="one hour of grace ran out"),
    pytest.param(verbal(), 0, SIGNED + timedelta(days=9), False, id="no grace: nothing expires"),
    pytest.param(verbal("confirmed"), 4, SIGNED + timedelta(days=1), False, id="confirmed in time"),
    pytest.param(verbal(voided_at=SIGNED), 4, SIGNED + timedelta(days=1), False, id="already void"),
]


@pytest.mark.parametrize(("one", "grace", "now", "expired"), GRACE_EXPIRED)
def test_an_unconfirmed_verbal_runs_out_of_grace(one, grace, now, expired):
    assert rules.verbal_grace_expired(signoff=one, grace_hours=grace, now=now) is expired


APPROVED_AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

EXPIRY = [
    pytest.param(None, SIGNED, False, id="not approved: nothing to expire"),
    pytest.param(
        APPROVED_AT, APPROVED_AT + timedelta(days=14), True, id="expired once the days have passed"
    ),
    pytest.param(
        APPROVED_AT,
        APPROVED_AT + timedelta(days=14, microseconds=-1),
        False,
        id="valid up to the last instant",
    ),
]


@pytest.mark.parametrize(("approved_at", "now", "expired"), EXPIRY)
def test_an_approval_is_valid_for_the_policy_s_days(approved_at, now, expired):
    assert rules.approval_expired(approved_at=approved_at, validity_days=14, now=now) is expired


# --- may it deploy now (docs/lifecycle.md, the deploy check) ---------------------------

INSIDE = WINDOW_START + timedelta(minutes=30)
YESTERDAY = INSIDE - timedelta(days=1)
LONG_AGO = INSIDE - timedelta(days=20)  # more than the 14 days an approval lasts
WINDOW_OPENS = R("window_not_open", "The deployment window opens at 2025-03-20T09:00:00+00:00.")
WINDOW_CLOSED = R("window_closed", "The deployment window closed at 2025-03-20T11:00:00+00:00.")

WINDOWS = [
    pytest.param(INSIDE, [], id="inside the window"),
    pytest.param(WINDOW_START, [], id="the window is open from its first instant"),
    pytest.param(WINDOW_START - timedelta(microseconds=1), [WINDOW_OPENS], id="not yet open"),
    pytest.param(WINDOW_END - timedelta(microseconds=1), [], id="open until its last instant"),
    pytest.param(WINDOW_END, [WINDOW_CLOSED], id="a window that has closed stops it"),
    pytest.param(WINDOW_END + timedelta(days=3), [WINDOW_CLOSED], id="closed days ago"),
]


@pytest.mark.parametrize(("now", "refusals"), WINDOWS)
def test_the_deployment_window(now, refusals):
    assert rules.window_refusals(release=release(), now=now) == refusals


IMAGE = "sha256:" + "a" * 64
COMMIT = "b" * 40

ARTIFACTS = [
    pytest.param([IMAGE, COMMIT], "", [], id="no digest asked about: nothing to check"),
    pytest.param([IMAGE, COMMIT], COMMIT, [], id="an approved digest"),
    pytest.param(
        [IMAGE],
        COMMIT,
        [R("artifact_not_approved", f"{COMMIT} is not one of the approved artifacts.")],
        id="a digest the approval does not cover",
    ),
    pytest.param(
        [],
        IMAGE,
        [R("artifact_not_approved", f"{IMAGE} was not approved: the release lists no artifacts.")],
        id="a release without artifacts approves none",
    ),
]


@pytest.mark.parametrize(("approved", "artifact", "refusals"), ARTIFACTS)
def test_only_approved_artifacts_deploy(approved, artifact, refusals):
    assert rules.artifact_refusals(approved_digests=iter(approved), artifact=artifact) == refusals


STALE = R("rehearsal_stale", "The rollback was last rehearsed 31 days ago; the policy allows 30.")
FROZEN = R("frozen", "An older freeze sentence.")

DEPLOY_REFUSALS = [
    pytest.param({}, [], id="approved, valid, in its window, no freeze, ready: it may deploy"),
    pytest.param(
        {"release": release(status=Status.APPROVED, approved_at=None)},
        [],
        id="an approval without a time never expires",
    ),
    pytest.param(
        {
            "release": release(
                status=Status.HALTED, status_reason="Card network outage", approved_at=LONG_AGO
            )
        },
        [R("halted", "The release is halted: Card network outage.")],
        id="a halted release says why",
    ),
    pytest.param(
        {"release": release(status=Status.HALTED, status_reason="")},
        [R("halted", "The release is halted: no reason given.")],
        id="a halted release without a reason",
    ),
    *[
        pytest.param(
            {"release": release(status=status, approved_at=LONG_AGO)},
            [R("not_approved", f"The release is {label.lower()}, not approved.")],
            id=f"a release {status} may not deploy",
        )
        for status, label in Status.choices
        if status not in (Status.APPROVED, Status.HALTED)
    ],
    pytest.param(
        {"release": release(status=Status.APPROVED, approved_at=LONG_AGO)},
        [
            R(
                "approval_expired",
                "The approval expired 14 days after 2025-02-28T09:30:00+00:00; the Go/no-go "
                "Accountable must sign again.",
            )
        ],
        id="an expired approval",
    ),
    pytest.param(
        {
            "release": release(status=Status.APPROVED, approved_at=LONG_AGO),
            "policy": policy(approval_validity_days=30),
        },
        [],
        id="the approval's validity comes from the policy",
    ),
    pytest.param({"now": WINDOW_END}, [WINDOW_CLOSED], id="a window that has closed stops it"),
    pytest.param(
        {"freezes": [PEAK], "readiness": [FROZEN, STALE]},
        [R("frozen", PEAK_REASON), STALE],
        id="freezes in force now, not those the readiness saw over the window",
    ),
    pytest.param(
        {"readiness": [STALE]}, [STALE], id="whatever stops the sign-off stops the deployment"
    ),
    pytest.param(
        {"approved_digests": [IMAGE], "artifact": COMMIT},
        [R("artifact_not_approved", f"{COMMIT} is not one of the approved artifacts.")],
        id="an artifact the approval does not cover",
    ),
    pytest.param(
        {
            "release": release(status=Status.HALTED, status_reason="Outage"),
            "now": WINDOW_END,
            "freezes": [YEAR_END],
            "readiness": [STALE],
            "approved_digests": [],
            "artifact": IMAGE,
        },
        [
            R("halted", "The release is halted: Outage."),
            WINDOW_CLOSED,
            R("frozen", YEAR_END_REASON),
            STALE,
            R(
                "artifact_not_approved",
                f"{IMAGE} was not approved: the release lists no artifacts.",
            ),
        ],
        id="every reason, in order: state, window, freezes, readiness, artifact",
    ),
]


def test_without_a_digest_the_deploy_check_does_not_look_at_artifacts():
    refusals = rules.deploy_refusals(
        release=release(status=Status.APPROVED, approved_at=YESTERDAY),
        now=INSIDE,
        freezes=[],
        readiness=[],
        policy=policy(approval_validity_days=14),
        approved_digests=[],
    )
    assert refusals == []


@pytest.mark.parametrize(("changes", "refusals"), DEPLOY_REFUSALS)
def test_deploy_refusals(changes, refusals):
    arguments = {
        "release": release(status=Status.APPROVED, approved_at=YESTERDAY),
        "now": INSIDE,
        "freezes": [],
        "readiness": [],
        "policy": policy(approval_validity_days=14),
        "approved_digests": [IMAGE, COMMIT],
        "artifact": IMAGE,
    }
    arguments.update(changes)
    assert rules.deploy_refusals(**arguments) == refusals


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
def test_deploy_refusals_state_window_and_freezes(changes, now, freezes, reasons):
    fields = {"status": Status.APPROVED, "approved_at": YESTERDAY, **changes}
    refusals = rules.deploy_refusals(
        release=release(**fields),
        now=now,
        freezes=freezes,
        readiness=[],
        policy=policy(approval_validity_days=14),
        approved_digests=[],
    )
    assert [refusal.message for refusal in refusals] == reasons


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


def test_the_accountable_who_wrote_the_revision_is_refused_and_the_refusal_logged(team):
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
        sign(the_release, team["po"], "Business scope")
    assert str(refused.value) == "You cannot approve Business scope: you wrote revision 1."
    assert not refused.value.forbidden
    assert not SignOff.objects.exists()
    [entry] = entries(Action.SIGNOFF_REFUSED)
    assert (entry.actor, entry.release_id, entry.reason) == (
        team["po"],
        the_release.pk,
        "You cannot approve Business scope: you wrote revision 1.",
    )
