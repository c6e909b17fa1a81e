from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications, chat channels and preferences"

    def ready(self) -> None:
        from audit.changelog import changelog_register_hook
        from notifications.services import notifications_from_changelog

        # Events are written in the change's own transaction: a rolled-back
        # change tells nobody anything.
        changelog_register_hook(notifications_from_changelog)
