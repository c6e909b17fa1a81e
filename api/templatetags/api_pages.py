from django import template

register = template.Library()


@register.filter
def api_token_state(token, now) -> str:
    """active, expired or revoked, as of `now`."""
    return token.state(now)
