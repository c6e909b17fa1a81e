from celery import shared_task

from approvals.services import approvals_expire


@shared_task(name="approvals.approvals_expire", ignore_result=True)
def approvals_expire_task() -> dict[str, int]:
    """Beat, every minute: halt approvals that expired or rest on an unconfirmed verbal record."""
    return approvals_expire()
