from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RaciConfig(AppConfig):
    name = "raci"
    verbose_name = "RACI matrix"

    def ready(self) -> None:
        from raci.permissions import ensure_role_groups

        # Runs after every app migrates so permissions of later apps exist too.
        post_migrate.connect(ensure_role_groups, dispatch_uid="raci-role-groups")
