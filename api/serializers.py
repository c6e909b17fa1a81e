"""Shapes of the API's requests and responses (also the OpenAPI schema).

Input serializers validate a body or a query string. Output serializers read
the objects the selectors and services return and are the only source of a
response body, so the schema, which names them, describes exactly what is sent.
A serializer's docstring becomes its description in the schema, so notes for
readers of this code are comments.
"""

from rest_framework import serializers

from approvals.artifacts import artifact_set, artifact_set_sha256
from approvals.lifecycle import Status
from approvals.models import (
    ArtifactKind,
    CheckPhase,
    CheckStatus,
    DeploymentStatus,
    ReleaseType,
)
from raci.models import Letter


class Text(serializers.CharField):
    """A string PostgreSQL can store: no NUL (DRF refuses it) and no lone surrogates."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise serializers.ValidationError("Not valid Unicode text.") from None
        return value


# --- errors -------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField(help_text="Machine-readable code, e.g. `token_expired`.")
    detail = serializers.CharField(help_text="What went wrong, for people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="400 only: messages per field.",
    )
    transition = serializers.CharField(required=False, help_text="409 illegal_transition only.")
    status = serializers.CharField(required=False, help_text="409 illegal_transition only.")


# --- releases -----------------------------------------------------------------


class ReleaseFilterSerializer(serializers.Serializer):
    product = serializers.SlugField(required=False, max_length=60)
    status = serializers.ChoiceField(choices=Status.choices, required=False)


class ReleaseSummarySerializer(serializers.Serializer):
    product = serializers.CharField(source="product.slug")
    version = serializers.CharField()
    title = serializers.CharField()
    type = serializers.ChoiceField(source="release_type", choices=ReleaseType.choices)
    status = serializers.ChoiceField(choices=Status.choices)


# Reads views.ReleasePagination.page_of.
class ReleasePageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, or null.")
    results = ReleaseSummarySerializer(many=True)


class ReleaseListQuerySerializer(ReleaseFilterSerializer):
    page = serializers.IntegerField(min_value=1, required=False, help_text="1 is the first page.")
    page_size = serializers.IntegerField(
        min_value=1, max_value=200, required=False, help_text="50 unless given."
    )


# Reads the release itself.
class WindowSerializer(serializers.Serializer):
    start = serializers.DateTimeField(source="window_start")
    end = serializers.DateTimeField(source="window_end")


# Reads a RadRevision.
class RadSerializer(serializers.Serializer):
    revision = serializers.IntegerField(source="number")
    sha256 = serializers.CharField()


class SignOffSerializer(serializers.Serializer):
    activity = serializers.CharField(source="activity.name")
    signer = serializers.CharField(
        source="signer.get_username", help_text="Username of the Accountable who signed."
    )
    printed_name = serializers.CharField()
    decision = serializers.CharField()
    method = serializers.CharField()
    components = serializers.CharField(
        help_text='The credentials given: "password" or "password+totp" (password and '
        "authenticator code); empty for a verbal approval not yet confirmed."
    )
    meaning = serializers.CharField()
    signed_at = serializers.DateTimeField()
    revision = serializers.IntegerField(source="revision_number")
    revision_sha256 = serializers.CharField()
    artifacts_sha256 = serializers.CharField(
        allow_blank=True, help_text="SHA-256 of the artifact set signed; empty when none."
    )
    verbal_state = serializers.CharField(
        allow_blank=True, help_text="Verbal records: pending, confirmed or disputed."
    )
    verbal_confirmed_at = serializers.DateTimeField(allow_null=True)
    void = serializers.BooleanField(source="is_void")
    voided_at = serializers.DateTimeField(allow_null=True)
    void_reason = serializers.CharField(allow_blank=True)


class GateCheckSerializer(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=CheckStatus.choices)
    phase = serializers.ChoiceField(choices=CheckPhase.choices)
    details = serializers.CharField(allow_blank=True)
    url = serializers.CharField(allow_blank=True)
    reported_by = serializers.CharField(source="reported_by.get_username")
    reported_at = serializers.DateTimeField()


# Reads an api.selectors.ReleaseDetail.
class ReleaseDetailSerializer(serializers.Serializer):
    product = serializers.CharField(source="release.product.slug")
    version = serializers.CharField(source="release.version")
    title = serializers.CharField(source="release.title")
    type = serializers.ChoiceField(source="release.release_type", choices=ReleaseType.choices)
    status = serializers.ChoiceField(source="release.status", choices=Status.choices)
    status_reason = serializers.CharField(source="release.status_reason", allow_blank=True)
    halted = serializers.SerializerMethodField()
    deployment_window = WindowSerializer(source="release")
    ready_for_signoff = serializers.SerializerMethodField()
    readiness_reasons = serializers.ListField(child=serializers.CharField())
    rad = RadSerializer(
        source="current", allow_null=True, help_text="The current RAD revision; null before any."
    )
    signoffs = SignOffSerializer(many=True)
    gate_checks = GateCheckSerializer(many=True)
    artifacts = serializers.SerializerMethodField()
    artifacts_sha256 = serializers.SerializerMethodField()
    approved_at = serializers.DateTimeField(source="release.approved_at", allow_null=True)

    def get_artifacts(self, detail) -> list[dict[str, str]]:
        return artifact_set(detail.artifacts)

    def get_artifacts_sha256(self, detail) -> str:
        return artifact_set_sha256(detail.artifacts) if detail.artifacts else ""

    def get_halted(self, detail) -> bool:
        return detail.release.status == Status.HALTED

    def get_ready_for_signoff(self, detail) -> bool:
        return not detail.readiness_reasons


class UsernamesField(serializers.ListField):
    """The usernames holding one RACI letter on an activity, in alphabetical order."""

    def __init__(self, *, letter: str, **kwargs):
        self.letter = letter
        super().__init__(child=serializers.CharField(), source="*", **kwargs)

    def get_attribute(self, activity) -> list[str]:
        return sorted(
            assignment.user.get_username()
            for assignment in activity.assignments.all()
            if assignment.letter == self.letter
        )


# Reads an Activity with its assignments and their users prefetched.
class RaciActivitySerializer(serializers.Serializer):
    name = serializers.CharField()
    go_no_go = serializers.BooleanField(source="is_go_no_go")
    R = UsernamesField(letter=Letter.RESPONSIBLE, help_text="Responsible usernames.")
    A = UsernamesField(letter=Letter.ACCOUNTABLE, help_text="Accountable username.")
    C = UsernamesField(letter=Letter.CONSULTED, help_text="Consulted usernames.")
    I = UsernamesField(letter=Letter.INFORMED, help_text="Informed usernames.")  # noqa: E741


# Reads an api.selectors.ReleaseRaci.
class RaciSerializer(serializers.Serializer):
    product = serializers.CharField(source="release.product.slug")
    version = serializers.CharField(source="release.version")
    activities = RaciActivitySerializer(many=True)


class DeployCheckQuerySerializer(serializers.Serializer):
    artifact = Text(
        required=False,
        max_length=80,
        help_text="The digest about to deploy (`sha256:…` or a 40-hex commit); it must be one "
        "of the approved artifacts.",
    )


class RefusalSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Stable code: not_approved, halted, approval_expired, window_not_open, "
        "window_closed, frozen, check_missing, check_failing, defect_open, rehearsal_missing, "
        "rehearsal_stale, quality_below_policy, rad_missing, artifact_not_approved."
    )
    message = serializers.CharField(help_text="The same reason, for people.")


# Reads the deploy rule's refusals (approvals.selectors.deploy_check_now): none
# means allowed, and then `reasons` and `refusals` are left out.
class DeployCheckSerializer(serializers.Serializer):
    allowed = serializers.SerializerMethodField()
    reasons = serializers.SerializerMethodField(help_text="Only when not allowed: the sentences.")
    refusals = RefusalSerializer(
        many=True, source="*", required=False, help_text="Only when not allowed."
    )

    def get_allowed(self, refusals) -> bool:
        return not refusals

    def get_reasons(self, refusals) -> list[str]:
        return [refusal.message for refusal in refusals]

    def to_representation(self, refusals) -> dict:
        data = super().to_representation(refusals)
        if not refusals:
            del data["reasons"], data["refusals"]
        return data


class ArtifactSerializer(serializers.Serializer):
    name = Text(max_length=300, help_text="e.g. `registry.example.com/payments-api`.")
    kind = serializers.ChoiceField(choices=ArtifactKind.choices)
    digest = Text(max_length=80, help_text="`sha256:<64 hex>`, or a 40-hex git commit.")
    committed_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Commits only, optional: when it was committed (ISO 8601). Lead time for "
        "changes starts at the earliest reported commit time.",
    )


class ArtifactReportSerializer(serializers.Serializer):
    artifacts = ArtifactSerializer(many=True, allow_empty=False, max_length=50)
    replace = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: the list becomes the whole set (others are removed).",
    )


# Reads the release's artifacts (approvals.selectors.artifacts_for_release).
class ArtifactSetSerializer(serializers.Serializer):
    artifacts = serializers.SerializerMethodField()
    artifacts_sha256 = serializers.SerializerMethodField(
        help_text="SHA-256 of the canonical set, as sign-offs name it; empty when none."
    )

    def get_artifacts(self, artifacts) -> list[dict[str, str]]:
        return artifact_set(artifacts)

    def get_artifacts_sha256(self, artifacts) -> str:
        return artifact_set_sha256(artifacts) if artifacts else ""

    commit_times = serializers.SerializerMethodField(
        help_text="Artifact name → reported commit time, for the commits that have one."
    )

    def get_commit_times(self, artifacts) -> dict[str, str]:
        return {a.name: a.committed_at.isoformat() for a in artifacts if a.committed_at}


# --- writes -------------------------------------------------------------------


class GateCheckReportSerializer(serializers.Serializer):
    name = Text(max_length=100, help_text="The check's name, e.g. `unit-tests`.")
    status = serializers.ChoiceField(choices=CheckStatus.choices)
    details = Text(max_length=10000, required=False, allow_blank=True, default="")
    url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    phase = serializers.ChoiceField(
        choices=CheckPhase.choices,
        required=False,
        default=CheckPhase.BEFORE_APPROVAL,
        help_text="`before_approval` (the default) counts toward readiness; `after_deployment` "
        "verifies the succeeded deployment: a `fail` marks it verification failed.",
    )

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Name the check.")
        return value.strip()


# Reads a GateCheck; the release's readiness after it comes in the context as
# `readiness_reasons` (api.selectors.release_readiness_get).
class GateCheckReportedSerializer(GateCheckSerializer):
    ready_for_signoff = serializers.SerializerMethodField()
    readiness_reasons = serializers.SerializerMethodField()

    def get_ready_for_signoff(self, check) -> bool:
        return not self.context["readiness_reasons"]

    def get_readiness_reasons(self, check) -> list[str]:
        return self.context["readiness_reasons"]


class DeploymentRecordSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DeploymentStatus.choices)
    environment = Text(max_length=60, required=False, allow_blank=True, default="production")
    details = Text(max_length=10000, required=False, allow_blank=True, default="")


# Reads a Deployment as deployment_record returns it: its release is the row
# the service locked and saved, so its status is the new one.
class DeploymentSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DeploymentStatus.choices)
    environment = serializers.CharField()
    details = serializers.CharField(allow_blank=True)
    recorded_by = serializers.CharField(source="recorded_by.get_username")
    recorded_at = serializers.DateTimeField()
    unauthorized = serializers.BooleanField(
        help_text="The deploy check refused at the moment it was recorded."
    )
    unauthorized_reasons = RefusalSerializer(many=True)
    release_status = serializers.ChoiceField(
        source="release.status",
        choices=Status.choices,
        help_text="The release's status after this record.",
    )


# --- change log ---------------------------------------------------------------


class ChangelogQuerySerializer(serializers.Serializer):
    after_seq = serializers.IntegerField(
        min_value=0, max_value=2**63 - 1, required=False, default=0
    )
    limit = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=100)


# Reads an entry as the JSON export writes it: audit.chain.EXPORT_FIELDS, in order.
class ChangelogEntrySerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    created_at = serializers.CharField(help_text="UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`.")
    actor_id = serializers.IntegerField(allow_null=True)
    actor_name = serializers.CharField()
    action = serializers.CharField()
    product_id = serializers.IntegerField(allow_null=True)
    release_id = serializers.IntegerField(allow_null=True)
    object_type = serializers.CharField(allow_blank=True)
    object_id = serializers.CharField(allow_blank=True)
    object_repr = serializers.CharField(allow_blank=True)
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)
    request_id = serializers.CharField(allow_blank=True)
    client_ip = serializers.CharField(allow_null=True)
    prev_hash = serializers.CharField()
    hash = serializers.CharField()


# Reads an api.selectors.ChangelogPage.
class ChangelogPageSerializer(serializers.Serializer):
    entries = ChangelogEntrySerializer(many=True)
    next_after_seq = serializers.IntegerField(
        allow_null=True, help_text="Pass as `after_seq` for the next page; null at the head."
    )
    head_seq = serializers.IntegerField(help_text="The newest entry when this page was read.")


class MonitoringTickRequestSerializer(serializers.Serializer):
    note = Text(max_length=2000, required=False, allow_blank=True, default="")
    link = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")


class MonitoringTickSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    item = serializers.CharField()
    ticked_by = serializers.CharField(source="ticked_by.get_username")
    ticked_at = serializers.DateTimeField()
    note = serializers.CharField(allow_blank=True)
    link = serializers.CharField(allow_blank=True)
