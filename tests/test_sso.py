"""Single sign-on against real servers: an OpenID Connect provider and OpenLDAP.

The provider is oidc-provider on Node (tests/oidc/provider.mjs, its own login
form refusing wrong passwords); the directory is a throwaway slapd built from
tests/ldap/*.ldif. Both run on free loopback ports for this module. Django is
driven with its test client; the provider's pages with `requests`, like a
browser that stops at Relapp's callback and hands it to the test client.
"""

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import ldap3
import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client

from audit.models import Action
from raci.permissions import AUDITORS, RELEASE_MANAGERS
from relapp.credentials import WRONG_PASSWORD, signature_credentials_check
from tests.factories import PASSWORD
from tests.helpers import (
    BACKENDS,
    CALLBACK,
    Provider,
    axe_serious_violations,
    configure_oidc,
    entries,
    free_port,
    process_stop,
    provider_running,
)

HERE = Path(__file__).resolve().parent
ROOT_DN, ROOT_PASSWORD = "cn=admin,dc=relapp,dc=test", "directory-admin-password"
PEOPLE, GROUPS = "ou=people,dc=relapp,dc=test", "ou=groups,dc=relapp,dc=test"
LEE_DN, KIM_DN = f"uid=lee,{PEOPLE}", f"uid=kim,{PEOPLE}"
RM_GROUP, AUDITOR_GROUP = f"cn=release-managers,{GROUPS}", f"cn=auditors,{GROUPS}"


@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory) -> Iterator[Provider]:
    with provider_running(tmp_path_factory.mktemp("oidc"), CALLBACK) as provider:
        yield provider


@pytest.fixture
def oidc(oidc_provider, settings) -> Provider:
    return configure_oidc(settings, oidc_provider)


def through_provider(
    client: Client, browser: requests.Session, username: str, password: str
) -> requests.Response:
    """Start at Relapp's "Sign in with" link and go through the provider like a browser.

    Answers the provider's login form when it asks; stops at the first
    response that neither redirects within the provider nor asks to sign in.
    A redirect back to Relapp's callback is handed to the test client.
    """
    start = client.get("/account/oidc/start/")
    assert start.status_code == 302, start
    url = start["Location"]
    for _ in range(10):
        response = browser.get(url, allow_redirects=False, timeout=10)
        if response.status_code in (302, 303):
            url = urljoin(url, response.headers["Location"])
            if url.startswith(CALLBACK):
                parts = urlsplit(url)
                return client.get(parts.path, QUERY_STRING=parts.query)
            continue
        if 'name="password"' not in response.text:
            return response
        response = browser.post(
            urljoin(url, f"{urlsplit(url).path}/login"),
            data={"login": username, "password": password},
            allow_redirects=False,
            timeout=10,
        )
        if response.status_code not in (302, 303):
            return response
        url = urljoin(url, response.headers["Location"])
    raise AssertionError("The provider kept redirecting.")


def signed_in_as(client: Client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id).username if user_id else None


def roles(username: str) -> set[str]:
    user = get_user_model().objects.get(username=username)
    return set(
        user.groups.filter(name__in=[RELEASE_MANAGERS, AUDITORS]).values_list("name", flat=True)
    )


# --- OpenID Connect ----------------------------------------------------------------


def test_the_login_page_offers_the_provider_only_when_configured(client, db, oidc, settings):
    page = client.get("/login/").content.decode()
    assert "Sign in with Test IdP" in page
    assert 'href="/account/oidc/start/"' in page
    assert 'name="password"' in page  # local and LDAP accounts keep the form

    settings.OIDC_ENABLED = False
    page = client.get("/login/").content.decode()
    assert "Sign in with" not in page
    assert client.get("/account/oidc/start/").status_code == 404
    assert client.get("/account/oidc/callback/").status_code == 404


def test_first_oidc_sign_in_creates_the_user_with_the_mapped_role(client, db, oidc):
    assert not get_user_model().objects.filter(username="ann").exists()

    response = through_provider(client, requests.Session(), "ann", "ann-provider-password")

    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_as(client) == "ann"
    ann = get_user_model().objects.get(username="ann")
    assert (ann.email, ann.first_name, ann.last_name) == ("ann@relapp.test", "Ann", "Lind")
    assert not ann.has_usable_password()
    assert roles("ann") == {RELEASE_MANAGERS}
    assert client.get("/").status_code == 200
    [login] = entries(Action.LOGIN)
    assert login.actor == ann
    [granted] = entries(Action.PERMISSION_GRANTED)
    assert granted.after == {"user": "ann", "role": RELEASE_MANAGERS}
    assert granted.actor_name == "OIDC"


