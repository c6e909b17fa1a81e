"""Delegation: an out-of-office period with a delegate who signs as themselves, on behalf of."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals import services
from approvals.lifecycle import Status
from approvals.models import SignOff
from audit.models import Action
from raci import services as raci_services
from raci.models import Delegation
from tests.factories import PASSWORD, activity, release_in_review, user_create
from tests.helpers import approve_all, entries

pytestmark = pytest.mark.django_db

SCOPE = "Business scope"  # po is its Accountable


def away(team, absent="po", delegate="bob", *, start=-1, end=24, actor=None):
    """`absent` is away from `start` to `end` hours from now, `delegate` signing for them."""
    if delegate not in team:
        team[delegate] = user_create(delegate, first_name=delegate.title(), last_name="Deputy")
    now = timezone.now()
    return raci_services.delegation_create(
        absent=team[absent],
        delegate=team[delegate],
        starts_at=now + timedelta(hours=start),
        ends_at=now + timedelta(hours=end),
        reason="Holiday",
        actor=actor or team[absent],
        now=now,
    )


def sign_for(release, delegate, absent, name=SCOPE, **extra):
    return services.signoff_record(
        release=release,
        activity_id=activity(release, name).pk,
        signer=delegate,
        decision=extra.pop("decision", "approve"),
        comment=extra.pop("comment", ""),
        password=PASSWORD,
        revision_number=services.rad_current(release).number,
        on_behalf_of=absent,
    )


def signoff_url(release, name=SCOPE) -> str:
    return reverse(
        "approvals:signoff",
        kwargs={
            "product": release.product.slug,
            "version": release.version,
            "activity_id": activity(release, name).pk,
        },
    )


def test_a_delegate_signs_on_behalf_during_the_period(team):
    release = release_in_review(team)
    away(team)
    approve_all(release, team, skip=(SCOPE,))
    signoff, created = sign_for(release, team["bob"], team["po"])
    assert created
    assert signoff.signer == team["bob"] and signoff.on_behalf_of == team["po"]
    assert signoff.printed_name == "Bob Deputy"
    assert signoff.meaning.endswith("on behalf of " + (team["po"].get_full_name() or "po"))
    release.refresh_from_db()
    assert release.status == Status.APPROVED  # it counts for po's seat
    (recorded,) = [e for e in entries(Action.SIGNOFF_RECORDED) if e.actor == team["bob"]]
    assert recorded.after["on_behalf_of"] in ("po", team["po"].get_full_name())


def test_a_delegate_is_refused_after_the_period(team):
    release = release_in_review(team)
    delegation = away(team, start=-48, end=48)
    Delegation.objects.filter(pk=delegation.pk).update(ends_at=timezone.now() - timedelta(hours=1))
    with pytest.raises(services.SignOffRefused) as refused:
        sign_for(release, team["bob"], team["po"])
    assert refused.value.forbidden
    assert "no delegation" in str(refused.value)
    assert not SignOff.objects.filter(signer=team["bob"]).exists()
    assert entries(Action.SIGNOFF_REFUSED)[-1].actor == team["bob"]


def test_a_delegate_is_refused_before_the_period_and_after_it_is_cancelled(team):
    release = release_in_review(team)
    planned = away(team, start=24, end=48)
    with pytest.raises(services.SignOffRefused):
        sign_for(release, team["bob"], team["po"])
    raci_services.delegation_cancel(delegation=planned, actor=team["po"], now=timezone.now())
    away(team, delegate="carl", start=-1, end=2)
    delegation = Delegation.objects.get(delegate=team["carl"])
    raci_services.delegation_cancel(delegation=delegation, actor=team["rm"], now=timezone.now())
    with pytest.raises(services.SignOffRefused):
        sign_for(release, team["carl"], team["po"])


def test_a_delegate_cannot_delegate_further(team, client):
    release = release_in_review(team)
    away(team, "po", "bob")
    # bob goes away too and names carl: carl signs for bob, never for po.
    away(team, "bob", "carl")
    with pytest.raises(services.SignOffRefused) as refused:
        sign_for(release, team["carl"], team["po"])
    assert "no delegation from" in str(refused.value)
    # Nor may bob hand po's delegation on through the page: only po or a release manager can.
    client.force_login(team["bob"])
    assert 'name="absent"' not in client.get(reverse("approvals:delegations")).content.decode()
    client.post(
        reverse("approvals:delegations"),
        {
            "absent": team["po"].pk,
            "delegate": team["carl"].pk,
            "starts_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (timezone.localtime() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    # The absent field is ignored for bob: any delegation he sets is his own, never po's.
    assert not Delegation.objects.filter(absent=team["po"], delegate=team["carl"]).exists()


def test_separation_of_duties_holds_for_the_delegate(team):
    release = release_in_review(team)  # dev wrote and submitted it
    away(team, "po", "dev")
    with pytest.raises(services.SignOffRefused) as refused:
        sign_for(release, team["dev"], team["po"])
    assert "you submitted" in str(refused.value) or "Responsible" in str(refused.value)
    assert not SignOff.objects.exists()


def test_a_delegate_cannot_sign_for_someone_who_is_not_the_accountable(team):
    release = release_in_review(team)
    away(team, "qa", "bob")
    with pytest.raises(services.SignOffRefused) as refused:
        sign_for(release, team["bob"], team["qa"], name=SCOPE)
    assert refused.value.forbidden
    assert "is not the Accountable" in str(refused.value)


def test_bad_periods_are_field_errors(team):
    now = timezone.now()
    with pytest.raises(ValidationError) as error:
        raci_services.delegation_create(
            absent=team["po"],
            delegate=team["po"],
            starts_at=now,
            ends_at=now - timedelta(hours=1),
            reason="",
            actor=team["po"],
            now=now,
        )
    assert set(error.value.message_dict) == {"delegate", "ends_at"}
    away(team, "po", "bob")
    with pytest.raises(ValidationError) as overlap:
        away(team, "po", "carl", start=2, end=30)
    assert "already has bob as delegate" in str(overlap.value)
    assert Delegation.objects.count() == 1


def test_it_starts_and_ends_by_itself_and_is_logged(team):
    delegation = away(team, start=-1, end=1)
    assert raci_services.delegations_announce(now=timezone.now()) == {"started": 1, "ended": 0}
    assert raci_services.delegations_announce(now=timezone.now()) == {"started": 0, "ended": 0}
    later = timezone.now() + timedelta(hours=2)
    assert raci_services.delegations_announce(now=later) == {"started": 0, "ended": 1}
    reasons = [e.reason for e in entries(Action.RACI_CHANGED) if e.object_id == str(delegation.pk)]
    assert reasons[0].startswith("Delegation set")
    assert reasons[1].startswith("Delegation started")
    assert reasons[2].startswith("Delegation ended")


def test_the_delegate_sees_and_signs_through_the_pages(client, team):
    release = release_in_review(team)
    away(team)
    client.force_login(team["bob"])
    mine = client.get(reverse("approvals:my_signoffs")).content.decode()
    assert "On behalf of someone away" in mine and SCOPE in mine
    page = client.get(release.get_absolute_url())
    assert page.status_code == 200
    assert "You sign as yourself on behalf of" in page.content.decode()
    form = client.get(signoff_url(release)).content.decode()
    assert "on behalf of" in form
    response = client.post(
        signoff_url(release),
        {"decision": "approve", "revision": 1, "comment": "", "password": PASSWORD},
    )
    assert response.status_code == 302
    signoff = SignOff.objects.get(signer=team["bob"])
    assert signoff.on_behalf_of == team["po"]
    client.force_login(team["po"])
    page = client.get(release.get_absolute_url()).content.decode()
    assert "Bob Deputy" in page and "on behalf of" in page


def test_after_the_period_the_pages_shut(client, team):
    release = release_in_review(team)
    delegation = away(team)
    Delegation.objects.filter(pk=delegation.pk).update(
        starts_at=timezone.now() - timedelta(days=3), ends_at=timezone.now() - timedelta(days=1)
    )
    client.force_login(team["bob"])
    assert client.get(release.get_absolute_url()).status_code == 404
    response = client.post(signoff_url(release), {"decision": "approve", "password": PASSWORD})
    assert response.status_code == 404
    assert "On behalf of" not in client.get(reverse("approvals:my_signoffs")).content.decode()


def test_release_managers_set_a_delegation_for_someone_else(client, team):
    client.force_login(team["rm"])
    bob = user_create("bob")
    start = timezone.localtime() + timedelta(hours=1)
    response = client.post(
        reverse("approvals:delegations"),
        {
            "absent": team["po"].pk,
            "delegate": bob.pk,
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
            "reason": "Conference",
        },
    )
    assert response.status_code == 302
    delegation = Delegation.objects.get()
    assert delegation.absent == team["po"] and delegation.created_by == team["rm"]


def test_only_the_absent_person_or_a_release_manager_ends_it(client, team):
    delegation = away(team)
    client.force_login(team["bob"])
    url = reverse("approvals:delegation_cancel", args=[delegation.pk])
    assert client.post(url).status_code == 403
    delegation.refresh_from_db()
    assert delegation.cancelled_at is None
    client.force_login(team["po"])
    assert client.post(url).status_code == 302
    delegation.refresh_from_db()
    assert delegation.cancelled_at is not None


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow_with_delegations(client, team):
    release = release_in_review(team)
    away(team)
    client.force_login(team["bob"])
    page, mine = release.get_absolute_url(), reverse("approvals:my_signoffs")
    small = (_queries(client, page), _queries(client, mine))
    for index in range(4):
        release_in_review(team, version=f"6.{index}.0")
        away(team, "qa", f"d{index}", start=24 * (index + 1), end=24 * (index + 1) + 2)
    large = (_queries(client, page), _queries(client, mine))
    assert large == small
