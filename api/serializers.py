"""Shapes of the API's requests and responses (also the OpenAPI schema)."""

from rest_framework import serializers

from approvals.lifecycle import Status
from approvals.models import CheckStatus, DeploymentStatus, ReleaseType


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


class WindowSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class RadSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    sha256 = serializers.CharField()


class SignOffSerializer(serializers.Serializer):
    activity = serializers.CharField()
    signer = serializers.CharField(help_text="Username of the Accountable who signed.")
    printed_name = serializers.CharField()
    decision = serializers.CharField()
    method = serializers.CharField()
    meaning = serializers.CharField()
    signed_at = serializers.DateTimeField()
    revision = serializers.IntegerField()
    revision_sha256 = serializers.CharField()
    void = serializers.BooleanField()
    voided_at = serializers.DateTimeField(allow_null=True)
    void_reason = serializers.CharField(allow_blank=True)


class GateCheckSerializer(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=CheckStatus.choices)
    details = serializers.CharField(allow_blank=True)
    url = serializers.CharField(allow_blank=True)
    reported_by = serializers.CharField()
    reported_at = serializers.DateTimeField()


class ReleaseDetailSerializer(serializers.Serializer):
    product = serializers.CharField()
    version = serializers.CharField()
    title = serializers.CharField()
    type = serializers.ChoiceField(choices=ReleaseType.choices)
    status = serializers.ChoiceField(choices=Status.choices)
    status_reason = serializers.CharField(allow_blank=True)
    halted = serializers.BooleanField()
    deployment_window = WindowSerializer()
    ready_for_signoff = serializers.BooleanField()
    readiness_reasons = serializers.ListField(child=serializers.CharField())
    rad = RadSerializer(allow_null=True, help_text="The current RAD revision; null before any.")
    signoffs = SignOffSerializer(many=True)
    gate_checks = GateCheckSerializer(many=True)


class RaciActivitySerializer(serializers.Serializer):
    name = serializers.CharField()
    go_no_go = serializers.BooleanField()
    R = serializers.ListField(child=serializers.CharField(), help_text="Responsible usernames.")
    A = serializers.ListField(child=serializers.CharField(), help_text="Accountable username.")
    C = serializers.ListField(child=serializers.CharField(), help_text="Consulted usernames.")
    I = serializers.ListField(child=serializers.CharField(), help_text="Informed usernames.")  # noqa: E741


class RaciSerializer(serializers.Serializer):
    product = serializers.CharField()
    version = serializers.CharField()
    activities = RaciActivitySerializer(many=True)


class DeployCheckSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    reasons = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Only when not allowed."
    )


# --- writes -------------------------------------------------------------------


class GateCheckReportSerializer(serializers.Serializer):
    name = Text(max_length=100, help_text="The check's name, e.g. `unit-tests`.")
    status = serializers.ChoiceField(choices=CheckStatus.choices)
    details = Text(max_length=10000, required=False, allow_blank=True, default="")
    url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Name the check.")
        return value.strip()


class GateCheckReportedSerializer(GateCheckSerializer):
    ready_for_signoff = serializers.BooleanField()
    readiness_reasons = serializers.ListField(child=serializers.CharField())


class DeploymentRecordSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DeploymentStatus.choices)
    environment = Text(max_length=60, required=False, allow_blank=True, default="production")
    details = Text(max_length=10000, required=False, allow_blank=True, default="")


class DeploymentSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DeploymentStatus.choices)
    environment = serializers.CharField()
    details = serializers.CharField(allow_blank=True)
    recorded_by = serializers.CharField()
    recorded_at = serializers.DateTimeField()
    release_status = serializers.ChoiceField(
        choices=Status.choices, help_text="The release's status after this record."
    )


# --- change log ---------------------------------------------------------------


class ChangelogQuerySerializer(serializers.Serializer):
    after_seq = serializers.IntegerField(
        min_value=0, max_value=2**63 - 1, required=False, default=0
    )
    limit = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=100)


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


class ChangelogPageSerializer(serializers.Serializer):
    entries = ChangelogEntrySerializer(many=True)
    next_after_seq = serializers.IntegerField(
        allow_null=True, help_text="Pass as `after_seq` for the next page; null at the head."
    )
    head_seq = serializers.IntegerField(help_text="The newest entry when this page was read.")
