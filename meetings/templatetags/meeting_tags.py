"""Template tags through which pages of lower apps show meetings.

The release page (approvals) includes the meetings panel; approvals sits
below meetings, so the panel fetches its own rows here instead of the view
importing this app.
"""

from django import template

from meetings.selectors import meetings_for_release

register = template.Library()


@register.simple_tag
def release_meetings(release) -> list:
    """The release's gate meetings, newest first."""
    return meetings_for_release(release=release)
