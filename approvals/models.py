import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from approvals.lifecycle import FINISHED, ReleaseType, Status

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
    deploy_targets = models.JSONField(
        default=list,
        blank=True,
        help_text="Components or environments this product deploys to (e.g. payments-db, "
        "prod-eu). Overlapping windows on a shared one are conflicts.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("approvals:release_list") + f"?product={self.slug}"


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
    deployed_at = models.DateTimeField(null=True, blank=True)
    freeze_override_reason = models.TextField(
        blank=True, help_text="Hotfixes only: the emergency that justifies deploying in a freeze."
    )
    review_due_at = models.DateTimeField(
        null=True, blank=True, help_text="Hotfixes: when the post-release review falls due."
    )
    approved_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the last required approval landed; the approval expires by policy.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    cutoff_at = models.DateTimeField(
        "code cut-off",
        null=True,
        blank=True,
        help_text="After the cut-off only fixes go in; a RAD revision changing the scope "
        "after it is marked.",
    )
    policy_version = models.ForeignKey(
        "PolicyVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The version of the product's approval policy the release was approved under.",
    )

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
        indexes = [
            models.Index(fields=["status", "-created_at"]),
            # One per ordering the release list offers (RELEASE_SORTS), so a page is
            # an index range scan; descending sorts read the same index backwards.
            models.Index(fields=["-created_at", "-id"], name="release_created_desc"),
            models.Index(fields=["window_start", "id"], name="release_window"),
            models.Index(fields=["status", "window_start", "id"], name="release_status_window"),
            models.Index(
                fields=["-status", "window_start", "id"], name="release_status_desc_window"
            ),
        ]
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

    # State questions templates ask; the answers come from the lifecycle's names.
    @property
    def is_hotfix(self) -> bool:
        return self.release_type == ReleaseType.HOTFIX

    @property
    def is_in_review(self) -> bool:
        return self.status == Status.IN_REVIEW

    @property
    def is_deployed(self) -> bool:
        return self.status == Status.DEPLOYED

    @property
    def is_halted(self) -> bool:
        """Halted: the Go/no-go Accountable's new approval resumes it."""
        return self.status == Status.HALTED

    @property
    def is_finished(self) -> bool:
        """Closed or cancelled: nothing about it changes any more."""
        return self.status in FINISHED

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
    scope_changed_after_cutoff = models.BooleanField(
        default=False, help_text="Written after the release's cut-off with a different Scope."
    )

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
    # A key of approvals.rad.SECTION_TITLES when the comment is about one RAD section.
    section = models.CharField(max_length=20, blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment by {self.author} on {self.release}"


class ReleaseUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Release, on_delete=models.CASCADE)


class ReleaseGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Release, on_delete=models.CASCADE)


def default_reminder_offsets() -> list[int]:
    return [24 * 3600, 3600]


