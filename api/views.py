"""The pipeline API (docs/lifecycle.md): thin views over the approvals services and selectors.

Tokens and sessions reach the same endpoints. A token sees every release of
the products in its scope and gets 403 outside it; a person sees what the
RACI lets them see (404 otherwise) and needs the matching permission to write.
"""

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from api import selectors
from api import serializers as s
from api.authentication import OutOfScope, request_token, scope_check
from approvals import selectors as approval_selectors
from approvals import services as approval_services
from approvals.lifecycle import ReleaseAction
from approvals.models import Product, Release
from attestations import selectors as attestation_selectors
from relapp.http import refusal_record

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

    def page_of(self, queryset, request: Request) -> dict:
        """One page with its links, for `ReleasePageSerializer` (404 past the last page)."""
        results = self.paginate_queryset(queryset, request)
        return {
            "count": self.page.paginator.count,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": results,
        }


def _product_in_scope(request: Request, *, slug: str, missing: str) -> Product:
    """The product, if the request's token covers it: 404 (`missing`) or 403 (logged)."""
    product = selectors.product_get(slug=slug)
    if product is None:
        raise NotFound(missing)
    scope_check(request, product=product)
    return product


def _release_for(request: Request, *, product: str, version: str, action: str = "") -> Release:
    """The release the caller may reach, or 401/403/404 (refusals logged)."""
    if request_token(request) is not None:
        product_row = _product_in_scope(request, slug=product, missing="No such release.")
        release = selectors.release_get(product=product_row, version=version)
        if release is None:
            raise NotFound("No such release.")
        return release
    try:
        access = approval_selectors.release_access_for_user(
            user=request.user, product=product, version=version
        )
    except Http404:
        raise NotFound("No such release.") from None
    if action and not access.may(action):
        refusal_record(
            request,
            actor=request.user,
            release=access.release,
            reason=f"Not permitted: {ReleaseAction(action).label} through the API",
        )
        raise PermissionDenied("You may not do this on this release.")
    return access.release


def _changelog_access_check(request: Request) -> None:
    """403 (logged) unless the token may read the change log, or the person is an auditor."""
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
    filters = approval_selectors.ReleaseFilters(
        product=query.validated_data.get("product", ""),
        status=query.validated_data.get("status", ""),
    )
    token = request_token(request)
    if token is None:
        releases = approval_selectors.release_list_for_user(user=request.user, filters=filters)
    else:
        if filters.product:
            _product_in_scope(request, slug=filters.product, missing="No such product.")
        releases = selectors.release_list_for_token(
            token=token, product=filters.product, status=filters.status
        )
    page = ReleasePagination().page_of(releases, request)
    return Response(s.ReleasePageSerializer(page).data)


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
    return Response(s.ReleaseDetailSerializer(selectors.release_detail_get(release=release)).data)


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
    release = _release_for(request, product=product, version=version, action=ReleaseAction.EDIT_RAD)
    body = s.GateCheckReportSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    check = approval_services.gate_check_report(
        release=release, actor=request.user, **body.validated_data
    )
    reasons = selectors.release_readiness_get(release=release)
    output = s.GateCheckReportedSerializer(check, context={"readiness_reasons": reasons})
    return Response(output.data, status=status.HTTP_201_CREATED)


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
    return Response(s.RaciSerializer(selectors.release_raci_get(release=release)).data)


@extend_schema(
    operation_id="deploy_check",
    summary="May this release deploy now?",
    description=(
        '200 `{"allowed": true}` only if, at this moment, the release is approved and its '
        "approval has not expired, it is not halted, it is inside its deployment window and "
        "outside every freeze, every required gate check passes, no blocker or critical "
        "defect is open, the rollback rehearsal is recent enough, the RAD meets the policy's "
        "quality thresholds, and `artifact` (when given) is one of the approved artifacts. "
        'Otherwise 409 `{"allowed": false, "reasons": [...], "refusals": [{"code", "message"}]}`.'
    ),
    parameters=[*RELEASE_PARAMETERS, s.DeployCheckQuerySerializer],
    responses={
        200: OpenApiResponse(s.DeployCheckSerializer, description="Allowed."),
        409: OpenApiResponse(s.DeployCheckSerializer, description="Not allowed, with reasons."),
        **_errors(400, 401, 403, 404),
    },
    tags=["deployments"],
)
@api_view(["GET"])
def deploy_check(request: Request, product: str, version: str) -> Response:
    release = _release_for(request, product=product, version=version)
    query = s.DeployCheckQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    refusals = approval_selectors.deploy_check_now(
        release=release, artifact=query.validated_data.get("artifact", "").strip()
    )
    code = status.HTTP_409_CONFLICT if refusals else status.HTTP_200_OK
    return Response(s.DeployCheckSerializer(refusals).data, status=code)


