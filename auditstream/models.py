from django.core.exceptions import ValidationError
from django.db import models


class DestinationKind(models.TextChoices):
    SYSLOG = "syslog", "Syslog (RFC 5424 over TCP)"
    HTTP = "http", "HTTP (JSON lines)"


class HttpFormat(models.TextChoices):
    JSON_LINES = "jsonl", "JSON lines signed with HMAC-SHA256"
    SPLUNK_HEC = "splunk_hec", "Splunk HTTP Event Collector"


class StreamDestination(models.Model):
    """Where every change-log entry is sent, in order, exactly as exported.

    `delivered_seq` is the cursor: every entry up to it has been delivered,
    none after it. The sender walks the chain from there, so an entry can be
    late but never skipped.
    """

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=DestinationKind.choices)
    is_active = models.BooleanField(default=True)
    # Syslog.
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)
    use_tls = models.BooleanField(default=False, help_text="Syslog over TLS (RFC 5425).")
    app_name = models.CharField(
        max_length=48, default="relapp", help_text="RFC 5424 APP-NAME, for routing at the server."
    )
    # HTTP.
    url = models.URLField(max_length=500, blank=True)
    http_format = models.CharField(
        max_length=12, choices=HttpFormat.choices, default=HttpFormat.JSON_LINES
    )
    secret = models.CharField(
        max_length=200, blank=True, help_text="HMAC key (JSON lines) or HEC token (Splunk)."
    )
    # Progress, shown on the destination page.
    delivered_seq = models.BigIntegerField(default=0)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0, help_text="Failed attempts in a row.")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.kind == DestinationKind.SYSLOG:
            if not self.host:
                errors["host"] = "A syslog destination needs a host."
            if not self.port:
                errors["port"] = "A syslog destination needs a port."
        elif self.kind == DestinationKind.HTTP:
            if not self.url:
                errors["url"] = "An HTTP destination needs a URL."
            if not self.secret:
                errors["secret"] = "An HTTP destination needs a secret (HMAC key or HEC token)."  # noqa: S105
        if errors:
            raise ValidationError(errors)

    @property
    def address(self) -> str:
        if self.kind == DestinationKind.SYSLOG:
            scheme = "syslog+tls" if self.use_tls else "syslog+tcp"
            return f"{scheme}://{self.host}:{self.port}"
        return self.url


class StreamOutbox(models.Model):
    """One entry a destination still owes: written with the entry, deleted once delivered."""

    destination = models.ForeignKey(
        StreamDestination, on_delete=models.CASCADE, related_name="outbox"
    )
    seq = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["destination", "seq"], name="stream_outbox_once")
        ]

    def __str__(self) -> str:
        return f"{self.destination} #{self.seq}"