class ApprovalPolicy(models.Model):
    """What a product demands before its releases are ready for sign-off."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="policy")
    required_checks = models.JSONField(
        default=list, blank=True, help_text="Names of gate checks that must pass."
    )
    max_rehearsal_age_days = models.PositiveIntegerField(
        default=30, help_text="The rollback must have been rehearsed within this many days."
    )
    block_open_critical_defects = models.BooleanField(
        default=True, help_text="No blocker or critical defect may be open."
    )
    hotfix_review_days = models.PositiveIntegerField(
        default=5, help_text="A hotfix's post-release review falls due this many days after deploy."
    )
    reminder_offsets_seconds = models.JSONField(
        default=default_reminder_offsets,
        help_text="When attendees are reminded before a gate meeting, in seconds (24 h and 1 h).",
    )
    signoff_reminder_seconds = models.PositiveIntegerField(
        default=2 * 3600,
        help_text="Accountables with a pending sign-off are reminded this long before the meeting.",
    )
    approval_validity_days = models.PositiveIntegerField(
        default=14,
        help_text="An approval is valid this many days after the last required sign-off; "
        "then the Go/no-go Accountable signs again.",
    )
    halt_on_check_failure = models.BooleanField(
        default=False,
        help_text="A required gate check turning red after approval halts the release.",
    )
    hotfix_verbal_grace_hours = models.PositiveIntegerField(
        default=0,
        help_text="Hotfixes: a pending verbal Go/no-go counts for this many hours; unconfirmed "
        "by then, the release halts. 0: a verbal approval counts only once confirmed.",
    )
    min_pass_rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Minimum pass rate (%) over all test suites of the RAD; empty: no minimum.",
    )
    suite_min_pass_rates = models.JSONField(
        default=dict,
        blank=True,
        help_text='Suite name -> minimum pass rate (%), e.g. {"End-to-end checkout": 100}.',
    )
    zero_failure_suites = models.JSONField(
        default=list,
        blank=True,
        help_text="Names of suites that must be present and report no failures.",
    )
    block_marked_findings = models.BooleanField(
        default=True,
        help_text="Performance or security findings the RAD marks as blocking stop the release.",
    )
    signature_requires_two_components = models.BooleanField(
        default=False,
        help_text="Every signature needs the password and an authenticator code (TOTP); "
        "signers without an authenticator are asked to set one up on their account page.",
    )
    cutoff_days_before_window = models.PositiveIntegerField(
        default=7, help_text="A new release's code cut-off: this many days before its window."
    )
    cutoff_ack_required = models.BooleanField(
        default=False,
        help_text="A scope change after the cut-off must be acknowledged by the Go/no-go "
        "Accountable when signing.",
    )
    monitoring_tick_hours = models.PositiveIntegerField(
        default=2,
        help_text="Post-deploy checklist items not ticked this many hours after the "
        "deployment are overdue and remind the people responsible.",
    )
    operations_activity = models.CharField(
        max_length=120,
        default="Operational readiness",
        help_text="The activity whose Accountable (with the Responsibles) ticks the "
        "post-deploy checklist and hears of failed verifications.",
    )
    required_risk_categories = models.JSONField(
        default=list,
        blank=True,
        help_text='Risk categories the RAD must assess at least once, e.g. ["legal", "support"].',
    )
    risk_judge_activity = models.CharField(
        max_length=120,
        blank=True,
        help_text="The activity whose Accountable judges the required risk categories.",
    )
    block_on_conflict = models.BooleanField(
        default=False,
        help_text="A deployment window overlapping another release's on the same product, "
        "component or environment stops the release being ready.",
    )
    fast_path_enabled = models.BooleanField(
        default=False,
        help_text="Risk-based routing: a low-risk RAD needs only the fast-path activities.",
    )
    fast_path_max_risk_score = models.PositiveSmallIntegerField(
        default=6,
        help_text="Fast path only while no risk's likelihood × impact is above this.",
    )
    fast_path_activities = models.JSONField(
        default=list,
        blank=True,
        help_text="The activities a fast-path release still needs, e.g. Test thresholds "
        "and Go/no-go decision.",
    )

    class Meta:
        verbose_name_plural = "approval policies"

    def __str__(self) -> str:
        return f"Approval policy of {self.product}"


class CheckStatus(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    PENDING = "pending", "Pending"


class CheckPhase(models.TextChoices):
    BEFORE_APPROVAL = "before_approval", "Before approval"
    AFTER_DEPLOYMENT = "after_deployment", "After deployment"


class GateCheck(models.Model):
    """The latest result of one named automated check for a release."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="gate_checks")
    name = models.CharField(max_length=100)
    phase = models.CharField(
        max_length=20, choices=CheckPhase.choices, default=CheckPhase.BEFORE_APPROVAL
    )
    status = models.CharField(max_length=10, choices=CheckStatus.choices)
    details = models.TextField(blank=True)
    url = models.URLField(blank=True, max_length=500)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reported_at = models.DateTimeField()

    class Meta:
        ordering = ["release", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "phase", "name"], name="gate_check_unique_per_phase"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.status}"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class SignOffMethod(models.TextChoices):
    E_SIGNATURE = "e-signature", "E-signature"
    VERBAL = "verbal", "Verbal"


class SignatureComponents(models.TextChoices):
    """The credentials a signature (or a verbal record's confirmation) was given with."""

    PASSWORD = "password", "Password"
    PASSWORD_TOTP = "password+totp", "Password and authenticator code"
    SSO_REAUTH = "sso-reauth", "Signed in again at the single sign-on provider"


class VerbalState(models.TextChoices):
    PENDING = "pending", "Awaiting confirmation"
    CONFIRMED = "confirmed", "Confirmed"
    DISPUTED = "disputed", "Disputed"


