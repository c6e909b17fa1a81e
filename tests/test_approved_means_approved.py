"""«"Approved" means approved»: every signature from its signer, bound to the build that
ships, re-checked at deploy time. Each test is one of the attempts that used to get
through."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from approvals import services
from approvals.artifacts import artifact_set_sha256
from approvals.lifecycle import Status
from approvals.models import ApprovalPolicy, Deployment, SignOff
from audit.models import Action, ChangeLogEntry
from meetings.models import MeetingDecision, Notification
from meetings.services import meeting_record_outcome
from tests.factories import ACCOUNTABLES, PASSWORD, activity, complete_rad, persona
from tests.helpers import approve_all, entries, new_token, release_open_now, schedule, sign

pytestmark = pytest.mark.django_db

DIGEST = "sha256:" + "ab" * 32
OTHER_DIGEST = "sha256:" + "cd" * 32
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def api(client, method, path, token, body=None):
    headers = {"Authorization": f"Bearer {token}"}
    if method == "post":
        return client.post(
            path, data=json.dumps(body or {}), content_type="application/json", headers=headers
        )
    return client.get(path, headers=headers)


def deploy_check(client, token, version="3.0.0", artifact=""):
    query = f"?artifact={artifact}" if artifact else ""
    return api(client, "get", f"/api/v1/releases/payments-api/{version}/deploy-check{query}", token)


def codes(response) -> list[str]:
    return [r["code"] for r in response.json().get("refusals", [])]


def policy(team, **fields) -> ApprovalPolicy:
    found, _ = ApprovalPolicy.objects.get_or_create(product=team["product"])
    for name, value in fields.items():
        setattr(found, name, value)
    found.save()
    return found


def record_verbal(release, recorder, name):
    return services.signoff_record_verbal(
        release=release,
        activity_id=activity(release, name).pk,
        recorded_by=recorder,
        channel="phone call",
        given_at=timezone.now() - timedelta(minutes=1),
        note="",
    )


# --- 1. verbal approvals never stand in for a signature ------------------------------


def test_a_release_manager_recording_verbal_approvals_for_everyone_approves_nothing(client, team):
    release = release_open_now(team, version="3.0.0", approve=False)
    token = new_token(team)
    for name, username in ACCOUNTABLES.items():
        if username == "rm":
            # The recorder can never be the Accountable it records for.
            with pytest.raises(services.SignOffRefused, match="sign it yourself"):
                record_verbal(release, team["rm"], name)
        else:
            record_verbal(release, team["rm"], name)
    release.refresh_from_db()
    assert release.status == Status.IN_REVIEW
    assert SignOff.objects.filter(verbal_state="pending").count() == 3
    # Each refusal stays in the change log (the transaction that logged it committed).
    refused = entries(Action.SIGNOFF_REFUSED)
    assert len(refused) == 2 and all("sign it yourself" in e.reason for e in refused)
    response = deploy_check(client, token)
    assert response.status_code == 409 and codes(response) == ["not_approved"]


def test_a_verbal_approval_counts_once_its_accountable_confirms_it(client, team):
    release = release_open_now(team, version="3.0.0", approve=False)
    for name in ("Test thresholds", "Operational readiness", "Deployment & rollback plan"):
        sign(release, team[ACCOUNTABLES[name]], name)
    sign(release, team["rm"], "Go/no-go decision")
    verbal = record_verbal(release, team["rm"], "Business scope")
    release.refresh_from_db()
    assert release.status == Status.IN_REVIEW
    services.signoff_verbal_respond(
        signoff=verbal, actor=team["po"], confirm=True, password=PASSWORD
    )
    release.refresh_from_db()
    verbal.refresh_from_db()
    assert release.status == Status.APPROVED and release.approved_at is not None
    assert verbal.verbal_confirmed_at is not None
    client.force_login(team["po"])
    page = client.get(release.get_absolute_url()).content.decode()
    assert "confirmed by Po Tester at" in page
    assert deploy_check(client, new_token(team)).status_code == 200


def test_a_hotfix_go_no_go_may_count_a_pending_verbal_for_the_grace_hours_then_halts(team):
    policy(team, hotfix_verbal_grace_hours=4)
    fixed = release_open_now(team, version="3.0.0")
    rm2 = persona("rm2")
    rm2.groups.add(Group.objects.get(name="Release managers"))
    hotfix = services.release_create(
        product=team["product"],
        version="3.0.1",
        title="Card fix",
        release_type="hotfix",
        fixes=fixed,
        window_start=timezone.now() - timedelta(hours=1),
        window_end=timezone.now() + timedelta(hours=3),
        actor=team["rm"],
    )
    services.rad_revise(release=hotfix, content=complete_rad(), actor=team["dev"])
    services.release_submit(release=hotfix, actor=team["dev"])
    record_verbal(hotfix, rm2, "Go/no-go decision")
    hotfix.refresh_from_db()
    assert hotfix.status == Status.APPROVED
    # Nothing happens inside the grace hours; after them the release halts by itself.
    assert services.approvals_expire(now=timezone.now() + timedelta(hours=3)) == {
        "expired": 0,
        "verbal_unconfirmed": 0,
    }
    assert services.approvals_expire(now=timezone.now() + timedelta(hours=5)) == {
        "expired": 0,
        "verbal_unconfirmed": 1,
    }
    hotfix.refresh_from_db()
    assert hotfix.status == Status.HALTED
    assert "was not confirmed" in hotfix.status_reason
    [halt] = entries(Action.RELEASE_HALTED)
    assert halt.actor_name == "system"
    # The release manager (creator and Go/no-go Accountable) is told.
    assert Notification.objects.filter(user=team["rm"], release=hotfix).exists()


def test_a_normal_release_never_counts_a_pending_verbal_whatever_the_grace(client, team):
    policy(team, hotfix_verbal_grace_hours=4)
    release = release_open_now(team, version="3.0.0", approve=False)
    approve_all(release, team, skip=("Business scope",))
    record_verbal(release, team["rm"], "Business scope")
    release.refresh_from_db()
    assert release.status == Status.IN_REVIEW


# --- 2. artifacts -----------------------------------------------------------------


def test_a_signature_covers_the_artifact_set_and_a_change_voids_it(client, team):
    release = release_open_now(team, version="3.0.0", approve=False)
    token = new_token(team)
    path = "/api/v1/releases/payments-api/3.0.0/artifacts/"
    reported = api(
        client,
        "post",
        path,
        token,
        {"artifacts": [{"name": "payments-api", "kind": "image", "digest": DIGEST.upper()[7:]}]},
    )
    assert reported.status_code == 201
    assert reported.json()["artifacts"] == [
        {"name": "payments-api", "kind": "image", "digest": DIGEST}
    ]
    set_sha = artifact_set_sha256([{"name": "payments-api", "kind": "image", "digest": DIGEST}])
    assert reported.json()["artifacts_sha256"] == set_sha
    signoff, _ = sign(release, team["po"], "Business scope")
    assert signoff.artifacts_sha256 == set_sha
    assert signoff.meaning.endswith(f"RAD revision 1, artifact set sha256:{set_sha}")
    changed = api(
        client,
        "post",
        path,
        token,
        {"artifacts": [{"name": "payments-api", "kind": "image", "digest": OTHER_DIGEST}]},
    )
    assert changed.status_code == 201
    signoff.refresh_from_db()
    assert signoff.is_void and signoff.void_reason == "Artifacts changed after signing"
    [change] = entries(Action.ARTIFACTS_CHANGED)[-1:]
    assert change.after["changed"] == [["payments-api", DIGEST, OTHER_DIGEST]]
    assert change.actor_name == "service:ci-payments"


@pytest.mark.parametrize(
    ("kind", "digest"),
    [
        ("image", "sha256:abc"),
        ("image", "md5:" + "a" * 32),
        ("commit", "xyz"),
        ("commit", "sha256:" + "a" * 64),
        ("tarball", DIGEST),
    ],
)
def test_a_malformed_digest_is_a_400_and_changes_nothing(client, team, kind, digest):
    release_open_now(team, version="3.0.0", approve=False)
    response = api(
        client,
        "post",
        "/api/v1/releases/payments-api/3.0.0/artifacts/",
        new_token(team),
        {"artifacts": [{"name": "x", "kind": kind, "digest": digest}]},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "validation_failed"
    assert not entries(Action.ARTIFACTS_CHANGED)


def test_artifacts_are_fixed_once_approved(client, team):
    release_open_now(team, version="3.0.0")
    response = api(
        client,
        "post",
        "/api/v1/releases/payments-api/3.0.0/artifacts/",
        new_token(team),
        {"artifacts": [{"name": "payments-api", "kind": "commit", "digest": COMMIT}]},
    )
    assert response.status_code == 409
    assert "fixed once the release is approved" in response.json()["detail"]


def test_only_an_approved_digest_may_deploy(client, team):
    release = release_open_now(team, version="3.0.0", approve=False)
    services.artifacts_report(
        release=release,
        actor=team["rm"],
        artifacts=[{"name": "payments-api", "kind": "image", "digest": DIGEST}],
    )
    approve_all(release, team)
    token = new_token(team)
    assert deploy_check(client, token, artifact=DIGEST).status_code == 200
    refused = deploy_check(client, token, artifact=OTHER_DIGEST)
    assert refused.status_code == 409 and codes(refused) == ["artifact_not_approved"]


def test_a_digest_is_refused_when_the_release_approved_no_artifacts(client, team):
    release_open_now(team, version="3.0.0")
    refused = deploy_check(client, new_token(team), artifact=DIGEST)
    assert refused.status_code == 409 and codes(refused) == ["artifact_not_approved"]


# --- 3. the deploy check re-evaluates everything ---------------------------------


def test_a_check_failing_after_approval_blocks_the_deploy(client, team):
    policy(team, required_checks=["security-scan"])
    release = release_open_now(team, version="3.0.0", approve=False)
    services.gate_check_report(
        release=release, actor=team["rm"], name="security-scan", status="pass"
    )
    approve_all(release, team)
    token = new_token(team)
    assert deploy_check(client, token).status_code == 200
    services.gate_check_report(
        release=release, actor=team["rm"], name="security-scan", status="fail"
    )
    response = deploy_check(client, token)
    assert response.status_code == 409 and codes(response) == ["check_failing"]
    release.refresh_from_db()
    assert release.status == Status.APPROVED  # the policy does not halt by default


def test_the_policy_can_halt_a_release_whose_required_check_turns_red(client, team):
    policy(team, required_checks=["security-scan"], halt_on_check_failure=True)
    release = release_open_now(team, version="3.0.0", approve=False)
    services.gate_check_report(
        release=release, actor=team["rm"], name="security-scan", status="pass"
    )
    approve_all(release, team)
    services.gate_check_report(
        release=release, actor=team["rm"], name="security-scan", status="fail"
    )
    release.refresh_from_db()
    assert release.status == Status.HALTED
    assert "security-scan" in release.status_reason
    assert codes(deploy_check(client, new_token(team)))[0] == "halted"


def test_an_approval_older_than_the_policy_expires(client, team):
    policy(team, approval_validity_days=14)
    release = release_open_now(team, version="3.0.0")
    token = new_token(team)
    assert deploy_check(client, token).status_code == 200
    type(release).objects.filter(pk=release.pk).update(
        approved_at=timezone.now() - timedelta(days=15)
    )
    response = deploy_check(client, token)
    assert response.status_code == 409 and codes(response) == ["approval_expired"]
    assert services.approvals_expire()["expired"] == 1
    release.refresh_from_db()
    assert release.status == Status.HALTED
    # Resuming is the Go/no-go Accountable signing again.
    sign(release, team["rm"], "Go/no-go decision")
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    assert deploy_check(client, token).status_code == 200


def test_the_deploy_check_refuses_before_and_after_the_window(client, team):
    release = release_open_now(team, version="3.0.0")
    token = new_token(team)
    now = timezone.now()
    type(release).objects.filter(pk=release.pk).update(
        window_start=now + timedelta(hours=1), window_end=now + timedelta(hours=2)
    )
    assert codes(deploy_check(client, token)) == ["window_not_open"]
    type(release).objects.filter(pk=release.pk).update(
        window_start=now - timedelta(hours=2), window_end=now - timedelta(minutes=1)
    )
    assert codes(deploy_check(client, token)) == ["window_closed"]


def test_the_release_page_shows_the_same_refusals_as_the_deploy_check(client, team):
    policy(team, required_checks=["security-scan"])
    release = release_open_now(team, version="3.0.0", approve=False)
    services.gate_check_report(
        release=release, actor=team["rm"], name="security-scan", status="pass"
    )
    approve_all(release, team)
    services.gate_check_report(
        release=release, actor=team["rm"], name="security-scan", status="fail"
    )
    client.force_login(team["po"])
    page = client.get(release.get_absolute_url()).content.decode()
    assert 'data-testid="deploy-blocked"' in page
    assert "Gate check “security-scan” is fail." in page and "check_failing" in page


# --- 4. unauthorized changes ------------------------------------------------------


def test_a_deployment_after_the_window_is_kept_flagged_notified_and_listed(client, team):
    release = release_open_now(team, version="3.0.0")
    closed = timezone.now() - timedelta(minutes=5)
    type(release).objects.filter(pk=release.pk).update(
        window_start=closed - timedelta(hours=2), window_end=closed
    )
    response = api(
        client,
        "post",
        "/api/v1/releases/payments-api/3.0.0/deployments/",
        new_token(team),
        {"status": "succeeded", "details": "late"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["unauthorized"] is True and body["release_status"] == "deployed"
    assert [r["code"] for r in body["unauthorized_reasons"]] == ["window_closed"]
    [flag] = entries(Action.DEPLOYMENT_UNAUTHORIZED)
    assert "window closed" in flag.reason
    # Release managers and auditors are told, in the app and by e-mail.
    assert Notification.objects.filter(user=team["rm"], title__startswith="Unauthorized").exists()
    assert Notification.objects.filter(
        user=team["auditor"], title__startswith="Unauthorized"
    ).exists()
    assert not Notification.objects.filter(
        user=team["dev"], title__startswith="Unauthorized"
    ).exists()
    # The release page carries a banner; the list and its CSV show it.
    client.force_login(team["auditor"])
    page = client.get(release.get_absolute_url()).content.decode()
    assert 'data-testid="unauthorized-banner"' in page
    listing = client.get("/changelog/unauthorized/").content.decode()
    assert "Payments API 3.0.0" in listing and "window_closed" in listing
    exported = b"".join(
        client.get("/changelog/unauthorized/?format=csv").streaming_content
    ).decode()
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["version"], r["codes"]) for r in rows] == [("3.0.0", "window_closed")]


def test_a_hotfix_recorded_deployed_before_its_window_opens_is_flagged(client, team):
    release = release_open_now(team, version="3.0.0")
    type(release).objects.filter(pk=release.pk).update(
        window_start=timezone.now() + timedelta(days=16),
        window_end=timezone.now() + timedelta(days=16, hours=2),
    )
    release.refresh_from_db()
    deployment = services.deployment_record(release=release, actor=team["rm"], status="succeeded")
    assert deployment.unauthorized
    assert deployment.unauthorized_reasons[0]["code"] == "window_not_open"


def test_people_outside_audit_cannot_open_the_unauthorized_list(client, team):
    client.force_login(team["dev"])
    assert client.get("/changelog/unauthorized/").status_code == 403
    assert entries(Action.ACCESS_REFUSED)


def test_an_authorized_deployment_is_not_flagged(team):
    release = release_open_now(team, version="3.0.0")
    deployment = services.deployment_record(release=release, actor=team["rm"], status="succeeded")
    assert not deployment.unauthorized and deployment.unauthorized_reasons == []
    assert not Deployment.objects.filter(unauthorized=True).exists()


# --- 5. RAD quality thresholds ----------------------------------------------------


def test_the_policy_s_pass_rate_thresholds_are_quoted_with_their_numbers(team):
    policy(
        team,
        min_pass_rate=99.5,
        suite_min_pass_rates={"End-to-end checkout": 100},
        zero_failure_suites=["Unit"],
    )
    suites = [
        {"name": "Unit", "passed": 117, "failed": 3, "skipped": 0, "link": ""},
        {"name": "End-to-end checkout", "passed": 99, "failed": 1, "skipped": 0, "link": ""},
    ]
    release = release_open_now(team, version="3.0.0", approve=False)
    services.rad_revise(
        release=release,
        content=complete_rad(test_suites=suites, security_blocking=True),
        actor=team["dev"],
    )
    current, _, reasons = services.release_signoff_state(release)
    assert reasons == [
        "All suites: 98.2 % passed, policy needs 99.5 %.",
        "End-to-end checkout: 99.0 % passed, policy needs 100.0 %.",
        "Unit: 3 failed, policy allows none.",
        "Security findings are marked blocking.",
    ]
    with pytest.raises(services.SignOffRefused, match="Not ready for sign-off"):
        sign(release, team["po"], "Business scope")


# --- 6. the gate meeting and the sign-offs agree ------------------------------------


def test_a_go_with_missing_sign_offs_needs_the_explicit_choice(team):
    release = release_open_now(team, version="3.0.0", approve=False)
    meeting = schedule(release, team)
    type(meeting).objects.filter(pk=meeting.pk).update(start=timezone.now() - timedelta(minutes=1))
    meeting.refresh_from_db()
    with pytest.raises(Exception, match="Business scope") as error:
        meeting_record_outcome(meeting=meeting, actor=team["rm"], minutes="ok", decision="go")
    assert "Go, pending sign-offs" in str(error.value)
    meeting.refresh_from_db()
    assert meeting.decision == ""
    meeting_record_outcome(
        meeting=meeting, actor=team["rm"], minutes="ok", decision=MeetingDecision.GO_PENDING
    )
    meeting.refresh_from_db()
    assert meeting.decision == "go_pending"
    assert len(meeting.signoffs_missing) == 5
    [minutes] = entries(Action.MEETING_MINUTES)
    assert minutes.after["signoffs_missing"] == meeting.signoffs_missing


# --- the sign-off form survives garbage ---------------------------------------------


GARBAGE = [
    {"revision": "abc", "decision": "approve", "password": PASSWORD},
    {"revision": "1e9", "decision": "approve", "password": PASSWORD},
    {"revision": "-1", "decision": "approve", "password": PASSWORD},
    {"revision": "1", "decision": "maybe", "password": PASSWORD},
    {"revision": "", "decision": "", "password": ""},
    {"revision": "1" * 400, "decision": "approve' OR 1=1", "password": "x"},
]


@pytest.mark.parametrize("body", GARBAGE)
def test_garbage_in_the_sign_off_form_is_a_form_error_for_the_accountable(client, team, body):
    release = release_open_now(team, version="3.0.0", approve=False)
    url = f"/releases/payments-api/3.0.0/signoff/{activity(release, 'Business scope').pk}/"
    client.force_login(team["po"])
    response = client.post(url, body)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not SignOff.objects.exists()


@pytest.mark.parametrize("body", GARBAGE)
@pytest.mark.parametrize("username", ["qa", "rm", "dev", "auditor"])
def test_garbage_in_the_sign_off_form_is_403_for_anyone_else(client, team, body, username):
    release = release_open_now(team, version="3.0.0", approve=False)
    url = f"/releases/payments-api/3.0.0/signoff/{activity(release, 'Business scope').pk}/"
    client.force_login(team[username])
    before = ChangeLogEntry.objects.filter(action=Action.ACCESS_REFUSED).count()
    assert client.post(url, body).status_code == 403
    assert ChangeLogEntry.objects.filter(action=Action.ACCESS_REFUSED).count() == before + 1
    assert not SignOff.objects.exists()
