from celery import shared_task

from evidence import services


@shared_task(name="evidence.export_job_run")
def export_job_run_task(job_id: int) -> str:
    """Write one prepared change-log export (evidence.services.export_job_run)."""
    job = services.export_job_run(job_id=job_id)
    return job.status if job is not None else "not claimed"
