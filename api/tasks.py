from celery import shared_task

from api.webhooks import webhooks_dispatch


@shared_task(name="api.webhooks_dispatch")
def webhooks_dispatch_task() -> int:
    """Beat (CELERY_BEAT_SCHEDULE): send due webhook deliveries; returns attempts made."""
    return webhooks_dispatch()
