from celery import shared_task

from auditstream.services import stream_dispatch


@shared_task(name="auditstream.stream_dispatch")
def stream_dispatch_task() -> int:
    """Beat (CELERY_BEAT_SCHEDULE): send change-log entries to every due destination."""
    return stream_dispatch()
