"""Reads for the account pages: who is locked out now."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.utils import timezone

from raci.permissions import RELEASE_MANAGERS


@dataclass(frozen=True)
class Lockout:
    kind: str  # "account" or "address"
    value: str
    failures: int
    until: datetime


def lockouts_current() -> list[Lockout]:
    """Accounts and addresses whose failures within the cool-down reach the sign-in limit."""
    cooloff = timedelta(minutes=settings.LOCKOUT_COOLOFF_MINUTES)
    recent = AccessAttempt.objects.filter(attempt_time__gte=timezone.now() - cooloff)
    found: list[Lockout] = []
    for kind, field in (("account", "username"), ("address", "ip_address")):
        rows = (
            recent.exclude(**{f"{field}__isnull": True})
            .exclude(**{field: ""})
            .values(field)
            .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
            .filter(failures__gte=settings.LOGIN_FAILURE_LIMIT)
            .order_by(field)
        )
        found += [Lockout(kind, row[field], row["failures"], row["last"] + cooloff) for row in rows]
    return found


def may_unlock(user) -> bool:
    """Release managers and administrators lift lockouts."""
    return user.is_active and (
        user.is_superuser or user.groups.filter(name=RELEASE_MANAGERS).exists()
    )
