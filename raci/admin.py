from django.contrib import admin

from raci.models import Activity, Assignment, TemplateActivity, TemplateAssignment


class TemplateAssignmentInline(admin.TabularInline):
    model = TemplateAssignment
    extra = 1


@admin.register(TemplateActivity)
class TemplateActivityAdmin(admin.ModelAdmin):
    """Product templates: copied into each new release's matrix."""

    list_display = ["product", "name", "position", "is_go_no_go"]
    list_filter = ["product"]
    inlines = [TemplateAssignmentInline]


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    """Release matrices change only through the grid editor, which keeps permissions in step."""

    list_display = ["release", "name", "is_go_no_go"]
    list_filter = ["release__product"]
    inlines = [AssignmentInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
