from django.contrib import admin
from django.db import models

from auditstream.models import StreamDestination


@admin.register(StreamDestination)
class StreamDestinationAdmin(admin.ModelAdmin):
    """Destinations are configured here; progress fields are the sender's, shown read-only."""

    list_display = ("name", "kind", "address", "is_active", "delivered_seq", "last_error_at")
    list_filter = ("kind", "is_active")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = (
        "delivered_at",
        "failures",
        "next_attempt_at",
        "last_error",
        "last_error_at",
        "claimed_until",
        "claim_token",
        "created_at",
    )
    fieldsets = (
        (None, {"fields": ("name", "kind", "is_active", "delivered_seq")}),
        ("Syslog", {"fields": ("host", "port", "use_tls", "app_name")}),
        ("HTTP", {"fields": ("url", "http_format", "secret")}),
        ("Progress", {"fields": readonly_fields}),
    )

    def get_readonly_fields(self, request, obj=None):
        # Where a new destination starts is chosen once (0: the whole log); moving
        # the cursor of an existing one would skip or repeat entries.
        if obj is None:
            return self.readonly_fields
        return (*self.readonly_fields, "delivered_seq")
