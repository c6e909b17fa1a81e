"""Issue 14, "warnings where the mistake is made": the gate-meeting form checks the slot
against the release's window, freezes and other gate meetings before anyone is invited.

A start in the past is refused (a field error, nothing changes); the rest warn and ask
for a confirm tick, and the confirmed warnings are kept in the change-log entry.
"""

import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals.models import FreezeWindow
from approvals.rules import meeting_warnings
from audit.models import Action
from meetings.models import GateMeeting
from meetings.services import SlotWarningsChanged, meeting_schedule
from tests.factories import ProductFactory, release_in_review, release_of
from tests.helpers import entries, schedule

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)
M = timedelta(minutes=1)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


# --- the rule, branch by branch ----------------------------------------------------------


class _Release(SimpleNamespace):
    def __str__(self) -> str:
        return "Payments API 2.4.0"


def _release(pk=1, window_start=T0 + 48 * H):
    return _Release(pk=pk, window_start=window_start)


def _freeze(start, end, product=None, reason="Year-end"):
    return SimpleNamespace(
        start=start,
        end=end,
        reason=reason,
        product_id=product and 7,
        product=SimpleNamespace(name=product),
    )


def _meeting(release_id, start, minutes=30, release="Ledger 1.0"):
    return SimpleNamespace(
        release_id=release_id, start=start, end=start + timedelta(minutes=minutes), release=release
    )


@pytest.mark.parametrize(
    ("start", "minutes", "window_in", "expected"),
    [
        (T0, 30, 48 * H, []),
        (T0, 60, H, []),  # ends exactly when the window opens: in time
        (T0, 61, H, ["after the deployment window opens"]),
        (T0 + 2 * H, 15, H, ["after the deployment window opens"]),
    ],
)
def test_a_gate_meeting_must_end_before_the_window_opens(start, minutes, window_in, expected):
    warnings = meeting_warnings(
        release=_release(window_start=T0 + window_in),
        start=start,
        end=start + timedelta(minutes=minutes),
        freezes=[],
        others=[],
        accountables={},
    )
    assert len(warnings) == len(expected)
    for warning, words in zip(warnings, expected, strict=True):
        assert words in warning


@pytest.mark.parametrize(
    ("freeze", "expected"),
    [
        (_freeze(T0 - H, T0 + H), "The meeting falls in the freeze “Year-end” (all products"),
        (_freeze(T0 + 30 * M, T0 + H, "Payments API"), "(Payments API, "),
        (_freeze(T0 - H, T0), None),  # ends as the meeting starts: half-open, no overlap
        (_freeze(T0 + H, T0 + 2 * H), None),
    ],
)
def test_a_meeting_in_a_freeze_warns(freeze, expected):
    warnings = meeting_warnings(
        release=_release(),
        start=T0,
        end=T0 + H,
        freezes=[freeze],
        others=[],
        accountables={},
    )
    if expected is None:
        assert warnings == []
    else:
        [warning] = warnings
        assert expected in warning


def test_overlapping_meetings_warn_by_release_and_by_shared_accountable():
    others = [
        _meeting(1, T0 + 10 * M),  # same release
        _meeting(2, T0 - 15 * M, release="Ledger 1.0"),  # po and qa shared
        _meeting(3, T0, release="Docs 2.0"),  # nobody shared
        _meeting(2, T0 + H, release="Ledger 1.1"),  # starts as ours ends
    ]
    warnings = meeting_warnings(
        release=_release(),
        start=T0,
        end=T0 + H,
        freezes=[],
        others=others,
        accountables={1: {"po", "qa", "rm"}, 2: {"po", "qa"}, 3: {"sre"}},
    )
    assert len(warnings) == 2
    assert "overlaps another gate meeting of Payments API 2.4.0" in warnings[0]
    assert "Ledger 1.0" in warnings[1] and "po, qa are Accountable too" in warnings[1]
    single = meeting_warnings(
        release=_release(),
        start=T0,
        end=T0 + H,
        freezes=[],
        others=[others[1]],
        accountables={1: {"po"}, 2: {"po"}},
    )
    assert single and "po is Accountable too" in single[0]


# --- the form -----------------------------------------------------------------------------


def create_url(release) -> str:
    return reverse(
        "meetings:meeting_create",
        kwargs={"product": release.product.slug, "version": release.version},
    )


