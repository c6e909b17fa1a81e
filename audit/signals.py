"""Sign-in, failed sign-in and sign-out, each written as one change-log entry.

Receivers only translate Django's auth signals into `changelog_record`
calls. A failed attempt records the username that was tried (actor is None:
nobody was authenticated) and never anything from the password field.
"""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.changelog import changelog_record
from audit.models import Action

# The User model's username is at most 150 characters; anything longer was
# not a username anyway.
_ATTEMPTED_NAME_LENGTH = 150


@receiver(user_logged_in, dispatch_uid="audit.login")
def record_login(sender, request, user, **kwargs) -> None:
    changelog_record(action=Action.LOGIN, actor=user, obj=user)


@receiver(user_logged_out, dispatch_uid="audit.logout")
def record_logout(sender, request, user, **kwargs) -> None:
    if user is None:  # signing out without a session: nothing happened
        return
    changelog_record(action=Action.LOGOUT, actor=user, obj=user)


@receiver(user_login_failed, dispatch_uid="audit.login_failed")
def record_login_failed(sender, credentials, request=None, **kwargs) -> None:
    attempted = str(credentials.get("username") or "")[:_ATTEMPTED_NAME_LENGTH]
    changelog_record(
        action=Action.LOGIN_FAILED,
        actor=None,
        actor_name=attempted or "(no username)",
        after={"username": attempted},
        reason="Authentication failed",
    )
