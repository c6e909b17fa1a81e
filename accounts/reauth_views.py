"""Signing by re-authenticating at the OpenID Connect provider: the callback.

The sign-off page (approvals) keeps the pending signature in the session and
sends the signer to the provider with prompt=login and max_age=0
(relapp.credentials.reauth_start). The provider sends the browser back here.
The code is exchanged and the ID token verified with mozilla-django-oidc's
backend (signature against the provider's keys, nonce); then
relapp.credentials.provider_reauthentication checks that the token names the
signed-in user, that they signed in after the click, and builds the proof the
sign-off service accepts in place of a password. Every failure discards the
intent, is logged as a refused sign-off and is explained on the release page.
"""

import hmac
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.backends import OIDCBackend
from approvals import selectors as approvals_selectors
from approvals import services as approvals_services
from approvals.lifecycle import IllegalTransition
from relapp.credentials import (
    REAUTH_SESSION_KEY,
    provider_reauthentication,
    signature_failed,
    signed_in_as_someone_else,
)

logger = logging.getLogger(__name__)


def _verified_claims(request: HttpRequest, intent: dict) -> tuple[dict | None, str]:
    """(the ID token's claims over the userinfo ones, "") after exchanging the code.

    (None, why) when that fails.
    """
    name = settings.OIDC_PROVIDER_NAME
    if request.GET.get("error"):
        return None, f"{name} did not confirm your sign-in: the sign-off was not recorded."
    state = request.GET.get("state") or ""
    if not hmac.compare_digest(state.encode(), str(intent.get("state") or "").encode()):
        return None, "The answer from the provider does not match this signature: not recorded."
    code = request.GET.get("code")
    if not code:
        return None, f"{name} sent no sign-in code: the sign-off was not recorded."
    backend = OIDCBackend()
    backend.request = request
    try:
        token_info = backend.get_token(
            {
                "client_id": settings.OIDC_RP_CLIENT_ID,
                "client_secret": settings.OIDC_RP_CLIENT_SECRET,
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": request.build_absolute_uri(
                    reverse("accounts:oidc_signoff_callback")
                ),
                "code_verifier": intent.get("code_verifier") or "",
            }
        )
        claims = backend.verify_token(token_info["id_token"], nonce=intent.get("nonce"))
        # The username claim may only be in the userinfo answer (as for sign-in,
        # accounts.backends); it must describe the ID token's subject.
        userinfo = backend.get_userinfo(
            token_info.get("access_token"), token_info["id_token"], claims
        )
    except Exception as exc:  # noqa: BLE001 (any token failure is a refused signature, not a 500)
        logger.warning("Signature re-authentication failed: %s", exc)
        return None, f"{name} could not confirm your sign-in: the sign-off was not recorded."
    if not (isinstance(claims, dict) and isinstance(userinfo, dict)) or userinfo.get(
        "sub"
    ) != claims.get("sub"):
        return None, f"{name} could not confirm your sign-in: the sign-off was not recorded."
    return {**userinfo, **claims}, ""


def _refused(request: HttpRequest, release, intent: dict, message: str) -> HttpResponse:
    approvals_services.signoff_refusal_record(
        release=release,
        activity_id=int(intent.get("activity_id") or 0),
        signer=request.user,
        message=message,
    )
    messages.error(request, message)
    return redirect(release.get_absolute_url() + "#approvals")


@login_required
@require_GET
def oidc_signoff_callback(request: HttpRequest) -> HttpResponse:
    """The provider sends the signer back here; the pending signature is recorded or refused."""
    if not settings.OIDC_ENABLED:
        raise Http404("Single sign-on is not configured.")
    intent = request.session.pop(REAUTH_SESSION_KEY, None)
    if not isinstance(intent, dict):
        messages.error(request, "No signature was waiting for this sign-in: nothing was recorded.")
        return redirect("/")
    release = approvals_selectors.release_get_for_user(
        user=request.user, product=intent.get("product"), version=intent.get("version")
    )
    if release.pk != intent.get("release_id"):
        raise Http404("No such release.")
    claims, why = _verified_claims(request, intent)
    proof = None
    if claims is not None:
        proof, why = provider_reauthentication(user=request.user, claims=claims, intent=intent)
    if proof is None:
        refused = _refused(request, release, intent, why)
        if claims is not None and signed_in_as_someone_else(user=request.user, claims=claims):
            # Someone else's identity at the provider is an attempt at unauthorized
            # use: it counts toward the signature lockout like a wrong password.
            return signature_failed(request) or refused
        return refused
    if intent.get("kind") == "verbal":
        return _verbal_answer(request, release, intent, proof)
    activity_id = int(intent["activity_id"])
    try:
        _, created = approvals_services.signoff_record(
            release=release,
            activity_id=activity_id,
            signer=request.user,
            # A delegate signs as themselves on behalf of the absent Accountable;
            # the service checks the delegation again.
            on_behalf_of=_absent_for(request, release, activity_id),
            decision=intent["decision"],
            comment=intent.get("comment") or "",
            password="",
            revision_number=int(intent["revision"]),
            reauthenticated=proof,
            cutoff_acknowledged=intent.get("cutoff_acknowledged") is True,
        )
    except approvals_services.SignOffRefused as error:
        messages.error(request, str(error))  # logged by the service
    except (approvals_services.DomainError, IllegalTransition) as error:
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if created:
            messages.success(request, "Your decision is recorded, signed at the provider.")
        else:
            messages.info(request, "That decision was already recorded; nothing was added.")
    return redirect(release.get_absolute_url() + "#approvals")


def _verbal_answer(request: HttpRequest, release, intent: dict, proof) -> HttpResponse:
    """Record the confirmation or dispute of a verbal approval, signed at the provider."""
    signoff = approvals_selectors.verbal_signoff_for_user(
        user=request.user, signoff_id=int(intent.get("signoff_id") or 0)
    )
    if signoff.release_id != release.pk:
        raise Http404("No such verbal approval.")
    confirm = bool(intent.get("confirm"))
    try:
        approvals_services.signoff_verbal_respond(
            signoff=signoff,
            actor=request.user,
            confirm=confirm,
            password="",
            note=intent.get("note") or "",
            reauthenticated=proof,
            cutoff_acknowledged=intent.get("cutoff_acknowledged") is True,
        )
    except approvals_services.SignOffRefused as error:
        if error.forbidden:
            raise Http404("No such verbal approval.") from None
        messages.error(request, str(error))  # logged by the service
    except approvals_services.DomainError as error:
        messages.error(request, str(error))
    else:
        if confirm:
            messages.success(
                request, "Thank you: your verbal approval is confirmed, signed at the provider."
            )
        else:
            messages.warning(request, "Your dispute is recorded; the approval was voided.")
    return redirect(release.get_absolute_url() + "#approvals")


def _absent_for(request: HttpRequest, release, activity_id: int):
    """Whom the signer stands in for on this activity (an active delegation), or None."""
    current = approvals_services.rad_current(release)
    progress = approvals_selectors.release_progress(
        release=release, user=request.user, current=current
    )
    row = next((r for r in progress.rows if r.activity.pk == activity_id), None)
    return row.on_behalf_of if row is not None else None
