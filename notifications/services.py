"""Writes for notifications: the change-log hook, preferences, unsubscribing, the digest,
chat destinations and the chat outbox.

Delivery per recipient follows their preference for the event:

- `in_app`: an entry in their Relapp notifications;
- `email`: that entry, and an e-mail sent once the change commits;
- `digest`: that entry, and a line in the next daily digest;
- `chat`: that entry, and their name under the message in the product's chat channels;
- `none`: nothing at all.

Chat channels of the product get every event they subscribe to, whoever the
recipients are; their deliveries are outbox rows sent by a periodic task with
retries, like webhooks.
"""

import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from approvals.lifecycle import Status
from approvals.models import Release
from approvals.selectors import my_signoffs, policy_for
from audit.changelog import changelog_record
from audit.models import Action
from meetings.models import Notification
from notifications.chat import chat_payload
from notifications.events import (
    DEFAULT_CHANNEL,
    PERSONAL_EVENTS,
    EventMessage,
    absolute,
    event_for_entry,
    expiring_message,
    message_for,
    recipients_for,
)
from notifications.models import (
    Channel,
    ChatDelivery,
    ChatDestination,
    ChatKind,
    DeliveryStatus,
    DigestItem,
    Event,
    ExpiryWarning,
    NotificationPreference,
)
from relapp.webhook_targets import checked_opener, url_refusal

logger = logging.getLogger("relapp.notifications")

UNSUBSCRIBE_SALT = "notifications.unsubscribe"


# --- preferences ------------------------------------------------------------------------


def preferences_for(user) -> dict[str, str]:
    """event -> channel for `user`, defaults filled in."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("event", "channel"))
    return {event: chosen.get(event, DEFAULT_CHANNEL[Event(event)]) for event in Event.values}


def preferences_save(*, user, choices: dict[str, str]) -> int:
    """Store the user's channel per event; the number of events whose choice changed."""
    errors = {
        event: "Choose one of the offered channels."
        for event, channel in choices.items()
        if event not in Event.values or channel not in Channel.values
    }
    if errors:
        raise ValidationError(errors)
    current = preferences_for(user)
    changes = {e: c for e, c in sorted(choices.items()) if current[e] != c}
    with transaction.atomic():
        for event, channel in changes.items():
            NotificationPreference.objects.update_or_create(
                user=user, event=event, defaults={"channel": channel}
            )
        if changes:
            changelog_record(
                action=Action.NOTIFICATION_PREFERENCES_CHANGED,
                actor=user,
                obj=user,
                before={event: current[event] for event in changes},
                after=changes,
                reason="Notification preferences saved",
            )
    return len(changes)


