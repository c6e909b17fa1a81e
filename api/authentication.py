"""Who is calling the API, and what that caller may reach.

Two kinds of caller use the same endpoints: a pipeline with a service
account's bearer token (scoped to products), and a person with a browser
session (RACI permissions, CSRF enforced on writes by DRF's
SessionAuthentication). Every refusal is written to the change log.
"""

import hmac
import logging

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from api.models import ApiToken
from api.services import token_digest, token_split, token_touch
from api.throttling import AuthFailureThrottle
from relapp.http import refusal_record

logger = logging.getLogger("relapp.api")


class TokenRefused(exceptions.AuthenticationFailed):
    """401 with a code a script can act on: invalid_token, token_expired, token_revoked."""


class OutOfScope(exceptions.PermissionDenied):
    default_detail = "This token may not act on that product."
    default_code = "out_of_scope"


def token_lookup(token: str) -> ApiToken | None:
    """The token row whose digest matches `token`, or None."""
    prefix = token_split(token)
    if prefix is None:
        return None
    record = ApiToken.objects.select_related("service_account__user").filter(prefix=prefix).first()
    if record is None or not hmac.compare_digest(record.digest, token_digest(token)):
        return None
    return record


def _failure_record(request, *, reason: str, **who) -> None:
    """Log a failed authentication; 429 with Retry-After once the address is past the rate.

    The refusal is logged either way (relapp.http aggregates those without a
    user per address and minute), so a throttled flood is still counted.
    """
    throttle = AuthFailureThrottle()
    allowed = throttle.allow_request(request, None)
    refusal_record(request, reason=reason if allowed else f"{reason} (throttled)", **who)
    if not allowed:
        raise exceptions.Throttled(wait=throttle.wait())


class BearerTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer relapp_…`. The request's auth is the ApiToken row."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        token = credentials.strip()
        now = timezone.now()
        record = token_lookup(token) if token else None
        if record is None:
            prefix = token_split(token) or "unknown"
            _failure_record(
                request,
                actor_name=f"API token {prefix}"[:200],
                reason="Refused API token: unknown or malformed",
            )
            raise TokenRefused("The token is not valid.", code="invalid_token")
        state = record.state(now)
        if state != "active":
            _failure_record(
                request,
                actor=record.service_account.user,
                reason=f"Refused API token {record.prefix}: {state}",
            )
            raise TokenRefused(f"The token is {state}.", code=f"token_{state}")
        token_touch(token=record)
        logger.info(
            "API %s %s by %s (token %s)",
            request.method,
            request.path,
            record.service_account,
            record.prefix,
        )
        return record.service_account.user, record

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="relapp"'


def request_token(request) -> ApiToken | None:
    """The bearer token of the request, or None for a browser session."""
    return request.auth if isinstance(request.auth, ApiToken) else None


def scope_check(request, *, product, release=None) -> None:
    """403 (logged) unless the request's token covers `product`; sessions pass."""
    token = request_token(request)
    if token is None:
        return
    if not token.service_account.products.filter(pk=product.pk).exists():
        refusal_record(
            request,
            actor=request.user,
            product=product,
            release=release,
            reason=f"Out of scope: token {token.prefix} does not cover {product.slug}",
        )
        raise OutOfScope(f"This token may not act on {product.slug}.")
