from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from approvals.models import Comment, Product, RadRevision, Release


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Release)
class ReleaseAdmin(GuardedModelAdmin):
    list_display = ["product", "version", "title", "release_type", "status", "window_start"]
    list_filter = ["status", "release_type", "product"]
    search_fields = ["version", "title", "product__name"]
    # Status changes go through the lifecycle services, never the admin form.
    readonly_fields = ["status", "status_reason", "submitted_by", "created_by"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RadRevision)
class RadRevisionAdmin(ReadOnlyAdmin):
    list_display = ["release", "number", "author", "created_at", "sha256"]
    list_filter = ["release__product"]
    search_fields = ["release__version", "sha256"]


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ["release", "author", "created_at"]
