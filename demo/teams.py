"""Demo content for approver teams and delegation (`seed_demo`): a team Accountable and
an out-of-office delegation in progress. Idempotent like the rest of the demo."""

from datetime import timedelta

from django.utils import timezone

from approvals import services
from approvals.lifecycle import Status
from approvals.models import Release
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
