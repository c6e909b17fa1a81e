"""The account page (sign out everywhere) and the lockout list for release managers."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors, services
from relapp.http import require


@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/account.html",
        {
            "may_unlock": selectors.may_unlock(request.user),
            "idle_minutes": settings.SESSION_IDLE_MINUTES,
            "max_hours": settings.SESSION_MAX_HOURS,
        },
    )


@login_required
@require_POST
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    count = services.sessions_end_everywhere(
        user=request.user, keep_session_key=request.session.session_key
    )
    messages.success(
        request,
        f"Signed out everywhere else ({count} other session{'s' if count != 1 else ''} ended).",
    )
    return redirect("accounts:account")


@login_required
@require_GET
def lockout_list(request: HttpRequest) -> HttpResponse:
    require(request, selectors.may_unlock(request.user), what="see locked accounts")
    return render(request, "accounts/lockout_list.html", {"lockouts": selectors.lockouts_current()})


@login_required
@require_POST
def lockout_lift(request: HttpRequest) -> HttpResponse:
    require(request, selectors.may_unlock(request.user), what="unlock accounts")
    kind, value = request.POST.get("kind", ""), request.POST.get("value", "").strip()
    if kind not in {"account", "address"} or not value:
        messages.error(request, "Choose a locked account or address.")
        return redirect("accounts:lockout_list")
    services.account_unlock(
        actor=request.user,
        username=value if kind == "account" else "",
        ip_address=value if kind == "address" else "",
    )
    messages.success(request, f"Unlocked {kind} {value}.")
    return redirect("accounts:lockout_list")