class SignOff(models.Model):
    """One decision by one Accountable for one activity on one RAD revision.

    The manifestation (printed name, time, meaning, revision hash) is frozen
    at signing. A sign-off is never deleted; it can only be voided.
    """

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="signoffs")
    activity = models.ForeignKey("raci.Activity", on_delete=models.PROTECT, related_name="signoffs")
    revision = models.ForeignKey(RadRevision, on_delete=models.PROTECT, related_name="signoffs")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    printed_name = models.CharField(max_length=200)
    signed_at = models.DateTimeField()
    meaning = models.TextField()
    revision_number = models.PositiveIntegerField()
    revision_sha256 = models.CharField(max_length=64)
    method = models.CharField(max_length=20, choices=SignOffMethod.choices)
    components = models.CharField(
        max_length=20,
        choices=SignatureComponents.choices,
        blank=True,
        help_text="The credentials given: at signing, or for a verbal record at its "
        "confirmation (empty until then).",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verbal_channel = models.CharField(max_length=100, blank=True)
    verbal_given_at = models.DateTimeField(null=True, blank=True)
    verbal_note = models.TextField(blank=True)
    verbal_state = models.CharField(max_length=12, choices=VerbalState.choices, blank=True)
    verbal_confirmed_at = models.DateTimeField(null=True, blank=True)
    artifacts_sha256 = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the artifact set the signature covers."
    )
    artifacts = models.JSONField(
        default=list, blank=True, help_text="The artifact set the signature covers."
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)
    cutoff_acknowledged = models.BooleanField(
        default=False, help_text="The signer acknowledged a scope change after the cut-off."
    )
    seat = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Whose approval this is: the Accountable, or the team member who signed.",
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The absent person a delegate signed for (the signer signs as themselves).",
    )

    class Meta:
        ordering = ["release", "activity__position", "-signed_at"]
        constraints = [
            # One live decision per activity, revision and seat: replays cannot add a
            # second, and a team member counts once however often they sign.
            models.UniqueConstraint(
                fields=["activity", "revision", "seat"],
                condition=Q(voided_at__isnull=True),
                name="signoff_one_live_per_seat",
            ),
        ]
        indexes = [
            models.Index(fields=["signer", "-signed_at"]),
            # My sign-offs asks, on every view, for the signer's voided signatures.
            models.Index(
                fields=["signer"], condition=Q(voided_at__isnull=False), name="signoff_voided"
            ),
            # The overview and My sign-offs count the verbal approvals waiting for the
            # signer's confirmation on every visit: a handful among thousands of sign-offs.
            models.Index(
                fields=["signer"],
                condition=Q(
                    method=SignOffMethod.VERBAL,
                    verbal_state=VerbalState.PENDING,
                    voided_at__isnull=True,
                ),
                name="signoff_verbal_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} of {self.activity} by {self.printed_name}"

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None


class DeploymentStatus(models.TextChoices):
    STARTED = "started", "Started"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    ROLLED_BACK = "rolled_back", "Rolled back"


class Deployment(models.Model):
    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="deployments")
    status = models.CharField(max_length=12, choices=DeploymentStatus.choices)
    environment = models.CharField(max_length=60, default="production")
    details = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    unauthorized = models.BooleanField(
        default=False, help_text="The deploy check would have refused it when it was recorded."
    )
    unauthorized_reasons = models.JSONField(default=list, blank=True)
    verification_failed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a post-deploy check failed for this deployment."
    )
    verification_check = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["release", "recorded_at", "id"]
        indexes = [
            models.Index(
                fields=["-recorded_at"],
                condition=Q(unauthorized=True),
                name="deployment_unauthorized",
            ),
            # Time to restore: "the next successful deployment after this moment".
            models.Index(fields=["status", "recorded_at"], name="deployment_status_time"),
        ]

    def __str__(self) -> str:
        return f"{self.release} deployment {self.status}"


class PostReleaseReview(models.Model):
    release = models.OneToOneField(Release, on_delete=models.PROTECT, related_name="review")
    went_well = models.TextField()
    slipped = models.TextField()
    template_changes = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Post-release review of {self.release}"


class FreezeWindow(models.Model):
    """No deployment window may fall in a freeze, except a hotfix with an emergency reason."""

    product = models.ForeignKey(
        Product,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="freezes",
        help_text="Empty: applies to every product.",
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Moved from the meetings app: the approval rules read freezes, and
        # approvals sits below meetings. The table keeps its first name.
        db_table = "meetings_freezewindow"
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="freeze_ordered"),
        ]

    def __str__(self) -> str:
        scope = self.product.name if self.product_id else "all products"
        return f"Freeze for {scope}: {self.reason}"


class ArtifactKind(models.TextChoices):
    IMAGE = "image", "Container image"
    COMMIT = "commit", "Git commit"
    PACKAGE = "package", "Package"