def slot(delta: timedelta, minutes=30, location="Room 4", **extra) -> dict:
    start = timezone.localtime(timezone.now() + delta).strftime("%Y-%m-%dT%H:%M")
    return {"start": start, "duration_minutes": str(minutes), "location": location, **extra}


def test_a_start_in_the_past_is_a_field_error_and_nothing_is_scheduled(client, team, release):
    client.force_login(team["rm"])
    response = client.post(create_url(release), slot(-2 * H, confirm_warnings="on"))
    assert response.status_code == 400
    assert "The meeting must start in the future." in response.content.decode()
    assert response.context["form"].data["location"] == "Room 4"  # what was typed is kept
    assert not GateMeeting.objects.exists() and not entries(Action.MEETING_SCHEDULED)


def test_a_slot_with_no_problem_schedules_without_a_tick(client, team, release):
    client.force_login(team["rm"])
    assert client.post(create_url(release), slot(24 * H)).status_code == 302
    [entry] = entries(Action.MEETING_SCHEDULED)
    assert "warnings_acknowledged" not in entry.after


def test_a_meeting_after_the_window_opens_warns_then_is_kept_with_the_acknowledgement(
    client, team, release
):
    client.force_login(team["rm"])
    first = client.post(create_url(release), slot(72 * H))
    page = first.content.decode()
    assert first.status_code == 200
    assert 'data-testid="meeting-warnings"' in page and "after the deployment window opens" in page
    assert 'name="confirm_warnings"' in page and 'value="Room 4"' in page
    assert not GateMeeting.objects.exists() and not entries(Action.MEETING_SCHEDULED)
    confirmed = client.post(create_url(release), slot(72 * H, confirm_warnings="on"))
    assert confirmed.status_code == 302
    [entry] = entries(Action.MEETING_SCHEDULED)
    [warning] = entry.after["warnings_acknowledged"]
    assert "after the deployment window opens" in warning


def test_a_freeze_on_the_product_warns_and_one_on_another_product_does_not(client, team, release):
    start = timezone.now() + 24 * H
    FreezeWindow.objects.create(
        product=ProductFactory(name="Ledger", slug="ledger"),
        start=start - H,
        end=start + 2 * H,
        reason="Ledger migration",
        created_by=team["rm"],
    )
    client.force_login(team["rm"])
    assert client.post(create_url(release), slot(24 * H)).status_code == 302
    FreezeWindow.objects.create(
        product=team["product"],
        start=start - H,
        end=start + 3 * H,
        reason="Card-scheme change freeze",
        created_by=team["rm"],
    )
    response = client.post(create_url(release), slot(26 * H))
    assert (
        "The meeting falls in the freeze “Card-scheme change freeze”" in response.content.decode()
    )


def test_overlaps_name_the_other_meeting_of_the_release_and_shared_accountables(
    client, team, release
):
    other = release_in_review(team, version="2.5.0")  # the same team: the same Accountables
    elsewhere = release_of("docs", "1.0.0", created_by=team["rm"])  # nobody Accountable
    schedule(release, team, hours=24, duration_minutes=30)
    schedule(other, team, hours=24, duration_minutes=30)
    schedule(elsewhere, team, hours=24, duration_minutes=30)
    client.force_login(team["rm"])
    response = client.post(create_url(release), slot(24 * H + 10 * M))
    warnings = response.context["warnings"]
    assert len(warnings) == 2, warnings
    assert "another gate meeting of Payments API 2.4.0" in warnings[0]
    assert "Payments API 2.5.0" in warnings[1]
    assert "po, qa, rm, sre are Accountable too" in warnings[1]
    assert GateMeeting.objects.count() == 3


def test_rescheduling_warns_the_same_way_and_not_about_the_meeting_itself(client, team, release):
    meeting = schedule(release, team, hours=24, duration_minutes=30)
    url = reverse("meetings:meeting_edit", kwargs={"meeting_id": meeting.pk})
    client.force_login(team["rm"])
    nudged = client.post(url, slot(24 * H + 5 * M, location="Room 5"))
    assert nudged.status_code == 302  # overlapping its own old slot is no warning
    late = client.post(url, slot(60 * H, location="Room 6"))
    assert late.status_code == 200 and "after the deployment window opens" in late.content.decode()
    meeting.refresh_from_db()
    assert meeting.location == "Room 5"
    past = client.post(url, slot(-H, location="Room 7", confirm_warnings="on"))
    assert past.status_code == 400 and "must start in the future" in past.content.decode()
    meeting.refresh_from_db()
    assert meeting.location == "Room 5" and len(entries(Action.MEETING_RESCHEDULED)) == 1
    assert (
        client.post(url, slot(60 * H, location="Room 6", confirm_warnings="on")).status_code == 302
    )
    last = entries(Action.MEETING_RESCHEDULED)[-1]
    assert last.after["location"] == "Room 6"
    assert "after the deployment window opens" in last.after["warnings_acknowledged"][0]


