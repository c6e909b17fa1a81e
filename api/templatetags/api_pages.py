import re

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def api_token_state(token, now) -> str:
    """active, expired or revoked, as of `now`."""
    return token.state(now)


@register.filter
def inline_code(text: str) -> str:
    """Escape `text`, then show its `backticked` parts as code (schema descriptions)."""
    return mark_safe(re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text)))  # noqa: S308
