"""The pipeline API (SPEC §7): thin views over the approvals services and selectors.

Tokens and sessions reach the same endpoints. A token sees every release of
the products in its scope and gets 403 outside it; a person sees what the
RACI lets them see (404 otherwise) and needs the matching permission to write.
"""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers as s
from api.authentication import OutOfScope, refusal_record, request_token, scope_check
from approvals import selectors as approval_selectors
from approvals import services as approval_services
from approvals.lifecycle import Status
from approvals.models import Product, Release, SignOff
from approvals.signoffs import deploy_reasons
from audit.chain import EXPORT_FIELDS, entry_document
from audit.export import changelog_head_seq
from audit.models import ChangeLogEntry
from raci import permissions
from raci.selectors import raci_matrix

SLUG_PATTERN = r"[-a-zA-Z0-9_]+"
VERSION_PATTERN = r"[0-9A-Za-z.+-]+"
CHANGELOG_PERMISSION = "audit.view_changelogentry"

RELEASE_PARAMETERS = [
    OpenApiParameter(
        "product",
        OpenApiTypes.STR,
        OpenApiParameter.PATH,
        description="The product's slug, e.g. `payments-api`.",
        pattern=f"^{SLUG_PATTERN}$",
        examples=[OpenApiExample("A product", value="payments-api")],
    ),
    OpenApiParameter(
        "version",
        OpenApiTypes.STR,
        OpenApiParameter.PATH,
        description="The release's semantic version, e.g. `2.4.0`.",
        pattern=f"^{VERSION_PATTERN}$",
        examples=[OpenApiExample("A version", value="2.4.0")],
    ),
]


def _errors(*codes: int) -> dict:
    described = {
        400: "Invalid fields (`validation_failed`), with messages per field.",
        401: "No token, or a token that is unknown, expired or revoked.",
        403: "The product is outside the token's scope, or the user lacks the permission.",
        404: "No such release (or not one the signed-in user may see).",
        409: "The lifecycle does not allow this now (`illegal_transition`).",
    }
    return {code: OpenApiResponse(s.ErrorSerializer, description=described[code]) for code in codes}


class ReleasePagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def _release_for(request: Request, *, product: str, version: str, codename: str = "") -> Release:
    """The release the caller may reach, or 401/403/404 (refusals logged)."""
    token = request_token(request)
    if token is None:
        try:
            release = approval_selectors.release_get_for_user(
                user=request.user, product=product, version=version
            )
        except Http404:
            raise NotFound("No such release.") from None
        if codename and codename not in release.perms:
            refusal_record(
                request,
                actor=request.user,
                release=release,
                reason=f"Not permitted: {codename} through the API",
            )
            raise PermissionDenied("You may not do this on this release.")
        return release
    product_row = Product.objects.filter(slug=product).first()
    if product_row is None:
        raise NotFound("No such release.")
    scope_check(request, product=product_row)
    release = (
        Release.objects.select_related("product", "fixes")
        .filter(product=product_row, version=version)
        .first()
    )
    if release is None:
        raise NotFound("No such release.")
    return release


def _readiness(release: Release):
    current, _, reasons = approval_services.release_signoff_state(release)
    return current, reasons


@extend_schema(
    operation_id="releases_list",
    summary="List releases",
    description="Releases the caller can reach, newest first, 50 per page.",
    parameters=[s.ReleaseListQuerySerializer],
    responses={200: s.ReleasePageSerializer, **_errors(400, 401, 403, 404)},
    tags=["releases"],
)
@api_view(["GET"])
def release_list(request: Request) -> Response:
    query = s.ReleaseListQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    wanted = query.validated_data
    token = request_token(request)
    if token is None:
        releases = approval_selectors.release_list_for_user(
            user=request.user,
            filters=approval_selectors.ReleaseFilters(
                product=wanted.get("product", ""), status=wanted.get("status", "")
            ),
        )
    else:
        scope = token.service_account.products.all()
        if "product" in wanted:
            product = Product.objects.filter(slug=wanted["product"]).first()
            if product is None:
                raise NotFound("No such product.")
            scope_check(request, product=product)
        releases = Release.objects.select_related("product").filter(product__in=scope)
        if "product" in wanted:
            releases = releases.filter(product__slug=wanted["product"])
        if "status" in wanted:
            releases = releases.filter(status=wanted["status"])
        releases = releases.order_by("-created_at", "-id")
    paginator = ReleasePagination()
    page = paginator.paginate_queryset(releases, request)
    return paginator.get_paginated_response(s.ReleaseSummarySerializer(page, many=True).data)


