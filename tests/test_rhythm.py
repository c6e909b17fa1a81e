"""The release rhythm (issue 15): code cut-off, post-deploy checklist, post-deploy checks,
risk categories. Each rule is also tried the way an attacker would: another door (the
API, a token of another product), another order (before the deployment), another role.
"""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from approvals import rules, services
from approvals.lifecycle import Status
from approvals.models import (
    ApprovalPolicy,
    CheckPhase,
    Deployment,
    GateCheck,
    MonitoringTick,
    RadRevision,
    SignOff,
)
from approvals.rad import rad_normalise
from approvals.selectors import readiness_for, release_rhythm
from audit.models import Action
from meetings import services as meeting_services
from meetings.agenda import meeting_agenda
from meetings.models import Notification, Reminder, ReminderKind
from tests.factories import (
    ACCOUNTABLES,
    PASSWORD,
    activity,
    build_team,
    complete_rad,
    user_create,
)
from tests.helpers import approve_all, entries, new_token, rad_post, schedule, sign

pytestmark = pytest.mark.django_db

CHECKLIST = ["Error rate below 0.1 %", "p99 latency under 300 ms"]
LATE_SCOPE = "## What ships\n\n- Faster checkout\n- Instant refunds"


@pytest.fixture
def team():
    return build_team()


def _policy(team, **fields) -> ApprovalPolicy:
    policy, _ = ApprovalPolicy.objects.update_or_create(product=team["product"], defaults=fields)
    return policy


def _release(team, *, version="3.0.0", cutoff_at=None, window_in=timedelta(days=2), **rad):
    start = timezone.now() + window_in
    release = services.release_create(
        product=team["product"],
        version=version,
        title="Rhythm",
        release_type="normal",
        window_start=start,
        window_end=start + timedelta(hours=4),
        actor=team["rm"],
        cutoff_at=cutoff_at,
    )
    services.rad_revise(release=release, content=complete_rad(**rad), actor=team["dev"])
    return release


def _deployed(team, *, version="3.0.0", **rad):
    """A release deployed just now (window open), its checklist CHECKLIST."""
    rad.setdefault("monitoring", CHECKLIST)
    release = _release(team, version=version, window_in=timedelta(hours=-1), **rad)
    services.release_submit(release=release, actor=team["dev"])
    approve_all(release, team)
    services.deployment_record(release=release, actor=team["rm"], status="succeeded")
    release.refresh_from_db()
    assert release.status == Status.DEPLOYED
    return release


def _late_scope_release(team, **rad):
    """A release in review whose revision 2 changed the Scope after the cut-off."""
    release = _release(team, cutoff_at=timezone.now() - timedelta(hours=1), **rad)
    services.rad_revise(release=release, content=complete_rad(scope=LATE_SCOPE), actor=team["dev"])
    services.release_submit(release=release, actor=team["dev"])
    release.refresh_from_db()
    return release


# --- 1. code cut-off ------------------------------------------------------------


def test_the_cut_off_defaults_to_the_policy_offset_before_the_window(team):
    _policy(team, cutoff_days_before_window=3)
    release = _release(team)
    assert release.cutoff_at == release.window_start - timedelta(days=3)
    [created] = entries(Action.RELEASE_CREATED)
    assert created.after["cutoff_at"] == release.cutoff_at.isoformat()


def test_a_cut_off_after_the_window_opens_is_a_field_error(team):
    with pytest.raises(ValidationError) as error:
        _release(team, cutoff_at=timezone.now() + timedelta(days=9))
    assert "cutoff_at" in error.value.message_dict


