"""Writes of the API app: service accounts, their tokens, webhook endpoints.

Each function is one transaction with one change-log entry per change. A
token or webhook secret is returned once to the caller and never logged.
"""

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_slug
from django.db import IntegrityError, transaction
from django.utils import timezone

from api.models import SUBSCRIBABLE, ApiToken, ServiceAccount, WebhookEndpoint
from approvals.models import Product
from audit.changelog import changelog_record
from audit.models import Action
from relapp.webhook_targets import url_refusal

TOKEN_PREFIX = "relapp_"  # noqa: S105 - the public part every token starts with
MAX_TOKEN_DAYS = 730
DEFAULT_TOKEN_DAYS = 90


@dataclass(frozen=True)
class IssuedToken:
    """A token as its holder sees it, once: `token` is never stored."""

    token: str
    record: ApiToken


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_split(token: str) -> str | None:
    """The lookup prefix of a well-formed token, or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    prefix, _, secret = token[len(TOKEN_PREFIX) :].partition("_")
    if len(prefix) != 8 or not prefix.isalnum() or len(secret) < 32:
        return None
    return prefix


def _new_token() -> tuple[str, str]:
    prefix = secrets.token_hex(4)
    return prefix, f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def _scope_snapshot(account: ServiceAccount) -> dict:
    return {
        "name": account.name,
        "products": sorted(account.products.values_list("slug", flat=True)),
        "can_read_changelog": account.can_read_changelog,
    }


def _actor_fields(actor) -> dict:
    if actor is None:
        return {"actor": None, "actor_name": "system (manage.py)"}
    return {"actor": actor}


def _validate_days(days: int) -> None:
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise ValidationError({"days": f"A token lives between 1 and {MAX_TOKEN_DAYS} days."})


def _issue(*, account: ServiceAccount, actor, days: int) -> IssuedToken:
    # A prefix collision is astronomically unlikely; retry rather than fail.
    for _ in range(5):
        prefix, token = _new_token()
        if not ApiToken.objects.filter(prefix=prefix).exists():
            break
    record = ApiToken.objects.create(
        service_account=account,
        prefix=prefix,
        digest=token_digest(token),
        created_by=actor,
        expires_at=timezone.now() + timedelta(days=days),
    )
    return IssuedToken(token=token, record=record)


def service_account_create(
    *,
    name: str,
    products: list[Product],
    actor,
    days: int = DEFAULT_TOKEN_DAYS,
    description: str = "",
    can_read_changelog: bool = False,
) -> tuple[ServiceAccount, IssuedToken]:
    """A service account with its first token. `actor` None means the command line."""
    name = name.strip()
    errors: dict[str, str] = {}
    try:
        validate_slug(name)
    except ValidationError:
        errors["name"] = "Use letters, digits, hyphens and underscores only."
    if len(name) > 60:
        errors["name"] = "Keep the name under 60 characters."
    if not products:
        errors["products"] = "Choose at least one product the account may act on."
    try:
        _validate_days(days)
    except ValidationError as error:
        errors.update({k: " ".join(v) for k, v in error.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        user_model = get_user_model()
        try:
            with transaction.atomic():
                # ':' is not allowed in usernames a person can register, so
                # nobody can pose as a service account in the change log.
                # Inactive: it cannot sign in and is never offered in RACI pickers.
                user = user_model(username=f"service:{name}", is_active=False)
                user.set_unusable_password()
                user.save()
                account = ServiceAccount.objects.create(
                    user=user,
                    name=name,
                    description=description.strip(),
                    can_read_changelog=can_read_changelog,
                    created_by=actor,
                )
        except IntegrityError:
            raise ValidationError({"name": f"A service account named {name} exists."}) from None
        account.products.set(products)
        issued = _issue(account=account, actor=actor, days=days)
        changelog_record(
            action=Action.SERVICE_ACCOUNT_CHANGED,
            obj=account,
            after={
                **_scope_snapshot(account),
                "event": "created",
                "token_prefix": issued.record.prefix,
                "token_expires_at": issued.record.expires_at.isoformat(),
            },
            reason="Service account created",
            **_actor_fields(actor),
        )
    return account, issued


def service_account_update(
    *, account: ServiceAccount, actor, products: list[Product], can_read_changelog: bool
) -> ServiceAccount:
    if not products:
        raise ValidationError({"products": "Choose at least one product the account may act on."})
    with transaction.atomic():
        account = ServiceAccount.objects.select_for_update().get(pk=account.pk)
        before = _scope_snapshot(account)
        account.can_read_changelog = can_read_changelog
        account.save(update_fields=["can_read_changelog"])
        account.products.set(products)
        after = _scope_snapshot(account)
        if before != after:
            changelog_record(
                action=Action.SERVICE_ACCOUNT_CHANGED,
                obj=account,
                before=before,
                after={**after, "event": "scope changed"},
                reason="Service account scope changed",
                **_actor_fields(actor),
            )
    return account


def token_issue(*, account: ServiceAccount, actor, days: int = DEFAULT_TOKEN_DAYS) -> IssuedToken:
    _validate_days(days)
    with transaction.atomic():
        account = ServiceAccount.objects.select_for_update().get(pk=account.pk)
        issued = _issue(account=account, actor=actor, days=days)
        changelog_record(
            action=Action.SERVICE_ACCOUNT_CHANGED,
            obj=account,
            after={
                "event": "token issued",
                "token_prefix": issued.record.prefix,
                "token_expires_at": issued.record.expires_at.isoformat(),
            },
            reason="API token issued",
            **_actor_fields(actor),
        )
    return issued


def token_revoke(*, token: ApiToken, actor) -> ApiToken:
    """Revoke at once; revoking twice changes nothing and logs nothing."""
    with transaction.atomic():
        token = (
            ApiToken.objects.select_for_update().select_related("service_account").get(pk=token.pk)
        )
        if token.revoked_at is not None:
            return token
        token.revoked_at = timezone.now()
        token.revoked_by = actor
        token.save(update_fields=["revoked_at", "revoked_by"])
        changelog_record(
            action=Action.SERVICE_ACCOUNT_CHANGED,
            obj=token.service_account,
            before={"token_prefix": token.prefix, "state": "active"},
            after={"event": "token revoked", "token_prefix": token.prefix, "state": "revoked"},
            reason="API token revoked",
            **_actor_fields(actor),
        )
    return token


def token_touch(*, token: ApiToken) -> None:
    """Record that the token was used (its `last_used_at`), without a change-log entry."""
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())


# --- webhooks -----------------------------------------------------------------

_EVENT_VALUES = {value for value, _ in SUBSCRIBABLE}


def webhook_endpoint_validate(*, url: str, events: list[str]) -> None:
    """ValidationError with the field errors saving this target would raise (a URL the
    send-time guard refuses, no event), so a form shows them before any warning."""
    _clean_endpoint(url=url, events=events)


def _clean_endpoint(*, url: str, events: list[str]) -> tuple[str, list[str]]:
    url = url.strip()
    errors: dict[str, str] = {}
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        errors["url"] = "Enter an http:// or https:// URL."
    if len(url) > 500:
        errors["url"] = "Keep the URL under 500 characters."
    if "url" not in errors and (refusal := url_refusal(url)):
        errors["url"] = refusal
    unknown = [event for event in events if event not in _EVENT_VALUES]
    if unknown:
        errors["events"] = f"Unknown events: {', '.join(unknown)}."
    elif not events:
        errors["events"] = "Choose at least one event."
    if errors:
        raise ValidationError(errors)
    return url, sorted(set(events))


def _acknowledged(warnings: Sequence[str]) -> dict:
    return {"warnings_acknowledged": list(warnings)} if warnings else {}


def _endpoint_snapshot(endpoint: WebhookEndpoint) -> dict:
    return {
        "product": endpoint.product.slug,
        "url": endpoint.url,
        "events": endpoint.events,
        "description": endpoint.description,
        "is_active": endpoint.is_active,
    }


def webhook_endpoint_create(
    *,
    product: Product,
    url: str,
    events: list[str],
    actor,
    description: str = "",
    warnings_acknowledged: Sequence[str] = (),
) -> tuple[WebhookEndpoint, str]:
    """A new subscriber; returns it with its signing secret, shown once.

    `warnings_acknowledged`: the form's warnings (plain http, a URL already registered)
    the release manager confirmed, kept in the change-log entry.
    """
    url, events = _clean_endpoint(url=url, events=events)
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            product=product,
            url=url,
            events=events,
            secret=secret,
            description=description.strip()[:200],
            created_by=actor,
        )
        changelog_record(
            action=Action.WEBHOOK_CHANGED,
            actor=actor,
            product=product,
            obj=endpoint,
            after={
                **_endpoint_snapshot(endpoint),
                "event": "created",
                **_acknowledged(warnings_acknowledged),
            },
            reason="Webhook endpoint created",
        )
    return endpoint, secret


def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    actor,
    url: str,
    events: list[str],
    is_active: bool,
    description: str = "",
    warnings_acknowledged: Sequence[str] = (),
) -> WebhookEndpoint:
    url, events = _clean_endpoint(url=url, events=events)
    with transaction.atomic():
        endpoint = (
            WebhookEndpoint.objects.select_for_update()
            .select_related("product")
            .get(pk=endpoint.pk)
        )
        before = _endpoint_snapshot(endpoint)
        endpoint.url, endpoint.events, endpoint.is_active = url, events, is_active
        endpoint.description = description.strip()[:200]
        endpoint.save(update_fields=["url", "events", "is_active", "description"])
        after = _endpoint_snapshot(endpoint)
        if before != after:
            changelog_record(
                action=Action.WEBHOOK_CHANGED,
                actor=actor,
                product=endpoint.product,
                obj=endpoint,
                before=before,
                after={**after, "event": "updated", **_acknowledged(warnings_acknowledged)},
                reason="Webhook endpoint changed",
            )
    return endpoint


def webhook_secret_rotate(*, endpoint: WebhookEndpoint, actor) -> str:
    """A new signing secret, effective for every attempt from now on; returned once."""
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        endpoint = (
            WebhookEndpoint.objects.select_for_update()
            .select_related("product")
            .get(pk=endpoint.pk)
        )
        endpoint.secret = secret
        endpoint.save(update_fields=["secret"])
        changelog_record(
            action=Action.WEBHOOK_CHANGED,
            actor=actor,
            product=endpoint.product,
            obj=endpoint,
            after={"event": "secret rotated", "url": endpoint.url},
            reason="Webhook signing secret rotated",
        )
    return secret
