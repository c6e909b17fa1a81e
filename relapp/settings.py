"""Relapp settings, read from environment variables.

Every helper fails loudly (ImproperlyConfigured) on a value it cannot parse, so
a typo in production configuration stops the process instead of silently
falling back to a default.
"""

import os
import re
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("RELAPP_VAR_DIR", BASE_DIR / "var"))

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"Environment variable {name} is required.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use true or false.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off. Set SECRET_KEY, or DEBUG=true"
            " for local development only."
        )
    SECRET_KEY = "django-insecure-relapp-development-only-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("http://", "https://")):
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS entry {_origin!r} must start with http:// or https://."
        )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "guardian",
    "relapp",
    "approvals",
    "raci",
    "audit",
    "meetings",
    "attestations",
    "evidence",
    "auditstream",
    "demo",
    "rest_framework",
    "drf_spectacular",
    "api",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "accounts",
    "notifications",
    "metrics",
]

MIDDLEWARE = [
    "relapp.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "accounts.middleware.SessionLifetimeMiddleware",
    "accounts.middleware.TimeZoneMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "relapp.urls"
WSGI_APPLICATION = "relapp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "relapp.context_processors.version",
                "meetings.context_processors.notifications",
            ],
            # `{{ value|when }}`: every template shows times one way, in the reader's zone.
            "builtins": ["accounts.templatetags.when"],
        },
    },
]


