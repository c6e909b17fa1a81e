"""Chat messages built from an `EventMessage`: Slack Block Kit and Teams Adaptive Cards.

Slack: an incoming webhook takes `{"text": fallback, "blocks": [...]}`
(header, section with mrkdwn, context, actions with URL buttons).
Teams: an incoming webhook (or a Workflows "post to a channel" URL) takes
`{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "content": <AdaptiveCard 1.4>}]}`.
Buttons only link into Relapp; signing stays there, with its rules.
"""

from notifications.events import EventMessage
from notifications.models import ChatKind


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _facts(message: EventMessage) -> list[tuple[str, str]]:
    release = message.release
    return [
        ("Product", release.product.name),
        ("Version", release.version),
        ("Status", release.get_status_display()),
        ("By", message.actor),
    ]


def slack_payload(message: EventMessage, *, mentions: list[str]) -> dict:
    text = f"*{_slack_escape(message.summary)}*"
    if message.reason:
        text += f"\n>{_slack_escape(message.reason[:2000])}"
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{label}*\n{_slack_escape(value)}"}
                for label, value in _facts(message)
            ],
        },
    ]
    if mentions:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": "For: " + _slack_escape(", ".join(mentions))}
                ],
            }
        )
    blocks.append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": label},
                    "url": url,
                    "action_id": f"relapp-{index}",
                    **({"style": "primary"} if index == 0 else {}),
                }
                for index, (label, url) in enumerate(message.actions)
            ],
        }
    )
    return {"text": f"{message.title}: {message.summary}", "blocks": blocks}


def teams_payload(message: EventMessage, *, mentions: list[str]) -> dict:
    body: list[dict] = [
        {
            "type": "TextBlock",
            "size": "Medium",
            "weight": "Bolder",
            "text": message.title,
            "wrap": True,
        },
        {"type": "TextBlock", "text": message.summary, "wrap": True},
    ]
    if message.reason:
        body.append(
            {"type": "TextBlock", "text": message.reason[:2000], "wrap": True, "isSubtle": True}
        )
    body.append(
        {
            "type": "FactSet",
            "facts": [{"title": label, "value": value} for label, value in _facts(message)],
        }
    )
    if mentions:
        body.append({"type": "TextBlock", "text": "For: " + ", ".join(mentions), "wrap": True})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": [
            {"type": "Action.OpenUrl", "title": label, "url": url} for label, url in message.actions
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def chat_payload(kind: str, message: EventMessage, *, mentions: list[str]) -> dict:
    if kind == ChatKind.TEAMS:
        return teams_payload(message, mentions=mentions)
    return slack_payload(message, mentions=mentions)
