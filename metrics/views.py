import csv
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from api.authentication import request_token
from approvals.selectors import products_for_choice
from metrics.charts import SPEC_BY_KEY, bucket_label, chart_build, charts_build
from metrics.forms import MetricsFilterForm
from metrics.selectors import (
    Metrics,
    cached_for_user,
    metrics_compute,
    metrics_for_user,
    releases_in_token_scope,
)


def _metrics_for(request: HttpRequest) -> tuple[MetricsFilterForm, Metrics | None]:
    form = MetricsFilterForm(request.GET, products=list(products_for_choice(user=request.user)))
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    return form, metrics_for_user(user=request.user, **data)


def _filter(data: dict) -> tuple:
    return data["period"], data["start"], data["end"], data["hotfix_days"]


@login_required
@require_GET
def metrics_page(request: HttpRequest) -> HttpResponse:
    form = MetricsFilterForm(request.GET, products=list(products_for_choice(user=request.user)))
    if not form.is_valid():
        return render(request, "metrics/metrics.html", {"form": form}, status=400)
    data = form.cleaned_data
    # The filter as the form understood it, not the raw query string: parameters the
    # form ignores must not make cache entries of their own (nor reach the links).
    query = urlencode(
        {
            "product": data["product"].slug if data["product"] else "",
            "period": data["period"],
            "start": data["start"].isoformat(),
            "end": data["end"].isoformat(),
            "hotfix_days": data["hotfix_days"],
        }
    )

    def figures() -> str:
        metrics = metrics_for_user(user=request.user, **data)
        context = {"metrics": metrics, "charts": charts_build(metrics), "query": query}
        return render_to_string("metrics/figures.html", context)

    # Drawing the charts costs more than reading them back: the rendered figures are
    # cached like the figures themselves, under the same version, user and filter
    # (and the query their CSV links repeat). Nothing in them depends on the request.
    context = {
        "form": form,
        "data": data,
        "figures": cached_for_user(
            user=request.user,
            parts=("page", query, data["product"] and data["product"].pk, *_filter(data)),
            compute=figures,
        ),
    }
    return render(request, "metrics/metrics.html", context)


@login_required
@require_GET
def metrics_csv(request: HttpRequest, chart: str) -> HttpResponse:
    spec = SPEC_BY_KEY.get(chart)
    if spec is None:
        raise Http404("No such chart.")
    form, metrics = _metrics_for(request)
    if metrics is None:
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{chart}.csv"'
    writer = csv.writer(response)
    writer.writerow(["period", f"{spec.title} ({spec.unit})"])
    for label, value in chart_build(spec, metrics).rows:
        writer.writerow([label, "" if value is None else value])
    return response


def _query(name: str, kind, description: str, **extra) -> OpenApiParameter:
    return OpenApiParameter(
        name, kind, OpenApiParameter.QUERY, required=False, description=description, **extra
    )


@extend_schema(
    operation_id="metrics_read",
    summary="Read the release metrics",
    description=(
        "DORA figures (deployment frequency, lead time for changes, change-failure rate, time "
        "to restore), approval lead time, rejections and unauthorized changes per week or "
        "month, and the time waiting per activity and per Accountable, over the caller's "
        "releases (a token: its products). Bad parameters answer 400 with the field errors."
    ),
    parameters=[
        _query("product", OpenApiTypes.STR, "A product's slug; empty: every product in scope."),
        _query("period", OpenApiTypes.STR, "`month` (default) or `week`.", enum=["month", "week"]),
        _query("start", OpenApiTypes.DATE, "First day (default: a year before `end`)."),
        _query("end", OpenApiTypes.DATE, "Last day (default: today)."),
        _query(
            "hotfix_days",
            OpenApiTypes.INT,
            "A hotfix within this many days makes a deployment a failure (default 7).",
        ),
    ],
    responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT},
    tags=["metrics"],
)
@api_view(["GET"])
def metrics_api(request: Request) -> Response:
    """The figures as JSON, for the caller's releases (a pipeline token: its products)."""
    token = request_token(request)
    products = (
        list(token.service_account.products.all())
        if token is not None
        else list(products_for_choice(user=request.user))
    )
    form = MetricsFilterForm(request.query_params, products=products)
    if not form.is_valid():
        raise ApiValidationError(form.errors.get_json_data(escape_html=True))
    data = form.cleaned_data
    filters = {
        "period": data["period"],
        "start": data["start"],
        "end": data["end"],
        "hotfix_days": data["hotfix_days"],
    }
    # A pipeline token's scope is its service account's products, which the data
    # version does not watch: its figures are computed live.
    metrics = (
        metrics_compute(
            releases=releases_in_token_scope(token=token, product=data["product"]), **filters
        )
        if token is not None
        else metrics_for_user(user=request.user, product=data["product"], **filters)
    )
    return Response(
        {
            "product": data["product"].slug if data["product"] else None,
            "period": metrics.period,
            "start": metrics.start,
            "end": metrics.end,
            "hotfix_days": data["hotfix_days"],
            "periods": [
                {
                    "start": b.start,
                    "label": bucket_label(b, metrics.period),
                    "deployments": b.deployments,
                    "lead_time_hours": b.lead_time_hours,
                    "finished_deployments": b.finished,
                    "failed_deployments": b.failures,
                    "change_failure_rate": b.failure_rate,
                    "time_to_restore_hours": b.restore_hours,
                    "approval_lead_time_hours": b.approval_hours,
                    "rejections": b.rejections,
                    "unauthorized_changes": b.unauthorized,
                }
                for b in metrics.buckets
            ],
            "waiting_by_activity": [w.__dict__ for w in metrics.by_activity],
            "waiting_by_accountable": [w.__dict__ for w in metrics.by_accountable],
        }
    )