def _database_config() -> dict:
    default_url = f"sqlite:///{VAR_DIR / 'relapp.sqlite3'}"
    url = env_str("DATABASE_URL", default_url)
    try:
        config = dj_database_url.parse(url, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
    if config["ENGINE"] not in {
        "django.db.backends.postgresql",
        "django.db.backends.sqlite3",
    }:
        raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL or SQLite.")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # The web server, the Celery worker and beat share one SQLite file.
        # WAL lets readers run beside the writer; IMMEDIATE takes the write
        # lock at BEGIN, so a transaction waits (up to `timeout` seconds)
        # instead of failing with "database is locked" when it upgrades a
        # read to a write.
        config.setdefault("OPTIONS", {}).update(
            {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            }
        )
    return config


DATABASES = {"default": _database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous visitors get nothing.

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
# Everything is stored in UTC; TIME_ZONE only changes how times are displayed.
TIME_ZONE = env_str("TIME_ZONE", "UTC")
try:
    import zoneinfo

    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE={TIME_ZONE!r} is not a known time zone.") from None
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files the site writes (prepared change-log exports): never served as static
# media; each is downloaded through a view that checks who asks.
MEDIA_ROOT = env_str("MEDIA_ROOT", str(VAR_DIR / "media"))
# Largest evidence file a release may have attached (bytes).
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# E-mail: console by default so development never sends real mail.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are mutually exclusive.")
# A stalled SMTP server fails the send well inside a reminder's lease (REMINDER_LEASE_SECONDS).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Relapp <relapp@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery. Default: the filesystem broker under var/, so `make run` needs no Redis.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if not CELERY_BROKER_URL.startswith(("filesystem://", "redis://", "rediss://")):
    raise ImproperlyConfigured("CELERY_BROKER_URL must be filesystem:// or a redis:// URL.")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport keeps its exchange tables (celery.exchange,
    # celery.pidbox.exchange) in `control_folder`, which defaults to ./control
    # relative to the working directory: name every folder so all broker
    # state stays under var/. Processed messages are deleted, not kept.
    _broker_dir = VAR_DIR / "celery" / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", None)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3}
    CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"

# Change-log checkpoints: the chain head written outside the database nightly.
CHANGELOG_CHECKPOINT_PATH = env_str(
    "CHANGELOG_CHECKPOINT_PATH", str(VAR_DIR / "changelog-checkpoints.jsonl")
)
CHANGELOG_CHECKPOINT_EMAILS = env_list("CHANGELOG_CHECKPOINT_EMAILS", [])

# Security. Production defaults are strict; each can be relaxed by its variable.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    # A refused request (403/404/405) is one line, no traceback, on every handler.
    "filters": {"refusals": {"()": "accounts.logging.RefusalFilter"}},
    "loggers": {"django.request": {"filters": ["refusals"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

DEMO_PASSWORD = env_str("DEMO_PASSWORD", "relapp-demo")

# Reminders: a beat task claims due reminder rows this often (seconds).
REMINDER_DISPATCH_SECONDS = env_int("REMINDER_DISPATCH_SECONDS", 60)
# Absolute links in e-mails and calendar entries.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CALENDAR_UID_DOMAIN = env_str("CALENDAR_UID_DOMAIN", "relapp.local")
# Pause between reminder e-mails, for SMTP servers with rate limits (seconds).
REMINDER_SEND_PAUSE_SECONDS = env_float("REMINDER_SEND_PAUSE_SECONDS", 0.0)
# A worker that claims a due reminder holds it this long (seconds); if it dies
# mid-send, the reminder is due again when the lease runs out. It covers the
# pause, rendering and the SMTP hand-over of one message.
REMINDER_LEASE_SECONDS = env_int("REMINDER_LEASE_SECONDS", 300)
if REMINDER_LEASE_SECONDS <= REMINDER_SEND_PAUSE_SECONDS or REMINDER_LEASE_SECONDS < 1:
    raise ImproperlyConfigured(
        "REMINDER_LEASE_SECONDS must be at least 1 and longer than REMINDER_SEND_PAUSE_SECONDS."
    )

# Pipeline API (Django REST framework): tokens first, so a request without
# credentials answers 401 with WWW-Authenticate: Bearer; sessions also work.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.LimitedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Relapp pipeline API",
    "DESCRIPTION": "Gate checks in, deploy-check out, deployments recorded, change log read.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "ReleaseStatusEnum": "approvals.lifecycle.Status",
        "ReleaseTypeEnum": "approvals.models.ReleaseType",
        "CheckStatusEnum": "approvals.models.CheckStatus",
        "DeploymentStatusEnum": "approvals.models.DeploymentStatus",
    },
}
# Webhooks: a beat task sends due outbox rows this often (seconds); failed
# attempts are retried after base * 2^(n-1) seconds, capped, up to a limit.
WEBHOOK_DISPATCH_SECONDS = env_int("WEBHOOK_DISPATCH_SECONDS", 10)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30)
WEBHOOK_RETRY_MAX_SECONDS = env_int("WEBHOOK_RETRY_MAX_SECONDS", 3600)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
for _name in ("WEBHOOK_DISPATCH_SECONDS", "WEBHOOK_RETRY_BASE_SECONDS", "WEBHOOK_MAX_ATTEMPTS"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1.")


# --- identity hardening: lockouts, sessions, CSP ---
# Sign-in lockouts (django-axes): N failures per account *or* per address
# within the window lock it for the cool-down. Signatures count wrong
# passwords too, with a lower limit (accounts.lockout.failure_limit); a
# signature lockout ends the session and locks the account the same way.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
SIGNATURE_FAILURE_LIMIT = env_int("SIGNATURE_FAILURE_LIMIT", 3)
LOCKOUT_COOLOFF_MINUTES = env_int("LOCKOUT_COOLOFF_MINUTES", 15)
for _name in ("LOGIN_FAILURE_LIMIT", "SIGNATURE_FAILURE_LIMIT", "LOCKOUT_COOLOFF_MINUTES"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1.")
AXES_FAILURE_LIMIT = "accounts.lockout.failure_limit"
AXES_LOCKOUT_PARAMETERS = "accounts.lockout.lockout_parameters"
AXES_COOLOFF_TIME = LOCKOUT_COOLOFF_MINUTES / 60  # hours
AXES_RESET_ON_SUCCESS = True
# Attempts while locked do not extend the lock: it lifts when the cool-down ends.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_USERNAME_FORM_FIELD = "username"
AXES_SENSITIVE_PARAMETERS = ["password", "old_password", "new_password1", "new_password2"]
AXES_VERBOSE = False
# Locks are lifted on /account/lockouts/, which logs it; not through the admin.
AXES_ENABLE_ADMIN = False
# Signatures with two components (relapp.credentials): the password plus the
# code of an authenticator app (TOTP, django-otp) that a local user enrols on
# the account page. The issuer is the name the app shows next to the code.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Relapp")
# Sessions: signed out after SESSION_IDLE_MINUTES without a request, and
# SESSION_MAX_HOURS after signing in whatever happens.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
SESSION_MAX_HOURS = env_int("SESSION_MAX_HOURS", 12)
if SESSION_IDLE_MINUTES < 1 or SESSION_MAX_HOURS < 1:
    raise ImproperlyConfigured("SESSION_IDLE_MINUTES and SESSION_MAX_HOURS must be at least 1.")
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 3600
# Content-Security-Policy: everything from 'self', no inline script or style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Webhook targets on loopback, private, link-local or metadata addresses are
# refused (at creation and again at send time, after DNS resolution) unless
# the address falls in one of these networks (CIDR), e.g. "10.0.5.0/24".
WEBHOOK_ALLOWED_NETWORKS = env_list("WEBHOOK_ALLOWED_NETWORKS", [])
# The pipeline API refuses JSON bodies nested deeper or larger than this (400).
API_JSON_MAX_DEPTH = env_int("API_JSON_MAX_DEPTH", 32)
API_JSON_MAX_BYTES = env_int("API_JSON_MAX_BYTES", 1_000_000)


# --- single sign-on: OIDC and LDAP ---
# Local username/password accounts; off: only single sign-on signs in (the
# password backend stays for the global permissions it answers).
LOCAL_LOGIN_ENABLED = env_bool("LOCAL_LOGIN_ENABLED", True)
# Roles from the identity provider: on every SSO sign-in the user is put in
# (or taken out of) each role group whose provider groups they are in. The
# values are OIDC group-claim values or LDAP group DNs, compared without case.
# Semicolon-separated, since an LDAP DN holds commas.
SSO_ROLE_GROUPS = {
    role: [group.strip() for group in (env_str(name, "") or "").split(";") if group.strip()]
    for role, name in (
        ("Release managers", "SSO_RELEASE_MANAGER_GROUPS"),
        ("Auditors", "SSO_AUDITOR_GROUPS"),
    )
}
# OpenID Connect (mozilla-django-oidc): on when OIDC_RP_CLIENT_ID is set.
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", "")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_PROVIDER_NAME = env_str("OIDC_PROVIDER_NAME", "single sign-on")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET", "", required=OIDC_ENABLED)
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str(
    "OIDC_OP_AUTHORIZATION_ENDPOINT", "", required=OIDC_ENABLED
)
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT", "", required=OIDC_ENABLED)
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT", "", required=OIDC_ENABLED)
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT", "", required=OIDC_ENABLED)
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile groups")
OIDC_USERNAME_CLAIM = env_str("OIDC_USERNAME_CLAIM", "preferred_username")
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
OIDC_USE_PKCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "accounts:oidc_callback"
for _name in (
    "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT",
):
    # Tokens and user data travel over these: plain http only when asked (a test issuer).
    if globals()[_name].startswith("http://") and not env_bool("OIDC_ALLOW_HTTP", False):
        raise ImproperlyConfigured(f"{_name} must be https:// (OIDC_ALLOW_HTTP=true for tests).")
# LDAP / Active Directory (django-python3-ldap): on when LDAP_AUTH_URL is set.
# The user binds as <LDAP_USERNAME_ATTRIBUTE>=<name>,<LDAP_AUTH_SEARCH_BASE>, or for
# Active Directory as DOMAIN\\user (LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN).
LDAP_AUTH_URL = env_list("LDAP_AUTH_URL", [])
LDAP_ENABLED = bool(LDAP_AUTH_URL)
LDAP_AUTH_USE_TLS = env_bool("LDAP_AUTH_USE_TLS", False)
LDAP_AUTH_SEARCH_BASE = env_str("LDAP_AUTH_SEARCH_BASE", "", required=LDAP_ENABLED)
LDAP_AUTH_OBJECT_CLASS = env_str("LDAP_AUTH_OBJECT_CLASS", "inetOrgPerson")
LDAP_AUTH_USER_FIELDS = {
    "username": env_str("LDAP_USERNAME_ATTRIBUTE", "uid"),
    "first_name": "givenName",
    "last_name": "sn",
    "email": "mail",
}
LDAP_AUTH_USER_LOOKUP_FIELDS = ("username",)
LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN = env_str("LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN", None)
LDAP_AUTH_FORMAT_USERNAME = (
    "django_python3_ldap.utils.format_username_active_directory"
    if LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN
    else "django_python3_ldap.utils.format_username_openldap"
)
LDAP_AUTH_CONNECTION_USERNAME = env_str("LDAP_AUTH_CONNECTION_USERNAME", None)
LDAP_AUTH_CONNECTION_PASSWORD = env_str("LDAP_AUTH_CONNECTION_PASSWORD", None)
LDAP_AUTH_CONNECT_TIMEOUT = env_int("LDAP_AUTH_CONNECT_TIMEOUT", 5)
LDAP_AUTH_RECEIVE_TIMEOUT = env_int("LDAP_AUTH_RECEIVE_TIMEOUT", 10)
LDAP_AUTH_SYNC_USER_RELATIONS = "accounts.backends.ldap_sync_user_relations"
LDAP_GROUP_SEARCH_BASE = env_str("LDAP_GROUP_SEARCH_BASE", LDAP_AUTH_SEARCH_BASE)
LDAP_GROUP_FILTER = env_str(
    "LDAP_GROUP_FILTER",
    "(|(&(objectClass=groupOfNames)(member={dn}))(&(objectClass=groupOfUniqueNames)(uniqueMember={dn}))(&(objectClass=group)(member={dn})))",
)

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked accounts and addresses
    "django.contrib.auth.backends.ModelBackend"
    if LOCAL_LOGIN_ENABLED
    else "accounts.backends.LocalPasswordBackend",
    *(["accounts.backends.OIDCBackend"] if OIDC_ENABLED else []),
    *(["accounts.backends.LDAPBackend"] if LDAP_ENABLED else []),
    "guardian.backends.ObjectPermissionBackend",
]


# --- change-log streaming and flooding ---
# Streaming: a beat task sends every change-log entry to each destination
# (configured in the admin) this often, in batches, each send bounded by the
# timeout; a destination that fails is retried after base * 2^(n-1) seconds,
# capped. A worker holds a destination for the lease while it sends.
CHANGELOG_STREAM_DISPATCH_SECONDS = env_int("CHANGELOG_STREAM_DISPATCH_SECONDS", 5)
CHANGELOG_STREAM_BATCH_SIZE = env_int("CHANGELOG_STREAM_BATCH_SIZE", 500)
CHANGELOG_STREAM_TIMEOUT_SECONDS = env_int("CHANGELOG_STREAM_TIMEOUT_SECONDS", 10)
CHANGELOG_STREAM_LEASE_SECONDS = env_int("CHANGELOG_STREAM_LEASE_SECONDS", 120)
CHANGELOG_STREAM_RETRY_BASE_SECONDS = env_float("CHANGELOG_STREAM_RETRY_BASE_SECONDS", 2.0)
CHANGELOG_STREAM_RETRY_MAX_SECONDS = env_float("CHANGELOG_STREAM_RETRY_MAX_SECONDS", 300.0)
# RFC 5424 HOSTNAME (default: this machine's name) and, for syslog over TLS,
# the CA bundle that signs the server's certificate (default: the system's).
CHANGELOG_STREAM_HOSTNAME = env_str("CHANGELOG_STREAM_HOSTNAME", "")
CHANGELOG_STREAM_TLS_CA_FILE = env_str("CHANGELOG_STREAM_TLS_CA_FILE", "")
for _name in (
    "CHANGELOG_STREAM_DISPATCH_SECONDS",
    "CHANGELOG_STREAM_BATCH_SIZE",
    "CHANGELOG_STREAM_TIMEOUT_SECONDS",
):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1.")
if CHANGELOG_STREAM_LEASE_SECONDS < 4 * CHANGELOG_STREAM_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        "CHANGELOG_STREAM_LEASE_SECONDS must be at least 4 x CHANGELOG_STREAM_TIMEOUT_SECONDS."
    )
# Flooding: refusals without an authenticated user are written once per
# source address and minute, the rest counted into one summary entry; API
# authentication failures are throttled per address by DRF (429 with
# Retry-After), which keeps its history in the default cache: Redis when the
# broker is Redis, else files under var/ (shared by `make run`'s processes).
API_AUTH_FAILURE_RATE = env_str("API_AUTH_FAILURE_RATE", "10/min")
if not re.fullmatch(r"\d+/(s|sec|m|min|h|hour|d|day)", API_AUTH_FAILURE_RATE):
    raise ImproperlyConfigured(
        f"API_AUTH_FAILURE_RATE={API_AUTH_FAILURE_RATE!r} is not a rate like 10/min."
    )
CACHE_URL = env_str(
    "CACHE_URL",
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "",
)
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    )
}


