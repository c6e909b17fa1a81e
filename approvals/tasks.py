from celery import shared_task
from django.utils import timezone

from approvals.services import approvals_expire
from raci.services import delegations_announce


@shared_task(name="approvals.approvals_expire", ignore_result=True)
def approvals_expire_task() -> dict[str, int]:
    """Beat, every minute: halt approvals that expired or rest on an unconfirmed verbal record."""
    return approvals_expire()


@shared_task(name="approvals.delegations_announce", ignore_result=True)
def delegations_announce_task() -> dict[str, int]:
    """Beat, every minute: log each delegation the moment it starts and ends."""
    return delegations_announce(now=timezone.now())
