"""Who wants to hear what, and the rows that carry it: digest items and the chat outbox.

The in-app notification itself is `meetings.Notification` (one inbox for
reminders and events alike). The catalogue of events is `Event`; which
change-log entry stands for which event, and who hears of it, is in
`notifications.events`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Event(models.TextChoices):
    """The one catalogue of notification events (e-mail, in-app, digest, chat)."""

    SIGNATURE_REQUESTED = "signature_requested", "Submitted for your signature"
    SIGNED = "signed", "Sign-off recorded"
    REJECTED = "rejected", "Release rejected"
    SIGNATURE_VOIDED = "signature_voided", "Your signature was voided"
    APPROVED = "approved", "Release approved"
    HALTED = "halted", "Release halted"
    RESUMED = "resumed", "Release resumed"
    DEPLOYMENT_STARTED = "deployment_started", "Deployment started"
    DEPLOYMENT_SUCCEEDED = "deployment_succeeded", "Deployment succeeded"
    DEPLOYMENT_FAILED = "deployment_failed", "Deployment failed"
    DEPLOYMENT_ROLLED_BACK = "deployment_rolled_back", "Deployment rolled back"
    APPROVAL_EXPIRING = "approval_expiring", "Approval expiring soon"
    VERBAL_TO_CONFIRM = "verbal_to_confirm", "Verbal approval to confirm"
    MENTIONED = "mentioned", "Mentioned in a comment"
    REVIEW_DUE = "review_due", "Post-release review due"
    ARTIFACT_REPORTED = "artifact_reported", "Artifacts reported"
    ARTIFACT_REMOVED = "artifact_removed", "Artifacts removed"
    UNAUTHORIZED_CHANGE = "unauthorized_change", "Unauthorized deployment flagged"
    VERIFICATION_FAILED = "verification_failed", "Deployment verification failed"


class Channel(models.TextChoices):
    IN_APP = "in_app", "In Relapp only"
    EMAIL = "email", "E-mail now"
    DIGEST = "digest", "Daily digest"
    CHAT = "chat", "Chat channel"
    NONE = "none", "Nothing"


class NotificationPreference(models.Model):
    """A user's choice for one event; no row means the event's default."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    event = models.CharField(max_length=40, choices=Event.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "event"], name="preference_once_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.event} → {self.channel}"


class DigestItem(models.Model):
    """One event waiting for the user's next daily digest."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=40, choices=Event.choices)
    release = models.ForeignKey("approvals.Release", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["user"], condition=Q(sent_at__isnull=True), name="digest_unsent"),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.user}"


class ChatKind(models.TextChoices):
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"


class ChatDestination(models.Model):
    """A product's channel: an incoming-webhook URL of Slack or Microsoft Teams."""

    product = models.ForeignKey(
        "approvals.Product", on_delete=models.CASCADE, related_name="chat_destinations"
    )
    kind = models.CharField(max_length=10, choices=ChatKind.choices)
    name = models.CharField("channel name", max_length=80)
    url = models.URLField("incoming webhook URL", max_length=500)
    # Event values; empty means every event of the catalogue.
    events = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product__name", "name", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.name} for {self.product}"

    def wants(self, event: str) -> bool:
        return not self.events or event in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Gave up"


class ChatDelivery(models.Model):
    """One message for one channel: the outbox row, written with the event's change."""

    destination = models.ForeignKey(
        ChatDestination, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40, choices=Event.choices)
    body = models.TextField()
    changelog_seq = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "chat deliveries"
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="chat_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.destination}"


class ExpiryWarning(models.Model):
    """An approval whose coming expiry was announced: each approval is announced once."""

    release = models.ForeignKey("approvals.Release", on_delete=models.CASCADE, related_name="+")
    approved_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["release", "approved_at"], name="expiry_warned_once_per_approval"
            ),
        ]

    def __str__(self) -> str:
        return f"Expiry of {self.release} announced"
