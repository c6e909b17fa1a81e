"""One error body for every refusal, so a script can branch on `error`.

    {"error": "validation_failed", "detail": "…", "fields": {"status": ["…"]}}
    {"error": "illegal_transition", "detail": "…", "transition": "deploy", "status": "in_review"}

Codes: validation_failed, parse_error (400); not_authenticated, invalid_token,
token_expired, token_revoked (401); out_of_scope, permission_denied (403);
not_found (404); method_not_allowed (405); not_acceptable (406);
illegal_transition, conflict (409); unsupported_media_type (415).
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from approvals.lifecycle import IllegalTransition
from approvals.services import DomainError


def _fields(detail) -> dict:
    if isinstance(detail, dict):
        return {
            key: [str(m) for m in value] if isinstance(value, list) else [str(value)]
            for key, value in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {"non_field_errors": [str(detail)]}


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return Response(
            {
                "error": "validation_failed",
                "detail": "The request has invalid fields.",
                "fields": _fields(detail),
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, IllegalTransition):
        return Response(
            {
                "error": "illegal_transition",
                "detail": str(exc),
                "transition": str(exc.transition),
                "status": str(exc.status),
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, DomainError):
        return Response({"error": "conflict", "detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "error": "validation_failed",
            "detail": "The request has invalid fields.",
            "fields": _fields(exc.detail),
        }
        return response
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.default_detail)
    else:  # Http404 and Django's PermissionDenied, translated by DRF
        code = "not_found" if response.status_code == 404 else "permission_denied"
        detail = str(response.data.get("detail", ""))
    if code == "not_authenticated":
        detail = "Send Authorization: Bearer <token>, or sign in."
    response.data = {"error": code, "detail": str(detail)}
    return response


@csrf_exempt  # it changes nothing; a CSRF page would be the wrong answer
def api_not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Anything under /api/ that no route matches: a JSON 404, not the HTML page."""
    return JsonResponse({"error": "not_found", "detail": "No such API endpoint."}, status=404)
