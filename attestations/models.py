import base64
import json

from django.db import models


class AttestationKind(models.TextChoices):
    APPROVAL = "approval", "Approval"
    REVOCATION = "revocation", "Revocation"


class AttestationKey(models.Model):
    """A public key that signed attestations, and when it did (rotation).

    The private key lives outside the database (ATTESTATION_SIGNING_KEY_FILE);
    the first attestation signed with a new key id opens its period and
    closes the previous key's, so envelopes signed before a rotation stay
    verifiable with the old key and its period. Rows are never deleted.
    """

    keyid = models.CharField(max_length=100, unique=True)
    public_key_pem = models.TextField()
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["valid_from", "id"]

    def __str__(self) -> str:
        return f"Attestation key {self.keyid}"

    def delete(self, *args, **kwargs):
        raise ValueError("Attestation keys are kept so old attestations stay verifiable.")


class Attestation(models.Model):
    """One issued DSSE envelope (approval or revocation). Append-only: never updated."""

    release = models.ForeignKey(
        "approvals.Release", on_delete=models.PROTECT, related_name="attestations"
    )
    kind = models.CharField(max_length=12, choices=AttestationKind.choices)
    issued_at = models.DateTimeField()
    keyid = models.CharField(max_length=100)
    changelog_seq = models.BigIntegerField(help_text="The change-log entry that caused it.")
    changelog_hash = models.CharField(max_length=64)
    payload_sha256 = models.CharField(max_length=64)
    envelope = models.JSONField()

    class Meta:
        ordering = ["release", "issued_at", "id"]
        indexes = [models.Index(fields=["release", "-id"], name="attestation_release_latest")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} attestation of {self.release_id} (#{self.changelog_seq})"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Attestations are append-only; issue a new one instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Attestations are append-only.")

    def envelope_statement(self) -> dict:
        """The statement the envelope carries (decoded, not verified)."""
        return json.loads(base64.b64decode(self.envelope["payload"]))

    @property
    def is_revocation(self) -> bool:
        return self.kind == AttestationKind.REVOCATION
