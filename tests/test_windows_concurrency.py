"""Moving a window at the same instant as the last approval, on real PostgreSQL with threads."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import services
from approvals.lifecycle import Status
from approvals.models import SignOff
from audit.models import Action, ChangeLogEntry
from tests.factories import build_team, release_in_review
from tests.helpers import approve_all, run_together, sign

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("attempt", range(3))
def test_no_go_no_go_approval_outlives_a_move_made_at_the_same_instant(attempt):
    """Whichever comes first, no live Go/no-go approval was given before the window moved:
    sign then move → halted with the approval voided; move then sign → approved after it."""
    team = build_team()
    release = release_in_review(team)
    approve_all(release, team, skip=["Go/no-go decision"])
    start = timezone.now() + timedelta(days=9)
    results = run_together(
        [
            lambda: sign(release, team["rm"], "Go/no-go decision", revision=1),
            lambda: services.release_window_move(
                release=release,
                actor=team["rm"],
                window_start=start,
                window_end=start + timedelta(hours=2),
                reason="Race",
            ),
        ]
    )
    assert not any(isinstance(r, Exception) for r in results), results
    release.refresh_from_db()
    moved = ChangeLogEntry.objects.get(action=Action.RELEASE_WINDOW_MOVED)
    live_go = SignOff.objects.filter(
        release=release, activity__is_go_no_go=True, voided_at__isnull=True
    )
    assert release.window_start == start
    if release.status == Status.APPROVED:
        signed = ChangeLogEntry.objects.filter(action=Action.SIGNOFF_RECORDED).order_by("seq")
        assert live_go.exists() and signed.last().seq > moved.seq
    else:
        assert release.status == Status.HALTED and not live_go.exists()
