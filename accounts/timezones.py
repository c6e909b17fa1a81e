"""Each person's display time zone: which names are valid, which one is theirs.

Times are stored in UTC; the zone only changes how they are shown and how
typed-in times are read. `SESSION_KEY` keeps the zone in the session so
`TimeZoneMiddleware` activates it without a query per request.
"""

import zoneinfo
from functools import cache

from django.utils import timezone

SESSION_KEY = "relapp_tz"
# The browser's zone sent with the OpenID Connect start, kept until the callback.
BROWSER_SESSION_KEY = "relapp_browser_tz"
DEFAULT = "UTC"


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone this machine knows, sorted (the account page's choices)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def is_zone(name: object) -> bool:
    return isinstance(name, str) and name in zone_names()


def zone_of(user) -> str:
    """The zone name `user` reads times in; UTC when none was ever set."""
    row = getattr(user, "time_zone", None) if user is not None else None
    return row.name if row is not None and is_zone(row.name) else DEFAULT


def zone_activate(name: str | None) -> None:
    """Make `name` the current zone of this thread; UTC for anything unknown."""
    timezone.activate(zoneinfo.ZoneInfo(name if is_zone(name) else DEFAULT))
