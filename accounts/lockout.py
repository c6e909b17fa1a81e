"""django-axes configuration hooks: the failure limit and the lockout answer.

A sign-in counts against LOGIN_FAILURE_LIMIT. A wrong signature password is
reported to axes as a failed authentication whose credentials carry
`signature: True` (approvals.views), and counts against the lower
SIGNATURE_FAILURE_LIMIT.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def is_signature(credentials: dict | None) -> bool:
    return bool(credentials and credentials.get("signature"))


def failure_limit(request: HttpRequest, credentials: dict | None) -> int:
    if is_signature(credentials):
        return settings.SIGNATURE_FAILURE_LIMIT
    return settings.LOGIN_FAILURE_LIMIT


def lockout_parameters(request_or_attempt, credentials: dict | None) -> list[str]:
    """Sign-ins lock per account and, separately, per address. A signature is
    counted per account only: colleagues' failed sign-ins behind the same
    address must not lock someone who mistypes one signature password."""
    if is_signature(credentials):
        return ["username"]
    return ["username", "ip_address"]


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """The page a locked-out sign-in gets (429); a signature keeps its own redirect."""
    if is_signature(credentials) and original_response is not None:
        return original_response
    return render(
        request,
        "accounts/locked.html",
        {"cooloff_minutes": settings.LOCKOUT_COOLOFF_MINUTES},
        status=429,
    )
