from django.apps import AppConfig


class AttestationsConfig(AppConfig):
    """Signed in-toto attestations of approvals, verifiable offline (docs/attestations.md).

    It sits between `approvals` (which it reads) and the apps that serve it:
    `api` (the endpoint and the public keys) and `evidence` (the pack).
    """

    name = "attestations"
    verbose_name = "Approval attestations"

    def ready(self) -> None:
        from django.core import checks

        from attestations.dsse import attestation_key_check
        from attestations.services import attestation_from_changelog
        from audit.changelog import changelog_register_hook

        checks.register(attestation_key_check)

        # Issued in the change log's own transaction: an approval and its
        # attestation commit or roll back together.
        changelog_register_hook(attestation_from_changelog)
