"""Notification preferences, one-click unsubscribe, chat channels, the Slack slash command."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from approvals.selectors import products_for_choice
from notifications import selectors, services
from notifications.forms import ChatDestinationForm, PreferencesForm
from notifications.models import Event
from notifications.slack import slack_request_refusal, status_answer
from relapp.http import apply_errors, refusal_record, require_perm

MANAGE_PERMISSION = "approvals.add_release"  # release managers, as for webhooks


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    current = services.preferences_for(request.user)
    form = PreferencesForm(request.POST or None, initial_channels=current)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.preferences_save(user=request.user, choices=form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request, f"Preferences saved ({changed} change{'s' if changed != 1 else ''})."
            )
            return redirect("notifications:preferences")
    status = 400 if form.is_bound else 200
    return render(request, "notifications/preferences.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The link in every notification e-mail: GET asks, POST (one button) turns it off."""
    read = services.unsubscribe_read(token)
    if read is None:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=400)
    event = Event(read[1])
    if request.method == "POST":
        services.unsubscribe_apply(token=token)
        return render(request, "notifications/unsubscribe.html", {"event": event, "done": True})
    return render(request, "notifications/unsubscribe.html", {"event": event})


@csrf_exempt
@require_POST
def unsubscribe_one_click(request: HttpRequest, token: str) -> HttpResponse:
    """RFC 8058 one-click unsubscribe: the mail client POSTs `List-Unsubscribe=One-Click`.

    No CSRF token: the signed, per-user, per-event token in the URL is the only
    credential (no cookie gives this request any authority), and the request
    can do exactly one thing, turn that one event off for that one user.
    """
    if services.unsubscribe_read(token) is None:
        return JsonResponse({"error": "invalid_token"}, status=400)
    if request.POST.get("List-Unsubscribe") != "One-Click":
        return JsonResponse({"error": "not_one_click"}, status=400)
    services.unsubscribe_apply(token=token)
    return JsonResponse({"unsubscribed": True})


@login_required
@require_http_methods(["GET", "POST"])
def chat_destination_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, MANAGE_PERMISSION, what="manage chat channels")
    form = ChatDestinationForm(
        request.POST or None, products=products_for_choice(user=request.user)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.chat_destination_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Chat channel added.")
            return redirect("notifications:chat_destination_list")
    return render(
        request,
        "notifications/chat_destination_list.html",
        {
            "form": form,
            "destinations": selectors.chat_destinations_active(),
            "slack_command_url": settings.SITE_URL + reverse("notifications:slack_command"),
        },
        status=400 if form.is_bound else 200,
    )


@login_required
@require_POST
def chat_destination_delete(request: HttpRequest, pk: int) -> HttpResponse:
    require_perm(request, MANAGE_PERMISSION, what="manage chat channels")
    destination = selectors.chat_destination_get(pk=pk)
    services.chat_destination_delete(actor=request.user, destination=destination)
    messages.success(request, f"{destination} removed.")
    return redirect("notifications:chat_destination_list")


# Slack cannot send a CSRF token; the request signature authenticates it instead.
@csrf_exempt
@require_POST
def slack_command(request: HttpRequest) -> HttpResponse:
    refusal = slack_request_refusal(
        secret=settings.SLACK_SIGNING_SECRET,
        timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
        signature=request.headers.get("X-Slack-Signature", ""),
        body=request.body,
    )
    if refusal:
        # Like the API without a token, a request with no signature at all is only
        # answered; a wrong or replayed one is an attempt and goes to the change log.
        if request.headers.get("X-Slack-Signature"):
            refusal_record(request, actor_name="slack", reason=f"Slack command refused: {refusal}")
        return JsonResponse({"error": "invalid_signature", "detail": refusal}, status=401)
    answer = status_answer(request.POST.get("text", ""))
    return HttpResponse(json.dumps(answer), content_type="application/json")
