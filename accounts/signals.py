"""Receivers: django-axes lockouts become a service call; a sign-in starts the session clock."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from accounts.lockout import is_signature
from accounts.middleware import session_stamp
from accounts.services import account_lock_record


@receiver(user_locked_out, dispatch_uid="accounts.locked_out")
def record_lockout(sender, request, username, ip_address, **kwargs) -> None:
    # axes also sends this for every attempt refused while already locked;
    # only the attempt that caused the lock has its failure count set.
    if request is None or getattr(request, "axes_failures_since_start", None) is None:
        return
    account_lock_record(
        username=username or "",
        ip_address=ip_address or "",
        signature=is_signature(getattr(request, "axes_credentials", None)),
    )


@receiver(user_logged_in, dispatch_uid="accounts.session_started")
def stamp_session(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        session_stamp(request.session)