# --- change-log trust (roles, MAC keys, signed checkpoints) ---
# The database role the web, worker and beat processes connect as. Migrations
# run as the owner (DATABASE_URL pointing at the owner for `migrate`); after
# every migrate the owner grants this role what it needs, and only INSERT and
# SELECT on the change log (audit.roles). Empty: no grants (development).
CHANGELOG_RUNTIME_ROLE = env_str("DATABASE_RUNTIME_ROLE", "")


def _changelog_mac_keys() -> dict[str, str]:
    """MAC keys by id, kept outside the database: `id:hex,id:hex` or a JSON file."""
    text = env_str("CHANGELOG_MAC_KEYS", "")
    path = env_str("CHANGELOG_MAC_KEYS_FILE", "")
    if text and path:
        raise ImproperlyConfigured("Set CHANGELOG_MAC_KEYS or CHANGELOG_MAC_KEYS_FILE, not both.")
    if path:
        import json

        try:
            keys = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ImproperlyConfigured(f"CHANGELOG_MAC_KEYS_FILE {path}: {exc}") from None
        if not isinstance(keys, dict):
            raise ImproperlyConfigured("CHANGELOG_MAC_KEYS_FILE must hold a JSON object.")
    else:
        keys = {}
        for item in (part.strip() for part in text.split(",")):
            if item:
                key_id, _, secret = item.partition(":")
                keys[key_id.strip()] = secret.strip()
    for key_id, secret in keys.items():
        try:
            if not key_id or len(bytes.fromhex(secret)) < 32:
                raise ValueError
        except (TypeError, ValueError):
            raise ImproperlyConfigured(
                f"Change-log MAC key {key_id!r} must be at least 32 bytes of hex."
            ) from None
    return keys


