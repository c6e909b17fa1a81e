"""Risk-based routing: a low-risk RAD takes the fast path; a riskier revision brings the
other activities back (and voids signatures like any RAD change)."""

import pytest
from django.urls import reverse

from approvals import selectors, services
from approvals.lifecycle import Status
from approvals.models import ApprovalPolicy, SignOff
from approvals.rules import routing_for
from tests.factories import complete_rad, release_in_review
from tests.helpers import sign

pytestmark = pytest.mark.django_db

FAST = ["Test thresholds", "Go/no-go decision"]
LOW_RISK = [
    {
        "description": "Slow cache warm-up",
        "likelihood": 2,
        "impact": 3,
        "mitigation": "Warm first",
        "owner": "sre",
    }
]
HIGH_RISK = [LOW_RISK[0] | {"likelihood": 3, "impact": 3}]


@pytest.fixture
def fast_policy(team):
    return ApprovalPolicy.objects.create(
        product=team["product"],
        fast_path_enabled=True,
        fast_path_max_risk_score=6,
        fast_path_activities=FAST,
    )


def required_names(release, user) -> list[str]:
    current = services.rad_current(release)
    progress = selectors.release_progress(release=release, user=user, current=current)
    return [r.activity.name for r in progress.rows if r.required]


def test_a_low_risk_rad_needs_only_the_fast_path_activities(team, fast_policy):
    release = release_in_review(team, risks=LOW_RISK)
    assert required_names(release, team["rm"]) == FAST
    sign(release, team["qa"], "Test thresholds")
    sign(release, team["rm"], "Go/no-go decision")
    release.refresh_from_db()
    assert release.status == Status.APPROVED


def test_a_riskier_revision_brings_the_others_back(team, fast_policy):
    release = release_in_review(team, risks=LOW_RISK)
    sign(release, team["qa"], "Test thresholds")
    services.rad_revise(release=release, content=complete_rad(risks=HIGH_RISK), actor=team["dev"])
    release.refresh_from_db()
    assert len(required_names(release, team["rm"])) == 5
    assert SignOff.objects.filter(voided_at__isnull=True).count() == 0  # voided by the change
    sign(release, team["qa"], "Test thresholds")
    sign(release, team["rm"], "Go/no-go decision")
    release.refresh_from_db()
    assert release.status == Status.IN_REVIEW  # the full set is needed again


def test_an_open_major_defect_takes_the_full_path(team, fast_policy):
    defects = [{"title": "Ledger drift", "severity": "major", "link": "", "state": "open"}]
    release = release_in_review(team, risks=LOW_RISK, defects=defects)
    assert len(required_names(release, team["rm"])) == 5


def test_a_non_required_activity_cannot_be_signed_on_the_fast_path(team, fast_policy):
    release = release_in_review(team, risks=LOW_RISK)
    with pytest.raises(services.SignOffRefused) as refused:
        sign(release, team["po"], "Business scope")
    assert "fast path" in str(refused.value)


def test_the_release_page_says_which_rule_applied_and_why(client, team, fast_policy):
    release = release_in_review(team, risks=LOW_RISK)
    client.force_login(team["po"])
    page = client.get(release.get_absolute_url()).content.decode()
    assert "Fast path: no risk scores above 6 and no major defect is open" in page
    risky = release_in_review(team, version="2.5.0", risks=HIGH_RISK)
    page = client.get(risky.get_absolute_url()).content.decode()
    assert "Full approval: a risk scores 9 (likelihood × impact), above 6." in page


@pytest.mark.parametrize(
    ("enabled", "risks", "defects", "fast"),
    [
        (False, LOW_RISK, [], False),
        (True, LOW_RISK, [], True),
        (True, [LOW_RISK[0] | {"likelihood": 2, "impact": 3}], [], True),  # 6 is not above 6
        (True, [LOW_RISK[0] | {"likelihood": 7, "impact": 1}], [], False),
        (True, [], [{"title": "x", "severity": "minor", "state": "open"}], True),
        (True, [], [{"title": "x", "severity": "critical", "state": "fixed"}], True),
        (True, [], [{"title": "x", "severity": "blocker", "state": "in_progress"}], False),
    ],
)
def test_routing_rule_table(enabled, risks, defects, fast):
    policy = ApprovalPolicy(
        fast_path_enabled=enabled, fast_path_max_risk_score=6, fast_path_activities=FAST
    )
    routing = routing_for(content={"risks": risks, "defects": defects}, policy=policy)
    assert routing.fast is fast
    assert routing.activities == (frozenset(FAST) if fast else frozenset())


def test_the_fast_path_is_set_on_the_settings_page(client, team):
    client.force_login(team["rm"])
    url = reverse("approvals:product_policy", args=[team["product"].slug])
    client.post(
        url,
        {
            "max_rehearsal_age_days": "30",
            "hotfix_review_days": "5",
            "reminder_offsets_seconds": "24, 1",
            "signoff_reminder_seconds": "7200",
            "approval_validity_days": "14",
            "hotfix_verbal_grace_hours": "0",
            "fast_path_enabled": "on",
            "fast_path_max_risk_score": "4",
            "fast_path_activities": "Test thresholds\nGo/no-go decision",
            "cutoff_days_before_window": "7",
            "monitoring_tick_hours": "2",
            "operations_activity": "Operational readiness",
        },
    )
    policy = ApprovalPolicy.objects.get(product=team["product"])
    assert policy.fast_path_enabled and policy.fast_path_max_risk_score == 4
    assert policy.fast_path_activities == FAST
