"""Demo content for `seed_demo`: a realistic product with releases in several states."""

import copy
import hashlib
from datetime import datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from approvals import services
from approvals.models import FreezeWindow, Product, Release
from meetings.services import freeze_create, meeting_schedule
from raci.models import TemplateAssignment
from raci.services import raci_template_ensure


def base_rad(today) -> dict:
    return {
        "scope": (
            "## What ships\n\n"
            "- **SEPA Instant** credit transfers for business accounts\n"
            "- Idempotency keys on `POST /payments` (24 h replay window)\n"
            "- Retry budget for the card-network adapter\n\n"
            "## Not in this release\n\n"
            "- Multi-currency payouts (moved to 2.5)\n"
        ),
        "test_suites": [
            {"name": "Unit", "passed": 4212, "failed": 0, "skipped": 12, "link": ""},
            {
                "name": "Contract (card network)",
                "passed": 318,
                "failed": 2,
                "skipped": 0,
                "link": "",
            },
            {"name": "End-to-end checkout", "passed": 96, "failed": 1, "skipped": 3, "link": ""},
        ],
        "performance_findings": "p99 latency of POST /payments 182 ms at 1,200 rps (budget 250 ms).",
        "security_findings": "Dependency scan clean. One medium finding (verbose error body) fixed.",
        "defects": [
            {
                "title": "Refund webhook retried after 200 OK",
                "severity": "critical",
                "link": "",
                "state": "open",
            },
            {
                "title": "SEPA reference truncated at 35 chars",
                "severity": "major",
                "link": "",
                "state": "in_progress",
            },
            {"title": "Typo in payout e-mail", "severity": "minor", "link": "", "state": "open"},
            {
                "title": "Timeout on batch import > 10k rows",
                "severity": "major",
                "link": "",
                "state": "fixed",
            },
        ],
        "risks": [
            {
                "description": "Card-network adapter retries amplify an outage",
                "likelihood": 2,
                "impact": 5,
                "mitigation": "Retry budget of 10% with circuit breaker",
                "owner": "sre",
            },
            {
                "description": "Idempotency table grows faster than planned",
                "likelihood": 3,
                "impact": 2,
                "mitigation": "TTL job and a size alert at 80%",
                "owner": "dev",
            },
            {
                "description": "SEPA Instant cut-over confuses support",
                "likelihood": 3,
                "impact": 3,
                "mitigation": "Support runbook and a banner for 2 weeks",
                "owner": "po",
                "category": "support",
            },
        ],
        "rollback": {
            "steps": (
                "1. Disable the `sepa_instant` feature flag.\n"
                "2. Roll the deployment back to the previous image tag.\n"
                "3. Run `migrate payments 0041` (the new columns are nullable).\n"
                "4. Confirm error rate < 0.1% for 15 minutes."
            ),
            "rehearsed_on": (today - timedelta(days=12)).isoformat(),
            "evidence_url": "https://wiki.example.com/payments/rollback-rehearsal",
        },
        "monitoring": [
            "Error rate of POST /payments below 0.1%",
            "SEPA Instant settlement lag under 10 s",
            "No growth in the dead-letter queue",
        ],
    }


