"""The release rhythm on pages: cut-off marks, the post-deploy checklist, risk categories."""

from django import template

from approvals.rad import RISK_CATEGORIES
from approvals.selectors import release_rhythm as rhythm_for
from approvals.selectors import risk_policy_for

register = template.Library()


@register.simple_tag
def release_rhythm(release, user):
    """`{% release_rhythm release user as rhythm %}`: see approvals.selectors.Rhythm."""
    return rhythm_for(release=release, user=user)


@register.filter
def risk_category(key: str | None) -> str:
    return RISK_CATEGORIES.get(key or "technical", key)


@register.simple_tag
def risk_policy(release):
    """`{% risk_policy release as rp %}`: the categories the policy requires and who judges them."""
    return risk_policy_for(release=release)