def unsubscribe_token(*, user, event: str) -> str:
    return signing.dumps([user.pk, event], salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_read(token: str) -> tuple[int, str] | None:
    """(user id, event) of a genuine token, else None. Tokens do not expire: an old
    e-mail's link must still work."""
    try:
        user_id, event = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(user_id, int) or event not in Event.values:
        return None
    return user_id, event


def unsubscribe_apply(*, token: str):
    """Turn the token's event off for its user; the user and event, or None for a bad token."""
    read = unsubscribe_read(token)
    if read is None:
        return None
    user_id, event = read
    with transaction.atomic():
        preference = (
            NotificationPreference.objects.select_for_update()
            .filter(user_id=user_id, event=event)
            .select_related("user")
            .first()
        )
        before = preference.channel if preference else DEFAULT_CHANNEL[Event(event)]
        preference, _ = NotificationPreference.objects.update_or_create(
            user_id=user_id, event=event, defaults={"channel": Channel.NONE}
        )
        if before != Channel.NONE:
            # The signed token stands for its user: they act, without signing in.
            changelog_record(
                action=Action.NOTIFICATION_PREFERENCES_CHANGED,
                actor=preference.user,
                obj=preference.user,
                before={event: before},
                after={event: Channel.NONE},
                reason="Unsubscribed through the link in a notification e-mail",
            )
    return preference


# --- e-mail -----------------------------------------------------------------------------


def email_for(*, user, message: EventMessage) -> EmailMultiAlternatives:
    """The HTML and plain-text e-mail of one event for one user, with its unsubscribe link."""
    unsubscribe = absolute(
        reverse(
            "notifications:unsubscribe",
            kwargs={"token": unsubscribe_token(user=user, event=message.event)},
        )
    )
    one_click = absolute(
        reverse(
            "notifications:unsubscribe_one_click",
            kwargs={"token": unsubscribe_token(user=user, event=message.event)},
        )
    )
    context = {
        "message": message,
        "user": user,
        "unsubscribe_url": unsubscribe,
        "preferences_url": absolute(reverse("notifications:preferences")),
    }
    email = EmailMultiAlternatives(
        subject=message.title,
        body=render_to_string("emails/notification.txt", context),
        to=[user.email],
        headers={
            # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" to this URL.
            "List-Unsubscribe": f"<{one_click}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    email.attach_alternative(render_to_string("emails/notification.html", context), "text/html")
    return email


def _send_after_commit(emails: list[EmailMultiAlternatives]) -> None:
    """A mail outage never undoes the change; it is logged instead."""

    def send() -> None:
        try:
            get_connection().send_messages(emails)
        except Exception:
            logger.exception("Notification e-mails could not be sent")

    transaction.on_commit(send)


# --- the change-log hook ----------------------------------------------------------------


def notifications_from_changelog(entry) -> None:
    """Change-log hook: tell the event's audience, each on the channel they chose."""
    event = event_for_entry(entry)
    if event is None:
        return
    release = Release.objects.select_related("product", "created_by").get(pk=entry.release_id)
    message = message_for(event=event, entry=entry, release=release)
    delivered = notify(
        message=message, users=recipients_for(event=event, entry=entry, release=release)
    )
    chat_outbox_write(message=message, changelog_seq=entry.seq, users=delivered[Channel.CHAT])


def notify(*, message: EventMessage, users: list) -> dict[str, list]:
    """Deliver `message` to `users` by their preferences; who got it on which channel."""
    delivered: dict[str, list] = {channel: [] for channel in Channel.values}
    if not users:
        return delivered
    chosen = dict(
        NotificationPreference.objects.filter(user__in=users, event=message.event).values_list(
            "user_id", "channel"
        )
    )
    for user in users:
        delivered[chosen.get(user.pk, DEFAULT_CHANNEL[Event(message.event)])].append(user)
    in_app = [u for channel, group in delivered.items() if channel != Channel.NONE for u in group]
    Notification.objects.bulk_create(
        Notification(
            user=user,
            release=message.release,
            title=message.title,
            body=message.summary,
            url=message.path,
        )
        for user in in_app
    )
    DigestItem.objects.bulk_create(
        DigestItem(
            user=user,
            event=message.event,
            release=message.release,
            title=message.title,
            body=message.summary,
            url=message.path,
        )
        for user in delivered[Channel.DIGEST]
    )
    emails = [email_for(user=u, message=message) for u in delivered[Channel.EMAIL] if u.email]
    if emails:
        _send_after_commit(emails)
    return delivered


# --- approvals about to expire ---------------------------------------------------------


def approvals_expiring_warn(*, now: datetime | None = None) -> int:
    """Beat, hourly: announce each approval that expires within
    NOTIFICATION_EXPIRY_WARNING_HOURS, once per approval; the number announced."""
    now = now or timezone.now()
    horizon = now + timedelta(hours=settings.NOTIFICATION_EXPIRY_WARNING_HOURS)
    announced = 0
    approved = Release.objects.filter(status=Status.APPROVED, approved_at__isnull=False)
    for release in approved.select_related("product", "created_by"):
        expires_at = release.approved_at + timedelta(
            days=policy_for(release.product).approval_validity_days
        )
        if not now < expires_at <= horizon:
            continue
        with transaction.atomic():
            _, created = ExpiryWarning.objects.get_or_create(
                release=release, approved_at=release.approved_at
            )
            if not created:
                continue
            message = expiring_message(release=release, expires_at=expires_at)
            users = recipients_for(event=Event.APPROVAL_EXPIRING, entry=None, release=release)
            delivered = notify(message=message, users=users)
            chat_outbox_write(message=message, changelog_seq=None, users=delivered[Channel.CHAT])
            announced += 1
    return announced


# --- the daily digest -------------------------------------------------------------------


def digests_send(*, now: datetime | None = None) -> int:
    """Beat, daily: one e-mail per user with digest items waiting; the number sent.

    Each user's items are taken with one conditional UPDATE before the send, so
    two runs never send the same items twice (at most once: a failed send is
    logged, not retried).
    """
    now = now or timezone.now()
    user_ids = (
        DigestItem.objects.filter(sent_at__isnull=True)
        .order_by()
        .values_list("user_id", flat=True)
        .distinct()
    )
    sent = 0
    for user_id in list(user_ids):
        with transaction.atomic():
            items = list(
                DigestItem.objects.select_for_update(skip_locked=True)
                .filter(user_id=user_id, sent_at__isnull=True)
                .select_related("user", "release__product")
            )
            if not items:
                continue
            DigestItem.objects.filter(pk__in=[i.pk for i in items]).update(sent_at=now)
        user = items[0].user
        if not user.email or not user.is_active:
            continue
        try:
            _digest_email(user=user, items=items).send()
            sent += 1
        except Exception:
            logger.exception("The digest of user %s could not be sent", user_id)
    return sent


def _digest_email(*, user, items: list[DigestItem]) -> EmailMultiAlternatives:
    waiting = [
        (
            release,
            activity,
            absolute(
                reverse(
                    "approvals:signoff",
                    kwargs={
                        "product": release.product.slug,
                        "version": release.version,
                        "activity_id": activity.pk,
                    },
                )
            ),
        )
        for release, activity, _ in my_signoffs(user=user).waiting
    ]
    context = {
        "user": user,
        "waiting": waiting,
        "items": [(item, absolute(item.url)) for item in items],
        "preferences_url": absolute(reverse("notifications:preferences")),
        "signoffs_url": absolute(reverse("approvals:my_signoffs")),
    }
    email = EmailMultiAlternatives(
        subject=f"Relapp: {len(items)} update{'s' if len(items) != 1 else ''} for you",
        body=render_to_string("emails/digest.txt", context),
        to=[user.email],
        headers={"List-Unsubscribe": f"<{context['preferences_url']}>"},
    )
    email.attach_alternative(render_to_string("emails/digest.html", context), "text/html")
    return email


# --- chat destinations ------------------------------------------------------------------


def chat_destination_create(
    *, actor, product, kind: str, name: str, url: str, events: list[str]
) -> ChatDestination:
    errors = {}
    if kind not in ChatKind.values:
        errors["kind"] = "Choose Slack or Microsoft Teams."
    if not url.startswith("https://") and not url.startswith("http://"):
        errors["url"] = "Give the channel's incoming webhook URL (https://…)."
    elif refusal := url_refusal(url):
        errors["url"] = refusal
    if not name.strip():
        errors["name"] = "Name the channel, e.g. payments-releases."
    if any(e not in Event.values or e in PERSONAL_EVENTS for e in events):
        errors["events"] = "Choose events a channel can hear of."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        destination = ChatDestination.objects.create(
            product=product,
            kind=kind,
            name=name.strip().lstrip("#"),
            url=url,
            events=sorted(set(events)),
            created_by=actor,
        )
        changelog_record(
            action=Action.WEBHOOK_CHANGED,
            actor=actor,
            product=product,
            obj=destination,
            after={"kind": kind, "channel": destination.name, "events": destination.events},
            reason=f"{destination.get_kind_display()} channel added",
        )
    return destination


def chat_destination_delete(*, actor, destination: ChatDestination) -> None:
    with transaction.atomic():
        changelog_record(
            action=Action.WEBHOOK_CHANGED,
            actor=actor,
            product=destination.product,
            obj=destination,
            before={"kind": destination.kind, "channel": destination.name},
            reason=f"{destination.get_kind_display()} channel removed",
        )
        destination.deliveries.filter(status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, last_error="Channel removed"
        )
        destination.is_active = False
        destination.save(update_fields=["is_active"])


# --- the chat outbox --------------------------------------------------------------------


def chat_outbox_write(*, message: EventMessage, changelog_seq: int | None, users) -> list:
    """One outbox row per active channel of the product that wants the event."""
    if message.event in PERSONAL_EVENTS:
        return []
    destinations = [
        d
        for d in ChatDestination.objects.filter(
            product_id=message.release.product_id, is_active=True
        )
        if d.wants(message.event)
    ]
    if not destinations:
        return []
    chat_users = [u.get_full_name() or u.get_username() for u in users]
    rows = []
    for destination in destinations:
        payload = chat_payload(destination.kind, message, mentions=chat_users)
        rows.append(
            ChatDelivery(
                destination=destination,
                event=message.event,
                body=json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                changelog_seq=changelog_seq,
                next_attempt_at=timezone.now(),
            )
        )
    return ChatDelivery.objects.bulk_create(rows)


def _due(now: datetime) -> Q:
    return Q(
        status=DeliveryStatus.PENDING, next_attempt_at__lte=now, destination__is_active=True
    ) & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))


def chat_deliveries_claim(*, limit: int = 20) -> list[tuple[int, uuid.UUID]]:
    """Claim due deliveries; each claim is an UPDATE that must change exactly one row."""
    now = timezone.now()
    lease = timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 2 + 30)
    candidates = list(
        ChatDelivery.objects.filter(_due(now))
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    claimed = []
    for pk in candidates:
        token = uuid.uuid4()
        changed = (
            ChatDelivery.objects.filter(_due(now), pk=pk)
            .order_by()
            .update(claimed_until=now + lease, claim_token=token)
        )
        if changed == 1:
            claimed.append((pk, token))
    return claimed


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = checked_opener(_NoRedirect)


def _post(url: str, body: bytes) -> tuple[int | None, str]:
    request = urllib.request.Request(  # noqa: S310 - the opener only speaks http(s) to checked addresses
        url,
        data=body,
        headers={"Content-Type": "application/json", "User-Agent": "Relapp-Chat/1"},
        method="POST",
    )
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code} {error.reason}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return None, f"{type(error).__name__}: {getattr(error, 'reason', error)}"[:500]


