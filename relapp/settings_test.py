"""Test settings: the real settings plus what only tests need.

The database and broker come from DATABASE_URL and CELERY_BROKER_URL, which
`make test` points at a throwaway PostgreSQL cluster and redis-server.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 32)

from .settings import *  # noqa: E402,F403

DEBUG = False
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
ALLOWED_HOSTS = ["*"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files straight from the source folders; tests never collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT = None
# Real hashing is slow on purpose; tests only need it to be correct.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A real Celery worker is another process: it cannot see the locmem outbox, so
# worker tests point it at the file backend through the environment.
EMAIL_BACKEND = os.environ.get(
    "RELAPP_TEST_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend"
)
# The change log refuses TRUNCATE (audit migration 0002) unless the session
# says otherwise; pytest-django empties the database between transactional
# tests with TRUNCATE, so only test connections carry this. Relapp never does.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    _options = DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
    _options["options"] = (
        _options.get("options", "") + " -c relapp.allow_changelog_truncate=on"
    ).strip()
# The webhook tests run their receiver on 127.0.0.1; every other private,
# link-local and metadata address stays refused (tests/test_hardening.py
# clears this to see loopback refused too).
WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
