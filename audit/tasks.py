from celery import shared_task

from audit.services import changelog_checkpoint_write


@shared_task(name="audit.changelog_checkpoint")
def changelog_checkpoint_task() -> int:
    """Nightly (CELERY_BEAT_SCHEDULE): write the change-log head outside the database."""
    return changelog_checkpoint_write().seq
