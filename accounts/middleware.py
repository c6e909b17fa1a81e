"""Idle timeout and absolute lifetime of a signed-in session."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts import timezones

STARTED = "relapp_session_started"
SEEN = "relapp_session_seen"
# The last-seen time is written at most this often, not on every request.
_SEEN_RESOLUTION = 30


def session_stamp(session) -> None:
    """Start the session's clocks (at sign-in)."""
    now = int(time.time())
    session[STARTED] = now
    session[SEEN] = now


class SessionLifetimeMiddleware:
    """Sign out a session idle for SESSION_IDLE_MINUTES or older than SESSION_MAX_HOURS."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and hasattr(request, "session"):
            self._check(request)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        now = int(time.time())
        session = request.session
        started = session.get(STARTED)
        seen = session.get(SEEN)
        if started is None or seen is None:  # a session from before this middleware
            session_stamp(session)
            return
        idle = now - seen > settings.SESSION_IDLE_MINUTES * 60
        expired = now - started > settings.SESSION_MAX_HOURS * 3600
        if idle or expired:
            logout(request)
            messages.info(
                request,
                "You were signed out after "
                + (
                    f"{settings.SESSION_IDLE_MINUTES} minutes without activity."
                    if idle
                    else f"{settings.SESSION_MAX_HOURS} hours. Sign in again."
                ),
            )
            return
        if now - seen >= _SEEN_RESOLUTION:
            session[SEEN] = now


class TimeZoneMiddleware:
    """Show and read times in the signed-in person's zone (UTC for everyone else and the API).

    The zone is kept in the session (set at sign-in and when it is changed),
    so this costs no query; a session from before it existed reads it once.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = None
        # The JSON API (including its browsable form) answers in UTC for everyone.
        if request.path_info.startswith("/api/"):
            pass
        elif request.user.is_authenticated and hasattr(request, "session"):
            name = request.session.get(timezones.SESSION_KEY)
            if name is None:
                name = timezones.zone_of(request.user)
                request.session[timezones.SESSION_KEY] = name
        timezones.zone_activate(name)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
