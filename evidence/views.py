import csv
import io

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from approvals.models import Release
from approvals.selectors import release_get_for_user, unauthorized_deployments
from audit.chain import csv_cell
from audit.export import export_csv, export_json
from audit.models import ChangeLogEntry
from audit.selectors import (
    changelog_entry_diff,
    changelog_entry_integrity,
    changelog_page,
    changelog_queryset,
)
from evidence import services
from evidence.forms import ChangelogFilterForm, UnauthorizedFilterForm, release_label
from evidence.models import ExportJob
from evidence.pack import evidence_pack_build, evidence_pack_filename
from relapp.http import require_perm

VIEW_PERMISSION = "audit.view_changelogentry"
CURSOR_PARAMS = ("before", "after")


def _require_changelog_access(request: HttpRequest, *, release: Release | None = None) -> None:
    """403 unless the user may read the change log; the refusal is logged."""
    require_perm(request, VIEW_PERMISSION, what="read the change log", release=release)


def _cursor(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


def _filter_query(request: HttpRequest) -> str:
    """The query string without the page cursor, for links that keep the filters."""
    query = request.GET.copy()
    for name in CURSOR_PARAMS:
        query.pop(name, None)
    return query.urlencode()


@require_GET
@login_required
def changelog_list(request: HttpRequest) -> HttpResponse:
    _require_changelog_access(request)
    form = ChangelogFilterForm(request.GET)
    page = None
    if form.is_valid():
        page = changelog_page(
            filters=form.filters(),
            before_seq=_cursor(request, "before"),
            after_seq=_cursor(request, "after"),
        )
    return render(
        request,
        "evidence/changelog_list.html",
        {"form": form, "page": page, "query": _filter_query(request)},
    )


@require_GET
@login_required
def changelog_entry(request: HttpRequest, seq: int) -> HttpResponse:
    _require_changelog_access(request)
    entry = get_object_or_404(
        ChangeLogEntry.objects.select_related("release__product", "product"), seq=seq
    )
    return render(
        request,
        "evidence/changelog_entry.html",
        {
            "entry": entry,
            "diff": changelog_entry_diff(before=entry.before, after=entry.after),
            "integrity": changelog_entry_integrity(entry=entry),
            "has_next": ChangeLogEntry.objects.filter(seq=seq + 1).exists(),
        },
    )


def _export(request: HttpRequest, *, extension: str) -> HttpResponse:
    _require_changelog_access(request)
    form = ChangelogFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest("Invalid change-log filters.", content_type="text/plain")
    filters = form.filters()
    entries = changelog_queryset(filters=filters)
    if extension == "csv":
        chunks = export_csv(entries)
        content_type = "text/csv; charset=utf-8"
    else:
        chunks = export_json(entries, filters=filters.describe())
        content_type = "application/json"
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="changelog-{stamp}.{extension}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@login_required
def changelog_export_csv(request: HttpRequest) -> HttpResponse:
    return _export(request, extension="csv")


@require_GET
@login_required
def changelog_export_json(request: HttpRequest) -> HttpResponse:
    return _export(request, extension="json")


@require_GET
@login_required
def evidence_pack(request: HttpRequest, product: str, version: str) -> FileResponse:
    """The release's evidence pack as one zip: 404 unless the user sees the
    release, 403 (logged on the release) unless they may read the change log."""
    release = release_get_for_user(user=request.user, product=product, version=version)
    _require_changelog_access(request, release=release)
    pack = evidence_pack_build(release=release, generated_by=request.user)
    response = FileResponse(
        pack,
        as_attachment=True,
        filename=evidence_pack_filename(release),
        content_type="application/zip",
    )
    response["Cache-Control"] = "no-store"
    return response


UNAUTHORIZED_CSV_FIELDS = (
    "recorded_at",
    "product",
    "version",
    "status",
    "environment",
    "recorded_by",
    "codes",
    "reasons",
)


@require_GET
@login_required
def unauthorized_list(request: HttpRequest) -> HttpResponse:
    """Deployments recorded while the deploy check refused them; `?format=csv` downloads them."""
    _require_changelog_access(request)
    form = UnauthorizedFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = unauthorized_deployments(
        product=filters.get("product"),
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
    )
    if request.GET.get("format") == "csv" and (form.is_valid() or not request.GET):
        return _unauthorized_csv(rows)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "evidence/unauthorized_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


def _unauthorized_csv(rows) -> StreamingHttpResponse:
    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(UNAUTHORIZED_CSV_FIELDS)
        for d in rows.iterator(chunk_size=500):
            writer.writerow(
                csv_cell(value)
                for value in (
                    d.recorded_at.isoformat(),
                    d.release.product.slug,
                    d.release.version,
                    d.status,
                    d.environment,
                    d.recorded_by.get_username(),
                    " ".join(r["code"] for r in d.unauthorized_reasons),
                    " ".join(r["message"] for r in d.unauthorized_reasons),
                )
            )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="unauthorized-deployments.csv"'
    return response


# --- exports prepared by the worker ----------------------------------------------------


@require_POST
@login_required
def changelog_export_start(request: HttpRequest) -> HttpResponse:
    """Ask a worker to write the whole (filtered) export to a file; show its progress."""
    _require_changelog_access(request)
    try:
        job = services.export_job_request(
            user=request.user,
            fmt=request.POST.get("format", ""),
            query=request.POST.get("query", ""),
        )
    except services.ExportRefused as error:
        return HttpResponseBadRequest(str(error), content_type="text/plain")
    return redirect("evidence:changelog_export_job", job_id=job.pk)


def _own_job(request: HttpRequest, job_id: int) -> ExportJob:
    """The user's own export (404 for anyone else's: an export is its requester's)."""
    _require_changelog_access(request)
    return get_object_or_404(ExportJob, pk=job_id, requested_by=request.user)


@require_GET
@login_required
def changelog_export_job(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _own_job(request, job_id)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(
            {
                "status": job.status,
                "finished": job.finished,
                "percent": job.percent,
                "rows_done": job.rows_done,
                "rows_total": job.rows_total,
            }
        )
    recent = ExportJob.objects.filter(requested_by=request.user).exclude(pk=job.pk)[:5]
    return render(request, "evidence/export_job.html", {"job": job, "recent": recent})


@require_GET
@login_required
def changelog_export_download(request: HttpRequest, job_id: int) -> FileResponse:
    job = _own_job(request, job_id)
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404("This export is not ready.")
    response = FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=job.file.name.rsplit("/", 1)[-1],
        content_type="text/csv; charset=utf-8" if job.format == "csv" else "application/json",
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@login_required
def release_suggestions(request: HttpRequest) -> JsonResponse:
    """Up to 20 releases matching what was typed into a release filter (as JSON)."""
    _require_changelog_access(request)
    text = " ".join(request.GET.get("q", "").split())[:100]
    found = []
    if text:
        words = text.split(" ")
        releases = Release.objects.select_related("product")
        for word in words:
            releases = releases.filter(
                Q(product__slug__icontains=word)
                | Q(product__name__icontains=word)
                | Q(version__icontains=word)
            )
        found = [
            {"value": release_label(r), "label": f"{r.product.name} {r.version}"}
            for r in releases.order_by("-created_at", "-id")[:20]
        ]
    return JsonResponse({"releases": found})
