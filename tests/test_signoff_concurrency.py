"""Sign-offs under real concurrency on PostgreSQL: threads with their own connections."""

import pytest
from django.test import Client
from django.urls import reverse

from approvals.lifecycle import Status
from approvals.models import SignOff
from audit.models import Action, ChangeLogEntry
from tests.factories import ACCOUNTABLES, PASSWORD, activity, build_team, release_in_review
from tests.helpers import approve_all, run_together, sign

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_last_two_approvals_at_the_same_instant_approve_exactly_once():
    team = build_team()
    release = release_in_review(team)
    last_two = ["Test thresholds", "Go/no-go decision"]
    approve_all(release, team, skip=last_two)

    def approve(name):
        return lambda: sign(release, team[ACCOUNTABLES[name]], name, revision=1)

    results = run_together([approve(name) for name in last_two])
    assert all(isinstance(r, tuple) and r[1] for r in results), results
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    assert ChangeLogEntry.objects.filter(action=Action.RELEASE_APPROVED).count() == 1
    assert SignOff.objects.filter(release=release, voided_at__isnull=True).count() == 5


def test_twenty_identical_approve_posts_at_once_record_one_signoff():
    team = build_team()
    release = release_in_review(team)
    url = reverse(
        "approvals:signoff",
        kwargs={
            "product": "payments-api",
            "version": release.version,
            "activity_id": activity(release, "Business scope").pk,
        },
    )
    data = {"decision": "approve", "revision": 1, "comment": "", "password": PASSWORD}
    clients = []
    for _ in range(20):
        client = Client()
        client.force_login(team["po"])
        clients.append(client)
    results = run_together([lambda c=c: c.post(url, data).status_code for c in clients])
    assert results == [302] * 20
    assert SignOff.objects.filter(release=release).count() == 1
    assert ChangeLogEntry.objects.filter(action=Action.SIGNOFF_RECORDED).count() == 1
