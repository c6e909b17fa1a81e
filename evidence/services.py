"""Writes of the evidence app: change-log exports prepared by the worker."""

import logging
import tempfile

from celery import current_app
from django.core.files import File
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone

from audit.changelog import changelog_record
from audit.export import changelog_head_seq, export_csv, export_json
from audit.models import Action
from audit.selectors import changelog_queryset
from evidence.forms import ChangelogFilterForm
from evidence.models import ExportJob

logger = logging.getLogger(__name__)
EXPORT_TASK = "evidence.export_job_run"  # evidence.tasks


class ExportRefused(ValueError):
    """The export cannot be prepared as asked (bad format or filters)."""


def _filters(query: str):
    form = ChangelogFilterForm(QueryDict(query))
    if not form.is_valid():
        raise ExportRefused("Invalid change-log filters.")
    return form.filters()


def export_job_request(*, user, fmt: str, query: str) -> ExportJob:
    """Record an export request (logged) and hand it to a worker once committed."""
    if fmt not in ExportJob.Format.values:
        raise ExportRefused("Choose CSV or JSON.")
    if len(query) > 2000:
        raise ExportRefused("The filters are too long.")
    filters = _filters(query)
    with transaction.atomic():
        job = ExportJob.objects.create(requested_by=user, format=fmt, query=query)
        changelog_record(
            action=Action.EXPORT_REQUESTED,
            actor=user,
            obj=job,
            after={"format": fmt, "filters": filters.describe()},
        )
        transaction.on_commit(lambda: current_app.send_task(EXPORT_TASK, args=[job.pk]))
    return job


def _claim(job_id: int) -> ExportJob | None:
    """Move a queued job to running; None when another worker has it (or it is gone)."""
    with transaction.atomic():
        claimed = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.QUEUED).update(
            status=ExportJob.Status.RUNNING
        )
    return ExportJob.objects.get(pk=job_id) if claimed else None


def export_job_run(*, job_id: int) -> ExportJob | None:
    """Write the export file for `job_id` (the worker's task), reporting progress per batch."""
    job = _claim(job_id)
    if job is None:
        return None
    try:
        filters = _filters(job.query)
        head = changelog_head_seq()
        entries = changelog_queryset(filters=filters).filter(seq__lte=head)
        total = entries.count()
        ExportJob.objects.filter(pk=job.pk).update(rows_total=total)

        def progress(done: int) -> None:
            ExportJob.objects.filter(pk=job.pk).update(rows_done=done)

        if job.format == ExportJob.Format.CSV:
            chunks = export_csv(entries, progress=progress)
        else:
            chunks = export_json(entries, filters=filters.describe(), progress=progress)
        with tempfile.TemporaryFile(mode="w+b") as spool:
            for chunk in chunks:
                spool.write(chunk.encode("utf-8"))
            spool.seek(0)
            stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
            job.file.save(f"changelog-{stamp}-{job.pk}.{job.format}", File(spool), save=False)
        ExportJob.objects.filter(pk=job.pk).update(
            file=job.file.name,
            rows_done=total,
            status=ExportJob.Status.DONE,
            finished_at=timezone.now(),
        )
    except Exception as exc:  # the job must say it failed, whatever went wrong
        logger.exception("Change-log export %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
    return ExportJob.objects.get(pk=job.pk)
