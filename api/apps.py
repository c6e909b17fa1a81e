from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Pipeline API and webhooks"

    def ready(self) -> None:
        from api import schema  # noqa: F401  (registers the bearer-token scheme with the schema)
        from api.webhooks import outbox_from_changelog
        from audit.changelog import changelog_register_hook

        # Webhook events are outbox rows written in the change log's own transaction.
        changelog_register_hook(outbox_from_changelog)
