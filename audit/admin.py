from django.contrib import admin

from audit.models import ChangeLogEntry


@admin.register(ChangeLogEntry)
class ChangeLogEntryAdmin(admin.ModelAdmin):
    """Read-only: entries are appended by audit.changelog and never edited."""

    list_display = ("seq", "created_at", "actor_name", "action", "object_repr", "release")
    list_select_related = ("release__product",)
    list_filter = ("action",)
    search_fields = ("=request_id",)
    ordering = ("-seq",)
    # A COUNT(*) over millions of rows on every page is wasted work.
    show_full_result_count = False
    readonly_fields = [field.name for field in ChangeLogEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
