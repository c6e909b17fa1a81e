"""Helpers shared by the test modules: signing, approving, tokens, meetings, the browser.

Test modules import from here and from tests.factories, never from each other.
"""

import contextlib
import io
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from api.services import service_account_create
from approvals import services
from audit.models import ChangeLogEntry
from meetings.services import meeting_schedule
from raci.permissions import AUDITORS, RELEASE_MANAGERS
from tests.factories import ACCOUNTABLES, PASSWORD, activity, complete_rad

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


# --- the change log ---------------------------------------------------------------


def entries(action=None) -> list[ChangeLogEntry]:
    """The change-log entries in order, only those of `action` when given."""
    found = ChangeLogEntry.objects.order_by("seq")
    return list(found.filter(action=action) if action else found)


def verify_changelog(*args: str) -> str:
    """What `manage.py verify_changelog <args>` prints."""
    out = io.StringIO()
    call_command("verify_changelog", *args, stdout=out)
    return out.getvalue()


def attacker(sql: str, params: tuple | None = None) -> None:
    """Run SQL as a superuser who switched the append-only triggers off."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


# --- sign-offs --------------------------------------------------------------------


def sign(
    release,
    user,
    name,
    *,
    decision="approve",
    comment="",
    password=PASSWORD,
    revision=None,
    code="",
):
    """`user` signs activity `name` of `release`, on its current RAD revision by default.

    `code` is the authenticator code, for signers who enrolled one.
    """
    if revision is None:
        revision = services.rad_current(release).number
    return services.signoff_record(
        release=release,
        activity_id=activity(release, name).pk,
        signer=user,
        decision=decision,
        comment=comment,
        password=password,
        revision_number=revision,
        code=code,
    )


def approve_all(release, team, *, skip=()) -> None:
    """Every Accountable approves the current revision, except for the activities in `skip`."""
    for name, username in ACCOUNTABLES.items():
        if name not in skip:
            sign(release, team[username], name)


def release_open_now(team, *, version: str, approve: bool = True):
    """A release whose deployment window is open right now, submitted (and approved)."""
    start = timezone.now() - timedelta(hours=1)
    release = services.release_create(
        product=team["product"],
        version=version,
        title="Instant payouts",
        release_type="normal",
        window_start=start,
        window_end=start + timedelta(hours=4),
        actor=team["rm"],
    )
    services.rad_revise(release=release, content=complete_rad(), actor=team["dev"])
    services.release_submit(release=release, actor=team["dev"])
    if approve:
        approve_all(release, team)
    release.refresh_from_db()
    return release


# --- meetings ---------------------------------------------------------------------


def schedule(release, team, *, hours=48, duration_minutes=15, **extra):
    """The release manager schedules a gate meeting `hours` from now in Room 4."""
    return meeting_schedule(
        release=release,
        actor=team["rm"],
        start=timezone.now() + timedelta(hours=hours),
        duration_minutes=duration_minutes,
        location="Room 4",
        **extra,
    )


# --- the pipeline API -------------------------------------------------------------


def new_token(team, *, name="ci-payments", products=None, days=30, changelog=False) -> str:
    """The token of a new service account, scoped to the team's product by default."""
    _, issued = service_account_create(
        name=name,
        products=products if products is not None else [team["product"]],
        actor=team["rm"],
        days=days,
        can_read_changelog=changelog,
    )
    return issued.token


# --- forms ------------------------------------------------------------------------


def rad_post(content, **overrides):
    """The RAD editor's POST body for `content` (what the browser would send)."""
    data = {
        "scope": content["scope"],
        "performance_findings": content["performance_findings"],
        "security_findings": content["security_findings"],
        "rollback_steps": content["rollback"]["steps"],
        "rehearsed_on": content["rollback"]["rehearsed_on"] or "",
        "evidence_url": content["rollback"]["evidence_url"],
    }
    tables = {
        "suites": content["test_suites"],
        "defects": content["defects"],
        "risks": content["risks"],
        "monitoring": [{"item": item} for item in content["monitoring"]],
    }
    for prefix, rows in tables.items():
        data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
        data[f"{prefix}-INITIAL_FORMS"] = str(len(rows))
        for index, row in enumerate(rows):
            for key, value in row.items():
                data[f"{prefix}-{index}-{key}"] = "" if value is None else str(value)
    data.update(overrides)
    return data


# --- the browser ------------------------------------------------------------------


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the real login page, signed out of any earlier session first."""
    page.context.clear_cookies()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def axe_serious_violations(page) -> list[dict]:
    """axe-core's serious and critical findings on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


# --- the OpenID Connect test provider (tests/oidc/provider.mjs) ---------------------

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
CALLBACK = "http://testserver/account/oidc/callback/"
CLIENT_SECRET = "relapp-test-client-secret"
BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "accounts.backends.OIDCBackend",
    "accounts.backends.LDAPBackend",
    "guardian.backends.ObjectPermissionBackend",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- the OpenID Connect provider ---------------------------------------------------


