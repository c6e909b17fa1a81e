"""RACI matrices: per release, activities × people, one letter per cell."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Letter(models.TextChoices):
    RESPONSIBLE = "R", "Responsible"
    ACCOUNTABLE = "A", "Accountable"
    CONSULTED = "C", "Consulted"
    INFORMED = "I", "Informed"


DEFAULT_ACTIVITIES = (
    "Business scope",
    "Test thresholds",
    "Operational readiness",
    "Deployment & rollback plan",
    "Go/no-go decision",
)
GO_NO_GO = "Go/no-go decision"


class TemplateActivity(models.Model):
    """A product's default activity, copied into every new release's matrix."""

    product = models.ForeignKey(
        "approvals.Product", on_delete=models.CASCADE, related_name="template_activities"
    )
    name = models.CharField(max_length=120)
    position = models.PositiveSmallIntegerField(default=0)
    is_go_no_go = models.BooleanField(default=False)

    class Meta:
        ordering = ["product", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "name"], name="template_activity_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.product}: {self.name}"


class TemplateAssignment(models.Model):
    activity = models.ForeignKey(
        TemplateActivity, on_delete=models.CASCADE, related_name="assignments"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    letter = models.CharField(max_length=1, choices=Letter.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["activity", "user"], name="template_cell_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.activity}: {self.user} {self.letter}"


class Team(models.Model):
    """A named group of people that can be the Accountable of an activity.

    Each member signs for themselves; the activity's rule says how many
    different members must approve (any one, or M of N).
    """

    name = models.CharField(max_length=120, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="approver_teams", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Activity(models.Model):
    release = models.ForeignKey(
        "approvals.Release", on_delete=models.CASCADE, related_name="activities"
    )
    name = models.CharField(max_length=120)
    position = models.PositiveSmallIntegerField(default=0)
    is_go_no_go = models.BooleanField(default=False)
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
        help_text="A team as the Accountable, instead of one person.",
    )
    team_required = models.PositiveSmallIntegerField(
        default=1, help_text="How many different members of the team must approve."
    )

    class Meta:
        ordering = ["release", "position", "id"]
        verbose_name_plural = "activities"
        constraints = [
            models.UniqueConstraint(fields=["release", "name"], name="activity_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Assignment(models.Model):
    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    letter = models.CharField(max_length=1, choices=Letter.choices)

    class Meta:
        ordering = ["activity", "letter", "user"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "user"], name="assignment_cell_unique"),
            # At most one Accountable per activity, whatever the application does.
            models.UniqueConstraint(
                fields=["activity"], condition=Q(letter="A"), name="assignment_one_accountable"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.activity}: {self.user} {self.letter}"


class Delegation(models.Model):
    """An out-of-office period: `delegate` signs as themselves on behalf of `absent`.

    It starts and ends by itself (its period is checked at signing); a beat
    task logs the moment it starts and ends. A delegate never delegates further:
    only a direct delegation lets someone sign for the absent person.
    """

    absent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="delegations_given"
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="delegations_received"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    start_logged_at = models.DateTimeField(null=True, blank=True)
    end_logged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="delegation_ordered"
            ),
            models.CheckConstraint(
                condition=~Q(absent=models.F("delegate")), name="delegation_not_self"
            ),
        ]
        indexes = [models.Index(fields=["delegate", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.delegate} for {self.absent}"
