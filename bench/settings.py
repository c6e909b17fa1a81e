"""Settings for the page benchmark's web server: production settings, on loopback.

`relapp.settings_test` is `relapp.settings` with DEBUG off and only what a
plain-HTTP loopback server needs relaxed (no SSL redirect, no secure cookies,
any host, static files served from the source folders). On top of that:

- the benchmark's URL configuration (`bench.urls`): the product's URLs plus
  the one-query baseline view, which the product never mounts;
- static files looked up once at start-up, not on every request;
- the change-log MAC key the history in `bench.changelog` is signed with, so
  entries written while measuring (API POST checks) continue a verifiable chain.
"""

from relapp.settings_test import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
WHITENOISE_AUTOREFRESH = False
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]  # noqa: F405
# The same key as bench.changelog.BENCH_MAC_KEY(_ID) (importing it would set Django up).
CHANGELOG_MAC_KEYS = {"bench": "5a" * 32}
CHANGELOG_MAC_KEY_ID = "bench"