# Several keys verify (rotation); CHANGELOG_MAC_KEY_ID names the one that signs
# new entries (default: the last one listed). No keys: entries carry no MAC.
CHANGELOG_MAC_KEYS = _changelog_mac_keys()
CHANGELOG_MAC_KEY_ID = env_str(
    "CHANGELOG_MAC_KEY_ID", next(reversed(CHANGELOG_MAC_KEYS), "") if CHANGELOG_MAC_KEYS else ""
)
if CHANGELOG_MAC_KEYS and CHANGELOG_MAC_KEY_ID not in CHANGELOG_MAC_KEYS:
    raise ImproperlyConfigured(f"CHANGELOG_MAC_KEY_ID={CHANGELOG_MAC_KEY_ID!r} is not a key.")
# Entries before this seq predate the MAC (written before keys were configured).
CHANGELOG_MAC_SINCE_SEQ = env_int("CHANGELOG_MAC_SINCE_SEQ", 1)
# Ed25519 private key (PEM, PKCS#8) that signs checkpoints, from a file or the env.
CHANGELOG_SIGNING_KEY_FILE = env_str("CHANGELOG_SIGNING_KEY_FILE", "")
CHANGELOG_SIGNING_KEY = env_str("CHANGELOG_SIGNING_KEY", "")
# A checkpoint is due after this many entries, or this many minutes with new ones.
CHANGELOG_CHECKPOINT_EVERY_ENTRIES = env_int("CHANGELOG_CHECKPOINT_EVERY_ENTRIES", 100)
CHANGELOG_CHECKPOINT_EVERY_MINUTES = env_int("CHANGELOG_CHECKPOINT_EVERY_MINUTES", 5)
CHANGELOG_CHECKPOINT_POLL_SECONDS = env_int("CHANGELOG_CHECKPOINT_POLL_SECONDS", 30)
if min(CHANGELOG_CHECKPOINT_EVERY_ENTRIES, CHANGELOG_CHECKPOINT_EVERY_MINUTES) < 1:
    raise ImproperlyConfigured("CHANGELOG_CHECKPOINT_EVERY_* must be at least 1.")

