import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from approvals.lifecycle import Status

# Semantic Versioning 2.0.0, the official regular expression.
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def validate_semver(value: str) -> None:
    if not SEMVER.match(value):
        raise ValidationError(
            "%(value)s is not a semantic version (MAJOR.MINOR.PATCH, e.g. 2.4.0 or 2.4.1-rc.1).",
            params={"value": value},
            code="semver",
        )


class Product(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("approvals:release_list") + f"?product={self.slug}"


class ReleaseType(models.TextChoices):
    NORMAL = "normal", "Normal"
    HOTFIX = "hotfix", "Hotfix"


class Release(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="releases")
    version = models.CharField(max_length=64, validators=[validate_semver])
    title = models.CharField(max_length=200)
    release_type = models.CharField(
        "type", max_length=10, choices=ReleaseType.choices, default=ReleaseType.NORMAL
    )
    fixes = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hotfixes",
        help_text="The release this hotfix repairs.",
    )
    window_start = models.DateTimeField("deployment window start")
    window_end = models.DateTimeField("deployment window end")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    status_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "version"], name="release_version_unique"),
            models.CheckConstraint(
                condition=Q(window_end__gt=F("window_start")), name="release_window_ordered"
            ),
            models.CheckConstraint(
                condition=Q(release_type="hotfix") | Q(fixes__isnull=True),
                name="release_only_hotfix_fixes",
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"])]
        permissions = [
            ("edit_rad", "Can edit the RAD of a release"),
            ("submit_release", "Can submit a release for review"),
            ("comment_release", "Can comment on a release"),
            ("halt_release", "Can halt a release"),
            ("schedule_meeting", "Can schedule the gate meeting of a release"),
            ("manage_raci", "Can edit the RACI matrix of a release"),
            ("record_verbal", "Can record a verbal approval"),
            ("record_deployment", "Can record deployments of a release"),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} {self.version}"

    def get_absolute_url(self) -> str:
        return reverse(
            "approvals:release_detail",
            kwargs={"product": self.product.slug, "version": self.version},
        )

    def url(self, name: str) -> str:
        return reverse(
            f"approvals:{name}", kwargs={"product": self.product.slug, "version": self.version}
        )


class RadRevision(models.Model):
    """One immutable version of a release's RAD. Never updated after insert."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    content = models.JSONField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["release", "number"]
        constraints = [
            models.UniqueConstraint(fields=["release", "number"], name="rad_revision_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.release} RAD revision {self.number}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("RAD revisions are immutable; write a new revision instead.")
        super().save(*args, **kwargs)


class Comment(models.Model):
    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment by {self.author} on {self.release}"


class ReleaseUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Release, on_delete=models.CASCADE)


class ReleaseGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Release, on_delete=models.CASCADE)