def seed_payments(*, users: dict) -> list[str]:
    """Create Payments API and its demo releases; returns what was created."""
    rm, dev = users["rm"], users["dev"]
    created: list[str] = []
    product = Product.objects.filter(slug="payments-api").first()
    if product is None:
        product = services.product_create(name="Payments API", slug="payments-api", actor=rm)
        created.append("product payments-api")
    _seed_template(product, users)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    today = timezone.localdate()

    def release(version: str, title: str, days: int, **extra) -> Release | None:
        if Release.objects.filter(product=product, version=version).exists():
            return None
        start = now + timedelta(days=days)
        created.append(f"release {version}")
        return services.release_create(
            product=product,
            version=version,
            title=title,
            release_type=extra.pop("release_type", "normal"),
            fixes=extra.pop("fixes", None),
            window_start=start,
            window_end=start + timedelta(hours=2),
            actor=rm,
        )

    rad = base_rad(today)

    deployed = release("2.3.0", "Payouts dashboard", -20)
    if deployed:
        old = copy.deepcopy(rad)
        old["defects"] = [d | {"state": "fixed"} for d in old["defects"]]
        old["scope"] = "## What ships\n\n- Payouts dashboard for merchants\n"
        old["monitoring"] = [*old["monitoring"], "Payouts dashboard p95 load under 1 s"]
        services.rad_revise(release=deployed, content=old, actor=dev)
        services.release_submit(release=deployed, actor=dev)
        _artifacts(deployed, dev, "2.3.0")
        _sign_all(deployed, users)
        services.deployment_record(release=deployed, actor=rm, status="started")
        services.deployment_record(release=deployed, actor=rm, status="succeeded")
        _seed_after_deployment(deployed, users)

    approved = release("2.3.1", "Payout rounding fix", 1)
    if approved:
        fixed = copy.deepcopy(rad)
        fixed["defects"] = [d | {"state": "fixed"} for d in fixed["defects"]]
        fixed["scope"] = "## What ships\n\n- Round payouts half-even, as the ledger does\n"
        services.rad_revise(release=approved, content=fixed, actor=dev)
        services.release_submit(release=approved, actor=dev)
        _artifacts(approved, dev, "2.3.1")
        _sign_all(approved, users)

    in_review = release("2.4.0", "SEPA Instant and idempotency keys", 3)
    if in_review:
        first = copy.deepcopy(rad)
        first["risks"][0]["likelihood"] = 3
        first["monitoring"] = first["monitoring"][:2]
        services.rad_revise(release=in_review, content=first, actor=dev)
        second = copy.deepcopy(first)
        second["test_suites"][1]["failed"] = 5
        second["defects"].append(
            {
                "title": "Ledger export misses SEPA fees",
                "severity": "major",
                "link": "",
                "state": "open",
            }
        )
        services.rad_revise(release=in_review, content=second, actor=dev)
        third = copy.deepcopy(rad)
        third["defects"][0]["state"] = "fixed"
        # Written after the code cut-off (a week before the window): marked on the page.
        third["scope"] += "- Webhook for SEPA Instant settlement (added late)\n"
        services.rad_revise(release=in_review, content=third, actor=dev)
        services.release_submit(release=in_review, actor=dev)
        _sign(in_review, users["qa"], "Test thresholds")
        tomorrow = (now + timedelta(days=1)).replace(hour=10)
        meeting_schedule(
            release=in_review,
            actor=rm,
            start=tomorrow,
            duration_minutes=15,
            location="https://meet.example.com/payments-gate",
        )
        created.append("gate meeting tomorrow")
    if not FreezeWindow.objects.exists():
        first_next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=15)
        start = timezone.make_aware(datetime.combine(first_next_month, time(0, 0)))
        freeze_create(
            actor=rm,
            product=None,
            start=start,
            end=start + timedelta(days=21),
            reason="Year-end trading freeze",
        )
        created.append("freeze window next month")

    draft = release("2.5.0", "Multi-currency payouts", 14)
    if draft:
        partial = copy.deepcopy(rad)
        partial["scope"] = "## What ships\n\n- Payouts in EUR, GBP and USD\n"
        partial["monitoring"] = []
        partial["rollback"]["rehearsed_on"] = None
        services.rad_revise(release=draft, content=partial, actor=dev)
    return created


def _seed_after_deployment(release: Release, users: dict) -> None:
    """Half the post-deploy checklist ticked and one post-deploy smoke check passing."""
    services.monitoring_tick(
        release=release,
        actor=users["sre"],
        position=0,
        note="0.02% over the first hour",
        link="https://grafana.example.com/d/payments-errors",
    )
    services.monitoring_tick(release=release, actor=users["dev"], position=1, note="p95 4 s")
    services.gate_check_report(
        release=release,
        actor=users["rm"],
        name="smoke-payouts",
        status="pass",
        details="12 of 12 smoke scenarios passed",
        url="https://ci.example.com/payments/smoke/2301",
        phase="after_deployment",
    )


# Who is Accountable for what in the demo; dev is Responsible everywhere.
DEMO_ACCOUNTABLES = {
    "Business scope": "po",
    "Test thresholds": "qa",
    "Operational readiness": "sre",
    "Deployment & rollback plan": "rm",
    "Go/no-go decision": "rm",
}


def _seed_template(product: Product, users: dict) -> None:
    for activity in raci_template_ensure(product=product):
        if activity.assignments.exists():
            continue
        accountable = users[DEMO_ACCOUNTABLES[activity.name]]
        TemplateAssignment.objects.create(activity=activity, user=accountable, letter="A")
        TemplateAssignment.objects.create(activity=activity, user=users["dev"], letter="R")
        if accountable.username != "po":
            TemplateAssignment.objects.create(activity=activity, user=users["po"], letter="C")
        if accountable.username != "sre":
            TemplateAssignment.objects.create(activity=activity, user=users["sre"], letter="I")


def _sign(release: Release, user, activity_name: str) -> None:
    activity = release.activities.get(name=activity_name)
    current = services.rad_current(release)
    services.signoff_record(
        release=release,
        activity_id=activity.pk,
        signer=user,
        decision="approve",
        comment="",
        password=settings.DEMO_PASSWORD,
        revision_number=current.number,
    )


def _sign_all(release: Release, users: dict) -> None:
    for name, username in DEMO_ACCOUNTABLES.items():
        _sign(release, users[username], name)


def _artifacts(release: Release, actor, version: str) -> None:
    """The image and commit CI reports; with an attestation key, approval signs them."""
    seed = hashlib.sha256(f"payments-api {version}".encode()).hexdigest()
    services.artifacts_report(
        release=release,
        actor=actor,
        artifacts=[
            {"name": "registry.example.com/payments-api", "kind": "image", "digest": seed},
            {"name": "payments-api.git", "kind": "commit", "digest": seed[:40]},
        ],
    )