@extend_schema(
    methods=["GET"],
    operation_id="artifacts_read",
    summary="Read the artifacts",
    description="The artifacts the release ships and the SHA-256 of the set sign-offs cover.",
    parameters=RELEASE_PARAMETERS,
    responses={200: s.ArtifactSetSerializer, **_errors(401, 403, 404)},
    tags=["artifacts"],
)
@extend_schema(
    methods=["POST"],
    operation_id="artifacts_report",
    summary="Report artifacts",
    description=(
        "Adds or updates artifacts by name (`replace: true` makes the list the whole set). "
        "Digests are canonicalised (`sha256:` + 64 lowercase hex; 40-hex commits). Allowed "
        "while the release is a draft or in review; a change voids every sign-off, which then "
        "covers the new set. 409 once approved. Sessions need the permission to edit the RAD."
    ),
    parameters=RELEASE_PARAMETERS,
    request=s.ArtifactReportSerializer,
    responses={201: s.ArtifactSetSerializer, **_errors(400, 401, 403, 404, 409)},
    tags=["artifacts"],
)
@api_view(["GET", "POST"])
def artifacts(request: Request, product: str, version: str) -> Response:
    if request.method == "GET":
        release = _release_for(request, product=product, version=version)
        return Response(
            s.ArtifactSetSerializer(approval_selectors.artifacts_for_release(release=release)).data
        )
    release = _release_for(
        request, product=product, version=version, action=ReleaseAction.EDIT_ARTIFACTS
    )
    body = s.ArtifactReportSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    approval_services.artifacts_report(
        release=release,
        actor=request.user,
        artifacts=body.validated_data["artifacts"],
        replace=body.validated_data["replace"],
    )
    output = s.ArtifactSetSerializer(approval_selectors.artifacts_for_release(release=release))
    return Response(output.data, status=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="deployment_record",
    summary="Record a deployment",
    description=(
        "Every deployment is recorded as the fact it is. `succeeded` moves an approved release "
        "to deployed and `rolled_back` a deployed one to rolled back. A `started`, `succeeded` "
        "or `failed` deployment the deploy check would refuse at this moment is flagged "
        "`unauthorized` with the refusals, logged and notified to release managers and "
        "auditors. Sessions need the permission to record deployments."
    ),
    parameters=RELEASE_PARAMETERS,
    request=s.DeploymentRecordSerializer,
    responses={201: s.DeploymentSerializer, **_errors(400, 401, 403, 404, 409)},
    tags=["deployments"],
)
@api_view(["POST"])
def deployment_create(request: Request, product: str, version: str) -> Response:
    release = _release_for(
        request, product=product, version=version, action=ReleaseAction.RECORD_DEPLOYMENT
    )
    body = s.DeploymentRecordSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    deployment = approval_services.deployment_record(
        release=release, actor=request.user, **body.validated_data
    )
    return Response(s.DeploymentSerializer(deployment).data, status=status.HTTP_201_CREATED)


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
    _changelog_access_check(request)
    query = s.ChangelogQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    page = selectors.changelog_page_get(**query.validated_data)
    return Response(s.ChangelogPageSerializer(page).data)


@extend_schema(
    operation_id="monitoring_tick",
    summary="Tick a post-deploy checklist item",
    description=(
        "Ticks item `position` (from 0) of the RAD's monitoring checklist for the succeeded "
        "deployment, with an optional note and dashboard link. Only people tick: the "
        "Responsibles and the Operations Accountable (403 for anyone else and for tokens, "
        "logged); 409 before the deployment succeeded, for an unknown item or one already ticked."
    ),
    parameters=RELEASE_PARAMETERS,
    request=s.MonitoringTickRequestSerializer,
    responses={201: s.MonitoringTickSerializer, **_errors(400, 401, 403, 404, 409)},
    tags=["deployments"],
)
@api_view(["POST"])
def monitoring_tick(request: Request, product: str, version: str, position: str) -> Response:
    release = _release_for(request, product=product, version=version)
    if request_token(request) is not None:
        refusal_record(
            request,
            actor=request.user,
            release=release,
            reason="Not permitted: tick the post-deploy checklist with a token (people tick it)",
        )
        raise PermissionDenied("Only people tick the post-deploy checklist.")
    body = s.MonitoringTickRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    try:
        tick = approval_services.monitoring_tick(
            release=release, actor=request.user, position=int(position), **body.validated_data
        )
    except approval_services.MonitoringRefused as error:
        if error.forbidden:
            raise PermissionDenied(str(error)) from None
        return Response(
            {"error": "tick_refused", "detail": str(error)}, status=status.HTTP_409_CONFLICT
        )
    return Response(s.MonitoringTickSerializer(tick).data, status=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="attestation_read",
    summary="Read the approval attestation",
    description=(
        "The signed in-toto Statement v1 of the release's approval, as a DSSE envelope "
        "(payloadType `application/vnd.in-toto+json`, Ed25519, the key id in the envelope): "
        "its subjects are the approved artifacts (name and digest), its predicate "
        "(`https://relapp.dev/approval/v1`) the RAD revision and hash, every required "
        "sign-off, the policy version, the window and the change-log entry of the approval. "
        "404 until the release is approved with artifacts; 410 with the revocation envelope "
        "(`https://relapp.dev/approval-revocation/v1`) once it was halted, cancelled or a "
        "sign-off was voided. Verify it offline with the public keys at "
        "`/.well-known/relapp/attestation-keys.json` (docs/attestations.md)."
    ),
    parameters=RELEASE_PARAMETERS,
    responses={
        200: OpenApiResponse(OpenApiTypes.OBJECT, description="The approval's DSSE envelope."),
        410: OpenApiResponse(OpenApiTypes.OBJECT, description="The revocation's DSSE envelope."),
        **_errors(401, 403, 404),
    },
    tags=["attestations"],
)
@api_view(["GET"])
def attestation(request: Request, product: str, version: str) -> Response:
    release = _release_for(request, product=product, version=version)
    latest = attestation_selectors.attestation_latest(release=release)
    if latest is None:
        raise NotFound("No attestation: the release has not been approved with artifacts.")
    if attestation_selectors.attestation_withdrawn_unsigned(release=release, latest=latest):
        return Response(
            {"detail": "The approval was withdrawn; its revocation could not be signed."},
            status=status.HTTP_410_GONE,
        )
    code = status.HTTP_410_GONE if latest.is_revocation else status.HTTP_200_OK
    return Response(latest.envelope, status=code)


@require_GET
def attestation_keys(request: HttpRequest) -> JsonResponse:
    """The public keys that verify attestations, with their validity periods; public."""
    response = JsonResponse(attestation_selectors.attestation_keys_document())
    response["Cache-Control"] = "public, max-age=300"
    return response
