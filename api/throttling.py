"""API authentication failures, throttled per source address with DRF's throttling.

DRF checks a view's throttles only after authentication has succeeded, so a
wrong token would never reach them: `BearerTokenAuthentication` consults
this throttle itself on every failure. Each failure counts against the
address (the one the change log records); past the rate
(`API_AUTH_FAILURE_RATE`, default 10/min) further failures answer 429 with
`Retry-After`. A valid token is never throttled, so a pipeline behind the
same address as an attacker keeps working.
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from relapp.middleware import current_client_ip


class AuthFailureThrottle(SimpleRateThrottle):
    scope = "auth_failure"

    def get_rate(self) -> str:
        return settings.API_AUTH_FAILURE_RATE

    def get_cache_key(self, request, view) -> str:
        ident = current_client_ip.get() or self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