def test_the_release_form_takes_a_cut_off_and_refuses_a_late_one(client, team):
    client.force_login(team["rm"])
    start = timezone.now() + timedelta(days=4)
    data = {
        "product": team["product"].pk,
        "version": "3.1.0",
        "title": "Form",
        "release_type": "normal",
        "window_start": start.strftime("%Y-%m-%dT%H:%M"),
        "window_end": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "cutoff_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
    }
    response = client.post(reverse("approvals:release_create"), data)
    assert response.status_code == 200
    assert "The code cut-off must come before the deployment window." in response.content.decode()
    assert not team["product"].releases.filter(version="3.1.0").exists()
    data["cutoff_at"] = (start - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert client.post(reverse("approvals:release_create"), data).status_code == 302
    release = team["product"].releases.get(version="3.1.0")
    page = client.get(release.get_absolute_url()).content.decode()
    assert 'data-testid="cutoff"' in page


def test_a_scope_change_after_the_cut_off_marks_the_revision(team):
    release = _late_scope_release(team)
    first, second = RadRevision.objects.filter(release=release).order_by("number")
    assert (first.scope_changed_after_cutoff, second.scope_changed_after_cutoff) == (False, True)
    logged = entries(Action.RAD_REVISED)[-1]
    assert logged.after["scope_changed_after_cutoff"] is True
    assert logged.reason == "Scope changed after the code cut-off"


def test_other_changes_after_the_cut_off_and_scope_changes_before_it_are_not_marked(team):
    late = _release(team, cutoff_at=timezone.now() - timedelta(hours=1))
    services.rad_revise(
        release=late, content=complete_rad(security_findings="Rescanned"), actor=team["dev"]
    )
    early = _release(team, version="3.0.1", cutoff_at=timezone.now() + timedelta(hours=1))
    services.rad_revise(release=early, content=complete_rad(scope=LATE_SCOPE), actor=team["dev"])
    assert not RadRevision.objects.filter(scope_changed_after_cutoff=True).exists()


def test_the_mark_shows_on_the_release_page_the_diff_and_the_gate_meeting(client, team):
    release = _late_scope_release(team)
    meeting = schedule(release, team)
    client.force_login(team["cc"])
    page = client.get(release.get_absolute_url()).content.decode()
    assert 'data-testid="revision-late-scope"' in page
    assert "Scope changed after the code cut-off" in page
    diff = client.get(release.url("rad_diff")).content.decode()
    assert 'data-testid="diff-late-scope"' in diff
    agenda = meeting_agenda(release=release, user=team["rm"])
    assert agenda.scope_changed_after_cutoff == [2]
    assert agenda.as_text().startswith("Scope changed after the code cut-off: revision 2")
    meeting_page = client.get(meeting.get_absolute_url()).content.decode()
    assert 'data-testid="agenda-late-scope"' in meeting_page


def test_the_calendar_feed_carries_the_cut_off(client, team):
    release = _release(team)
    token = meeting_services.calendar_feed_regenerate(user=team["dev"])
    body = client.get(f"/calendar/{token}.ics").content.decode()
    assert f"SUMMARY:Code cut-off: {release}" in body


def test_with_the_policy_the_go_no_go_must_acknowledge_the_late_scope_change(team):
    _policy(team, cutoff_ack_required=True)
    release = _late_scope_release(team)
    approve_all(release, team, skip=("Go/no-go decision",))  # others need no acknowledgement
    with pytest.raises(services.SignOffRefused) as refused:
        sign(release, team["rm"], "Go/no-go decision")
    assert "acknowledge" in str(refused.value)
    assert entries(Action.SIGNOFF_REFUSED)[-1].reason == str(refused.value)
    assert not SignOff.objects.filter(activity__is_go_no_go=True, release=release).exists()
    signoff, _ = services.signoff_record(
        release=release,
        activity_id=activity(release, "Go/no-go decision").pk,
        signer=team["rm"],
        decision="approve",
        comment="",
        password=PASSWORD,
        revision_number=2,
        cutoff_acknowledged=True,
    )
    assert signoff.cutoff_acknowledged is True
    assert entries(Action.SIGNOFF_RECORDED)[-1].after["cutoff_acknowledged"] is True
    release.refresh_from_db()
    assert release.status == Status.APPROVED


def test_a_verbal_go_no_go_cannot_be_confirmed_without_the_acknowledgement(client, team):
    _policy(team, cutoff_ack_required=True)
    release = _late_scope_release(team)
    approve_all(release, team, skip=("Go/no-go decision",))
    manager = user_create("manager", groups=("Release managers",))
    verbal = services.signoff_record_verbal(
        release=release,
        activity_id=activity(release, "Go/no-go decision").pk,
        recorded_by=manager,
        channel="call",
        given_at=timezone.now(),
        note="",
    )
    client.force_login(team["rm"])
    url = reverse("approvals:verbal_respond", kwargs={"signoff_id": verbal.pk})
    assert 'data-testid="cutoff-ack"' in client.get(url).content.decode()
    response = client.post(url, {"response": "confirm", "password": PASSWORD, "note": ""})
    assert response.status_code == 200
    assert "acknowledge the change" in response.content.decode()
    verbal.refresh_from_db()
    assert verbal.verbal_state == "pending"
    release.refresh_from_db()
    assert release.status == Status.IN_REVIEW
    client.post(url, {"response": "confirm", "password": PASSWORD, "cutoff_acknowledged": "on"})
    verbal.refresh_from_db()
    assert (verbal.verbal_state, verbal.cutoff_acknowledged) == ("confirmed", True)
    release.refresh_from_db()
    assert release.status == Status.APPROVED


def test_without_the_policy_no_acknowledgement_is_asked(team):
    release = _late_scope_release(team)
    approve_all(release, team)
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    assert not SignOff.objects.filter(cutoff_acknowledged=True).exists()


def test_the_sign_off_form_cannot_skip_the_acknowledgement(client, team):
    _policy(team, cutoff_ack_required=True)
    release = _late_scope_release(team)
    approve_all(release, team, skip=("Go/no-go decision",))
    client.force_login(team["rm"])
    url = reverse(
        "approvals:signoff",
        kwargs={
            "product": "payments-api",
            "version": release.version,
            "activity_id": activity(release, "Go/no-go decision").pk,
        },
    )
    form = client.get(url + "?decision=approve").content.decode()
    assert 'data-testid="cutoff-ack"' in form
    data = {"decision": "approve", "revision": 2, "comment": "", "password": PASSWORD}
    response = client.post(url, data)  # the checkbox left out, as a crafted POST would
    assert response.status_code == 200
    assert "acknowledge the change" in response.content.decode()
    assert not SignOff.objects.filter(release=release, activity__is_go_no_go=True).exists()
    response = client.post(url, {**data, "cutoff_acknowledged": "on"})
    assert response.status_code == 302
    assert SignOff.objects.get(release=release, activity__is_go_no_go=True).cutoff_acknowledged


# --- 3. post-deploy checks -------------------------------------------------------


def _report(client, release, token, **body):
    return client.post(
        f"/api/v1/releases/payments-api/{release.version}/checks/",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_a_post_deploy_check_does_not_count_toward_readiness(team):
    _policy(team, required_checks=["smoke"])
    release = _release(team)
    services.gate_check_report(
        release=release, actor=team["rm"], name="smoke", status="pass", phase="after_deployment"
    )
    checks = list(GateCheck.objects.filter(release=release))
    reasons = readiness_for(
        release=release,
        current=services.rad_current(release),
        checks=checks,
        policy=team["product"].policy,
    )
    assert "Gate check “smoke” has not been reported." in reasons


def test_a_failing_post_deploy_check_marks_the_deployment_and_notifies(
    client, team, django_capture_on_commit_callbacks
):
    release = _deployed(team)
    token = new_token(team)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = _report(
            client,
            release,
            token,
            name="smoke",
            status="fail",
            phase="after_deployment",
            details="checkout 502",
        )
    assert response.status_code == 201
    assert response.json()["phase"] == "after_deployment"
    deployment = Deployment.objects.get(release=release, status="succeeded")
    assert deployment.verification_failed_at is not None
    assert deployment.verification_check == "smoke"
    [logged] = entries(Action.DEPLOYMENT_VERIFICATION_FAILED)
    assert logged.reason == "Post-deploy check “smoke” failed: checkout 502"
    told = set(
        Notification.objects.filter(title__contains="verification failed").values_list(
            "user__username", flat=True
        )
    )
    assert told == {"rm", "sre"}  # the release manager and the Operations Accountable
    # Through the event catalogue: one e-mail each, by their chosen channel.
    alerts = [m for m in mail.outbox if "verification failed" in m.subject]
    assert sorted(to for m in alerts for to in m.to) == ["rm@example.test", "sre@example.test"]
    assert all("record the rollback" in alert.body for alert in alerts)
    # A second failure is a report, not a second mark.
    _report(client, release, token, name="smoke", status="fail", phase="after_deployment")
    assert len(entries(Action.DEPLOYMENT_VERIFICATION_FAILED)) == 1


def test_the_release_page_shows_the_failure_and_records_the_rollback(client, team):
    release = _deployed(team)
    services.gate_check_report(
        release=release, actor=team["rm"], name="smoke", status="fail", phase="after_deployment"
    )
    client.force_login(team["rm"])
    page = client.get(release.get_absolute_url()).content.decode()
    assert 'data-testid="verification-failed"' in page
    assert 'data-testid="record-rollback"' in page
    response = client.post(
        release.url("deployment_create"),
        {"status": "rolled_back", "environment": "production", "details": "smoke failed"},
    )
    assert response.status_code == 302
    release.refresh_from_db()
    assert release.status == Status.ROLLED_BACK
    client.force_login(team["ii"])  # Informed: sees the failure, is offered no rollback
    services_page = client.get(release.get_absolute_url()).content.decode()
    assert 'data-testid="verification-failed"' in services_page
    assert 'data-testid="record-rollback"' not in services_page


def test_the_release_page_rhythm_from_what_it_read_equals_the_rhythm_read_alone(team):
    """The release page hands the rhythm panel the revisions, deployments and checks it
    already read; what the panel shows must be exactly what it finds reading its own,
    for a late Scope change, a failed verification, a rollback and a new deployment."""
    from approvals.selectors import (
        ReleaseLoaded,
        deployments_for_release,
        revision_with_content,
        revisions_for_release,
    )

    release = _deployed(team)
    services.gate_check_report(
        release=release, actor=team["rm"], name="smoke", status="fail", phase="after_deployment"
    )
    services.gate_check_report(release=release, actor=team["rm"], name="unit", status="pass")

    def both():
        release.refresh_from_db()
        revisions = revisions_for_release(release=release)
        loaded = ReleaseLoaded(
            current=revision_with_content(release=release, number=revisions[-1].number),
            revisions=revisions,
            deployments=deployments_for_release(release=release),
            checks=list(GateCheck.objects.filter(release=release).select_related("reported_by")),
        )
        for user in (team["rm"], team["sre"], team["po"]):
            alone = release_rhythm(release=release, user=user)
            given = release_rhythm(release=release, user=user, loaded=loaded)
            assert alone == given, user
        return alone

    deployed = both()
    assert deployed.deployment is not None and deployed.verification_failed
    assert [c.name for c in deployed.post_deploy_checks] == ["smoke"]
    services.deployment_record(release=release, actor=team["rm"], status="rolled_back")
    assert both().deployment == deployed.deployment  # the last one that succeeded
    late = _late_scope_release(team, version="3.1.0")
    release = late
    assert both().scope_changed_after_cutoff == [2]


def test_a_failing_post_deploy_check_before_the_deployment_marks_nothing(team):
    release = _release(team)
    services.gate_check_report(
        release=release, actor=team["rm"], name="smoke", status="fail", phase="after_deployment"
    )
    assert not entries(Action.DEPLOYMENT_VERIFICATION_FAILED)


def test_a_post_deploy_check_never_halts_through_the_required_check_policy(team):
    _policy(team, required_checks=["smoke"], halt_on_check_failure=True)
    release = _release(team, window_in=timedelta(hours=-1))
    services.gate_check_report(release=release, actor=team["rm"], name="smoke", status="pass")
    services.release_submit(release=release, actor=team["dev"])
    approve_all(release, team)
    services.gate_check_report(
        release=release, actor=team["rm"], name="smoke", status="fail", phase="after_deployment"
    )
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    assert GateCheck.objects.filter(release=release, name="smoke").count() == 2


def test_a_service_account_of_another_product_cannot_report_a_post_deploy_check(client, team):
    release = _deployed(team)
    other = services.product_create(name="Ledger", slug="ledger", actor=team["rm"])
    token = new_token(team, name="ci-ledger", products=[other])
    before = len(entries())
    response = _report(
        client, release, token, name="smoke", status="fail", phase="after_deployment"
    )
    assert response.status_code == 403
    assert not GateCheck.objects.filter(release=release).exists()
    assert Deployment.objects.get(release=release).verification_failed_at is None
    refusals = [e for e in entries()[before:] if e.action == Action.ACCESS_REFUSED]
    assert len(refusals) == 1


def test_an_unknown_phase_is_a_field_error(client, team):
    release = _deployed(team)
    response = _report(client, release, new_token(team), name="smoke", status="fail", phase="later")
    assert response.status_code == 400
    assert "phase" in response.json()["fields"]
    assert not GateCheck.objects.exists()


# --- 2. post-deploy checklist ------------------------------------------------------


def _tick_url(release, position=0, api=False) -> str:
    kwargs = {"product": "payments-api", "version": release.version, "position": position}
    return reverse("api:monitoring_tick" if api else "approvals:monitoring_tick", kwargs=kwargs)


def test_the_responsible_and_the_operations_accountable_tick_with_note_and_link(client, team):
    release = _deployed(team)
    client.force_login(team["dev"])
    response = client.post(
        _tick_url(release, 0), {"note": "flat", "link": "grafana.example.com/d/1"}
    )
    assert response.status_code == 302
    client.force_login(team["sre"])
    client.post(_tick_url(release, 1), {"note": "", "link": ""})
    ticks = list(MonitoringTick.objects.order_by("position"))
    assert [(t.position, t.item, t.ticked_by.username) for t in ticks] == [
        (0, CHECKLIST[0], "dev"),
        (1, CHECKLIST[1], "sre"),
    ]
    assert ticks[0].link == "https://grafana.example.com/d/1"
    assert len(entries(Action.MONITORING_TICKED)) == 2
    page = client.get(release.get_absolute_url()).content.decode()
    assert "2 of 2 ticked" in page


def test_the_checklist_cannot_be_ticked_before_the_deployment(client, team):
    release = _release(team, window_in=timedelta(hours=-1), monitoring=CHECKLIST)
    services.release_submit(release=release, actor=team["dev"])
    approve_all(release, team)
    with pytest.raises(services.MonitoringRefused) as refused:
        services.monitoring_tick(release=release, actor=team["dev"], position=0)
    assert not refused.value.forbidden
    client.force_login(team["dev"])
    client.post(_tick_url(release), {"note": "early"})
    response = client.post(_tick_url(release, api=True), {}, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["error"] == "tick_refused"
    assert not MonitoringTick.objects.exists()
    assert len([e for e in entries(Action.ACCESS_REFUSED) if "not ticked" in e.reason]) == 3


@pytest.mark.parametrize("username", ["po", "rm", "cc", "ii", "auditor"])
def test_someone_without_the_role_is_refused_on_the_page_and_the_api(client, team, username):
    release = _deployed(team)
    client.force_login(team[username])
    before = len(entries(Action.ACCESS_REFUSED))
    assert client.post(_tick_url(release), {"note": "x"}).status_code == 403
    response = client.post(
        _tick_url(release, api=True), {"note": "x"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert not MonitoringTick.objects.exists()
    assert len(entries(Action.ACCESS_REFUSED)) == before + 2


def test_an_outsider_gets_404_and_a_token_403(client, team):
    release = _deployed(team)
    client.force_login(team["outsider"])
    assert client.post(_tick_url(release), {}).status_code == 404
    client.logout()
    response = client.post(
        _tick_url(release, api=True),
        {},
        content_type="application/json",
        headers={"Authorization": f"Bearer {new_token(team)}"},
    )
    assert response.status_code == 403
    assert not MonitoringTick.objects.exists()


def test_an_item_is_ticked_once_and_unknown_items_and_bad_links_are_refused(client, team):
    release = _deployed(team)
    services.monitoring_tick(release=release, actor=team["dev"], position=0)
    with pytest.raises(services.MonitoringRefused, match="already ticked"):
        services.monitoring_tick(release=release, actor=team["sre"], position=0)
    with pytest.raises(services.MonitoringRefused, match="no such item"):
        services.monitoring_tick(release=release, actor=team["sre"], position=2)
    client.force_login(team["sre"])
    response = client.post(
        _tick_url(release, 1, api=True),
        {"link": "javascript:alert(1)"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "link" in response.json()["fields"]
    assert client.post(_tick_url(release, 1), {"link": "ftp://x"}).status_code == 302
    assert MonitoringTick.objects.count() == 1


def test_unticked_items_fall_overdue_after_the_policy_hours(team):
    _policy(team, monitoring_tick_hours=2)
    release = _deployed(team)
    services.monitoring_tick(release=release, actor=team["dev"], position=0)
    soon = release_rhythm(release=release, user=team["dev"], now=timezone.now())
    later = release_rhythm(
        release=release, user=team["dev"], now=timezone.now() + timedelta(hours=2, minutes=1)
    )
    assert [i.overdue for i in soon.items] == [False, False]
    assert [i.overdue for i in later.items] == [False, True]


def test_the_deployment_plans_one_reminder_per_person_who_ticks(team):
    _policy(team, monitoring_tick_hours=2)
    release = _deployed(team)
    reminders = Reminder.objects.filter(kind=ReminderKind.MONITORING, release=release)
    assert sorted(r.user.username for r in reminders) == ["dev", "sre"]
    assert {r.due_at for r in reminders} == {release.deployed_at + timedelta(hours=2)}


def test_overdue_reminders_go_out_once_and_not_when_all_is_ticked(team):
    release = _deployed(team)
    later = timezone.now() + timedelta(hours=3)
    mail.outbox.clear()
    first = meeting_services.reminders_dispatch(now=later)
    again = meeting_services.reminders_dispatch(now=later)
    assert (first["sent"], again["sent"]) == (2, 0)
    subjects = sorted((m.to[0], m.subject) for m in mail.outbox)
    assert subjects == [
        ("dev@example.test", f"Post-deploy checklist overdue for {release}"),
        ("sre@example.test", f"Post-deploy checklist overdue for {release}"),
    ]
    ticked = _deployed(team, version="3.0.1")
    for position in range(len(CHECKLIST)):
        services.monitoring_tick(release=ticked, actor=team["sre"], position=position)
    mail.outbox.clear()
    counts = meeting_services.reminders_dispatch(now=later)
    assert counts["dropped"] == 2 and mail.outbox == []


def test_the_post_release_review_shows_the_ticked_list(client, team):
    release = _deployed(team)
    services.monitoring_tick(release=release, actor=team["sre"], position=1, note="p99 210 ms")
    services.gate_check_report(
        release=release, actor=team["rm"], name="smoke", status="pass", phase="after_deployment"
    )
    client.force_login(team["dev"])
    page = client.get(release.url("review_create")).content.decode()
    assert 'data-testid="review-checklist"' in page
    assert "1 of 2 monitoring items ticked" in page
    assert "p99 210 ms" in page and "not ticked" in page and "smoke pass" in page


# --- 4. risk categories ------------------------------------------------------------


def test_risks_carry_a_category_defaulting_to_technical():
    content = rad_normalise(
        complete_rad(
            risks=[
                {"description": "a", "category": "legal"},
                {"description": "b"},
                {"description": "c", "category": "made-up"},
            ]
        )
    )
    assert [r["category"] for r in content["risks"]] == ["legal", "technical", "technical"]


def test_a_missing_required_risk_category_blocks_readiness(team):
    _policy(
        team, required_risk_categories=["legal", "support"], risk_judge_activity="Business scope"
    )
    risks = [
        {
            "description": "GDPR export",
            "category": "legal",
            "likelihood": 2,
            "impact": 3,
            "mitigation": "DPO reviewed",
        }
    ]
    release = _release(team, risks=risks)
    services.release_submit(release=release, actor=team["dev"])
    reasons = readiness_for(
        release=release,
        current=services.rad_current(release),
        checks=[],
        policy=team["product"].policy,
    )
    assert "The risk assessment has no risk in the required category Support readiness." in reasons
    with pytest.raises(services.SignOffRefused, match="Support readiness"):
        sign(release, team["po"], "Business scope")
    assert not SignOff.objects.filter(release=release, decision="approve").exists()


def test_the_named_activity_judges_the_required_categories_in_its_signature(client, team):
    _policy(team, required_risk_categories=["legal"], risk_judge_activity="Business scope")
    risks = [{"description": "GDPR", "category": "legal", "mitigation": "DPO", "likelihood": 1}]
    release = _release(team, risks=risks)
    services.release_submit(release=release, actor=team["dev"])
    client.force_login(team["ii"])
    page = client.get(release.get_absolute_url()).content.decode()
    assert "judged by the Accountable of Business scope (Po Tester)" in page
    signoff, _ = sign(release, team["po"], "Business scope")
    assert signoff.meaning.endswith(", having judged its Legal / compliance risks")
    other, _ = sign(release, team["qa"], "Test thresholds")
    assert "judged" not in other.meaning


def test_the_rad_editor_records_the_category_and_the_page_shows_it(client, team):
    _policy(team, required_risk_categories=["support"])
    release = _release(team)
    content = complete_rad()
    content["risks"][0]["category"] = "support"
    client.force_login(team["dev"])
    response = client.post(release.url("rad_edit"), rad_post(content))
    assert response.status_code == 302
    assert services.rad_current(release).content["risks"][0]["category"] == "support"
    page = client.get(release.get_absolute_url()).content.decode()
    assert "Support readiness" in page
    assert "required category" not in page


# --- the pure rules, branch by branch -----------------------------------------------


NOW = timezone.now()


@pytest.mark.parametrize(
    ("cutoff", "previous", "new", "marked"),
    [
        (None, "a", "b", False),
        (NOW - timedelta(hours=1), "a", "b", True),
        (NOW - timedelta(hours=1), "a", "a", False),
        (NOW - timedelta(hours=1), None, "b", False),
        (NOW + timedelta(hours=1), "a", "b", False),
        (NOW, "a", "b", False),
    ],
)
def test_rule_scope_changed_after_cutoff(cutoff, previous, new, marked):
    assert (
        rules.scope_changed_after_cutoff(
            cutoff_at=cutoff, now=NOW, previous_scope=previous, new_scope=new
        )
        is marked
    )


@pytest.mark.parametrize(
    ("required", "go", "decision", "changed", "ack", "refused"),
    [
        (True, True, "approve", True, False, True),
        (True, True, "approve", True, True, False),
        (False, True, "approve", True, False, False),
        (True, False, "approve", True, False, False),
        (True, True, "reject", True, False, False),
        (True, True, "approve", False, False, False),
    ],
)
def test_rule_cutoff_ack_refusal(required, go, decision, changed, ack, refused):
    message = rules.cutoff_ack_refusal(
        required=required,
        is_go_no_go=go,
        decision=decision,
        scope_changed=changed,
        acknowledged=ack,
    )
    assert bool(message) is refused


@pytest.mark.parametrize(
    ("status", "deployed", "may", "position", "expected"),
    [
        ("deployed", True, True, 0, ("", False)),
        ("deployed", True, False, 0, ("role", True)),
        ("approved", False, False, 0, ("role", True)),
        ("approved", False, True, 0, ("before", False)),
        ("deployed", False, True, 0, ("before", False)),
        ("deployed", True, True, 2, ("item", False)),
        ("deployed", True, True, -1, ("item", False)),
    ],
)
def test_rule_monitoring_tick_refusal(status, deployed, may, position, expected):
    message, forbidden = rules.monitoring_tick_refusal(
        status=status, has_deployment=deployed, may_tick=may, position=position, items=2
    )
    word = {"role": "Only the", "before": "after a deployment", "item": "no such item"}
    assert forbidden is expected[1]
    assert (word[expected[0]] in message) if expected[0] else message == ""


@pytest.mark.parametrize(
    ("phase", "status", "release_status", "fails"),
    [
        (CheckPhase.AFTER_DEPLOYMENT, "fail", "deployed", True),
        (CheckPhase.AFTER_DEPLOYMENT, "pending", "deployed", False),
        (CheckPhase.AFTER_DEPLOYMENT, "fail", "approved", False),
        (CheckPhase.BEFORE_APPROVAL, "fail", "deployed", False),
    ],
)
def test_rule_verification_fails(phase, status, release_status, fails):
    assert (
        rules.verification_fails(phase=phase, status=status, release_status=release_status) is fails
    )


def test_rule_monitoring_overdue():
    assert not rules.monitoring_overdue(deployed_at=None, hours=2, now=NOW)
    assert not rules.monitoring_overdue(
        deployed_at=NOW - timedelta(hours=2, seconds=-1), hours=2, now=NOW
    )
    assert rules.monitoring_overdue(deployed_at=NOW - timedelta(hours=2), hours=2, now=NOW)


def test_rule_risk_category_refusals():
    risks = [{"category": "legal"}, {}]
    assert rules.risk_category_refusals(risks=risks, required=["legal", "technical"]) == []
    [refusal] = rules.risk_category_refusals(risks=risks, required=["brand", "support", "legal"])
    assert refusal.code == "risk_category_missing"
    assert refusal.message == (
        "The risk assessment has no risk in the required categories "
        "Brand / communication, Support readiness."
    )


def test_accountables_table_names_the_operations_accountable():
    # The personas these tests lean on: sre is Accountable of the operations activity.
    assert ACCOUNTABLES["Operational readiness"] == "sre"
    assert ApprovalPolicy().operations_activity == "Operational readiness"


# --- 5. the demo ------------------------------------------------------------------


def test_seed_demo_shows_a_deployed_release_half_ticked_with_a_smoke_check(settings, client):
    settings.DEMO_PASSWORD = "demo-pass-1"
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())  # again: nothing duplicated
    deployment = Deployment.objects.get(release__version="2.3.0", status="succeeded")
    assert MonitoringTick.objects.filter(deployment=deployment).count() == 2
    assert len(services.rad_current(deployment.release).content["monitoring"]) == 4
    [smoke] = GateCheck.objects.filter(phase=CheckPhase.AFTER_DEPLOYMENT)
    assert (smoke.release, smoke.name, smoke.status) == (
        deployment.release,
        "smoke-payouts",
        "pass",
    )
    late = RadRevision.objects.get(release__version="2.4.0", scope_changed_after_cutoff=True)
    assert late.number == 3
    client.force_login(deployment.release.created_by)
    page = client.get(deployment.release.get_absolute_url()).content.decode()
    assert "2 of 4 ticked" in page and "smoke-payouts" in page


@pytest.mark.parametrize(
    ("name", "judge", "required", "expected"),
    [
        (
            "Business scope",
            "Business scope",
            ["legal", "brand"],
            ["Legal / compliance", "Brand / communication"],
        ),
        ("Business scope", "", ["legal"], []),
        ("Test thresholds", "Business scope", ["legal"], []),
        ("Business scope", "Business scope", [], []),
    ],
)
def test_rule_judged_risk_categories(name, judge, required, expected):
    assert (
        rules.judged_risk_categories(activity_name=name, judge_activity=judge, required=required)
        == expected
    )
