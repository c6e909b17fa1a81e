from django.contrib import admin

from raci.models import Activity, Assignment, TemplateActivity, TemplateAssignment
from raci.services import template_log


class TemplateAssignmentInline(admin.TabularInline):
    model = TemplateAssignment
    extra = 1


@admin.register(TemplateActivity)
class TemplateActivityAdmin(admin.ModelAdmin):
    """Product templates: copied into each new release's matrix."""

    list_display = ["product", "name", "position", "is_go_no_go"]
    list_filter = ["product"]
    inlines = [TemplateAssignmentInline]

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        template_log(product=form.instance.product, actor=request.user)

    def delete_model(self, request, obj) -> None:
        product = obj.product
        super().delete_model(request, obj)
        template_log(product=product, actor=request.user)

    def delete_queryset(self, request, queryset) -> None:
        products = {activity.product for activity in queryset}
        super().delete_queryset(request, queryset)
        for product in products:
            template_log(product=product, actor=request.user)


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
