"""Receivers: django-axes lockouts become a service call; a sign-in starts the session clock
and settles the time zone the session shows times in."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from accounts import timezones
from accounts.lockout import is_signature
from accounts.middleware import session_stamp
from accounts.services import account_lock_record, user_timezone_set


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


@receiver(user_logged_in, dispatch_uid="accounts.time_zone")
def settle_time_zone(sender, request, user, **kwargs) -> None:
    """On the first sign-in take the browser's zone (a valid one only); keep the zone in the session."""
    if request is None or not hasattr(request, "session"):
        return
    browser = request.session.pop(timezones.BROWSER_SESSION_KEY, None)
    if request.method == "POST":
        browser = request.POST.get("browser_tz") or browser
    if timezones.is_zone(browser) and not hasattr(user, "time_zone"):
        user_timezone_set(
            user=user,
            name=browser,
            actor=user,
            reason="First sign-in: time zone taken from the browser",
        )
    request.session[timezones.SESSION_KEY] = timezones.zone_of(user)
