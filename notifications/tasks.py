from celery import shared_task

from notifications.services import approvals_expiring_warn, chat_dispatch, digests_send


@shared_task(name="notifications.chat_dispatch", ignore_result=True)
def chat_dispatch_task() -> int:
    """Beat (CELERY_BEAT_SCHEDULE): post due chat deliveries; returns attempts made."""
    return chat_dispatch()


@shared_task(name="notifications.digests_send", ignore_result=True)
def digests_send_task() -> int:
    """Beat, once a day at NOTIFICATION_DIGEST_HOUR: the daily digests."""
    return digests_send()


@shared_task(name="notifications.approvals_expiring_warn", ignore_result=True)
def approvals_expiring_warn_task() -> int:
    """Beat, hourly: announce approvals that expire soon."""
    return approvals_expiring_warn()
