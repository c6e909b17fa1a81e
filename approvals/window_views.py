"""Moving a release's deployment window: the form warns as the new-release form does
(past, freeze, conflicts with other releases' windows) and refuses where a rule refuses."""

import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from approvals import selectors, services
from approvals.lifecycle import ReleaseAction, ReleaseType, Status
from approvals.rules import window_warnings
from approvals.window_forms import WindowMoveForm
from relapp.http import apply_errors, refusal_record, require


def _warnings(release, start, end) -> list[str]:
    """The create form's warnings for the new window, and its conflicts with other releases."""
    freezes = selectors.freezes_overlapping(product=release.product, start=start, end=end)
    warnings = window_warnings(
        start=start,
        end=end,
        now=timezone.now(),
        freezes=freezes,
        is_hotfix=release.release_type == ReleaseType.HOTFIX,
    )
    probe = copy.copy(release)
    probe.window_start, probe.window_end = start, end
    warnings += [f"Conflict: {c.message}" for c in selectors.conflicts_for(release=probe)]
    return warnings


@login_required
@require_http_methods(["GET", "POST"])
def release_window_move(request: HttpRequest, product: str, version: str) -> HttpResponse:
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    require(
        request,
        access.may(ReleaseAction.MOVE_WINDOW),
        what="move this release's deployment window",
        release=release,
    )
    initial = {"window_start": release.window_start, "window_end": release.window_end}
    form = WindowMoveForm(request.POST or None, initial=initial)
    warnings: list[str] = []
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        warnings = _warnings(release, data["window_start"], data["window_end"])
        if data["confirm_window"] or not warnings:
            try:
                moved = services.release_window_move(
                    release=release,
                    actor=request.user,
                    window_start=data["window_start"],
                    window_end=data["window_end"],
                    reason=data["reason"],
                )
            except ValidationError as error:
                apply_errors(form, error)
                warnings = []
                status = 400
            except services.DomainError as error:
                refusal_record(request, actor=request.user, release=release, reason=str(error))
                form.add_error(None, str(error))
                warnings = []
                status = 409
            else:
                return _moved(request, moved)
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "approvals/release_window_form.html",
        {
            "form": form,
            "release": release,
            "warnings": warnings,
            "movable": access.can(ReleaseAction.MOVE_WINDOW),
        },
        status=status,
    )


def _moved(request: HttpRequest, release) -> HttpResponse:
    messages.success(request, "Deployment window moved.")
    if release.status == Status.HALTED:
        messages.warning(
            request,
            "The release is halted: the Go/no-go Accountable signs again for the new window "
            "to resume it.",
        )
    for conflict in selectors.conflicts_for(release=release):
        messages.warning(request, f"Conflict: {conflict.message}")
    return redirect(release)
