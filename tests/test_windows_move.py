"""Moving a release's deployment window (issue 19: "shown as conflicts when a release is
created or moved"; issue 14: "warnings where the mistake is made").

The approval meaning (SPEC §2: "I approve <activity> for <product> <version>, RAD
revision N") names no window, so RAD sign-offs stay; the Go/no-go decision is the one
about when, so a move voids it, and an approved release halts until it is signed again.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from approvals import services
from approvals.lifecycle import Status
from approvals.models import FreezeWindow, Release, SignOff
from approvals.rules import window_move_refusals
from audit.models import Action
from tests.factories import ReleaseFactory
from tests.helpers import entries, release_open_now, sign

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def url(release) -> str:
    return f"/releases/{release.product.slug}/{release.version}/window/"


def later(days: float):
    """A window of two hours starting `days` from now, as the form posts it (UTC, minutes)."""
    start = (timezone.now() + timedelta(days=days)).replace(second=0, microsecond=0)
    return start, start + 2 * H


def form(start, end, reason="Bank holiday moved", **extra) -> dict:
    return {
        "window_start": start.strftime("%Y-%m-%dT%H:%M"),
        "window_end": end.strftime("%Y-%m-%dT%H:%M"),
        "reason": reason,
        **extra,
    }


def window(release) -> tuple:
    release.refresh_from_db()
    return release.window_start, release.window_end


def move(release, team, start, end, reason="Bank holiday moved"):
    return services.release_window_move(
        release=release, actor=team["rm"], window_start=start, window_end=end, reason=reason
    )


# --- the rule -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (NOW + 24 * H, NOW + 26 * H, {}),
        (NOW - 2 * H, NOW + H, {}),  # already open, still deployable: the form warns
        (NOW + 26 * H, NOW + 24 * H, {"window_end": "end after it starts"}),
        (NOW + 24 * H, NOW + 24 * H, {"window_end": "end after it starts"}),
        (NOW - 3 * H, NOW - H, {"window_end": "already ended"}),
        (NOW - 3 * H, NOW, {"window_end": "already ended"}),
        (NOW + 48 * H, NOW + 50 * H, {"window_start": "already has"}),
    ],
)
def test_window_move_refusals(start, end, expected):
    found = window_move_refusals(
        old_start=NOW + 48 * H, old_end=NOW + 50 * H, start=start, end=end, now=NOW
    )
    assert set(found) == set(expected)
    for field, part in expected.items():
        assert part in found[field]


# --- the service ----------------------------------------------------------------------


def test_moving_a_draft_logs_before_and_after_and_the_cutoff_follows(team):
    release = ReleaseFactory(product=team["product"], version="3.1.0", created_by=team["rm"])
    Release.objects.filter(pk=release.pk).update(cutoff_at=release.window_start - 48 * H)
    release.refresh_from_db()
    old_start, old_end, old_cutoff = release.window_start, release.window_end, release.cutoff_at
    start, end = old_start + 72 * H, old_start + 75 * H
    move(release, team, start, end)
    release.refresh_from_db()
    assert (release.window_start, release.window_end) == (start, end)
    assert release.cutoff_at == old_cutoff + 72 * H
    assert release.status == Status.DRAFT
    [entry] = entries(Action.RELEASE_WINDOW_MOVED)
    assert entry.before["window_start"] == old_start.isoformat()
    assert entry.before["window_end"] == old_end.isoformat()
    assert entry.after["window_start"] == start.isoformat()
    assert entry.after["cutoff_at"] == (old_cutoff + 72 * H).isoformat()
    assert entry.reason == "Bank holiday moved" and entry.actor == team["rm"]


def test_in_review_a_move_voids_only_the_go_no_go_approval(team, release):
    scope, _ = sign(release, team["po"], "Business scope")
    go, _ = sign(release, team["rm"], "Go/no-go decision")
    move(release, team, *later(5))
    go.refresh_from_db()
    scope.refresh_from_db()
    assert go.is_void and go.void_reason == "Deployment window moved after signing"
    assert not scope.is_void
    release.refresh_from_db()
    assert release.status == Status.IN_REVIEW
    [void] = entries(Action.SIGNOFF_VOIDED)
    assert void.reason == "Deployment window moved after signing"


def test_moving_an_approved_release_halts_it_until_go_no_go_signs_for_the_new_window(team):
    release = release_open_now(team, version="3.0.0")
    assert release.status == Status.APPROVED
    start, end = later(3)
    move(release, team, start, end)
    release.refresh_from_db()
    assert release.status == Status.HALTED
    assert "Deployment window moved" in release.status_reason
    live_go = SignOff.objects.filter(
        release=release, activity__is_go_no_go=True, voided_at__isnull=True
    )
    assert not live_go.exists()
    actions = [e.action for e in entries()][-3:]
    assert actions[0] == Action.RELEASE_WINDOW_MOVED and Action.RELEASE_HALTED in actions
    # The Go/no-go Accountable signs again, for the new window: approved again.
    sign(release, team["rm"], "Go/no-go decision")
    release.refresh_from_db()
    assert release.status == Status.APPROVED
    assert (release.window_start, release.window_end) == (start, end)


def test_a_deployed_release_keeps_its_window(team):
    release = release_open_now(team, version="3.0.0")
    services.deployment_record(release=release, actor=team["rm"], status="succeeded")
    before = window(release)
    with pytest.raises(services.DomainError, match="fixed once the release is deployed"):
        move(release, team, *later(3))
    assert window(release) == before
    assert not entries(Action.RELEASE_WINDOW_MOVED)


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_a_move_needs_a_reason(team, release, reason):
    before = window(release)
    with pytest.raises(ValidationError) as error:
        move(release, team, *later(5), reason=reason)
    assert "reason" in error.value.message_dict
    assert window(release) == before


# --- the page -------------------------------------------------------------------------


def test_the_release_page_offers_move_window_to_release_managers_only(client, team, release):
    client.force_login(team["rm"])
    assert 'data-testid="move-window"' in client.get(release.get_absolute_url()).content.decode()
    client.force_login(team["dev"])
    assert (
        'data-testid="move-window"' not in client.get(release.get_absolute_url()).content.decode()
    )


def test_a_release_manager_moves_the_window_from_the_page(client, team, release):
    client.force_login(team["rm"])
    assert client.get(url(release)).status_code == 200
    start, end = later(6)
    response = client.post(url(release), form(start, end))
    assert response.status_code == 302
    assert window(release) == (start, end)


@pytest.mark.parametrize("who", ["dev", "po", "cc", "auditor"])
def test_someone_without_the_role_gets_403_logged_and_nothing_moves(client, team, release, who):
    before = window(release)
    client.force_login(team[who])
    assert client.get(url(release)).status_code == 403
    assert client.post(url(release), form(*later(6), confirm_window="on")).status_code == 403
    assert window(release) == before
    refusals = entries(Action.ACCESS_REFUSED)
    assert len(refusals) == 2 and refusals[-1].actor == team[who]
    assert "move this release's deployment window" in refusals[-1].reason


def test_someone_who_cannot_see_the_release_gets_404(client, team, release):
    client.force_login(team["outsider"])
    assert client.post(url(release), form(*later(6))).status_code == 404
    assert not entries(Action.RELEASE_WINDOW_MOVED)


def test_the_move_form_needs_csrf(team, release):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(team["rm"])
    before = window(release)
    assert csrf_client.post(url(release), form(*later(6))).status_code == 403
    assert window(release) == before


def test_a_window_moved_into_a_freeze_warns_as_the_create_form_does(client, team, release):
    start, end = later(10)
    FreezeWindow.objects.create(
        product=None,
        start=start - 24 * H,
        end=end + 24 * H,
        reason="Year-end freeze",
        created_by=team["rm"],
    )
    before = window(release)
    client.force_login(team["rm"])
    response = client.post(url(release), form(start, end))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="window-warnings"' in page
    assert "Year-end freeze" in page and "the deploy check will refuse it" in page
    assert window(release) == before and not entries(Action.RELEASE_WINDOW_MOVED)
    confirmed = client.post(url(release), form(start, end, confirm_window="on"))
    assert confirmed.status_code == 302
    assert window(release) == (start, end)


def test_a_window_moved_into_the_past_warns_and_one_already_over_is_refused(client, team, release):
    client.force_login(team["rm"])
    before = window(release)
    now = timezone.now().replace(second=0, microsecond=0)
    started = client.post(url(release), form(now - 2 * H, now + 2 * H))
    assert started.status_code == 200 and "starts in the past" in started.content.decode()
    over = client.post(url(release), form(now - 4 * H, now - 2 * H, confirm_window="on"))
    assert over.status_code == 400
    assert "already ended" in over.content.decode()
    assert window(release) == before


def test_bad_input_is_a_field_error_and_changes_nothing(client, team, release):
    client.force_login(team["rm"])
    before = window(release)
    start, end = later(6)
    backwards = client.post(url(release), form(end, start, confirm_window="on"))
    assert backwards.status_code == 400 and "must end after it starts" in backwards.content.decode()
    garbage = client.post(url(release), {"window_start": "soon", "window_end": "", "reason": ""})
    assert garbage.status_code == 400
    assert set(garbage.context["form"].errors) >= {"window_start", "window_end", "reason"}
    assert window(release) == before


def test_conflicts_show_on_the_move_form_and_after_the_move(client, team, release):
    start, end = later(9)
    ReleaseFactory(
        product=team["product"],
        version="2.5.0",
        created_by=team["rm"],
        window_start=start + H,
        window_end=end + H,
    )
    client.force_login(team["rm"])
    warned = client.post(url(release), form(start, end))
    assert warned.status_code == 200
    assert "Conflict: The deployment window overlaps Payments API 2.5.0" in warned.content.decode()
    assert window(release) != (start, end)
    moved = client.post(url(release), form(start, end, confirm_window="on"), follow=True)
    shown = [str(m) for m in moved.context["messages"]]
    assert any(m.startswith("Conflict:") and "2.5.0" in m for m in shown)
    assert window(release) == (start, end)


def test_moving_a_deployed_release_from_the_page_is_refused_409_and_logged(client, team):
    release = release_open_now(team, version="3.0.0")
    services.deployment_record(release=release, actor=team["rm"], status="succeeded")
    before = window(release)
    client.force_login(team["rm"])
    page = client.get(url(release))
    assert page.status_code == 200 and 'data-testid="window-fixed"' in page.content.decode()
    response = client.post(url(release), form(*later(3), confirm_window="on"))
    assert response.status_code == 409
    assert "fixed once the release is deployed" in response.content.decode()
    assert window(release) == before
    [refusal] = entries(Action.ACCESS_REFUSED)
    assert "fixed once the release is deployed" in refusal.reason


def test_the_admin_is_no_other_door_to_the_window(client, team, release):
    before = window(release)
    client.force_login(team["admin"])
    start, end = later(6)
    client.post(
        f"/admin/approvals/release/{release.pk}/change/",
        {"window_start_0": start.date(), "window_start_1": start.time(), "title": "x"},
    )
    assert window(release) == before


def test_a_hotfix_emergency_override_does_not_follow_the_window(team, release):
    """The override was given for the freeze the old window fell in; the new one needs its own."""
    hotfix = services.release_create(
        product=team["product"],
        version="2.4.1",
        title="Hotfix",
        release_type="hotfix",
        fixes=release,
        window_start=timezone.now() + 24 * H,
        window_end=timezone.now() + 26 * H,
        actor=team["rm"],
    )
    services.release_freeze_override(release=hotfix, actor=team["rm"], reason="Card outage")
    move(hotfix, team, *later(4))
    hotfix.refresh_from_db()
    assert hotfix.freeze_override_reason == ""
    [entry] = entries(Action.RELEASE_WINDOW_MOVED)
    assert entry.before["freeze_override_reason"] == "Card outage"
    assert entry.after["freeze_override_reason"] == ""