def test_oidc_roles_follow_the_group_claim_at_every_sign_in(client, db, oidc):
    browser = requests.Session()  # keeps the provider's session: no password the second time
    through_provider(client, browser, "ann", "ann-provider-password")
    assert roles("ann") == {RELEASE_MANAGERS}

    oidc.set_groups("ann", ["relapp-auditors"])
    again = Client()
    through_provider(again, browser, "ann", "")
    assert signed_in_as(again) == "ann"
    assert roles("ann") == {AUDITORS}
    [revoked] = entries(Action.PERMISSION_REVOKED)
    assert revoked.before == {"user": "ann", "role": RELEASE_MANAGERS}

    oidc.set_groups("ann", [])
    through_provider(Client(), browser, "ann", "")
    assert roles("ann") == set()
    assert len(entries(Action.LOGIN)) == 3


def test_a_wrong_password_at_the_provider_gets_no_session(client, db, oidc):
    browser = requests.Session()

    response = through_provider(client, browser, "ann", "not-ann's-password")

    assert response.status_code == 401
    assert "Wrong username or password." in response.text
    assert signed_in_as(client) is None
    assert not get_user_model().objects.filter(username="ann").exists()
    assert client.get("/").status_code == 302  # still sent to the login page
    # The provider answered the wrong password itself: Relapp got no code.
    assert entries(Action.LOGIN) == []


def test_a_forged_callback_gets_no_session(client, db, oidc):
    client.get("/account/oidc/start/")
    state = next(iter(client.session["oidc_states"]))

    response = client.get("/account/oidc/callback/", {"code": "made-up", "state": state})

    assert response.status_code == 302 and response["Location"] == "/login/"
    assert signed_in_as(client) is None
    [failed] = entries(Action.LOGIN_FAILED)
    assert failed.actor is None


def test_a_provider_account_never_takes_over_a_local_account(client, db, oidc, make_user):
    make_user("ann")  # a local account with a password

    response = through_provider(client, requests.Session(), "ann", "ann-provider-password")

    assert response["Location"] == "/login/"
    assert signed_in_as(client) is None
    assert roles("ann") == set()


def test_another_provider_account_given_a_known_username_is_refused(client, db, oidc):
    """A provider that reuses "ann" for someone else does not get them ann's account."""
    through_provider(Client(), requests.Session(), "ann", "ann-provider-password")
    ann = get_user_model().objects.get(username="ann")
    assert list(ann.external_identities.values_list("provider", "subject")) == [("oidc", "ann")]
    oidc.set_accounts(
        {"new-hire": {"username": "ann", "password": "new-hire-password", "groups": []}}
    )

    response = through_provider(client, requests.Session(), "new-hire", "new-hire-password")

    assert response["Location"] == "/login/"
    assert signed_in_as(client) is None
    assert get_user_model().objects.filter(username="ann").count() == 1
    [failed] = entries(Action.LOGIN_FAILED)
    assert failed.actor is None


def test_an_sso_account_from_before_subjects_were_recorded_is_bound_at_sign_in(
    client, db, oidc, make_user
):
    ann = make_user("ann")
    ann.set_unusable_password()
    ann.save()

    through_provider(client, requests.Session(), "ann", "ann-provider-password")

    assert signed_in_as(client) == "ann"
    assert ann.external_identities.get().subject == "ann"


def test_local_passwords_can_be_switched_off(client, db, oidc, make_user, settings):
    make_user("carol")
    settings.LOCAL_LOGIN_ENABLED = False
    settings.AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        "accounts.backends.LocalPasswordBackend",
        "accounts.backends.OIDCBackend",
        "guardian.backends.ObjectPermissionBackend",
    ]

    page = client.get("/login/").content.decode()
    assert 'name="password"' not in page and "Sign in with Test IdP" in page
    response = client.post("/login/", {"username": "carol", "password": PASSWORD})
    assert response.status_code == 200 and signed_in_as(client) is None
    through_provider(client, requests.Session(), "bo", "bo-provider-password")
    assert signed_in_as(client) == "bo"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_sso_user_signs_in_with_chromium_at_the_provider(
    page, live_server, settings, tmp_path, screenshot
):
    with provider_running(tmp_path, f"{live_server.url}/account/oidc/callback/") as provider:
        configure_oidc(settings, provider)
        page.goto("/login/")
        assert axe_serious_violations(page) == []
        screenshot("sso-login")
        page.get_by_role("link", name="Sign in with Test IdP").click()
        page.wait_for_url(f"{provider.issuer}/interaction/**")
        page.fill("#login", "ann")
        page.fill("#password", "wrong")
        page.get_by_role("button", name="Sign in").click()
        assert page.locator("#error").inner_text() == "Wrong username or password."
        screenshot("sso-provider-refuses")
        page.fill("#login", "ann")
        page.fill("#password", "ann-provider-password")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{live_server.url}/")
        assert page.get_by_role("heading", level=1).inner_text() == "Welcome, Ann Lind"
        screenshot("sso-signed-in")
    assert roles("ann") == {RELEASE_MANAGERS}