class Provider:
    def __init__(self, issuer: str, accounts_file: Path):
        self.issuer = issuer
        self.accounts_file = accounts_file
        self.discovery = requests.get(
            f"{issuer}/.well-known/openid-configuration", timeout=5
        ).json()

    def set_accounts(self, accounts: dict) -> None:
        """The provider re-reads this file on every request."""
        self.accounts_file.write_text(json.dumps(accounts), encoding="utf-8")

    def set_groups(self, username: str, groups: list[str]) -> None:
        accounts = json.loads(self.accounts_file.read_text(encoding="utf-8"))
        accounts[username]["groups"] = groups
        self.set_accounts(accounts)


@contextlib.contextmanager
def provider_running(state: Path, redirect_uri: str) -> Iterator[Provider]:
    """tests/oidc/provider.mjs on a free loopback port, with one client for `redirect_uri`."""
    if not (OIDC_DIR / "node_modules" / "oidc-provider").exists():
        pytest.fail("Run `npm ci` in tests/oidc (scripts/test.sh does) before this module.")
    accounts_file = state / "accounts.json"
    accounts_file.write_text("{}", encoding="utf-8")
    port = free_port()
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "PORT": str(port),
        "ACCOUNTS_FILE": str(accounts_file),
        "CLIENT_ID": "relapp",
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URIS": redirect_uri,
    }
    log_path = state / "provider.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            ["node", str(OIDC_DIR / "provider.mjs")],
            cwd=OIDC_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(100):
                if "ready" in log_path.read_text():
                    break
                assert process.poll() is None, log_path.read_text()
                time.sleep(0.1)
            else:
                pytest.fail("The OIDC provider did not start:\n" + log_path.read_text())
            yield Provider(f"http://127.0.0.1:{port}", accounts_file)
        finally:
            process_stop(process)


def configure_oidc(settings, provider: Provider) -> Provider:
    """Relapp configured for the provider, which knows ann (release manager) and bo."""
    found = provider.discovery
    settings.OIDC_ENABLED = True
    settings.OIDC_PROVIDER_NAME = "Test IdP"
    settings.OIDC_RP_CLIENT_ID = "relapp"
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = found["authorization_endpoint"]
    settings.OIDC_OP_TOKEN_ENDPOINT = found["token_endpoint"]
    settings.OIDC_OP_USER_ENDPOINT = found["userinfo_endpoint"]
    settings.OIDC_OP_JWKS_ENDPOINT = found["jwks_uri"]
    settings.AUTHENTICATION_BACKENDS = BACKENDS
    settings.SSO_ROLE_GROUPS = {
        RELEASE_MANAGERS: ["relapp-release-managers"],
        AUDITORS: ["relapp-auditors"],
    }
    provider.set_accounts(
        {
            "ann": {
                "password": "ann-provider-password",
                "email": "ann@relapp.test",
                "name": "Ann Lind",
                "groups": ["relapp-release-managers", "everyone"],
            },
            "bo": {"password": "bo-provider-password", "email": "bo@relapp.test", "groups": []},
        }
    )
    return provider


def process_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for another Relapp process (a Celery worker, a web server) in a test.

    It uses the database pytest-django created (test_<name>) and the test settings.
    """
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "relapp.settings_test"
    settings_dict = connection.settings_dict
    env["DATABASE_URL"] = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}"
        f"/{settings_dict['NAME']}"
    )
    env.update(extra or {})
    return env


# --- approval attestations --------------------------------------------------------

ATTESTED_IMAGE = "sha256:" + "5e" * 32
ATTESTED_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def attestation_key_pem(key=None) -> str:
    """An Ed25519 private key as PKCS#8 PEM (a new one unless `key` is given)."""
    key = key or Ed25519PrivateKey.generate()
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def release_attested(team, *, version: str, key_pem: str | None = None, key_id: str = ""):
    """A release open now, shipping an image and a commit, approved while an attestation
    key is configured: it has a signed approval attestation."""
    release = release_open_now(team, version=version, approve=False)
    services.artifacts_report(
        release=release,
        actor=team["rm"],
        artifacts=[
            {"name": "payments-image", "kind": "image", "digest": ATTESTED_IMAGE},
            {"name": "payments-src", "kind": "commit", "digest": ATTESTED_COMMIT},
        ],
    )
    with override_settings(
        ATTESTATION_SIGNING_KEY=key_pem or attestation_key_pem(),
        ATTESTATION_SIGNING_KEY_FILE="",
        ATTESTATION_KEY_ID=key_id,
    ):
        approve_all(release, team)
    release.refresh_from_db()
    return release


def run_together(functions) -> list:
    """Call each function in its own thread, all released at the same instant; each
    one's result or exception, in order (every thread closes its connection)."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def runner(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except Exception as error:  # noqa: BLE001 - reported to the test below
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


# The calendar page served from its grid cache: session, user, two permission checks, the
# form's products, the data version and the unread count (tests/test_calendar_queries.py,
# tests/test_calendar_cache.py).
CALENDAR_CACHED_QUERIES = 7
