from celery import shared_task

from meetings.services import reminders_dispatch


@shared_task(name="meetings.tasks.reminders_dispatch_task", ignore_result=True)
def reminders_dispatch_task() -> dict[str, int]:
    """Beat, every REMINDER_DISPATCH_SECONDS: send what is due, drop what is stale."""
    return reminders_dispatch()
