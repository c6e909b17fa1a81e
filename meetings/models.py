"""Release-gate meetings, freeze windows, reminders and in-app notifications.

Anything that happens in the future is a row here (a Reminder with a due
time); a periodic task claims due rows. Nothing is scheduled as a long
Celery ETA or countdown.
"""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CANCELLED = "cancelled", "Cancelled"
    HELD = "held", "Held"


class MeetingDecision(models.TextChoices):
    GO = "go", "Go"
    GO_PENDING = "go_pending", "Go, pending sign-offs"
    NO_GO = "no_go", "No-go"
    POSTPONED = "postponed", "Postponed"


class GateMeeting(models.Model):
    release = models.ForeignKey(
        "approvals.Release", on_delete=models.PROTECT, related_name="meetings"
    )
    start = models.DateTimeField()
    duration_minutes = models.PositiveIntegerField(default=15)
    location = models.CharField("location or link", max_length=300, blank=True)
    extra_attendees = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    status = models.CharField(
        max_length=10, choices=MeetingStatus.choices, default=MeetingStatus.SCHEDULED
    )
    # iCalendar SEQUENCE: bumped on every reschedule so calendars update the event.
    sequence = models.PositiveIntegerField(default=0)
    minutes = models.TextField(blank=True)
    decision = models.CharField(max_length=10, choices=MeetingDecision.choices, blank=True)
    signoffs_missing = models.JSONField(
        default=list,
        blank=True,
        help_text="Required sign-offs still missing when the outcome was recorded.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start", "id"]
        indexes = [models.Index(fields=["status", "start"])]

    def __str__(self) -> str:
        return f"Gate meeting for {self.release}"

    def get_absolute_url(self) -> str:
        return reverse("meetings:meeting_detail", kwargs={"meeting_id": self.pk})

    @property
    def end(self):
        from datetime import timedelta

        return self.start + timedelta(minutes=self.duration_minutes)


class ReminderKind(models.TextChoices):
    MEETING = "meeting", "Gate meeting reminder"
    SIGNOFF = "signoff", "Pending sign-off reminder"
    REVIEW = "review", "Post-release review due"
    MONITORING = "monitoring", "Post-deploy checklist overdue"
    DRILL = "drill", "Fire drill due"


class Reminder(models.Model):
    """One message to one person at one time. The database is the source of truth."""

    kind = models.CharField(max_length=10, choices=ReminderKind.choices)
    release = models.ForeignKey(
        "approvals.Release", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    meeting = models.ForeignKey(
        GateMeeting, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    # Fire-drill reminders belong to a product, not a release.
    product = models.ForeignKey(
        "approvals.Product", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    meeting_sequence = models.PositiveIntegerField(default=0)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    offset_seconds = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    dropped_at = models.DateTimeField(null=True, blank=True)
    drop_reason = models.CharField(max_length=200, blank=True)
    # A worker that claims the row holds it until this time (a lease); a
    # crashed worker's claim runs out and the row is due again.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            # Exactly one reminder per meeting occurrence, attendee, offset and kind.
            models.UniqueConstraint(
                fields=["meeting", "meeting_sequence", "user", "offset_seconds", "kind"],
                condition=Q(meeting__isnull=False),
                name="reminder_unique_per_meeting",
            ),
            models.UniqueConstraint(
                fields=["release", "user", "kind"],
                condition=Q(meeting__isnull=True),
                name="reminder_unique_per_release",
            ),
            models.UniqueConstraint(
                fields=["product", "user", "kind", "due_at"],
                condition=Q(product__isnull=False),
                name="reminder_unique_per_drill",
            ),
            models.CheckConstraint(
                condition=Q(release__isnull=False) | Q(product__isnull=False),
                name="reminder_has_release_or_product",
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(sent_at__isnull=True, dropped_at__isnull=True),
                name="reminder_due_unsent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.user} at {self.due_at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    release = models.ForeignKey(
        "approvals.Release", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    reminder = models.OneToOneField(
        Reminder, on_delete=models.SET_NULL, null=True, blank=True, related_name="notification"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.user}"


class CalendarFeed(models.Model):
    """A user's private calendar URL. Only the token's SHA-256 is stored."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
