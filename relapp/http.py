"""The request helpers every app's views use: permission checks, refusals, form errors.

A refusal is a 403 *and* a change-log entry (docs/permissions.md: every refused action is
logged), so no view raises PermissionDenied on its own.
"""

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from audit.changelog import changelog_record
from audit.models import Action
from relapp.middleware import current_client_ip
from relapp.refusals import refusal_first_of_minute


def refusal_record(
    request: HttpRequest, *, reason: str, actor=None, actor_name=None, release=None, product=None
) -> None:
    """The change-log entry of a refused request (pages and the API alike).

    Without an authenticated user only the first refusal per source address
    and minute is written here; the rest are counted into one summary entry
    (relapp.refusals), so nobody can flood the append-only log.
    """
    client_ip = current_client_ip.get()
    if actor is None and client_ip and not refusal_first_of_minute(client_ip=client_ip):
        return
    changelog_record(
        action=Action.ACCESS_REFUSED,
        actor=actor,
        actor_name=actor_name,
        release=release,
        product=product,
        after={"method": request.method, "path": request.path},
        reason=reason,
    )


def refuse(request: HttpRequest, *, what: str, release=None) -> PermissionDenied:
    """Log a refused action and return the 403 to raise."""
    user = request.user if request.user.is_authenticated else None
    refusal_record(request, actor=user, release=release, reason=f"Not permitted: {what}")
    return PermissionDenied(f"You may not {what}.")


def require(request: HttpRequest, allowed: bool, *, what: str, release=None) -> None:
    """Go on only if `allowed`; otherwise log the refusal and answer 403.

    `allowed` comes from the one place that decides it: a release's
    `ReleaseAccess.can(...)`, or a global permission for pages outside a release.
    """
    if not allowed:
        raise refuse(request, what=what, release=release)


def require_perm(request: HttpRequest, perm: str, *, what: str, release=None) -> None:
    """Go on only if the user holds the global permission `perm`; else log and 403."""
    require(request, request.user.has_perm(perm), what=what, release=release)


def apply_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form's fields (or on top when no field fits)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)
