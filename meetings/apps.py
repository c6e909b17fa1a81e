from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "meetings"
    verbose_name = "Gate meetings, freezes and reminders"

    def ready(self) -> None:
        from audit.changelog import changelog_register_hook
        from meetings.services import reminders_from_changelog

        changelog_register_hook(reminders_from_changelog)