# --- going around it ------------------------------------------------------------------------


def test_a_confirm_posted_blind_still_logs_the_warnings_it_acknowledges(client, team, release):
    """Ticking without having seen the warning: the server recomputes them and logs them."""
    client.force_login(team["rm"])
    response = client.post(create_url(release), slot(72 * H, confirm_warnings="on"))
    assert response.status_code == 302
    [entry] = entries(Action.MEETING_SCHEDULED)
    assert entry.after["warnings_acknowledged"]


@pytest.mark.parametrize("who", ["po", "cc", "auditor"])
def test_the_confirm_tick_opens_no_door_to_people_who_may_not_schedule(client, team, release, who):
    client.force_login(team[who])
    response = client.post(create_url(release), slot(24 * H, confirm_warnings="on"))
    assert response.status_code == 403
    assert not GateMeeting.objects.exists() and entries(Action.ACCESS_REFUSED)


def test_the_meeting_form_needs_csrf(team, release):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(team["rm"])
    assert (
        csrf_client.post(create_url(release), slot(72 * H, confirm_warnings="on")).status_code
        == 403
    )
    assert not GateMeeting.objects.exists()


def test_garbage_is_a_field_error_never_a_500(client, team, release):
    client.force_login(team["rm"])
    response = client.post(
        create_url(release), {"start": "soon", "duration_minutes": "x", "confirm_warnings": "yes"}
    )
    assert response.status_code == 400
    assert set(response.context["form"].errors) >= {"start", "duration_minutes"}
    assert not GateMeeting.objects.exists()


def test_the_admin_is_no_other_door_to_a_meeting_in_the_past(client, team, release):
    meeting = schedule(release, team, hours=24)
    before = meeting.start
    client.force_login(team["admin"])
    past = timezone.now() - 2 * H
    response = client.post(
        f"/admin/meetings/gatemeeting/{meeting.pk}/change/",
        {"start_0": past.date(), "start_1": past.time(), "duration_minutes": "15"},
    )
    assert response.status_code == 403
    meeting.refresh_from_db()
    assert meeting.start == before and not entries(Action.MEETING_RESCHEDULED)


# --- the same instant ---------------------------------------------------------------------


def test_a_warning_the_form_did_not_show_is_shown_instead_of_saved_unseen(team, release):
    """The form saw no warning; another meeting lands before the save: nothing changes and
    the new warning comes back to be confirmed."""
    schedule(release, team, hours=24, duration_minutes=30)
    with pytest.raises(SlotWarningsChanged) as raised:
        schedule(release, team, hours=24, duration_minutes=30, warnings_acknowledged=[])
    assert "overlaps another gate meeting" in raised.value.warnings[0]
    assert GateMeeting.objects.count() == 1 and len(entries(Action.MEETING_SCHEDULED)) == 1
    schedule(
        release, team, hours=24, duration_minutes=30, warnings_acknowledged=raised.value.warnings
    )
    assert GateMeeting.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_of_one_release_at_the_same_instant_the_second_is_warned(team):
    release = release_in_review(team)
    start = (timezone.now() + 24 * H).replace(second=0, microsecond=0)
    barrier = threading.Barrier(2)
    outcomes: list = []

    def scheduler(location: str) -> None:
        try:
            barrier.wait(timeout=10)
            meeting_schedule(
                release=release,
                actor=team["rm"],
                start=start,
                duration_minutes=30,
                location=location,
                warnings_acknowledged=[],  # each form showed no warning
            )
            outcomes.append("scheduled")
        except SlotWarningsChanged as error:
            outcomes.append(error.warnings)
        finally:
            connection.close()

    threads = [threading.Thread(target=scheduler, args=(f"Room {n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes, key=str)[-1] == "scheduled"
    [warned] = [o for o in outcomes if o != "scheduled"]
    assert "overlaps another gate meeting of Payments API 2.4.0" in warned[0]
    assert GateMeeting.objects.count() == 1 and len(entries(Action.MEETING_SCHEDULED)) == 1
