"""The pipeline API: every endpoint, every error class, every token state."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from api.models import ApiToken, ServiceAccount
from api.services import token_revoke
from approvals import services
from approvals.lifecycle import Status
from approvals.models import ApprovalPolicy, Deployment, GateCheck
from audit.chain import GENESIS_HASH, HASHED_FIELDS, entry_hash
from audit.models import Action, ChangeLogEntry
from tests.factories import ACCOUNTABLES, ProductFactory, complete_rad
from tests.helpers import approve_all, entries, new_token, release_open_now, sign

pytestmark = pytest.mark.django_db

BASE = "/api/v1/releases/payments-api/2.4.0/"
ENDPOINTS = [
    ("get", "/api/v1/releases/"),
    ("get", BASE),
    ("post", BASE + "checks/"),
    ("get", BASE + "raci"),
    ("get", BASE + "deploy-check"),
    ("post", BASE + "deployments/"),
    ("get", "/api/v1/changelog/"),
]
RELEASE_ENDPOINTS = ENDPOINTS[1:6]
VALID_BODY = {
    BASE + "checks/": {"name": "unit-tests", "status": "pass"},
    BASE + "deployments/": {"status": "started"},
}


# --- helpers -------------------------------------------------------------------


def call(client: Client, method: str, path: str, token: str | None = None, body=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "post":
        return client.post(
            path, data=json.dumps(body or {}), content_type="application/json", headers=headers
        )
    return client.get(path, headers=headers)


# --- fixtures -------------------------------------------------------------------


@pytest.fixture
def token(team):
    return new_token(team)


@pytest.fixture
def ledger():
    return ProductFactory(name="Ledger", slug="ledger")


# --- 401: no, wrong, expired or revoked token --------------------------------------


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_it_requires_a_token_or_a_session(client, release, method, path):
    response = call(client, method, path, body=VALID_BODY.get(path))
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="relapp"'
    assert not GateCheck.objects.exists()


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_wrong_token_is_refused_and_logged(client, release, token, method, path):
    wrong = token[:-4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
    response = call(client, method, path, wrong, body=VALID_BODY.get(path))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    [refusal] = entries(Action.ACCESS_REFUSED)
    assert refusal.actor is None
    assert refusal.reason == "Refused API token: unknown or malformed"
    assert wrong not in json.dumps(refusal.after)


@pytest.mark.parametrize("garbage", ["", "relapp_", "x" * 80, "relapp_zzzzzzzz_short", "Ä"])
def test_malformed_tokens_are_401_not_500(client, release, garbage):
    response = client.get(BASE, headers={"Authorization": f"Bearer {garbage}"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_an_expired_token_is_refused(client, team, release, token, method, path):
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = call(client, method, path, token, body=VALID_BODY.get(path))
    assert response.status_code == 401
    assert response.json() == {"error": "token_expired", "detail": "The token is expired."}
    [refusal] = entries(Action.ACCESS_REFUSED)
    assert refusal.actor_name == "service:ci-payments"
    assert not GateCheck.objects.exists() and not Deployment.objects.exists()


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_revoked_token_is_refused_at_once(client, team, release, token, method, path):
    assert call(client, "get", BASE, token).status_code == 200
    token_revoke(token=ApiToken.objects.get(), actor=team["rm"])
    response = call(client, method, path, token, body=VALID_BODY.get(path))
    assert response.status_code == 401
    assert response.json()["error"] == "token_revoked"
    assert not GateCheck.objects.exists() and not Deployment.objects.exists()


# --- 403: out of scope --------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), RELEASE_ENDPOINTS)
def test_a_product_outside_the_token_scope_is_403(client, team, release, ledger, method, path):
    token = new_token(team, name="ci-ledger", products=[ledger])
    response = call(client, method, path, token, body=VALID_BODY.get(path))
    assert response.status_code == 403
    assert response.json()["error"] == "out_of_scope"
    [refusal] = entries(Action.ACCESS_REFUSED)
    assert refusal.actor_name == "service:ci-ledger"
    assert refusal.product_id == team["product"].pk
    assert "does not cover payments-api" in refusal.reason
    assert not GateCheck.objects.exists() and not Deployment.objects.exists()


def test_the_list_filtered_to_a_product_outside_the_scope_is_403(client, team, ledger, release):
    token = new_token(team, name="ci-ledger", products=[ledger])
    response = call(client, "get", "/api/v1/releases/?product=payments-api", token)
    assert response.status_code == 403
    assert response.json()["error"] == "out_of_scope"
    # Unfiltered, the token simply sees nothing of payments-api.
    listed = call(client, "get", "/api/v1/releases/", token).json()
    assert listed["count"] == 0


def test_the_change_log_needs_change_log_access(client, team, token):
    response = call(client, "get", "/api/v1/changelog/", token)
    assert response.status_code == 403
    assert response.json()["error"] == "out_of_scope"


# --- 404 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/releases/payments-api/9.9.9/",
        "/api/v1/releases/payments-api/9.9.9/raci",
        "/api/v1/releases/payments-api/9.9.9/deploy-check",
        "/api/v1/releases/no-such-product/1.0.0/",
        "/api/v1/releases/payments-api/bad%2Fversion/",
        "/api/v1/nothing-here/",
    ],
)
def test_an_unknown_release_is_404(client, release, token, path):
    response = call(client, "get", path, token)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_writes_to_an_unknown_release_are_404(client, release, token):
    path = "/api/v1/releases/payments-api/9.9.9/"
    assert (
        call(client, "post", path + "checks/", token, VALID_BODY[BASE + "checks/"]).status_code
        == 404
    )
    assert (
        call(
            client, "post", path + "deployments/", token, VALID_BODY[BASE + "deployments/"]
        ).status_code
        == 404
    )
    assert not GateCheck.objects.exists()


# --- the endpoints ------------------------------------------------------------------


def test_the_list_is_paginated_and_filtered(client, team, release, token, ledger):
    services.release_create(
        product=ledger,
        version="1.0.0",
        title="Ledger",
        release_type="normal",
        window_start=timezone.now(),
        window_end=timezone.now() + timedelta(hours=1),
        actor=team["rm"],
    )
    draft = release_open_now(team, version="2.5.0", approve=False)
    services.release_cancel(release=draft, actor=team["rm"], reason="Dropped")
    body = call(client, "get", "/api/v1/releases/", token).json()
    assert body["count"] == 2
    assert body["results"][0] == {
        "product": "payments-api",
        "version": "2.5.0",
        "title": "Instant payouts",
        "type": "normal",
        "status": "cancelled",
    }
    assert {r["product"] for r in body["results"]} == {"payments-api"}
    in_review = call(client, "get", "/api/v1/releases/?status=in_review", token).json()
    assert [r["version"] for r in in_review["results"]] == ["2.4.0"]
    paged = call(client, "get", "/api/v1/releases/?page_size=1&page=2", token).json()
    assert [r["version"] for r in paged["results"]] == ["2.4.0"]
    assert paged["previous"] is not None and paged["next"] is None


def test_a_bad_filter_is_400_with_field_errors(client, release, token):
    response = call(client, "get", "/api/v1/releases/?status=shipped", token)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_failed"
    assert "status" in body["fields"]


def test_the_release_shows_status_readiness_rad_and_signoffs(client, team, release, token):
    sign(release, team["po"], "Business scope")
    ApprovalPolicy.objects.create(product=team["product"], required_checks=["unit-tests"])
    body = call(client, "get", BASE, token).json()
    current = services.rad_current(release)
    assert body["status"] == "in_review" and body["type"] == "normal"
    assert body["halted"] is False
    assert body["deployment_window"]["start"].startswith(release.window_start.date().isoformat())
    assert body["ready_for_signoff"] is False
    assert body["readiness_reasons"] == ["Gate check “unit-tests” has not been reported."]
    assert body["rad"] == {"revision": 1, "sha256": current.sha256}
    [signoff] = body["signoffs"]
    assert signoff["activity"] == "Business scope"
    assert signoff["signer"] == "po" and signoff["printed_name"] == "Po Tester"
    assert (signoff["decision"], signoff["method"], signoff["void"]) == (
        "approve",
        "e-signature",
        False,
    )
    assert signoff["revision_sha256"] == current.sha256
    assert signoff["components"] == "password"
    services.rad_revise(release=release, content=complete_rad(scope="Changed"), actor=team["dev"])
    again = call(client, "get", BASE, token).json()
    assert again["rad"]["revision"] == 2
    assert again["signoffs"][0]["void"] is True
    assert again["signoffs"][0]["void_reason"] == "RAD changed after signing"


def test_the_release_shows_its_gate_checks_and_a_draft_has_no_rad(client, team, release, token):
    services.gate_check_report(
        release=release,
        actor=team["dev"],
        name="unit-tests",
        status="fail",
        details="3 failed",
        url="https://ci.example.com/7",
    )
    body = call(client, "get", BASE, token).json()
    [check] = body["gate_checks"]
    assert {k: v for k, v in check.items() if k != "reported_at"} == {
        "name": "unit-tests",
        "status": "fail",
        "details": "3 failed",
        "url": "https://ci.example.com/7",
        "reported_by": "dev",
        "phase": "before_approval",
    }
    assert check["reported_at"] == GateCheck.objects.get().reported_at.isoformat().replace(
        "+00:00", "Z"
    )
    services.release_create(
        product=team["product"],
        version="2.5.0",
        title="Later",
        release_type="normal",
        window_start=release.window_start,
        window_end=release.window_end,
        actor=team["rm"],
    )
    draft = call(client, "get", "/api/v1/releases/payments-api/2.5.0/", token).json()
    assert (draft["status"], draft["rad"], draft["signoffs"], draft["gate_checks"]) == (
        "draft",
        None,
        [],
        [],
    )


def test_a_gate_check_is_recorded_by_the_service_account_and_readiness_recalculated(
    client, team, release, token
):
    ApprovalPolicy.objects.create(product=team["product"], required_checks=["unit-tests"])
    response = call(
        client,
        "post",
        BASE + "checks/",
        token,
        {
            "name": "unit-tests",
            "status": "pass",
            "details": "412 passed",
            "url": "https://ci.example.com/1",
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["ready_for_signoff"] is True and body["readiness_reasons"] == []
    assert body["reported_by"] == "service:ci-payments"
    check = GateCheck.objects.get()
    assert (check.name, check.status, check.details) == ("unit-tests", "pass", "412 passed")
    [entry] = ChangeLogEntry.objects.filter(action=Action.GATE_CHECK_REPORTED)
    assert entry.actor_name == "service:ci-payments"
    assert entry.actor.service_account.name == "ci-payments"
    failed = call(client, "post", BASE + "checks/", token, {"name": "unit-tests", "status": "fail"})
    assert failed.json()["readiness_reasons"] == ["Gate check “unit-tests” is fail."]
    assert GateCheck.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "pass"}, "name"),
        ({"name": "unit-tests", "status": "green"}, "status"),
        ({"name": "unit-tests", "status": "pass", "url": "not a url"}, "url"),
        ({"name": "x" * 101, "status": "pass"}, "name"),
        ({"name": "bad\x00name", "status": "pass"}, "name"),
        ({"name": "   ", "status": "pass"}, "name"),
    ],
)
def test_a_bad_gate_check_is_400_with_field_errors(client, release, token, body, field):
    response = call(client, "post", BASE + "checks/", token, body)
    assert response.status_code == 400
    assert response.json()["error"] == "validation_failed"
    assert field in response.json()["fields"]
    assert not GateCheck.objects.exists()


def test_malformed_json_is_400(client, release, token):
    response = client.post(
        BASE + "checks/",
        data="{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"


def test_the_raci_lists_usernames_per_letter(client, release, token):
    body = call(client, "get", BASE + "raci", token).json()
    assert body["product"] == "payments-api" and body["version"] == "2.4.0"
    go = next(a for a in body["activities"] if a["name"] == "Go/no-go decision")
    assert go == {
        "name": "Go/no-go decision",
        "go_no_go": True,
        "R": ["dev"],
        "A": ["rm"],
        "C": ["cc"],
        "I": ["ii"],
    }
    assert [a["A"] for a in body["activities"]] == [
        [ACCOUNTABLES[a["name"]]] for a in body["activities"]
    ]


def test_deploy_check_says_no_with_reasons_until_approved_and_inside_the_window(
    client, team, token
):
    release = release_open_now(team, version="3.0.0", approve=False)
    path = "/api/v1/releases/payments-api/3.0.0/deploy-check"
    refused = call(client, "get", path, token)
    assert refused.status_code == 409
    assert refused.json() == {
        "allowed": False,
        "reasons": ["The release is in review, not approved."],
        "refusals": [
            {"code": "not_approved", "message": "The release is in review, not approved."}
        ],
    }
    approve_all(release, team)
    allowed = call(client, "get", path, token)
    assert allowed.status_code == 200
    assert allowed.json() == {"allowed": True}
    services.release_halt(release=release, actor=team["rm"], reason="Card network outage")
    halted = call(client, "get", path, token)
    assert halted.status_code == 409
    assert halted.json()["reasons"] == ["The release is halted: Card network outage."]
    assert call(client, "get", "/api/v1/releases/payments-api/3.0.0/", token).json()["halted"]


def test_deploy_check_refuses_an_approved_release_outside_its_window(client, team, release, token):
    approve_all(release, team)  # window opens in two days
    response = call(client, "get", BASE + "deploy-check", token)
    assert response.status_code == 409
    [reason] = response.json()["reasons"]
    assert reason.startswith("The deployment window opens at")


def test_deployments_move_the_lifecycle_and_are_logged_as_the_service_account(client, team, token):
    release = release_open_now(team, version="3.0.0")
    path = "/api/v1/releases/payments-api/3.0.0/deployments/"
    started = call(client, "post", path, token, {"status": "started", "environment": "prod-eu"})
    assert started.status_code == 201
    assert started.json()["release_status"] == "approved"
    assert started.json()["recorded_by"] == "service:ci-payments"
    succeeded = call(client, "post", path, token, {"status": "succeeded", "details": "v3 live"})
    assert succeeded.status_code == 201
    assert succeeded.json()["release_status"] == "deployed"
    release.refresh_from_db()
    assert release.status == Status.DEPLOYED
    rolled_back = call(client, "post", path, token, {"status": "rolled_back", "details": "5xx"})
    assert rolled_back.json()["release_status"] == "rolled_back"
    assert [d.status for d in Deployment.objects.order_by("id")] == [
        "started",
        "succeeded",
        "rolled_back",
    ]
    actions = ChangeLogEntry.objects.filter(
        action__in=[
            Action.DEPLOYMENT_RECORDED,
            Action.RELEASE_DEPLOYED,
            Action.RELEASE_ROLLED_BACK,
        ]
    ).values_list("action", "actor_name")
    assert list(actions.order_by("seq")) == [
        ("deployment.recorded", "service:ci-payments"),
        ("release.deployed", "service:ci-payments"),
        ("release.rolled_back", "service:ci-payments"),
    ]


def test_a_deployment_of_an_unapproved_release_is_kept_flagged_and_moves_nothing(
    client, team, release, token
):
    response = call(client, "post", BASE + "deployments/", token, {"status": "succeeded"})
    assert response.status_code == 201
    body = response.json()
    assert body["unauthorized"] is True
    assert body["release_status"] == "in_review"
    assert [r["code"] for r in body["unauthorized_reasons"]][:2] == [
        "not_approved",
        "window_not_open",
    ]
    release.refresh_from_db()
    assert release.status == Status.IN_REVIEW and release.deployed_at is None
    [deployment] = Deployment.objects.all()
    assert deployment.unauthorized
    [flag] = ChangeLogEntry.objects.filter(action=Action.DEPLOYMENT_UNAUTHORIZED)
    assert flag.actor_name == "service:ci-payments"
    assert flag.after["reasons"] == deployment.unauthorized_reasons


def test_a_bad_deployment_status_is_400(client, release, token):
    response = call(client, "post", BASE + "deployments/", token, {"status": "shipped"})
    assert response.status_code == 400
    assert "status" in response.json()["fields"]


def test_the_change_log_pages_in_order_with_hashes_that_verify(client, team, release):
    token = new_token(team, name="siem", changelog=True)
    head = ChangeLogEntry.objects.order_by("-seq").first().seq
    first = call(client, "get", "/api/v1/changelog/?limit=3", token).json()
    assert [e["seq"] for e in first["entries"]] == [1, 2, 3]
    assert first["next_after_seq"] == 3
    assert first["head_seq"] == head
    seen, after = [], 0
    while after is not None:
        page = call(client, "get", f"/api/v1/changelog/?after_seq={after}&limit=4", token).json()
        seen.extend(page["entries"])
        after = page["next_after_seq"]
    assert [e["seq"] for e in seen] == list(range(1, head + 1))
    previous = GENESIS_HASH
    for entry in seen:
        assert entry["prev_hash"] == previous
        assert entry_hash(previous, {k: entry[k] for k in HASHED_FIELDS}) == entry["hash"]
        previous = entry["hash"]


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "after_seq=-1", "after_seq=abc"])
def test_bad_change_log_parameters_are_400(client, team, query):
    token = new_token(team, name="siem", changelog=True)
    response = call(client, "get", f"/api/v1/changelog/?{query}", token)
    assert response.status_code == 400
    assert response.json()["error"] == "validation_failed"


# --- sessions -----------------------------------------------------------------------


def test_a_session_user_sees_what_the_raci_allows(client, team, release):
    client.force_login(team["ii"])  # Informed: may view
    assert client.get(BASE).status_code == 200
    assert client.get(BASE + "raci").status_code == 200
    client.force_login(team["outsider"])
    response = client.get(BASE)
    assert response.status_code == 404  # not 403: the release stays invisible
    assert response.json()["error"] == "not_found"
    assert client.get("/api/v1/releases/").json()["count"] == 0


def test_a_session_write_needs_the_permission_and_is_logged_when_refused(client, team, release):
    client.force_login(team["ii"])
    response = client.post(
        BASE + "checks/",
        data={"name": "unit-tests", "status": "pass"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    [refusal] = entries(Action.ACCESS_REFUSED)
    assert refusal.actor == team["ii"]
    assert not GateCheck.objects.exists()


def test_session_writes_enforce_csrf(team, release):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team["dev"])  # Responsible: may report checks
    body = json.dumps({"name": "unit-tests", "status": "pass"})
    refused = client.post(BASE + "checks/", data=body, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not GateCheck.objects.exists()
    client.get("/")  # any page with a form sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    accepted = client.post(
        BASE + "checks/", data=body, content_type="application/json", headers={"X-CSRFToken": csrf}
    )
    assert accepted.status_code == 201
    assert GateCheck.objects.get().reported_by == team["dev"]


def test_the_change_log_via_session_is_for_auditors(client, team, release):
    client.force_login(team["auditor"])
    assert client.get("/api/v1/changelog/").status_code == 200
    client.force_login(team["dev"])
    assert client.get("/api/v1/changelog/").status_code == 403


# --- tokens -------------------------------------------------------------------------


def test_a_token_is_stored_only_as_its_sha256(team):
    token = new_token(team)
    record = ApiToken.objects.get()
    assert record.digest == hashlib.sha256(token.encode()).hexdigest()
    assert token.startswith(f"relapp_{record.prefix}_")
    secret = token.rsplit("_", 1)[1]
    stored = json.dumps(list(ChangeLogEntry.objects.values("before", "after", "reason")))
    assert secret not in stored
    assert not ApiToken.objects.filter(digest=token).exists()


def test_a_service_account_cannot_sign_in(client, team):
    new_token(team)
    account = ServiceAccount.objects.get()
    assert account.user.username == "service:ci-payments"
    assert not account.user.has_usable_password()
    assert not account.user.is_active


def test_using_a_token_updates_its_last_use(client, release, token):
    assert ApiToken.objects.get().last_used_at is None
    call(client, "get", BASE, token)
    assert ApiToken.objects.get().last_used_at is not None


def test_the_command_prints_only_the_token(capsys, team, ledger, client, release):
    call_command(
        "create_service_account", "deployer", "--products", "payments-api,ledger", "--days", "7"
    )
    out, err = capsys.readouterr()
    token = out.strip()
    assert "\n" not in token and token.startswith("relapp_")
    assert "deployer" in err
    account = ServiceAccount.objects.get(name="deployer")
    assert {p.slug for p in account.products.all()} == {"payments-api", "ledger"}
    expires = account.tokens.get().expires_at
    assert timedelta(days=6, hours=23) < expires - timezone.now() <= timedelta(days=7)
    assert call(client, "get", BASE, token).status_code == 200
    created = ChangeLogEntry.objects.get(action=Action.SERVICE_ACCOUNT_CHANGED)
    assert created.actor_name == "system (manage.py)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deployer", "--products", "nope"], "Unknown products: nope"),
        (["deployer", "--products", "payments-api", "--days", "0"], "between 1 and 730"),
        (["bad name", "--products", "payments-api"], "letters, digits"),
    ],
)
def test_the_command_refuses_bad_input(team, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_service_account", *args)
    assert not ServiceAccount.objects.exists()


def test_the_command_refuses_a_duplicate_name(team):
    call_command("create_service_account", "deployer", "--products", "payments-api")
    with pytest.raises(CommandError, match="exists"):
        call_command("create_service_account", "deployer", "--products", "payments-api")


# --- schema and docs ----------------------------------------------------------------


def test_the_schema_describes_every_endpoint(client):
    schema = client.get("/api/schema/?format=json").json()
    assert set(schema["paths"]) == {
        "/api/v1/releases/",
        "/api/v1/releases/{product}/{version}/",
        "/api/v1/releases/{product}/{version}/checks/",
        "/api/v1/releases/{product}/{version}/raci",
        "/api/v1/releases/{product}/{version}/deploy-check",
        "/api/v1/releases/{product}/{version}/deployments/",
        "/api/v1/releases/{product}/{version}/artifacts/",
        "/api/v1/releases/{product}/{version}/attestation",
        "/api/v1/changelog/",
        "/api/v1/releases/{product}/{version}/monitoring/{position}/tick",
        "/api/v1/metrics/",
    }
    assert schema["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"


def test_the_docs_page_lists_every_operation(client, team):
    client.force_login(team["dev"])
    page = client.get("/api/docs/").content.decode()
    for op in [
        "releases_list",
        "release_read",
        "gate_check_report",
        "release_raci",
        "deploy_check",
        "deployment_record",
        "changelog_read",
        "attestation_read",
    ]:
        assert f'id="{op}"' in page
    assert "token_expired" in page


# --- the service-account pages --------------------------------------------------------


def test_a_release_manager_creates_an_account_and_sees_its_token_once(client, team, release):
    client.force_login(team["rm"])
    assert client.get("/service-accounts/new/").status_code == 200
    response = client.post(
        "/service-accounts/new/",
        {
            "name": "ci-payments",
            "description": "GitLab deploy job",
            "products": [team["product"].pk],
            "days": "30",
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    token = page.split('id="secret-value" class="api-secret" value="', 1)[1].split('"', 1)[0]
    assert token.startswith("relapp_")
    assert call(Client(), "get", BASE, token).status_code == 200
    detail = client.get("/service-accounts/ci-payments/").content.decode()
    assert token not in detail
    assert f"relapp_{ApiToken.objects.get().prefix}_…" in detail
    listing = client.get("/service-accounts/").content.decode()
    assert "ci-payments" in listing and "payments-api" in listing


def test_the_create_form_shows_field_errors(client, team):
    client.force_login(team["rm"])
    new_token(team)
    response = client.post(
        "/service-accounts/new/",
        {"name": "ci-payments", "products": [team["product"].pk], "days": "30"},
    )
    assert "A service account named ci-payments exists." in response.content.decode()
    response = client.post("/service-accounts/new/", {"name": "x", "products": [], "days": "9999"})
    page = response.content.decode()
    assert "This field is required." in page
    assert "less than or equal to 730" in page
    assert ServiceAccount.objects.count() == 1


def test_revoking_and_issuing_tokens_from_the_page(client, team, release):
    old = new_token(team)
    client.force_login(team["admin"])
    record = ApiToken.objects.get()
    response = client.post(f"/service-accounts/ci-payments/tokens/{record.pk}/revoke/")
    assert response.status_code == 302
    assert call(Client(), "get", BASE, old).json()["error"] == "token_revoked"
    issued = client.post("/service-accounts/ci-payments/tokens/", {"days": "5"})
    fresh = issued.content.decode().split('class="api-secret" value="', 1)[1].split('"', 1)[0]
    assert fresh != old
    assert call(Client(), "get", BASE, fresh).status_code == 200
    events = [
        e.after["event"]
        for e in ChangeLogEntry.objects.filter(action=Action.SERVICE_ACCOUNT_CHANGED).order_by(
            "seq"
        )
    ]
    assert events == ["created", "token revoked", "token issued"]


def test_changing_the_scope_takes_effect_at_once(client, team, release, ledger, token):
    client.force_login(team["rm"])
    client.post("/service-accounts/ci-payments/scope/", {"products": [ledger.pk]})
    assert call(Client(), "get", BASE, token).json()["error"] == "out_of_scope"
    change = ChangeLogEntry.objects.filter(action=Action.SERVICE_ACCOUNT_CHANGED).first()  # newest
    assert (change.before["products"], change.after["products"]) == (["payments-api"], ["ledger"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/service-accounts/ci-payments/"),
        ("post", "/service-accounts/ci-payments/scope/"),
        ("post", "/service-accounts/ci-payments/tokens/"),
        ("post", "/service-accounts/ci-payments/tokens/1/revoke/"),
    ],
)
def test_people_who_are_not_release_managers_cannot_touch_accounts(
    client, team, token, method, path
):
    client.force_login(team["po"])
    response = getattr(client, method)(path, {"days": "5", "products": []})
    assert response.status_code == 403
    assert ApiToken.objects.count() == 1 and ApiToken.objects.get().revoked_at is None


def test_deploy_check_refuses_an_approved_release_whose_window_has_closed(client, team, token):
    release = release_open_now(team, version="3.0.0")
    path = "/api/v1/releases/payments-api/3.0.0/deploy-check"
    assert call(client, "get", path, token).status_code == 200  # inside its window
    closed_at = timezone.now() - timedelta(minutes=1)
    type(release).objects.filter(pk=release.pk).update(
        window_start=closed_at - timedelta(hours=4), window_end=closed_at
    )
    response = call(client, "get", path, token)
    assert response.status_code == 409
    message = f"The deployment window closed at {closed_at.isoformat()}."
    assert response.json() == {
        "allowed": False,
        "reasons": [message],
        "refusals": [{"code": "window_closed", "message": message}],
    }
