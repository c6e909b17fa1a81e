"""Demo content for RAD templates (`seed_demo`): Payments API's template, which a new
release's RAD starts from. Idempotent like the rest of the demo."""

from approvals import services
from approvals.models import Product, RadTemplate

PAYMENTS_TEMPLATE = {
    "scope": "## What ships\n\n- …\n\n## Not in this release\n\n- …",
    "test_suites": [
        {"name": "Unit"},
        {"name": "Contract (card network)"},
        {"name": "End-to-end checkout"},
    ],
    "performance_findings": "p99 latency of POST /payments at 1,200 rps (budget 250 ms): …",
    "security_findings": "Dependency scan: …",
    "risks": [
        {
            "description": "Card-network adapter retries double-charge on timeouts",
            "likelihood": 2,
            "impact": 4,
            "mitigation": "Idempotency keys; retry budget; alert on duplicate captures",
            "owner": "sre",
            "category": "technical",
        }
    ],
    "rollback": {
        "steps": (
            "1. Announce the rollback in #payments-release\n"
            "2. Turn the release's feature flags off\n"
            "3. Roll back to the previous image with `deployctl rollback payments-api`\n"
            "4. Check the error rate and the payout queue for 15 minutes"
        )
    },
    "monitoring": [
        "Payment error rate below 0.1% for 30 minutes",
        "p99 latency of POST /payments under 250 ms",
        "Payout queue depth back under 100 within 15 minutes",
        "No duplicate captures in the reconciliation report",
    ],
}


def seed_rad_template(*, users: dict) -> list[str]:
    """Payments API gets its RAD template once; a changed template is left as it is."""
    product = Product.objects.filter(slug="payments-api").first()
    if product is None or RadTemplate.objects.filter(product=product).exists():
        return []
    services.rad_template_update(product=product, actor=users["rm"], content=PAYMENTS_TEMPLATE)
    return ["Payments API RAD template"]
