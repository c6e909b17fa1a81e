"""Sign-off services: only the Accountable, separation of duties, readiness,
voiding, verbal approvals and the rest of the lifecycle."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from approvals import services
from approvals.lifecycle import Status
from approvals.models import ApprovalPolicy, Deployment, SignOff
from approvals.services import release_raci_update
from audit.models import Action
from raci import permissions
from raci.models import Activity
from raci.selectors import raci_matrix
from tests.factories import ACCOUNTABLES, PASSWORD, activity, complete_rad, release_in_review
from tests.helpers import approve_all, entries, sign

pytestmark = pytest.mark.django_db


def test_the_accountable_approves_with_the_frozen_manifestation(team, release):
    signoff, created = sign(release, team["po"], "Business scope")
    assert created
    assert signoff.printed_name == "Po Tester"
    assert signoff.meaning == "I approve Business scope for Payments API 2.4.0, RAD revision 1"
    current = services.rad_current(release)
    assert (signoff.revision_number, signoff.revision_sha256) == (1, current.sha256)
    assert signoff.method == "e-signature"
    assert signoff.signed_at.utcoffset() == timedelta(0)
    [entry] = entries(Action.SIGNOFF_RECORDED)
    assert entry.after["meaning"] == signoff.meaning
    assert entry.after["sha256"] == current.sha256


@pytest.mark.parametrize("username", ["qa", "cc", "ii", "rm", "outsider", "admin"])
def test_nobody_but_the_accountable_can_sign(team, release, username):
    with pytest.raises(services.SignOffRefused) as error:
        sign(release, team[username], "Business scope")
    assert error.value.forbidden
    assert "its Accountable is Po Tester" in str(error.value)
    assert not SignOff.objects.exists()
    [refusal] = entries(Action.SIGNOFF_REFUSED)
    assert refusal.actor == team[username]


def test_the_author_and_submitter_of_the_revision_cannot_sign(team):
    # dev wrote and submitted; make dev the Accountable of Business scope.
    release = release_in_review(team)
    cells = _cells(release)
    scope = activity(release, "Business scope")
    cells[scope.pk] = {team["dev"].pk: "A", team["po"].pk: "C"}
    release_raci_update(release=release, actor=team["rm"], cells=cells)
    with pytest.raises(services.SignOffRefused) as error:
        sign(release, team["dev"], "Business scope")
    assert str(error.value) == "You cannot approve Business scope: you submitted revision 1."
    assert not error.value.forbidden  # the Accountable sees why, as a message
    assert not SignOff.objects.exists()


def test_a_wrong_password_is_refused_logged_and_records_nothing(team, release):
    with pytest.raises(services.SignOffRefused, match="Wrong password"):
        sign(release, team["po"], "Business scope", password="not-my-password")
    assert not SignOff.objects.exists()
    [refusal] = entries(Action.SIGNOFF_REFUSED)
    assert refusal.reason == "Wrong password: the sign-off was not recorded."


def test_a_replayed_approval_yields_one_signoff(team, release):
    first, created = sign(release, team["po"], "Business scope")
    again, created_again = sign(release, team["po"], "Business scope")
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert SignOff.objects.count() == 1
    assert len(entries(Action.SIGNOFF_RECORDED)) == 1


def test_the_last_required_approval_approves_the_release(team, release):
    approve_all(release, team, skip=("Go/no-go decision",))
    release.refresh_from_db()
    assert release.status == Status.IN_REVIEW
    sign(release, team["rm"], "Go/no-go decision")
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    [approved] = entries(Action.RELEASE_APPROVED)
    assert approved.after["revision"] == 1


def test_reject_needs_a_comment_and_sends_the_release_back_with_the_reason(team, release):
    sign(release, team["po"], "Business scope")
    with pytest.raises(ValidationError):
        sign(release, team["qa"], "Test thresholds", decision="reject")
    sign(release, team["qa"], "Test thresholds", decision="reject", comment="E2E flaky")
    release.refresh_from_db()
    assert release.status == Status.DRAFT
    assert release.status_reason == "Test thresholds rejected by Qa Tester: E2E flaky"
    assert not SignOff.objects.filter(voided_at__isnull=True).exists()
    assert len(entries(Action.SIGNOFF_VOIDED)) == 2


def test_signing_a_stale_revision_is_refused(team, release):
    services.rad_revise(release=release, content=complete_rad(scope="Changed"), actor=team["dev"])
    with pytest.raises(services.SignOffRefused, match="changed to revision 2"):
        sign(release, team["po"], "Business scope", revision=1)
    assert not SignOff.objects.exists()


def test_a_new_revision_voids_earlier_signoffs(team, release):
    signoff, _ = sign(release, team["po"], "Business scope")
    services.rad_revise(release=release, content=complete_rad(scope="Changed"), actor=team["dev"])
    signoff.refresh_from_db()
    assert signoff.is_void
    assert signoff.void_reason == "RAD changed after signing"
    [voided] = entries(Action.SIGNOFF_VOIDED)
    assert voided.before["revision"] == 1
    mine = services_my(team["po"])
    assert [s.pk for s in mine.resign] == [signoff.pk]
    assert mine.resign[0].current_number == 2


def services_my(user):
    from approvals.selectors import my_signoffs

    return my_signoffs(user=user)


def test_readiness_blocks_approval_until_checks_pass(team, release):
    ApprovalPolicy.objects.filter(product=release.product).delete()
    ApprovalPolicy.objects.create(product=release.product, required_checks=["security-scan"])
    with pytest.raises(services.SignOffRefused, match="“security-scan” has not been reported"):
        sign(release, team["po"], "Business scope")
    services.gate_check_report(
        release=release, actor=team["rm"], name="security-scan", status="fail", details="2 high"
    )
    with pytest.raises(services.SignOffRefused, match="is fail"):
        sign(release, team["po"], "Business scope")
    # Rejecting stays possible while not ready.
    services.gate_check_report(
        release=release, actor=team["rm"], name="security-scan", status="pass"
    )
    signoff, _ = sign(release, team["po"], "Business scope")
    assert signoff.decision == "approve"
    assert len(entries(Action.GATE_CHECK_REPORTED)) == 2


def test_an_open_critical_defect_and_a_stale_rehearsal_block_approval(team):
    stale = (timezone.localdate() - timedelta(days=45)).isoformat()
    rad = complete_rad()
    rad["rollback"]["rehearsed_on"] = stale
    rad["defects"] = [{"title": "Crash", "severity": "critical", "link": "", "state": "open"}]
    release = release_in_review(team, **{k: rad[k] for k in ("rollback", "defects")})
    with pytest.raises(services.SignOffRefused) as error:
        sign(release, team["po"], "Business scope")
    assert "Open critical defect: Crash." in str(error.value)
    assert "last rehearsed 45 days ago; the policy allows 30" in str(error.value)


def test_a_hotfix_needs_only_the_go_no_go_decision(team, release):
    hotfix = release_in_review(team, version="2.4.1", release_type="hotfix", fixes=release)
    with pytest.raises(services.SignOffRefused, match="needs no sign-off on a hotfix"):
        sign(hotfix, team["po"], "Business scope")
    sign(hotfix, team["rm"], "Go/no-go decision")
    hotfix.refresh_from_db()
    assert hotfix.status == Status.APPROVED
    services.deployment_record(release=hotfix, actor=team["rm"], status="succeeded")
    hotfix.refresh_from_db()
    assert hotfix.review_due_at == hotfix.deployed_at + timedelta(days=5)


def test_halt_voids_the_go_no_go_signature_and_signing_again_resumes(team, release):
    approve_all(release, team)
    with pytest.raises(ValidationError):
        services.release_halt(release=release, actor=team["dev"], reason=" ")
    services.release_halt(release=release, actor=team["dev"], reason="Card network outage")
    release.refresh_from_db()
    assert (release.status, release.status_reason) == (Status.HALTED, "Card network outage")
    go = activity(release, "Go/no-go decision")
    assert SignOff.objects.get(activity=go, voided_at__isnull=False).void_reason == (
        "Release halted: Card network outage"
    )
    with pytest.raises(services.SignOffRefused, match="revised, not rejected"):
        sign(release, team["rm"], "Go/no-go decision", decision="reject", comment="no")
    sign(release, team["rm"], "Go/no-go decision")
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    assert len(entries(Action.RELEASE_RESUMED)) == 1


def test_revise_sends_a_halted_release_back_to_draft(team, release):
    approve_all(release, team)
    services.release_halt(release=release, actor=team["rm"], reason="Stop")
    services.release_revise(release=release, actor=team["dev"], reason="Rework retries")
    release.refresh_from_db()
    assert release.status == Status.DRAFT
    assert not SignOff.objects.filter(release=release, voided_at__isnull=True).exists()


def test_a_pending_verbal_approval_does_not_count_and_a_dispute_voids_it(
    team, release, mailoutbox, django_capture_on_commit_callbacks
):
    approve_all(release, team, skip=("Business scope",))
    with django_capture_on_commit_callbacks(execute=True):
        signoff = services.signoff_record_verbal(
            release=release,
            activity_id=activity(release, "Business scope").pk,
            recorded_by=team["rm"],
            channel="phone call",
            given_at=timezone.now() - timedelta(minutes=5),
            note="Said yes on the bridge",
        )
    release.refresh_from_db()
    # A witnessed record is not a signature: the release waits for the Accountable.
    assert release.status == Status.IN_REVIEW
    assert (signoff.method, signoff.verbal_state, signoff.recorded_by) == (
        "verbal",
        "pending",
        team["rm"],
    )
    assert mailoutbox[-1].to == ["po@example.test"]
    assert f"/signoffs/{signoff.pk}/verbal/" in mailoutbox[-1].body
    with pytest.raises(services.SignOffRefused) as error:
        services.signoff_verbal_respond(
            signoff=signoff, actor=team["qa"], confirm=False, password=PASSWORD
        )
    assert error.value.forbidden
    services.signoff_verbal_respond(
        signoff=signoff,
        actor=team["po"],
        confirm=False,
        password=PASSWORD,
        note="I never said that",
    )
    release.refresh_from_db()
    assert release.status == Status.IN_REVIEW
    signoff.refresh_from_db()
    assert signoff.is_void and signoff.verbal_state == "disputed"
    assert "Disputed by Po Tester" in signoff.void_reason


def test_a_confirmed_verbal_approval_stays(team, release):
    signoff = services.signoff_record_verbal(
        release=release,
        activity_id=activity(release, "Business scope").pk,
        recorded_by=team["rm"],
        channel="gate meeting",
        given_at=timezone.now(),
        note="",
    )
    with pytest.raises(services.SignOffRefused, match="Wrong password"):
        services.signoff_verbal_respond(
            signoff=signoff, actor=team["po"], confirm=True, password="nope"
        )
    services.signoff_verbal_respond(
        signoff=signoff, actor=team["po"], confirm=True, password=PASSWORD
    )
    signoff.refresh_from_db()
    assert signoff.verbal_state == "confirmed" and not signoff.is_void
    assert len(entries(Action.VERBAL_CONFIRMED)) == 1


def test_deployments_move_the_lifecycle_and_the_review_closes_it(team, release):
    # Facts are facts: a deployment before approval is recorded, flagged, and moves nothing.
    early = services.deployment_record(release=release, actor=team["rm"], status="started")
    release.refresh_from_db()
    assert release.status == Status.IN_REVIEW
    assert early.unauthorized
    assert {r["code"] for r in early.unauthorized_reasons} >= {"not_approved", "window_not_open"}
    approve_all(release, team)
    services.deployment_record(release=release, actor=team["rm"], status="started")
    services.deployment_record(
        release=release, actor=team["rm"], status="failed", details="health check"
    )
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    services.deployment_record(release=release, actor=team["rm"], status="succeeded")
    services.deployment_record(
        release=release, actor=team["rm"], status="rolled_back", details="latency"
    )
    release.refresh_from_db()
    assert release.status == Status.ROLLED_BACK
    assert Deployment.objects.filter(release=release).count() == 5
    with pytest.raises(ValidationError):
        services.review_record(release=release, actor=team["rm"], went_well="", slipped="")
    services.review_record(
        release=release,
        actor=team["rm"],
        went_well="Fast rollback",
        slipped="Latency test missed",
        template_changes="Add p99 gate",
    )
    release.refresh_from_db()
    assert release.status == Status.CLOSED
    assert entries(Action.RELEASE_CLOSED)[0].after["template_changes"] == "Add p99 gate"


# --- RACI matrix and permissions -------------------------------------------


def _cells(release):
    matrix = raci_matrix(release=release)
    cells = {a.pk: {} for a in matrix.activities}
    for (activity_id, user_id), letter in matrix.cells.items():
        cells[activity_id][user_id] = letter
    return cells


def test_a_new_release_gets_the_template_and_its_permissions(team, release):
    assert [a.name for a in Activity.objects.filter(release=release)] == list(ACCOUNTABLES)
    perms = permissions.release_object_perms(release)
    assert perms[team["dev"].pk] == set(permissions.LETTER_PERMISSIONS["R"])
    assert perms[team["po"].pk] == {"view_release", "comment_release", "halt_release"}
    assert perms[team["ii"].pk] == {"view_release"}
    assert team["outsider"].pk not in perms
    granted = entries(Action.PERMISSION_GRANTED)
    assert {e.after["user"] for e in granted} == {"po", "qa", "sre", "rm", "dev", "cc", "ii"}


def test_every_activity_needs_exactly_one_accountable(team, release):
    cells = _cells(release)
    scope = activity(release, "Business scope").pk
    cells[scope][team["qa"].pk] = "A"
    with pytest.raises(ValidationError) as error:
        release_raci_update(release=release, actor=team["rm"], cells=cells)
    assert "Business scope: needs exactly one Accountable (A), has 2." in error.value.messages
    del cells[scope][team["qa"].pk]
    del cells[scope][team["po"].pk]
    with pytest.raises(ValidationError) as error:
        release_raci_update(release=release, actor=team["rm"], cells=cells)
    assert "Business scope: needs exactly one Accountable (A), has 0." in error.value.messages


def test_changing_the_matrix_grants_and_revokes_in_the_same_transaction(team, release):
    cells = _cells(release)
    for row in cells.values():
        row.pop(team["ii"].pk, None)  # ii leaves the release
    cells[activity(release, "Business scope").pk][team["outsider"].pk] = "C"
    assert release_raci_update(release=release, actor=team["rm"], cells=cells)
    perms = permissions.release_object_perms(release)
    assert team["ii"].pk not in perms
    assert perms[team["outsider"].pk] == {"view_release", "comment_release"}
    [revoked] = entries(Action.PERMISSION_REVOKED)
    assert revoked.before == {"user": "ii", "permissions": ["view_release"]}
    changed = entries(Action.RACI_CHANGED)[-1]
    assert changed.before["Business scope"]["ii"] == "I"
    assert "ii" not in changed.after["Business scope"]
    assert changed.after["Business scope"]["outsider"] == "C"


def test_a_new_accountable_voids_the_old_one_s_signature(team, release):
    signoff, _ = sign(release, team["po"], "Business scope")
    cells = _cells(release)
    scope = activity(release, "Business scope").pk
    cells[scope][team["po"].pk] = "C"
    cells[scope][team["cc"].pk] = "A"
    release_raci_update(release=release, actor=team["rm"], cells=cells)
    signoff.refresh_from_db()
    assert signoff.void_reason == "The activity's Accountable changed"


def test_a_new_activity_can_be_added_with_its_accountable(team, release):
    release_raci_update(
        release=release,
        actor=team["rm"],
        cells=_cells(release),
        new_activity="Data protection",
        new_activity_cells={team["po"].pk: "A"},
    )
    assert activity(release, "Data protection").assignments.get().letter == "A"


def test_the_explanation_says_why(team, release):
    from approvals.selectors import release_progress

    progress = release_progress(
        release=release, user=team["po"], current=services.rad_current(release)
    )
    rows = {r.activity.name: r for r in progress.rows}
    assert rows["Business scope"].why == "You can approve Business scope: you are its Accountable."
    assert rows["Test thresholds"].why == (
        "You cannot approve Test thresholds: its Accountable is Qa Tester."
    )
    assert rows["Business scope"].can_sign and not rows["Test thresholds"].can_sign


def test_a_gate_check_reported_in_the_admin_goes_through_the_service(client, team, release):
    client.force_login(team["admin"])
    response = client.post(
        "/admin/approvals/gatecheck/add/",
        {
            "release": release.pk,
            "name": "security-scan",
            "status": "pass",
            "details": "clean",
            "url": "",
        },
    )
    assert response.status_code == 302
    check = release.gate_checks.get()
    assert (check.status, check.reported_by) == ("pass", team["admin"])
    [entry] = entries(Action.GATE_CHECK_REPORTED)
    assert entry.actor == team["admin"]


def test_the_release_page_explains_every_action(client, team, release):
    client.force_login(team["dev"])
    access = {
        label: (allowed, why)
        for label, allowed, why in client.get(release.get_absolute_url()).context["access_rows"]
    }
    assert access["edit the RAD"] == (
        True,
        "You can edit the RAD: you are Responsible for Business scope.",
    )
    assert access["edit the RACI matrix"][0] is False
    client.force_login(team["cc"])
    access = {
        label: (allowed, why)
        for label, allowed, why in client.get(release.get_absolute_url()).context["access_rows"]
    }
    assert access["comment"] == (True, "You can comment: you are Consulted for Business scope.")
    assert access["halt it"] == (
        False,
        "You cannot halt it: you are Consulted for Business scope, Consulted for Test "
        "thresholds, which does not allow it.",
    )
    client.force_login(team["rm"])
    access = {
        label: (allowed, why)
        for label, allowed, why in client.get(release.get_absolute_url()).context["access_rows"]
    }
    assert access["record deployments"] == (
        True,
        "You can record deployments: you are in Release managers.",
    )


def test_an_auditor_is_told_access_is_read_only(client, team, release):
    client.force_login(team["auditor"])
    access = client.get(release.get_absolute_url()).context["access_rows"]
    assert all(not allowed for _, allowed, _ in access)
    assert access[0][2] == "You cannot edit the RAD: auditors have read-only access."
