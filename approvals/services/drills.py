"""Writes to a product's deploy targets, its fire-drill schedule and its drill records."""

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from approvals.drills import rrule_problem
from approvals.models import DrillOutcome, FireDrill, FireDrillSchedule, Product
from audit.changelog import changelog_record
from audit.models import Action

TARGET = re.compile(r"^[a-z0-9][a-z0-9._-]{0,59}$")
MAX_TARGETS = 30


def _locked(product: Product) -> Product:
    return Product.objects.select_for_update().get(pk=product.pk)


def product_targets_set(*, product: Product, actor, targets: list[str]) -> Product:
    """Declare the components and environments the product deploys to."""
    cleaned = sorted({t.strip().lower() for t in targets if t.strip()})
    bad = [t for t in cleaned if not TARGET.match(t)]
    if bad:
        raise ValidationError(
            {"targets": f"Use lower-case letters, digits, '.', '_' or '-': {', '.join(bad)}."}
        )
    if len(cleaned) > MAX_TARGETS:
        raise ValidationError({"targets": f"Declare at most {MAX_TARGETS} targets."})
    with transaction.atomic():
        product = _locked(product)
        before = list(product.deploy_targets)
        if before == cleaned:
            return product
        product.deploy_targets = cleaned
        product.save(update_fields=["deploy_targets"])
        changelog_record(
            action=Action.PRODUCT_CHANGED,
            actor=actor,
            product=product,
            obj=product,
            before={"deploy_targets": before},
            after={"deploy_targets": cleaned},
        )
    return product


def _schedule_snapshot(schedule: FireDrillSchedule | None) -> dict | None:
    if schedule is None:
        return None
    return {
        "rrule": schedule.rrule,
        "first_on": schedule.first_on.isoformat(),
        "grace_days": schedule.grace_days,
    }


def drill_schedule_set(
    *, product: Product, actor, rrule: str, first_on: date, grace_days: int
) -> FireDrillSchedule:
    """Set (or replace) the product's recurring fire-drill schedule."""
    rrule = rrule.strip().upper()
    problem = rrule_problem(rrule)
    if problem:
        raise ValidationError({"rrule": problem})
    with transaction.atomic():
        product = _locked(product)
        schedule = FireDrillSchedule.objects.filter(product=product).first()
        before = _schedule_snapshot(schedule)
        schedule = schedule or FireDrillSchedule(product=product)
        schedule.rrule, schedule.first_on, schedule.grace_days = rrule, first_on, grace_days
        schedule.full_clean()
        schedule.save()
        changelog_record(
            action=Action.DRILL_SCHEDULED,
            actor=actor,
            product=product,
            obj=schedule,
            before=before,
            after=_schedule_snapshot(schedule),
        )
    return schedule


def drill_record(
    *,
    product: Product,
    actor,
    held_on: date,
    scenario: str,
    participants: str,
    outcome: str,
    rollback_minutes: int,
    evidence_url: str = "",
    today: date,
) -> FireDrill:
    """Record a fire drill as it went. A drill cannot be recorded before it is held."""
    if held_on > today:
        raise ValidationError({"held_on": "Record a drill once it has been held."})
    if outcome not in DrillOutcome.values:
        raise ValidationError({"outcome": "Choose how the rollback went."})
    drill = FireDrill(
        product=product,
        held_on=held_on,
        scenario=scenario.strip(),
        participants=participants.strip(),
        outcome=outcome,
        rollback_minutes=rollback_minutes,
        evidence_url=evidence_url.strip(),
        recorded_by=actor,
    )
    drill.full_clean()
    with transaction.atomic():
        _locked(product)
        drill.save()
        changelog_record(
            action=Action.DRILL_RECORDED,
            actor=actor,
            product=product,
            obj=drill,
            after={
                "held_on": held_on.isoformat(),
                "scenario": drill.scenario,
                "participants": drill.participants,
                "outcome": outcome,
                "rollback_minutes": rollback_minutes,
                "evidence_url": drill.evidence_url,
            },
        )
    return drill