@extend_schema(
    operation_id="release_read",
    summary="Read a release",
    description=(
        "Status, type, deployment window, readiness for sign-off with the reasons when not "
        "ready, the current RAD revision and its SHA-256, every sign-off (void ones too) and "
        "the gate checks."
    ),
    parameters=RELEASE_PARAMETERS,
    responses={200: s.ReleaseDetailSerializer, **_errors(401, 403, 404)},
    tags=["releases"],
)
@api_view(["GET"])
def release_detail(request: Request, product: str, version: str) -> Response:
    release = _release_for(request, product=product, version=version)
    current, reasons = _readiness(release)
    signoffs = (
        SignOff.objects.filter(release=release)
        .select_related("activity", "signer")
        .order_by("signed_at", "id")
    )
    checks = release.gate_checks.select_related("reported_by").order_by("name")
    data = {
        "product": release.product.slug,
        "version": release.version,
        "title": release.title,
        "type": release.release_type,
        "status": release.status,
        "status_reason": release.status_reason,
        "halted": release.status == Status.HALTED,
        "deployment_window": {"start": release.window_start, "end": release.window_end},
        "ready_for_signoff": not reasons,
        "readiness_reasons": reasons,
        "rad": {"revision": current.number, "sha256": current.sha256} if current else None,
        "signoffs": [
            {
                "activity": signoff.activity.name,
                "signer": signoff.signer.get_username(),
                "printed_name": signoff.printed_name,
                "decision": signoff.decision,
                "method": signoff.method,
                "meaning": signoff.meaning,
                "signed_at": signoff.signed_at,
                "revision": signoff.revision_number,
                "revision_sha256": signoff.revision_sha256,
                "void": signoff.is_void,
                "voided_at": signoff.voided_at,
                "void_reason": signoff.void_reason,
            }
            for signoff in signoffs
        ],
        "gate_checks": [_check_data(check) for check in checks],
    }
    return Response(s.ReleaseDetailSerializer(data).data)


def _check_data(check) -> dict:
    return {
        "name": check.name,
        "status": check.status,
        "details": check.details,
        "url": check.url,
        "reported_by": check.reported_by.get_username(),
        "reported_at": check.reported_at,
    }


@extend_schema(
    operation_id="gate_check_report",
    summary="Report a gate check",
    description=(
        "Creates or updates the named check (its latest result counts). Readiness for "
        "sign-off is recalculated and returned. Sessions need the permission to edit the RAD."
    ),
    parameters=RELEASE_PARAMETERS,
    request=s.GateCheckReportSerializer,
    responses={201: s.GateCheckReportedSerializer, **_errors(400, 401, 403, 404)},
    tags=["gate checks"],
)
@api_view(["POST"])
def gate_check_create(request: Request, product: str, version: str) -> Response:
    release = _release_for(request, product=product, version=version, codename=permissions.EDIT_RAD)
    body = s.GateCheckReportSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    check = approval_services.gate_check_report(
        release=release, actor=request.user, **body.validated_data
    )
    _, reasons = _readiness(release)
    data = {**_check_data(check), "ready_for_signoff": not reasons, "readiness_reasons": reasons}
    return Response(s.GateCheckReportedSerializer(data).data, status=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="release_raci",
    summary="Read the RACI matrix",
    description="Every activity with the usernames holding R, A, C and I.",
    parameters=RELEASE_PARAMETERS,
    responses={200: s.RaciSerializer, **_errors(401, 403, 404)},
    tags=["releases"],
)
@api_view(["GET"])
def release_raci(request: Request, product: str, version: str) -> Response:
    release = _release_for(request, product=product, version=version)
    matrix = raci_matrix(release=release)
    activities = []
    for activity in matrix.activities:
        letters: dict[str, list[str]] = {"R": [], "A": [], "C": [], "I": []}
        for assignment in sorted(activity.assignments.all(), key=lambda a: a.user.get_username()):
            letters[assignment.letter].append(assignment.user.get_username())
        activities.append({"name": activity.name, "go_no_go": activity.is_go_no_go, **letters})
    data = {"product": release.product.slug, "version": release.version, "activities": activities}
    return Response(s.RaciSerializer(data).data)


