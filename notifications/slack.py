"""The Slack slash command `/relapp status <product> <version>`.

Slack signs each request: `X-Slack-Signature: v0=<hex HMAC-SHA256 of
"v0:{X-Slack-Request-Timestamp}:{raw body}" under the app's signing secret>`.
A request older (or newer) than five minutes is a replay and refused, like
a wrong signature. Only products with an active Slack channel answer: the
workspace that holds the signing secret sees what its channels already get.
"""

import hashlib
import hmac
import time

from approvals.models import Release, SignOff
from approvals.rules import is_required
from approvals.selectors import deploy_check_now
from notifications.events import absolute
from notifications.models import ChatDestination, ChatKind
from raci.models import Letter

MAX_AGE_SECONDS = 5 * 60
USAGE = "Usage: `/relapp status <product> <version>`, e.g. `/relapp status payments-api 2.4.0`."


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slack_request_refusal(
    *, secret: str, timestamp: str, signature: str, body: bytes, now: float | None = None
) -> str:
    """Why the request is not Slack's ("" when it is)."""
    if not secret:
        return "No Slack signing secret is configured"
    if not timestamp.isdigit():
        return "Missing or malformed request timestamp"
    if abs((now or time.time()) - int(timestamp)) > MAX_AGE_SECONDS:
        return "Stale request timestamp (a replay?)"
    if not hmac.compare_digest(slack_signature(secret, timestamp, body), signature or ""):
        return "Wrong Slack request signature"
    return ""


def _signoff_lines(release: Release) -> list[str]:
    current = release.revisions.order_by("-number").first()
    live = {
        s.activity_id: s
        for s in SignOff.objects.filter(
            release=release, revision=current, voided_at__isnull=True
        ).select_related("signer")
    }
    lines = []
    for activity in release.activities.prefetch_related("assignments__user").order_by("position"):
        if not is_required(release, activity):
            continue
        accountable = next(
            (a.user for a in activity.assignments.all() if a.letter == Letter.ACCOUNTABLE), None
        )
        signoff = live.get(activity.pk)
        if signoff is not None:
            state = f"{signoff.get_decision_display().lower()} by {signoff.printed_name}"
            mark = ":white_check_mark:" if signoff.decision == "approve" else ":x:"
        else:
            who = accountable.get_full_name() or accountable.username if accountable else "nobody"
            state, mark = f"waiting for {who}", ":hourglass:"
        lines.append(f"{mark} {activity.name}: {state}")
    return lines


def status_answer(text: str) -> dict:
    """The ephemeral answer to `/relapp <text>`."""
    words = text.split()
    if len(words) != 3 or words[0].lower() != "status":
        return {"response_type": "ephemeral", "text": USAGE}
    _, product, version = words
    release = (
        Release.objects.select_related("product")
        .filter(
            product__slug=product,
            version=version,
            product__chat_destinations__kind=ChatKind.SLACK,
            product__chat_destinations__is_active=True,
        )
        .first()
    )
    if release is None:
        return {
            "response_type": "ephemeral",
            "text": f"No release {product} {version} with a Slack channel here. {USAGE}",
        }
    reasons = [refusal.message for refusal in deploy_check_now(release=release)]
    readiness = (
        "May deploy now." if not reasons else "Not deployable now:\n• " + "\n• ".join(reasons)
    )
    signoffs = "\n".join(_signoff_lines(release)) or "No sign-offs required."
    url = absolute(release.get_absolute_url())
    return {
        "response_type": "ephemeral",
        "text": f"{release}: {release.get_status_display()}",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*<{url}|{release}>* — {release.get_status_display()}",
                },
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Sign-offs*\n{signoffs}"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Readiness*\n{readiness}"}},
        ],
    }


def slack_products() -> set[str]:
    return set(
        ChatDestination.objects.filter(kind=ChatKind.SLACK, is_active=True).values_list(
            "product__slug", flat=True
        )
    )
