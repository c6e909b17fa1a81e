"""The authenticator page of a local account (/account/authenticator/): enrol, confirm, remove."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.authenticator import (
    authenticator_confirm,
    authenticator_disable,
    authenticator_enrol_start,
    authenticator_secret,
)
from accounts.forms import AuthenticatorConfirmForm, AuthenticatorDisableForm
from relapp.credentials import signature_failed, totp_device
from relapp.http import require


def _page(request: HttpRequest, *, status: int = 200, **forms) -> HttpResponse:
    pending = totp_device(request.user, confirmed=False)
    authenticator = totp_device(request.user)
    # Errors of a form whose section the page no longer shows (the state changed).
    stale = [
        form
        for form, shown in (
            (forms.get("confirm_form"), pending),
            (forms.get("disable_form"), authenticator),
        )
        if form is not None and not shown
    ]
    return render(
        request,
        "accounts/authenticator.html",
        {
            "authenticator": authenticator,
            "stale_errors": [
                e for form in stale for errors in form.errors.values() for e in errors
            ],
            "pending": pending,
            "pending_secret": authenticator_secret(pending) if pending else "",
            "confirm_form": forms.get("confirm_form") or AuthenticatorConfirmForm(),
            "disable_form": forms.get("disable_form") or AuthenticatorDisableForm(),
        },
        status=status,
    )


def _require_local(request: HttpRequest) -> None:
    # Only local accounts sign with a password, and so with an authenticator.
    require(request, request.user.has_usable_password(), what="set up an authenticator")


@login_required
@require_GET
def authenticator(request: HttpRequest) -> HttpResponse:
    _require_local(request)
    return _page(request)


@login_required
@require_POST
def authenticator_start(request: HttpRequest) -> HttpResponse:
    _require_local(request)
    try:
        authenticator_enrol_start(user=request.user)
    except ValueError as error:
        messages.error(request, str(error))
    return redirect("accounts:authenticator")


@login_required
@require_POST
def authenticator_confirm_view(request: HttpRequest) -> HttpResponse:
    _require_local(request)
    form = AuthenticatorConfirmForm(request.POST)
    if totp_device(request.user, confirmed=False) is None:
        form.add_error(None, "There is no authenticator set-up to confirm: start one first.")
    elif form.is_valid():
        if authenticator_confirm(user=request.user, code=form.cleaned_data["code"]):
            messages.success(request, "Authenticator turned on: your signatures now need its code.")
            return redirect("accounts:authenticator")
        form.add_error("code", "That code is not right (or has expired): enter the current one.")
    return _page(request, confirm_form=form, status=400)


@login_required
@require_POST
def authenticator_disable_view(request: HttpRequest) -> HttpResponse:
    _require_local(request)
    form = AuthenticatorDisableForm(request.POST)
    if form.is_valid():
        check = authenticator_disable(
            user=request.user,
            password=form.cleaned_data["password"],
            code=form.cleaned_data["code"],
        )
        if check.ok:
            messages.success(request, "Authenticator removed: signatures need your password only.")
            return redirect("accounts:authenticator")
        if check.wrong_credential:
            # Like a wrong signature: it counts towards the signature lockout.
            locked = signature_failed(request)
            if locked is not None:
                return locked
        form.add_error(
            None, check.refusal.replace("the sign-off was not recorded", "nothing changed")
        )
    return _page(request, disable_form=form, status=400)
