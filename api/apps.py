from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Pipeline API and webhooks"

    def ready(self) -> None:
        from api import schema  # noqa: F401  (registers the bearer-token scheme with the schema)