# --- LDAP (OpenLDAP slapd) ---------------------------------------------------------


@pytest.fixture(scope="module")
def slapd(tmp_path_factory) -> Iterator[str]:
    """A throwaway slapd with tests/ldap/directory.ldif; its ldap:// URL."""
    for tool in ("slapd", "slapadd"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: apt-get install slapd (scripts/test.sh does).")
    state = tmp_path_factory.mktemp("slapd")
    (state / "slapd.d").mkdir()
    (state / "data").mkdir()
    config = (HERE / "ldap" / "config.ldif").read_text(encoding="utf-8")
    config = config.replace("@STATE@", str(state)).replace("@ROOTPW@", ROOT_PASSWORD)
    (state / "config.ldif").write_text(config, encoding="utf-8")
    slapadd = ["slapadd", "-q", "-F", str(state / "slapd.d")]
    subprocess.run([*slapadd, "-n", "0", "-l", str(state / "config.ldif")], check=True)
    subprocess.run([*slapadd, "-n", "1", "-l", str(HERE / "ldap" / "directory.ldif")], check=True)
    port = free_port()
    url = f"ldap://127.0.0.1:{port}"
    log = (state / "slapd.log").open("w")
    process = subprocess.Popen(
        ["slapd", "-h", f"{url}/", "-F", str(state / "slapd.d"), "-d", "0"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert process.poll() is None, (state / "slapd.log").read_text()
            time.sleep(0.1)
        yield url
    finally:
        process_stop(process)
        log.close()


def directory(url: str) -> ldap3.Connection:
    return ldap3.Connection(ldap3.Server(url), ROOT_DN, ROOT_PASSWORD, auto_bind=True)


@pytest.fixture
def ldap(slapd, settings) -> Iterator[str]:
    settings.LDAP_ENABLED = True
    settings.LDAP_AUTH_URL = [slapd]
    settings.LDAP_AUTH_SEARCH_BASE = PEOPLE
    settings.LDAP_GROUP_SEARCH_BASE = GROUPS
    settings.AUTHENTICATION_BACKENDS = BACKENDS
    settings.SSO_ROLE_GROUPS = {RELEASE_MANAGERS: [RM_GROUP], AUDITORS: [AUDITOR_GROUP.upper()]}
    yield slapd
    with directory(slapd) as admin:  # put the groups back as directory.ldif has them
        admin.modify(RM_GROUP, {"member": [(ldap3.MODIFY_REPLACE, [LEE_DN])]})
        admin.modify(AUDITOR_GROUP, {"member": [(ldap3.MODIFY_REPLACE, [KIM_DN])]})


def test_first_ldap_sign_in_creates_the_user_with_the_mapped_role(client, db, ldap):
    response = client.post("/login/", {"username": "lee", "password": "lee-directory-password"})

    assert response.status_code == 302
    assert signed_in_as(client) == "lee"
    lee = get_user_model().objects.get(username="lee")
    assert (lee.email, lee.first_name, lee.last_name) == ("lee@relapp.test", "Lee", "Park")
    assert not lee.has_usable_password()
    assert roles("lee") == {RELEASE_MANAGERS}
    [login] = entries(Action.LOGIN)
    assert login.actor == lee
    [granted] = entries(Action.PERMISSION_GRANTED)
    assert (granted.actor_name, granted.after) == (
        "LDAP",
        {"user": "lee", "role": RELEASE_MANAGERS},
    )


def test_a_wrong_ldap_password_is_refused_and_logged(client, db, ldap):
    response = client.post("/login/", {"username": "lee", "password": "lee-guessed-wrong"})

    assert response.status_code == 200
    assert signed_in_as(client) is None
    assert not get_user_model().objects.filter(username="lee").exists()
    [failed] = entries(Action.LOGIN_FAILED)
    assert failed.after == {"username": "lee"}


def test_the_directory_never_signs_in_to_a_local_account(client, db, ldap, make_user):
    """Relapp's local "lee" is not the directory's lee: the directory password is refused."""
    lee = make_user("lee", first_name="Local")

    response = client.post("/login/", {"username": "lee", "password": "lee-directory-password"})

    assert response.status_code == 200
    assert signed_in_as(client) is None
    lee.refresh_from_db()
    assert (lee.first_name, lee.has_usable_password()) == ("Local", True)
    assert roles("lee") == set()
    [failed] = entries(Action.LOGIN_FAILED)
    assert failed.after == {"username": "lee"}


def test_ldap_roles_follow_group_membership_at_every_sign_in(client, db, ldap):
    client.post("/login/", {"username": "kim", "password": "kim-directory-password"})
    assert roles("kim") == {AUDITORS}

    with directory(ldap) as admin:
        admin.modify(AUDITOR_GROUP, {"member": [(ldap3.MODIFY_REPLACE, [LEE_DN])]})
        admin.modify(RM_GROUP, {"member": [(ldap3.MODIFY_ADD, [KIM_DN])]})
    Client().post("/login/", {"username": "kim", "password": "kim-directory-password"})
    assert roles("kim") == {RELEASE_MANAGERS}

    with directory(ldap) as admin:
        admin.modify(RM_GROUP, {"member": [(ldap3.MODIFY_DELETE, [KIM_DN])]})
    again = Client()
    again.post("/login/", {"username": "kim", "password": "kim-directory-password"})
    assert signed_in_as(again) == "kim"
    assert roles("kim") == set()
    assert [e.before["role"] for e in entries(Action.PERMISSION_REVOKED)] == [
        AUDITORS,
        RELEASE_MANAGERS,
    ]


# --- configuration from the environment --------------------------------------------


def _settings_from(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Import relapp.settings in a fresh interpreter with `env`; print what SSO reads."""
    code = (
        "import json, relapp.settings as s; print(json.dumps("
        "[s.AUTHENTICATION_BACKENDS, s.SSO_ROLE_GROUPS, s.OIDC_ENABLED, s.LDAP_ENABLED]))"
    )
    return subprocess.run(  # noqa: S603
        [str(HERE.parent / ".venv" / "bin" / "python"), "-c", code],
        cwd=HERE.parent,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "true", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_sso_is_configured_from_the_environment():
    endpoints = {
        f"OIDC_OP_{name}_ENDPOINT": f"https://sso.example.com/{name.lower()}"
        for name in ("AUTHORIZATION", "TOKEN", "USER", "JWKS")
    }
    result = _settings_from(
        {
            **endpoints,
            "OIDC_RP_CLIENT_ID": "relapp",
            "OIDC_RP_CLIENT_SECRET": "secret",
            "LDAP_AUTH_URL": "ldaps://ldap.example.com",
            "LDAP_AUTH_SEARCH_BASE": "ou=people,dc=example,dc=com",
            "LOCAL_LOGIN_ENABLED": "false",
            "SSO_AUDITOR_GROUPS": "cn=auditors,ou=groups,dc=example,dc=com; cn=qa,dc=example,dc=com",
        }
    )
    assert result.returncode == 0, result.stderr
    backends, role_groups, oidc_on, ldap_on = json.loads(result.stdout)
    assert backends == [
        "axes.backends.AxesStandaloneBackend",
        "accounts.backends.LocalPasswordBackend",
        "accounts.backends.OIDCBackend",
        "accounts.backends.LDAPBackend",
        "guardian.backends.ObjectPermissionBackend",
    ]
    assert role_groups == {
        RELEASE_MANAGERS: [],
        AUDITORS: ["cn=auditors,ou=groups,dc=example,dc=com", "cn=qa,dc=example,dc=com"],
    }
    assert oidc_on and ldap_on


def test_oidc_refuses_plain_http_endpoints_unless_allowed():
    env = {
        "OIDC_RP_CLIENT_ID": "relapp",
        "OIDC_RP_CLIENT_SECRET": "secret",
        **{
            f"OIDC_OP_{name}_ENDPOINT": f"http://127.0.0.1:9/{name.lower()}"
            for name in ("AUTHORIZATION", "TOKEN", "USER", "JWKS")
        },
    }
    refused = _settings_from(env)
    assert refused.returncode != 0
    assert "OIDC_OP_AUTHORIZATION_ENDPOINT must be https://" in refused.stderr
    assert _settings_from({**env, "OIDC_ALLOW_HTTP": "true"}).returncode == 0
    missing = _settings_from({"OIDC_RP_CLIENT_ID": "relapp"})
    assert "OIDC_RP_CLIENT_SECRET is required" in missing.stderr


def test_a_directory_signer_signs_with_the_directory_password(client, db, ldap):
    client.post("/login/", {"username": "lee", "password": "lee-directory-password"})
    lee = get_user_model().objects.get(username="lee")
    assert not lee.has_usable_password()
    signed = signature_credentials_check(user=lee, password="lee-directory-password")
    assert signed.ok and signed.components == "password"
    wrong = signature_credentials_check(user=lee, password="lee-guessed-wrong")
    assert wrong.refusal == WRONG_PASSWORD and wrong.wrong_credential
    assert signature_credentials_check(user=lee, password="").wrong_credential