def chat_delivery_attempt(*, delivery_id: int, claim_token: uuid.UUID) -> bool | None:
    """Post a claimed delivery once: True delivered, False failed (retried later), None
    when the claim is no longer ours."""
    delivery = ChatDelivery.objects.select_related("destination").get(pk=delivery_id)
    if delivery.claim_token != claim_token or delivery.status != DeliveryStatus.PENDING:
        return None
    number = delivery.attempts + 1
    clock = time.monotonic()
    status_code, error = _post(delivery.destination.url, delivery.body.encode("utf-8"))
    ok = status_code is not None and 200 <= status_code < 300
    now = timezone.now()
    if ok:
        fields = {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "last_error": ""}
    elif number >= settings.WEBHOOK_MAX_ATTEMPTS:
        fields = {"status": DeliveryStatus.FAILED, "last_error": error or f"HTTP {status_code}"}
    else:
        delay = min(
            settings.WEBHOOK_RETRY_MAX_SECONDS,
            settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (number - 1),
        )
        fields = {
            "next_attempt_at": now + timedelta(seconds=delay),
            "last_error": error or f"HTTP {status_code}",
        }
    changed = ChatDelivery.objects.filter(
        pk=delivery.pk, claim_token=claim_token, status=DeliveryStatus.PENDING
    ).update(attempts=number, claimed_until=None, claim_token=None, **fields)
    logger.info(
        "Chat %s to %s: attempt %s, %s in %d ms",
        delivery.event,
        delivery.destination,
        number,
        status_code or error,
        (time.monotonic() - clock) * 1000,
    )
    return ok if changed == 1 else None


def chat_dispatch(*, max_deliveries: int = 200) -> int:
    """Send every due chat delivery (up to `max_deliveries`); the number of attempts made."""
    made = claimed_total = 0
    while claimed_total < max_deliveries:
        claimed = chat_deliveries_claim(limit=min(20, max_deliveries - claimed_total))
        if not claimed:
            break
        claimed_total += len(claimed)
        for delivery_id, token in claimed:
            if chat_delivery_attempt(delivery_id=delivery_id, claim_token=token) is not None:
                made += 1
    return made