@extend_schema(
    operation_id="deploy_check",
    summary="May this release deploy now?",
    description=(
        '200 `{"allowed": true}` only if the release is approved, not halted, inside its '
        "deployment window and outside every freeze; otherwise 409 "
        '`{"allowed": false, "reasons": [...]}`.'
    ),
    parameters=RELEASE_PARAMETERS,
    responses={
        200: OpenApiResponse(s.DeployCheckSerializer, description="Allowed."),
        409: OpenApiResponse(s.DeployCheckSerializer, description="Not allowed, with reasons."),
        **_errors(401, 403, 404),
    },
    tags=["deployments"],
)
@api_view(["GET"])
def deploy_check(request: Request, product: str, version: str) -> Response:
    release = _release_for(request, product=product, version=version)
    reasons = deploy_reasons(release=release)
    if reasons:
        return Response({"allowed": False, "reasons": reasons}, status=status.HTTP_409_CONFLICT)
    return Response({"allowed": True})


@extend_schema(
    operation_id="deployment_record",
    summary="Record a deployment",
    description=(
        "`started` and `failed` are recorded on an approved release; `succeeded` moves it to "
        "deployed and `rolled_back` a deployed one to rolled back. Anything else is 409. "
        "Sessions need the permission to record deployments."
    ),
    parameters=RELEASE_PARAMETERS,
    request=s.DeploymentRecordSerializer,
    responses={201: s.DeploymentSerializer, **_errors(400, 401, 403, 404, 409)},
    tags=["deployments"],
)
@api_view(["POST"])
def deployment_create(request: Request, product: str, version: str) -> Response:
    release = _release_for(
        request, product=product, version=version, codename=permissions.RECORD_DEPLOYMENT
    )
    body = s.DeploymentRecordSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    deployment = approval_services.deployment_record(
        release=release, actor=request.user, **body.validated_data
    )
    release.refresh_from_db(fields=["status"])
    data = {
        "status": deployment.status,
        "environment": deployment.environment,
        "details": deployment.details,
        "recorded_by": request.user.get_username(),
        "recorded_at": deployment.recorded_at,
        "release_status": release.status,
    }
    return Response(s.DeploymentSerializer(data).data, status=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="changelog_read",
    summary="Read the change log",
    description=(
        "Entries after `after_seq`, oldest first, with every hashed field, `prev_hash` and "
        "`hash`, exactly as in the JSON export: `python audit/chain.py` verifies them. Tokens "
        "need change-log access; people need the auditor's permission."
    ),
    parameters=[s.ChangelogQuerySerializer],
    responses={200: s.ChangelogPageSerializer, **_errors(400, 401, 403)},
    tags=["change log"],
)
@api_view(["GET"])
def changelog(request: Request) -> Response:
    token = request_token(request)
    if token is not None and not token.service_account.can_read_changelog:
        refusal_record(
            request,
            actor=request.user,
            reason=f"Out of scope: token {token.prefix} may not read the change log",
        )
        raise OutOfScope("This token may not read the change log.")
    if token is None and not request.user.has_perm(CHANGELOG_PERMISSION):
        refusal_record(request, actor=request.user, reason="Not permitted: read the change log")
        raise PermissionDenied("You may not read the change log.")
    query = s.ChangelogQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    after_seq, limit = query.validated_data["after_seq"], query.validated_data["limit"]
    head = changelog_head_seq()
    rows = (
        ChangeLogEntry.objects.filter(seq__gt=after_seq, seq__lte=head)
        .order_by("seq")
        .values_list(*EXPORT_FIELDS)[:limit]
    )
    entries = []
    for row in rows:
        values = dict(zip(EXPORT_FIELDS, row, strict=True))
        document = entry_document(values)
        document["hash"] = values["hash"]
        entries.append(document)
    last = entries[-1]["seq"] if entries else None
    return Response(
        {
            "entries": entries,
            "next_after_seq": last if last is not None and last < head else None,
            "head_seq": head,
        }
    )
