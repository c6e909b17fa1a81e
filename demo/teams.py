"""Demo content for approver teams, delegation and risk-based routing (`seed_demo`): a
team Accountable, an out-of-office delegation in progress and a low-risk release on the
fast path. Idempotent like the rest of the demo."""

import copy
from datetime import timedelta

from django.utils import timezone

from approvals import services
from approvals.lifecycle import Status
from approvals.models import Product, Release
from approvals.selectors import policy_for
from demo.data import base_rad
from raci import services as raci_services
from raci.models import Delegation, Team

TEAM = "SRE on-call"


def seed_teams_and_delegation(*, users: dict) -> list[str]:
    """SRE on-call (sre, qa) as any-one Accountable of Operational readiness on 2.4.0, and
    po away this week with qa signing on behalf of po."""
    rm, created = users["rm"], []
    team = Team.objects.filter(name=TEAM).first()
    if team is None:
        team = raci_services.team_create(name=TEAM, actor=rm)
        for username in ("sre", "qa"):
            raci_services.team_member_add(team=team, user=users[username], actor=rm)
        created.append(f"team {TEAM}")
    review = Release.objects.filter(
        product__slug="payments-api", version="2.4.0", status=Status.IN_REVIEW
    ).first()
    if review is not None:
        readiness = review.activities.filter(name="Operational readiness").first()
        if readiness is not None and readiness.team_id is None:
            services.activity_team_set(
                release=review, actor=rm, activity_id=readiness.pk, team=team, required=1
            )
            created.append(f"{TEAM} Accountable for Operational readiness of 2.4.0")
    now = timezone.now()
    if not Delegation.objects.filter(absent=users["po"], ends_at__gt=now).exists():
        raci_services.delegation_create(
            absent=users["po"],
            delegate=users["qa"],
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=6),
            reason="Holiday",
            actor=rm,
            now=now,
        )
        created.append("po away this week, qa signing on behalf")
    return created


FAST_PATH = ["Test thresholds", "Go/no-go decision"]


def seed_fast_path(*, users: dict) -> list[str]:
    """Payments API's policy routes low-risk RADs down the fast path; 2.4.5 takes it."""
    product = Product.objects.filter(slug="payments-api").first()
    if product is None:
        return []
    created = []
    if not policy_for(product).fast_path_enabled:
        services.policy_update(
            product=product,
            actor=users["rm"],
            values={
                "fast_path_enabled": True,
                "fast_path_max_risk_score": 6,
                "fast_path_activities": FAST_PATH,
            },
        )
        created.append("fast path in the Payments API policy")
    if Release.objects.filter(product=product, version="2.4.5").exists():
        return created
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    release = services.release_create(
        product=product,
        version="2.4.5",
        title="Copy and translation fixes",
        release_type="normal",
        fixes=None,
        window_start=start,
        window_end=start + timedelta(hours=1),
        actor=users["rm"],
    )
    rad = copy.deepcopy(base_rad(timezone.localdate()))
    rad["scope"] = "## What ships\n\n- Clearer refund e-mails in five languages\n"
    rad["risks"] = [
        {
            "description": "A translation reads oddly",
            "likelihood": 2,
            "impact": 1,
            "mitigation": "Native speakers reviewed the strings",
            "owner": "po",
        }
    ]
    rad["defects"] = [d | {"state": "fixed"} for d in rad["defects"]]
    services.rad_revise(release=release, content=rad, actor=users["dev"])
    services.release_submit(release=release, actor=users["dev"])
    created.append("release 2.4.5 on the fast path")
    return created
