"""Approver teams: a team as an activity's Accountable (any one, or M of N)."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals import selectors, services
from approvals.lifecycle import Status
from approvals.models import SignOff
from audit.models import Action
from raci import permissions
from raci import services as raci_services
from raci.models import Team
from tests.factories import PASSWORD, activity, release_in_review, user_create
from tests.helpers import entries, sign

pytestmark = pytest.mark.django_db

SCOPE = "Business scope"


def security_leads(team, *names):
    """A team of `names` (ana, ben, cat, dan by default), created by rm."""
    leads = raci_services.team_create(name="Security leads", actor=team["rm"])
    for name in names or ("ana", "ben", "cat", "dan"):
        member = user_create(name, first_name=name.title(), last_name="Lead")
        raci_services.team_member_add(team=leads, user=member, actor=team["rm"])
        team[name] = member
    return leads


def team_accountable(team, release, leads, *, required=2, name=SCOPE):
    services.activity_team_set(
        release=release,
        actor=team["rm"],
        activity_id=activity(release, name).pk,
        team=leads,
        required=required,
    )
    release.refresh_from_db()


def approve_others(release, team):
    for name, username in (
        ("Test thresholds", "qa"),
        ("Operational readiness", "sre"),
        ("Deployment & rollback plan", "rm"),
        ("Go/no-go decision", "rm"),
    ):
        sign(release, team[username], name)


def scope_row(release, user):
    current = services.rad_current(release)
    progress = selectors.release_progress(release=release, user=user, current=current)
    return next(r for r in progress.rows if r.activity.name == SCOPE), progress


# --- M of N ------------------------------------------------------------------------


def test_two_of_four_needs_two_different_members(team):
    release = release_in_review(team)
    leads = security_leads(team)
    team_accountable(team, release, leads, required=2)
    approve_others(release, team)
    sign(release, team["ana"], SCOPE)
    release.refresh_from_db()
    assert release.status == Status.IN_REVIEW
    row, progress = scope_row(release, team["po"])
    assert row.team_text == "1 of 2 from Security leads: Ana Lead approved"
    assert progress.missing == [SCOPE]
    sign(release, team["ben"], SCOPE)
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    row, _ = scope_row(release, team["po"])
    assert row.team_text == "2 of 2 from Security leads: Ana Lead, Ben Lead approved"


def test_the_same_member_twice_does_not_make_two(team):
    release = release_in_review(team)
    leads = security_leads(team)
    team_accountable(team, release, leads, required=2)
    approve_others(release, team)
    first, created = sign(release, team["ana"], SCOPE)
    again, created_again = sign(release, team["ana"], SCOPE)
    assert created and not created_again and again.pk == first.pk
    with pytest.raises(services.DomainError):
        sign(release, team["ana"], SCOPE, decision="reject", comment="changed my mind")
    release.refresh_from_db()
    assert release.status == Status.IN_REVIEW
    assert SignOff.objects.filter(activity__name=SCOPE, voided_at__isnull=True).count() == 1


def test_any_one_member_is_enough_with_the_any_one_rule(team):
    release = release_in_review(team)
    leads = security_leads(team)
    team_accountable(team, release, leads, required=1)
    approve_others(release, team)
    sign(release, team["cat"], SCOPE)
    release.refresh_from_db()
    assert release.status == Status.APPROVED


def test_a_member_who_submitted_cannot_count(team):
    leads = security_leads(team)
    raci_services.team_member_add(team=leads, user=team["dev"], actor=team["rm"])
    release = release_in_review(team)  # dev wrote and submitted it
    team_accountable(team, release, leads, required=2)
    with pytest.raises(services.SignOffRefused) as refused:
        sign(release, team["dev"], SCOPE)
    assert "you submitted revision" in str(refused.value)
    assert not SignOff.objects.filter(signer=team["dev"]).exists()
    (entry,) = entries(Action.SIGNOFF_REFUSED)
    assert entry.actor == team["dev"]


def test_a_non_member_is_refused_as_forbidden(team):
    release = release_in_review(team)
    leads = security_leads(team)
    team_accountable(team, release, leads)
    with pytest.raises(services.SignOffRefused) as refused:
        sign(release, team["po"], SCOPE)  # po was the person Accountable before
    assert refused.value.forbidden
    assert "its Accountable is the team Security leads" in str(refused.value)


def test_a_verbal_record_cannot_stand_in_for_a_member(team):
    release = release_in_review(team)
    leads = security_leads(team)
    team_accountable(team, release, leads, required=1)
    with pytest.raises(services.SignOffRefused) as refused:
        services.signoff_record_verbal(
            release=release,
            activity_id=activity(release, SCOPE).pk,
            recorded_by=team["rm"],
            channel="call",
            given_at=timezone.now(),
            note="",
        )
    assert "cannot stand in" in str(refused.value)
    assert not SignOff.objects.filter(method="verbal").exists()
    assert entries(Action.SIGNOFF_REFUSED)


def test_a_member_s_reject_sends_the_release_back_to_draft(team):
    release = release_in_review(team)
    leads = security_leads(team)
    team_accountable(team, release, leads)
    sign(release, team["ana"], SCOPE)
    sign(release, team["ben"], SCOPE, decision="reject", comment="Pen test not done")
    release.refresh_from_db()
    assert release.status == Status.DRAFT
    assert "Ben Lead" in release.status_reason


# --- membership and permissions --------------------------------------------------------


def test_members_get_the_accountable_s_access_and_lose_it_at_once(client, team):
    release = release_in_review(team)
    leads = security_leads(team)
    team_accountable(team, release, leads)
    ana = team["ana"]
    assert permissions.VIEW in permissions.release_perms_for(ana, release)
    client.force_login(ana)
    assert client.get(release.get_absolute_url()).status_code == 200
    services.team_member_remove(team=leads, user=ana, actor=team["rm"])
    ana.refresh_from_db()
    assert permissions.VIEW not in permissions.release_perms_for(ana, release)
    # The web door and the API door are both shut at once.
    assert client.get(release.get_absolute_url()).status_code == 404
    url = reverse(
        "approvals:signoff",
        kwargs={
            "product": release.product.slug,
            "version": release.version,
            "activity_id": activity(release, SCOPE).pk,
        },
    )
    assert client.post(url, {"decision": "approve", "password": PASSWORD}).status_code == 404
    with pytest.raises(services.SignOffRefused):
        sign(release, ana, SCOPE)
    revoked = entries(Action.PERMISSION_REVOKED)
    assert any(e.before["user"] == "ana" for e in revoked)


def test_api_readers_lose_the_release_when_removed(client, team):
    release = release_in_review(team)
    leads = security_leads(team)
    team_accountable(team, release, leads)
    services.team_member_remove(team=leads, user=team["ana"], actor=team["rm"])
    client.force_login(team["ana"])
    api = reverse("api:release_detail", args=[release.product.slug, release.version])
    assert client.get(api).status_code in (401, 403, 404)


def test_a_removed_member_s_live_approval_is_voided(team):
    release = release_in_review(team)
    leads = security_leads(team)
    team_accountable(team, release, leads, required=2)
    sign(release, team["ana"], SCOPE)
    services.team_member_remove(team=leads, user=team["ana"], actor=team["rm"])
    signoff = SignOff.objects.get(signer=team["ana"])
    assert signoff.voided_at is not None
    assert "left the team" in signoff.void_reason


def test_a_rule_the_team_cannot_meet_is_refused(team):
    release = release_in_review(team)
    leads = security_leads(team, "ana", "ben")
    with pytest.raises(ValidationError) as error:
        team_accountable(team, release, leads, required=3)
    assert "cannot give 3 approvals" in str(error.value)
    assert activity(release, SCOPE).team is None


def test_changing_the_accountable_to_a_team_voids_the_person_s_signature(team):
    release = release_in_review(team)
    sign(release, team["po"], SCOPE)
    leads = security_leads(team)
    team_accountable(team, release, leads)
    assert SignOff.objects.get(signer=team["po"]).voided_at is not None
    assert not activity(release, SCOPE).assignments.filter(letter="A").exists()


# --- the same instant --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_members_signing_at_the_same_instant_both_land(team):
    release = release_in_review(team)
    leads = security_leads(team)
    team_accountable(team, release, leads, required=2)
    approve_others(release, team)
    barrier = threading.Barrier(2)
    errors = []

    def member_signs(name):
        try:
            barrier.wait()
            sign(release, team[name], SCOPE)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=member_signs, args=(n,)) for n in ("ana", "ben")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    assert SignOff.objects.filter(activity__name=SCOPE, voided_at__isnull=True).count() == 2
    assert len([e for e in entries(Action.RELEASE_APPROVED) if e.release_id == release.pk]) == 1


# --- pages ---------------------------------------------------------------------------------


def test_the_progress_panel_and_my_signoffs_show_the_team(client, team):
    release = release_in_review(team)
    leads = security_leads(team)
    team_accountable(team, release, leads, required=2)
    sign(release, team["ana"], SCOPE)
    client.force_login(team["ben"])
    page = client.get(release.get_absolute_url()).content.decode()
    assert "1 of 2 from Security leads: Ana Lead approved" in page
    mine = client.get(reverse("approvals:my_signoffs")).content.decode()
    assert "as a member of Security leads" in mine
    client.force_login(team["ana"])
    mine = client.get(reverse("approvals:my_signoffs")).content.decode()
    assert "as a member of Security leads" not in mine  # ana already signed


def test_a_release_manager_manages_teams_in_the_ui(client, team):
    client.force_login(team["rm"])
    response = client.post(reverse("approvals:team_list"), {"name": "SRE on-call"})
    leads = Team.objects.get(name="SRE on-call")
    assert response["Location"] == reverse("approvals:team_detail", args=[leads.pk])
    client.post(reverse("approvals:team_detail", args=[leads.pk]), {"user": "sre"})
    assert list(leads.members.all()) == [team["sre"]]
    duplicate = client.post(reverse("approvals:team_list"), {"name": "sre ON-CALL"})
    assert "There is already a team" in duplicate.content.decode()
    client.post(reverse("approvals:team_member_remove", args=[leads.pk]), {"user": team["sre"].pk})
    assert not leads.members.exists()
    logged = entries(Action.RACI_CHANGED)
    assert [e.reason for e in logged][-2:] == [
        "sre added to SRE on-call",
        "sre removed from SRE on-call",
    ]


@pytest.mark.parametrize("who", ["po", "dev", "auditor"])
def test_only_release_managers_manage_teams(client, team, who):
    leads = security_leads(team, "ana")
    client.force_login(team[who])
    assert client.get(reverse("approvals:team_list")).status_code == 403
    response = client.post(
        reverse("approvals:team_detail", args=[leads.pk]), {"user": team[who].username}
    )
    assert response.status_code == 403
    assert list(leads.members.values_list("username", flat=True)) == ["ana"]


def test_a_release_manager_assigns_a_team_in_the_ui(client, team):
    release = release_in_review(team)
    leads = security_leads(team)
    client.force_login(team["rm"])
    url = reverse("approvals:activity_team", args=[release.product.slug, release.version])
    bad = client.post(
        url, {"activity": activity(release, SCOPE).pk, "team": leads.pk, "required": "9"}
    )
    assert "cannot give 9 approvals" in bad.content.decode()
    client.post(url, {"activity": activity(release, SCOPE).pk, "team": leads.pk, "required": "2"})
    scope = activity(release, SCOPE)
    assert scope.team == leads and scope.team_required == 2
    client.force_login(team["dev"])  # Responsible: sees the release, may not edit the RACI
    assert client.post(url, {"activity": scope.pk, "team": "", "required": "1"}).status_code == 403
    assert activity(release, SCOPE).team == leads


# --- query counts ------------------------------------------------------------------------------


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow_with_teams(client, team):
    release = release_in_review(team)
    leads = security_leads(team, "ana", "ben")
    team_accountable(team, release, leads, required=2)
    client.force_login(team["ana"])
    page, mine = release.get_absolute_url(), reverse("approvals:my_signoffs")
    small = (_queries(client, page), _queries(client, mine))
    for index in range(4):
        more = release_in_review(team, version=f"5.{index}.0")
        team_accountable(team, more, leads, required=2)
        for n in range(3):
            member = user_create(f"extra{index}{n}")
            raci_services.team_member_add(team=leads, user=member, actor=team["rm"])
        sign(more, team["ben"], SCOPE)
    sign(release, team["ben"], SCOPE)
    large = (_queries(client, page), _queries(client, mine))
    assert large == small
