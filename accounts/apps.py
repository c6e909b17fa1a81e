from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts, lockouts and sessions"

    def ready(self) -> None:
        from accounts import signals  # noqa: F401  (connects the lockout receivers)