# --- approval attestations (docs/attestations.md) ---
# Ed25519 private key (PEM, PKCS#8) that signs approval attestations, from a
# file or the env; a key of its own, not the checkpoint key. None: nothing is
# issued. Rotate by configuring a new key with a new ATTESTATION_KEY_ID
# (default: the SHA-256 of the raw public key): the old public key stays
# published with its validity period.
ATTESTATION_SIGNING_KEY_FILE = env_str("ATTESTATION_SIGNING_KEY_FILE", "")
ATTESTATION_SIGNING_KEY = env_str("ATTESTATION_SIGNING_KEY", "")
ATTESTATION_KEY_ID = env_str("ATTESTATION_KEY_ID", "")


# Notifications: the daily digest goes out at this hour (UTC, 0-23);
# the Slack slash command checks requests with the Slack app's signing secret.
NOTIFICATION_DIGEST_HOUR = env_int("NOTIFICATION_DIGEST_HOUR", 7)
if not 0 <= NOTIFICATION_DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("NOTIFICATION_DIGEST_HOUR must be between 0 and 23.")
SLACK_SIGNING_SECRET = env_str("SLACK_SIGNING_SECRET", "")
# Approvals that expire within this many hours are announced (once per approval).
NOTIFICATION_EXPIRY_WARNING_HOURS = env_int("NOTIFICATION_EXPIRY_WARNING_HOURS", 24)

