from django.contrib import admin
from django.db import models

from approvals import services
from approvals.models import (
    ApprovalPolicy,
    Comment,
    Deployment,
    GateCheck,
    Product,
    RadRevision,
    Release,
    SignOff,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Browse only: every change goes through a service, which writes the change log."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdmin):
    # Releases, their permissions and their lifecycle change in the product's own
    # pages; an admin form here would bypass the change log.
    list_display = ["product", "version", "title", "release_type", "status", "window_start"]
    list_filter = ["status", "release_type", "product"]
    search_fields = ["version", "title", "product__name"]


@admin.register(RadRevision)
class RadRevisionAdmin(ReadOnlyAdmin):
    list_display = ["release", "number", "author", "created_at", "sha256"]
    list_filter = ["release__product"]
    search_fields = ["release__version", "sha256"]


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ["release", "author", "created_at"]


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(admin.ModelAdmin):
    list_display = ["product", "max_rehearsal_age_days", "block_open_critical_defects"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        services.policy_save(policy=obj, actor=request.user, changed=form.changed_data)


@admin.register(GateCheck)
class GateCheckAdmin(admin.ModelAdmin):
    """Report a check by hand; it goes through the same service as the pipeline."""

    list_display = ["release", "name", "status", "reported_by", "reported_at"]
    list_filter = ["status", "release__product"]
    fields = ["release", "name", "status", "details", "url"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        check = services.gate_check_report(
            release=obj.release,
            actor=request.user,
            name=obj.name,
            status=obj.status,
            details=obj.details,
            url=obj.url,
        )
        obj.pk = check.pk


@admin.register(SignOff)
class SignOffAdmin(ReadOnlyAdmin):
    list_display = [
        "release",
        "activity",
        "decision",
        "printed_name",
        "method",
        "signed_at",
        "voided_at",
    ]
    list_filter = ["decision", "method"]


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    list_display = ["release", "status", "environment", "recorded_by", "recorded_at"]
