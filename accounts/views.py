"""Sign-in (local, LDAP, OpenID Connect), the account page and the lockout list."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.views.decorators.http import require_GET, require_POST
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts import selectors, services, timezones
from accounts.forms import TimeZoneForm
from relapp.http import require


class SignInView(LoginView):
    """Django's login page, plus "Sign in with <provider>" when OpenID Connect is configured.

    The username/password form serves local accounts and LDAP; it is hidden
    when neither is on.
    """

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["password_login"] = settings.LOCAL_LOGIN_ENABLED or settings.LDAP_ENABLED
        context["oidc_enabled"] = settings.OIDC_ENABLED
        context["oidc_provider_name"] = settings.OIDC_PROVIDER_NAME
        return context


class OIDCCallbackView(OIDCAuthenticationCallbackView):
    @property
    def failure_url(self) -> str:
        return resolve_url("login")

    def login_failure(self) -> HttpResponse:
        messages.error(self.request, f"Signing in with {settings.OIDC_PROVIDER_NAME} failed.")
        return super().login_failure()


def oidc_start(request: HttpRequest) -> HttpResponse:
    """Send the browser to the provider (mozilla-django-oidc); 404 when OIDC is off."""
    if not settings.OIDC_ENABLED:
        raise Http404("Single sign-on is not configured.")
    browser = request.GET.get("tz")
    if timezones.is_zone(browser):  # anything else is ignored: the zone stays UTC
        request.session[timezones.BROWSER_SESSION_KEY] = browser
    return OIDCAuthenticationRequestView.as_view()(request)


def oidc_callback(request: HttpRequest) -> HttpResponse:
    """The provider sends the browser back here with a code; 404 when OIDC is off."""
    if not settings.OIDC_ENABLED:
        raise Http404("Single sign-on is not configured.")
    return OIDCCallbackView.as_view()(request)


def _account_page(request: HttpRequest, *, zone_form: TimeZoneForm, status: int = 200):
    return render(
        request,
        "accounts/account.html",
        {
            "may_unlock": selectors.may_unlock(request.user),
            "idle_minutes": settings.SESSION_IDLE_MINUTES,
            "max_hours": settings.SESSION_MAX_HOURS,
            "zone_form": zone_form,
        },
        status=status,
    )


@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    zone = TimeZoneForm(initial={"time_zone": timezones.zone_of(request.user)})
    return _account_page(request, zone_form=zone)


@login_required
@require_POST
def time_zone_set(request: HttpRequest) -> HttpResponse:
    form = TimeZoneForm(request.POST)
    if not form.is_valid():
        return _account_page(request, zone_form=form, status=400)
    name = form.cleaned_data["time_zone"]
    services.user_timezone_set(
        user=request.user, name=name, actor=request.user, reason="Changed on the account page"
    )
    request.session[timezones.SESSION_KEY] = name
    messages.success(request, f"Times are now shown in {name}.")
    return redirect("accounts:account")


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