# Every periodic task in one place; anything dynamic is a database row a task claims.
CELERY_BEAT_SCHEDULE = {
    "approvals-expire": {
        "task": "approvals.approvals_expire",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    "changelog-checkpoint": {
        "task": "audit.changelog_checkpoint_due",
        "schedule": float(CHANGELOG_CHECKPOINT_POLL_SECONDS),
        "options": {"expires": float(CHANGELOG_CHECKPOINT_POLL_SECONDS)},
    },
    "reminders-dispatch": {
        "task": "meetings.tasks.reminders_dispatch_task",
        "schedule": float(REMINDER_DISPATCH_SECONDS),
    },
    "webhooks-dispatch": {
        "task": "api.webhooks_dispatch",
        "schedule": float(WEBHOOK_DISPATCH_SECONDS),
        "options": {"expires": float(WEBHOOK_DISPATCH_SECONDS)},
    },
    "changelog-stream-dispatch": {
        "task": "auditstream.stream_dispatch",
        "schedule": float(CHANGELOG_STREAM_DISPATCH_SECONDS),
        "options": {"expires": float(CHANGELOG_STREAM_DISPATCH_SECONDS)},
    },
    "refusals-summarise": {
        "task": "relapp.refusals_summarise",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    "chat-dispatch": {
        "task": "notifications.chat_dispatch",
        "schedule": float(WEBHOOK_DISPATCH_SECONDS),
        "options": {"expires": float(WEBHOOK_DISPATCH_SECONDS)},
    },
    "notification-expiring": {
        "task": "notifications.approvals_expiring_warn",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
    "notification-digests": {
        "task": "notifications.digests_send",
        "schedule": crontab(hour=NOTIFICATION_DIGEST_HOUR, minute=0),
    },
    "delegations-announce": {
        "task": "approvals.delegations_announce",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
}
