"""The release page's conflicts panel: other releases whose window overlaps this one's."""

from django import template

from approvals.selectors import conflicts_for, policy_for

register = template.Library()


@register.inclusion_tag("approvals/includes/conflicts_panel.html")
def release_conflicts(release) -> dict:
    return {
        "conflicts": conflicts_for(release=release),
        "blocks": policy_for(release.product).block_on_conflict,
        "calendar_date": release.window_start.date().isoformat(),
        "product": release.product,
    }
