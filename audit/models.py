from django.conf import settings
from django.db import models


class Action(models.TextChoices):
    """The one catalogue of change-log actions."""

    PRODUCT_CREATED = "product.created", "Product created"
    RELEASE_CREATED = "release.created", "Release created"
    RELEASE_SUBMITTED = "release.submitted", "Release submitted for review"
    RELEASE_APPROVED = "release.approved", "Release approved"
    RELEASE_REJECTED = "release.rejected", "Release rejected"
    RELEASE_HALTED = "release.halted", "Release halted"
    RELEASE_RESUMED = "release.resumed", "Release resumed"
    RELEASE_REVISED = "release.revised", "Release sent back to draft"
    RELEASE_CANCELLED = "release.cancelled", "Release cancelled"
    RELEASE_DEPLOYED = "release.deployed", "Release deployed"
    RELEASE_ROLLED_BACK = "release.rolled_back", "Release rolled back"
    RELEASE_CLOSED = "release.closed", "Release closed"
    DEPLOYMENT_RECORDED = "deployment.recorded", "Deployment recorded"
    DEPLOYMENT_UNAUTHORIZED = "deployment.unauthorized", "Unauthorized deployment flagged"
    ARTIFACTS_CHANGED = "artifacts.changed", "Artifacts changed"
    RAD_REVISED = "rad.revised", "RAD revision written"
    COMMENT_ADDED = "comment.added", "Comment added"
    SIGNOFF_RECORDED = "signoff.recorded", "Sign-off recorded"
    SIGNOFF_VOIDED = "signoff.voided", "Sign-off voided"
    SIGNOFF_REFUSED = "signoff.refused", "Sign-off refused"
    VERBAL_RECORDED = "signoff.verbal_recorded", "Verbal approval recorded"
    VERBAL_CONFIRMED = "signoff.verbal_confirmed", "Verbal approval confirmed"
    VERBAL_DISPUTED = "signoff.verbal_disputed", "Verbal approval disputed"
    RACI_CHANGED = "raci.changed", "RACI matrix changed"
    PERMISSION_GRANTED = "permission.granted", "Permission granted"
    PERMISSION_REVOKED = "permission.revoked", "Permission revoked"
    GATE_CHECK_REPORTED = "gatecheck.reported", "Gate check reported"
    POLICY_CHANGED = "policy.changed", "Approval policy changed"
    MEETING_SCHEDULED = "meeting.scheduled", "Gate meeting scheduled"
    MEETING_RESCHEDULED = "meeting.rescheduled", "Gate meeting rescheduled"
    MEETING_CANCELLED = "meeting.cancelled", "Gate meeting cancelled"
    MEETING_MINUTES = "meeting.minutes", "Gate meeting minutes recorded"
    FREEZE_CHANGED = "freeze.changed", "Freeze window changed"
    REVIEW_RECORDED = "review.recorded", "Post-release review recorded"
    LOGIN = "auth.login", "Signed in"
    LOGIN_FAILED = "auth.login_failed", "Sign-in failed"
    LOGOUT = "auth.logout", "Signed out"
    AUTH_LOCKED = "auth.locked", "Account locked"
    AUTH_UNLOCKED = "auth.unlocked", "Account unlocked"
    AUTHENTICATOR_ENABLED = "auth.totp_enabled", "Authenticator enabled"
    AUTHENTICATOR_DISABLED = "auth.totp_disabled", "Authenticator disabled"
    ACCESS_REFUSED = "access.refused", "Action refused"
    SERVICE_ACCOUNT_CHANGED = "service_account.changed", "Service account changed"
    WEBHOOK_CHANGED = "webhook.changed", "Webhook changed"
    STREAM_DESTINATION_CHANGED = "stream.changed", "Audit stream destination changed"
    CHECKPOINT_WRITTEN = "changelog.checkpoint", "Change-log checkpoint written"
    EXPORT_REQUESTED = "changelog.export", "Change-log export prepared"
    MONITORING_TICKED = "monitoring.ticked", "Post-deploy checklist item ticked"
    DEPLOYMENT_VERIFICATION_FAILED = (
        "deployment.verification_failed",
        "Deployment verification failed",
    )
    PRODUCT_CHANGED = "product.changed", "Product changed"
    DRILL_SCHEDULED = "drill.scheduled", "Fire-drill schedule changed"
    DRILL_RECORDED = "drill.recorded", "Fire drill recorded"
    REVIEW_DUE = "review.due", "Post-release review fell due"
    NOTIFICATION_PREFERENCES_CHANGED = (
        "notifications.preferences",
        "Notification preferences changed",
    )
    RELEASE_WINDOW_MOVED = "release.window_moved", "Deployment window moved"
    COMMENT_RESOLVED = "comment.resolved", "Comment resolved"
    COMMENT_REOPENED = "comment.reopened", "Comment reopened"
    ATTACHMENT_ADDED = "attachment.added", "Evidence file attached"
    ATTACHMENT_REMOVED = "attachment.removed", "Evidence file removed"
    TIMEZONE_CHANGED = "account.timezone", "Time zone changed"


class ChangeLogEntry(models.Model):
    """One append-only, hash-chained record of something that happened.

    `hash = SHA-256(prev_hash || canonical JSON of the entry)`; see
    audit.changelog. Rows are never updated or deleted (a PostgreSQL trigger
    refuses it too).
    """

    seq = models.BigIntegerField(primary_key=True)
    created_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    actor_name = models.CharField(max_length=200)
    action = models.CharField(max_length=40, choices=Action.choices)
    product = models.ForeignKey(
        "approvals.Product",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    release = models.ForeignKey(
        "approvals.Release",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="changelog",
        db_constraint=False,
    )
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # HMAC-SHA256 of `hash` under the key `mac_key_id` (settings, never the
    # database); empty when no key was configured. Not hashed: rotating keys
    # never changes the chain.
    mac = models.CharField(max_length=64, blank=True, default="")
    mac_key_id = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ["-seq"]
        verbose_name = "change-log entry"
        verbose_name_plural = "change-log entries"
        indexes = [
            models.Index(fields=["release", "-seq"], name="changelog_release_seq"),
            models.Index(fields=["product", "-seq"], name="changelog_product_seq"),
            models.Index(fields=["actor", "-seq"], name="changelog_actor_seq"),
            models.Index(fields=["action", "-seq"], name="changelog_action_seq"),
            # The metrics' "submitted at or before" lookup per release (approval
            # lead time, waiting per activity): only submission entries, so it
            # stays small and costs nothing on other writes.
            models.Index(
                fields=["release", "-created_at"],
                name="changelog_release_submitted",
                condition=models.Q(action="release.submitted"),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_name}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Change-log entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Change-log entries are append-only.")
