"""seed_demo shows a team Accountable, a delegation in progress and a low-risk release on
the fast path, and runs twice safely."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from approvals import selectors, services
from approvals.models import Release
from raci.models import Delegation, Team
from raci.selectors import delegations_for_delegate

pytestmark = pytest.mark.django_db


def test_seed_demo_shows_a_team_accountable_and_a_delegation_in_progress():
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)  # idempotent
    team = Team.objects.get(name="SRE on-call")
    assert sorted(team.members.values_list("username", flat=True)) == ["qa", "sre"]
    review = Release.objects.get(product__slug="payments-api", version="2.4.0")
    assert review.activities.get(name="Operational readiness").team == team
    (delegation,) = Delegation.objects.all()
    assert (delegation.absent.username, delegation.delegate.username) == ("po", "qa")
    qa = delegation.delegate
    assert [d.absent.username for d in delegations_for_delegate(user=qa, now=timezone.now())] == [
        "po"
    ]
    mine = selectors.my_signoffs(user=qa)
    assert any(absent.username == "po" for *_, absent in mine.delegated)


def test_seed_demo_shows_a_low_risk_release_on_the_fast_path():
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)
    fast = Release.objects.get(product__slug="payments-api", version="2.4.5")
    rm = get_user_model().objects.get(username="rm")
    current = services.rad_current(fast)
    progress = selectors.release_progress(release=fast, user=rm, current=current)
    assert progress.routing.fast
    assert [r.activity.name for r in progress.rows if r.required] == [
        "Test thresholds",
        "Go/no-go decision",
    ]
    review = Release.objects.get(product__slug="payments-api", version="2.4.0")
    current = services.rad_current(review)
    assert not selectors.release_progress(release=review, user=rm, current=current).routing.fast
