"""Refusals without an authenticated user: one change-log entry per address and minute.

`refusal_first_of_minute` counts a refusal and says whether it is the first
from its address this minute: only that one is written to the change log at
once. The beat task `relapp.refusals_summarise` then writes, for every minute
that is over and had more, one `access.refused` entry with the count of the
rest, recorded under the source address. A flood of N requests from one
address in one minute therefore writes at most two entries.
"""

import ipaddress
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.changelog import changelog_record
from audit.models import Action
from relapp.middleware import current_client_ip
from relapp.models import RefusalTally


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def refusal_first_of_minute(*, client_ip: str, now: datetime | None = None) -> bool:
    """Count one refusal from `client_ip`; True when it is the first of this minute.

    An address that does not parse is not counted: its refusal is written on its own.
    """
    try:
        client_ip = str(ipaddress.ip_address(client_ip.split("%", 1)[0]))
    except ValueError:
        return True
    minute = _minute(now or timezone.now())
    with transaction.atomic():
        tally, created = RefusalTally.objects.get_or_create(
            client_ip=client_ip, minute=minute, defaults={"count": 1}
        )
        if not created:
            RefusalTally.objects.filter(pk=tally.pk).update(count=F("count") + 1)
    return created


def _summary_write(tally: RefusalTally) -> None:
    more = tally.count - 1
    token = current_client_ip.set(tally.client_ip)
    try:
        changelog_record(
            action=Action.ACCESS_REFUSED,
            actor_name="anonymous",
            after={
                "client_ip": tally.client_ip,
                "minute": tally.minute.strftime("%Y-%m-%dT%H:%MZ"),
                "count": tally.count,
                "summarised": more,
            },
            reason=(
                f"{more} more refusal{'s' if more != 1 else ''} without an authenticated user "
                f"from {tally.client_ip} in the minute from {tally.minute:%H:%M} UTC "
                f"({tally.count} in all; the first is logged on its own)"
            ),
        )
    finally:
        current_client_ip.reset(token)


def refusals_summarise(*, now: datetime | None = None) -> int:
    """One summary entry per address and finished minute with more than one refusal."""
    before = _minute(now or timezone.now())
    written = 0
    for pk in list(RefusalTally.objects.filter(minute__lt=before).values_list("pk", flat=True)):
        with transaction.atomic():
            # Locked and deleted with the entry: two workers never summarise a minute twice.
            tally = RefusalTally.objects.select_for_update().filter(pk=pk).first()
            if tally is None:
                continue
            if tally.count > 1:
                _summary_write(tally)
                written += 1
            tally.delete()
    return written
