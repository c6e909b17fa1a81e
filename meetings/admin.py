from django.contrib import admin

from approvals.models import FreezeWindow
from meetings.models import GateMeeting, Notification, Reminder


class ReadOnlyAdmin(admin.ModelAdmin):
    """Changes go through the services (reminders are re-planned, everything is logged)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(GateMeeting)
class GateMeetingAdmin(ReadOnlyAdmin):
    list_display = ["release", "start", "duration_minutes", "status", "decision"]
    list_filter = ["status", "decision"]


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    list_display = ["kind", "user", "release", "due_at", "sent_at", "dropped_at", "drop_reason"]
    list_filter = ["kind"]


@admin.register(FreezeWindow)
class FreezeWindowAdmin(ReadOnlyAdmin):
    list_display = ["product", "start", "end", "reason"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["user", "title", "created_at", "read_at"]
