"""Pages for release managers: service accounts with their tokens, webhooks with
their delivery logs, and the API's documentation."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from api import selectors, services
from api.docs import api_operations
from api.forms import (
    ScopeForm,
    ServiceAccountForm,
    TokenIssueForm,
    WebhookForm,
    WebhookUpdateForm,
)
from api.models import SUBSCRIBABLE
from relapp.http import apply_errors, require_perm

MANAGE_PERMISSION = "approvals.add_release"  # release managers; superusers hold every permission


def _require_manager(request: HttpRequest, what: str) -> None:
    require_perm(request, MANAGE_PERMISSION, what=what)


def _shown_once(request: HttpRequest, context: dict) -> HttpResponse:
    """The secret in this response exists nowhere else: never cache it."""
    response = render(request, "api/secret_shown.html", context)
    response["Cache-Control"] = "no-store"
    return response


# --- service accounts ---------------------------------------------------------


@login_required
@require_GET
def service_account_list(request: HttpRequest) -> HttpResponse:
    _require_manager(request, "manage service accounts")
    return render(
        request,
        "api/service_account_list.html",
        {"accounts": selectors.service_account_list()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def service_account_create(request: HttpRequest) -> HttpResponse:
    _require_manager(request, "manage service accounts")
    form = ServiceAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account, issued = services.service_account_create(
                actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return _shown_once(
                request,
                {"account": account, "token": issued.token, "record": issued.record},
            )
    return render(request, "api/service_account_form.html", {"form": form})


@login_required
@require_GET
def service_account_detail(request: HttpRequest, name: str) -> HttpResponse:
    _require_manager(request, "manage service accounts")
    account = selectors.service_account_get(name=name)
    return render(
        request,
        "api/service_account_detail.html",
        {
            "account": account,
            "tokens": selectors.tokens_for_account(account=account),
            "now": timezone.now(),
            "scope_form": ScopeForm(
                initial={
                    "products": list(account.products.all()),
                    "can_read_changelog": account.can_read_changelog,
                }
            ),
            "token_form": TokenIssueForm(),
        },
    )


@login_required
@require_POST
def service_account_update(request: HttpRequest, name: str) -> HttpResponse:
    _require_manager(request, "manage service accounts")
    account = selectors.service_account_get(name=name)
    form = ScopeForm(request.POST)
    if form.is_valid():
        services.service_account_update(account=account, actor=request.user, **form.cleaned_data)
        messages.success(request, f"Scope of {account} saved.")
    else:
        messages.error(request, "Choose at least one product; nothing was changed.")
    return redirect(account)


@login_required
@require_POST
def token_issue(request: HttpRequest, name: str) -> HttpResponse:
    _require_manager(request, "manage service accounts")
    account = selectors.service_account_get(name=name)
    form = TokenIssueForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the token a lifetime between 1 and 730 days.")
        return redirect(account)
    issued = services.token_issue(account=account, actor=request.user, **form.cleaned_data)
    return _shown_once(
        request, {"account": account, "token": issued.token, "record": issued.record}
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, name: str, token_id: int) -> HttpResponse:
    _require_manager(request, "manage service accounts")
    account = selectors.service_account_get(name=name)
    token = selectors.token_get(account=account, token_id=token_id)
    services.token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token {token.prefix}… revoked: it stops working at once.")
    return redirect(account)


# --- webhooks -----------------------------------------------------------------


@login_required
@require_GET
def webhook_list(request: HttpRequest) -> HttpResponse:
    _require_manager(request, "manage webhooks")
    return render(
        request, "api/webhook_list.html", {"endpoints": selectors.webhook_endpoint_list()}
    )


@login_required
@require_http_methods(["GET", "POST"])
def webhook_create(request: HttpRequest) -> HttpResponse:
    _require_manager(request, "manage webhooks")
    form = WebhookForm(request.POST or None)
    warnings: list[str] = []
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        confirmed = data.pop("confirm_warnings")
        try:
            services.webhook_endpoint_validate(url=data["url"], events=data["events"])
            warnings = selectors.webhook_url_warnings(url=data["url"])
            if warnings and not confirmed:
                status = 200
            else:
                endpoint, secret = services.webhook_endpoint_create(
                    actor=request.user, warnings_acknowledged=warnings, **data
                )
                return _shown_once(request, {"endpoint": endpoint, "secret": secret})
        except ValidationError as error:
            apply_errors(form, error)
            warnings = []
    return render(
        request, "api/webhook_form.html", {"form": form, "warnings": warnings}, status=status
    )


@login_required
@require_GET
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request, "manage webhooks")
    endpoint = selectors.webhook_endpoint_get(pk=pk)
    form = WebhookUpdateForm(
        initial={
            "url": endpoint.url,
            "events": endpoint.events,
            "description": endpoint.description,
            "is_active": endpoint.is_active,
        }
    )
    return _webhook_page(request, endpoint, form)


def _webhook_page(request, endpoint, form, warnings=(), status=200) -> HttpResponse:
    return render(
        request,
        "api/webhook_detail.html",
        {
            "endpoint": endpoint,
            "deliveries": selectors.deliveries_for_endpoint(endpoint=endpoint),
            "form": form,
            "warnings": warnings,
            "event_labels": dict(SUBSCRIBABLE),
        },
        status=status,
    )


@login_required
@require_POST
def webhook_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Save the endpoint's settings; errors and warnings show on its page with what was typed."""
    _require_manager(request, "manage webhooks")
    endpoint = selectors.webhook_endpoint_get(pk=pk)
    form = WebhookUpdateForm(request.POST)
    if not form.is_valid():
        return _webhook_page(request, endpoint, form, status=400)
    data = dict(form.cleaned_data)
    confirmed = data.pop("confirm_warnings")
    try:
        services.webhook_endpoint_validate(url=data["url"], events=data["events"])
    except ValidationError as error:
        apply_errors(form, error)
        return _webhook_page(request, endpoint, form, status=400)
    # An unchanged URL was acknowledged when it was saved: no second warning per edit.
    warnings = (
        []
        if data["url"] == endpoint.url
        else selectors.webhook_url_warnings(url=data["url"], exclude_pk=endpoint.pk)
    )
    if warnings and not confirmed:
        return _webhook_page(request, endpoint, form, warnings)
    try:
        services.webhook_endpoint_update(
            endpoint=endpoint, actor=request.user, warnings_acknowledged=warnings, **data
        )
    except ValidationError as error:
        apply_errors(form, error)
        return _webhook_page(request, endpoint, form, status=400)
    messages.success(request, "Webhook endpoint saved.")
    return redirect(endpoint)


@login_required
@require_POST
def webhook_rotate_secret(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request, "manage webhooks")
    endpoint = selectors.webhook_endpoint_get(pk=pk)
    secret = services.webhook_secret_rotate(endpoint=endpoint, actor=request.user)
    return _shown_once(request, {"endpoint": endpoint, "secret": secret, "rotated": True})


# --- documentation ------------------------------------------------------------


@login_required
@require_GET
def api_docs(request: HttpRequest) -> HttpResponse:
    return render(request, "api/docs.html", {"operations": api_operations()})
