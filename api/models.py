"""Service accounts with their API tokens, and outbound webhooks with their outbox."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse


class ServiceAccount(models.Model):
    """A pipeline's identity: a Django user that cannot sign in, scoped to products.

    The user row is what services record as the actor, so every API write
    appears in the change log as `service:NAME`.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="service_account"
    )
    name = models.SlugField(max_length=60, unique=True)
    description = models.CharField(max_length=200, blank=True)
    products = models.ManyToManyField("approvals.Product", related_name="service_accounts")
    can_read_changelog = models.BooleanField(
        "may read the change log",
        default=False,
        help_text="Lets the account page through the whole change log (SIEM export).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when created from the command line.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"service:{self.name}"

    def get_absolute_url(self) -> str:
        return reverse("api:service_account_detail", kwargs={"name": self.name})


class ApiToken(models.Model):
    """A bearer token, stored as the SHA-256 of the whole token.

    Tokens carry 256 bits of randomness, so a fast hash is enough: nothing can
    be guessed from the digest. `prefix` is the public part used to find the
    row; the secret part is compared by digest in constant time.
    """

    service_account = models.ForeignKey(
        ServiceAccount, on_delete=models.PROTECT, related_name="tokens"
    )
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.service_account} token {self.prefix}…"

    def state(self, now) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"


class WebhookEvent(models.TextChoices):
    RELEASE_APPROVED = "release.approved", "Release approved"
    RELEASE_HALTED = "release.halted", "Release halted"
    RELEASE_REJECTED = "release.rejected", "Release rejected"
    DEPLOYMENT_STARTED = "deployment.started", "Deployment started"
    DEPLOYMENT_SUCCEEDED = "deployment.succeeded", "Deployment succeeded"
    DEPLOYMENT_FAILED = "deployment.failed", "Deployment failed"
    DEPLOYMENT_ROLLED_BACK = "deployment.rolled_back", "Deployment rolled back"
    DEPLOYMENT_UNAUTHORIZED = "deployment.unauthorized", "Unauthorized deployment flagged"
    DEPLOYMENT_VERIFICATION_FAILED = (
        "deployment.verification_failed",
        "Deployment verification failed",
    )
    ARTIFACT_REPORTED = "artifact.reported", "Artifacts reported"
    ARTIFACT_REMOVED = "artifact.removed", "Artifacts removed"
    REVIEW_DUE = "review.due", "Post-release review due"


# What a subscriber may ask for: single events, or every deployment event.
SUBSCRIBABLE = [
    ("release.approved", "Release approved"),
    ("release.halted", "Release halted"),
    ("release.rejected", "Release rejected"),
    (
        "deployment.*",
        "Every deployment event (started, succeeded, failed, rolled back, unauthorized, "
        "verification failed)",
    ),
    *[(value, label) for value, label in WebhookEvent.choices if value.startswith("deployment.")],
    ("artifact.*", "Every artifact event (reported, removed)"),
    *[(value, label) for value, label in WebhookEvent.choices if value.startswith("artifact.")],
    ("review.due", "Post-release review due"),
]


class WebhookEndpoint(models.Model):
    """A subscriber URL for one product's events, with the secret that signs them."""

    product = models.ForeignKey(
        "approvals.Product", on_delete=models.PROTECT, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=128)
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product", "url", "id"]

    def __str__(self) -> str:
        return f"{self.product.slug} → {self.url}"

    def get_absolute_url(self) -> str:
        return reverse("api:webhook_detail", kwargs={"pk": self.pk})

    def wants(self, event: str) -> bool:
        family = event.split(".", 1)[0] + ".*"
        return event in self.events or family in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Gave up"


class WebhookDelivery(models.Model):
    """One event for one endpoint: the outbox row, written with the event's change.

    The body is frozen when the row is written, so every attempt sends (and
    signs) exactly the same bytes with the same event id.
    """

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries"
    )
    event_id = models.UUIDField(default=uuid.uuid4)
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    body = models.TextField()
    changelog_seq = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # A worker that claims the row holds it until this time; a crashed
    # worker's claim simply runs out and the row becomes due again.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_id"], name="delivery_once_per_event"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.event_id} → {self.endpoint.url}"


class WebhookAttempt(models.Model):
    """What happened when a delivery was sent once: the delivery log."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_unique"),
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number} of {self.delivery}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
