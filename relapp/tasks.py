from celery import shared_task

from relapp.refusals import refusals_summarise


@shared_task(name="relapp.refusals_summarise")
def refusals_summarise_task() -> int:
    """Beat (CELERY_BEAT_SCHEDULE): summarise finished minutes of anonymous refusals."""
    return refusals_summarise()
