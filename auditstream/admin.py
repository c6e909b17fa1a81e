from django.contrib import admin
from django.db import models

from auditstream.models import StreamDestination
from auditstream.services import (
    CONFIG_FIELDS,
    stream_destination_create,
    stream_destination_delete,
    stream_destination_set_active,
    stream_destination_update,
)


@admin.register(StreamDestination)
class StreamDestinationAdmin(admin.ModelAdmin):
    """Destinations are configured here; progress fields are the sender's, shown read-only."""

    list_display = ("name", "kind", "address", "is_active", "delivered_seq", "last_error_at")
    list_filter = ("kind", "is_active")
    actions = ("pause_destinations", "resume_destinations")
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

    # Every change goes through the services, which write the change-log entry.

    def save_model(self, request, obj, form, change):
        if change:
            changes = {field: form.cleaned_data[field] for field in form.changed_data}
            changes = {field: value for field, value in changes.items() if field in CONFIG_FIELDS}
            stream_destination_update(destination=obj, actor=request.user, **changes)
            return
        fields = {field: getattr(obj, field) for field in CONFIG_FIELDS if field != "name"}
        created = stream_destination_create(
            name=obj.name, from_seq=obj.delivered_seq, actor=request.user, **fields
        )
        obj.pk, obj.created_at = created.pk, created.created_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        stream_destination_delete(destination=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for destination in queryset:
            stream_destination_delete(destination=destination, actor=request.user)

    @admin.action(description="Pause the selected destinations")
    def pause_destinations(self, request, queryset):
        for destination in queryset:
            stream_destination_set_active(
                destination=destination, actor=request.user, is_active=False
            )

    @admin.action(description="Resume the selected destinations")
    def resume_destinations(self, request, queryset):
        for destination in queryset:
            stream_destination_set_active(
                destination=destination, actor=request.user, is_active=True
            )
