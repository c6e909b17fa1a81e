from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Change log"

    def ready(self) -> None:
        from audit import signals  # noqa: F401  (connects the sign-in receivers)
        from audit.roles import changelog_role_check, grant_after_migrate

        checks.register(changelog_role_check, checks.Tags.database)
        post_migrate.connect(grant_after_migrate, sender=self, dispatch_uid="audit.grant_runtime")
