from celery import shared_task

from audit.services import changelog_checkpoint_if_due, changelog_checkpoint_write


@shared_task(name="audit.changelog_checkpoint")
def changelog_checkpoint_task() -> int:
    """Write the change-log head outside the database now."""
    return changelog_checkpoint_write().seq


@shared_task(name="audit.changelog_checkpoint_due")
def changelog_checkpoint_due_task() -> int | None:
    """Beat (CELERY_BEAT_SCHEDULE): a checkpoint every N entries or M minutes."""
    checkpoint = changelog_checkpoint_if_due()
    return checkpoint.seq if checkpoint is not None else None