class Artifact(models.Model):
    """What a release ships, identified by its digest. A sign-off covers the whole set."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="artifacts")
    name = models.CharField(max_length=300)
    kind = models.CharField(max_length=10, choices=ArtifactKind.choices)
    digest = models.CharField(
        max_length=71, help_text="sha256:<64 hex> for images and packages, 40 hex for a commit."
    )
    reported_by = models.CharField(max_length=200)
    reported_at = models.DateTimeField(auto_now=True)
    committed_at = models.DateTimeField(
        null=True, blank=True, help_text="Commits only: when CI says it was committed (lead time)."
    )

    class Meta:
        ordering = ["release", "name"]
        constraints = [
            models.UniqueConstraint(fields=["release", "name"], name="artifact_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name}@{self.digest}"


class MonitoringTick(models.Model):
    """One post-deploy checklist item ticked: who watched it, when, with what evidence."""

    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="ticks")
    position = models.PositiveIntegerField(help_text="The item's index in the RAD's checklist.")
    item = models.CharField(max_length=500)
    ticked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    ticked_at = models.DateTimeField()
    note = models.TextField(blank=True)
    link = models.URLField(blank=True, max_length=500)

    class Meta:
        ordering = ["deployment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "position"], name="monitoring_tick_once"),
        ]

    def __str__(self) -> str:
        return f"{self.item} ticked by {self.ticked_by}"


class DrillOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Rolled back as planned"
    PARTIAL = "partial", "Rolled back with problems"
    FAILED = "failed", "Could not roll back"


class FireDrillSchedule(models.Model):
    """When a product rehearses its rollback: an iCalendar RRULE from a first date."""

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="drill_schedule")
    rrule = models.CharField(
        max_length=300, help_text="An iCalendar RRULE, e.g. FREQ=MONTHLY;INTERVAL=3 (quarterly)."
    )
    first_on = models.DateField(help_text="The first drill; the rule repeats from it.")
    grace_days = models.PositiveIntegerField(
        default=7, help_text="A drill not recorded this many days after it fell due is overdue."
    )

    def __str__(self) -> str:
        return f"Fire drills of {self.product}: {self.rrule}"


class FireDrill(models.Model):
    """One rehearsal of a product's rollback, as it went."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="drills")
    held_on = models.DateField()
    scenario = models.CharField(max_length=300)
    participants = models.TextField(help_text="Who took part, one per line or comma-separated.")
    outcome = models.CharField(max_length=10, choices=DrillOutcome.choices)
    rollback_minutes = models.PositiveIntegerField(help_text="Time to roll back, in minutes.")
    evidence_url = models.URLField(max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-held_on", "-id"]
        indexes = [models.Index(fields=["product", "-held_on"])]

    def __str__(self) -> str:
        return f"Fire drill of {self.product} on {self.held_on}"


class PolicyVersion(models.Model):
    """One saved state of a product's approval policy; never updated after insert.

    `snapshot` is JSON of every field of ApprovalPolicy, so a field
    added to the policy is versioned without touching this model.
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="policy_versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    changed_fields = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["product", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["product", "number"], name="policy_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.product} policy version {self.number}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Policy versions are immutable; write a new version instead.")
        super().save(*args, **kwargs)


class RadTemplate(models.Model):
    """A product's default RAD content: a new release's RAD starts from it.

    `content` has the shape of approvals.rad.EMPTY_RAD without what only a
    release can know (defects, counts, the rehearsal date); release managers
    edit it on the product's settings pages.
    """

    product = models.OneToOneField(Product, on_delete=models.PROTECT, related_name="rad_template")
    content = models.JSONField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"RAD template of {self.product}"


def attachment_path(instance, filename: str) -> str:
    """Where a stored file goes: never a name the uploader chose (no traversal, no clash)."""
    return f"attachments/{instance.release_id}/{instance.token}.{instance.extension}"


class Attachment(models.Model):
    """A file of evidence for a release, kept through Django's storage API.

    Removal deletes the stored file and marks the row removed; the row stays so
    the change-log entries that name it still point at something.
    """

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="attachments")
    token = models.CharField(max_length=32, unique=True)
    file = models.FileField(upload_to=attachment_path, max_length=200, blank=True)
    filename = models.CharField(max_length=200)
    extension = models.CharField(max_length=10)
    content_type = models.CharField(max_length=100)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["release", "uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.sha256[:12]})"
