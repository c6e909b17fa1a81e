from django.apps import AppConfig


class AuditStreamConfig(AppConfig):
    name = "auditstream"
    verbose_name = "Change-log streaming"

    def ready(self) -> None:
        from audit.changelog import changelog_register_hook
        from auditstream.services import stream_outbox_from_changelog

        # Outbox rows are written in the change log's own transaction.
        changelog_register_hook(stream_outbox_from_changelog)
