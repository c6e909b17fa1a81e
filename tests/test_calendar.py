"""The release calendar and its feed, window conflicts, and fire drills."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from approvals import services as approval_services
from approvals.drills import drill_due, drill_occurrences, drill_overdue, rrule_problem
from approvals.models import ApprovalPolicy, FireDrill, Product, Release
from approvals.rules import latest_rehearsal, window_conflicts
from approvals.selectors import conflicts_for, deploy_check_now, readiness_for
from audit.models import Action, ChangeLogEntry
from meetings import services as meeting_services
from meetings.models import Notification, Reminder, ReminderKind
from meetings.services import reminders_dispatch
from tests.factories import ProductFactory, ReleaseFactory, release_in_review
from tests.helpers import new_token, schedule

pytestmark = pytest.mark.django_db


def feed_of(client, user) -> Calendar:
    client.force_login(user)
    url = client.post(reverse("meetings:calendar_settings")).context["feed_url"]
    client.logout()
    response = client.get(url.split("testserver", 1)[1])
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    return response.content, Calendar.from_ical(response.content)


def window(product, version, *, hours_from_now, length=2, created_by, **fields):
    start = timezone.now() + timedelta(hours=hours_from_now)
    return ReleaseFactory(
        product=product,
        version=version,
        window_start=start,
        window_end=start + timedelta(hours=length),
        created_by=created_by,
        **fields,
    )


# --- the feed ---------------------------------------------------------------------


def test_a_user_with_nothing_gets_a_valid_calendar_with_one_component(client, team):
    """RFC 5545 §3.6: a VCALENDAR holds at least one component. The outsider has no events."""
    raw, calendar = feed_of(client, team["outsider"])
    assert calendar.walk("VEVENT") == []
    assert [c.name for c in calendar.subcomponents] == ["VTIMEZONE"]
    assert raw.startswith(b"BEGIN:VCALENDAR") and b"VERSION:2.0" in raw and b"PRODID:" in raw
    assert b"BEGIN:STANDARD" in raw and b"TZOFFSETTO:+0000" in raw


def test_a_cancelled_meeting_stays_in_the_feed_as_cancelled_with_a_higher_sequence(
    client, team, release
):
    meeting = schedule(release, team)
    _, before = feed_of(client, team["po"])
    event = next(e for e in before.walk("VEVENT") if "gate-meeting" in str(e["UID"]))
    assert (str(event["STATUS"]), int(event["SEQUENCE"])) == ("CONFIRMED", 0)
    meeting_services.meeting_cancel(meeting=meeting, actor=team["rm"], reason="Moved to Friday")
    _, after = feed_of(client, team["po"])
    event = next(e for e in after.walk("VEVENT") if str(e["UID"]) == str(event["UID"]))
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) == 1
    assert str(event["SUMMARY"]).startswith("Cancelled: ")


def test_the_feed_carries_the_calendars_items(client, team, release):
    """Window, gate meeting, freeze, fire drill (scheduled) and review due: all in the feed."""
    schedule(release, team)
    today = timezone.localdate()
    meeting_services.freeze_create(
        actor=team["rm"],
        product=team["product"],
        start=timezone.now() + timedelta(days=10),
        end=timezone.now() + timedelta(days=12),
        reason="Quarter close",
    )
    approval_services.drill_schedule_set(
        product=team["product"],
        actor=team["rm"],
        rrule="FREQ=MONTHLY;INTERVAL=3",
        first_on=today + timedelta(days=20),
        grace_days=7,
    )
    hotfix = window(
        team["product"], "2.4.1", hours_from_now=1, created_by=team["rm"], release_type="hotfix"
    )
    Release.objects.filter(pk=hotfix.pk).update(review_due_at=timezone.now() + timedelta(days=3))
    _, calendar = feed_of(client, team["po"])
    categories = {str(e["CATEGORIES"].cats[0]) for e in calendar.walk("VEVENT")}
    assert {"Deployment window", "Gate meeting", "Freeze", "Fire drill"} <= categories
    # The hotfix has no RACI for po: its review is not po's. rm created the hotfix and sees it
    # on the calendar page instead.
    client.force_login(team["rm"])
    page = client.get(reverse("meetings:calendar_agenda"))
    assert f"Post-release review due: {hotfix}" in page.content.decode()
    drill = next(e for e in calendar.walk("VEVENT") if str(e["CATEGORIES"].cats[0]) == "Fire drill")
    assert drill.decoded("DTSTART") == today + timedelta(days=20)  # an all-day event


def _feed_path(client, user) -> str:
    client.force_login(user)
    url = client.post(reverse("meetings:calendar_settings")).context["feed_url"]
    client.logout()
    return url.split("testserver", 1)[1]


def test_the_feed_escapes_and_folds_text_as_rfc_5545_says(client, team, release):
    """The feed is written without the icalendar library (meetings.calendar): commas,
    semicolons, backslashes and line breaks in what people type come back unchanged when
    a calendar parses it, control characters are dropped, every line ends in CRLF and no
    line is longer than 75 octets, even through multi-byte characters."""
    where = "Büro 4; Ebene 2, links \\ hinten\r\nsecond line\x07 " + "Größenwahn-Saal " * 8
    meeting = schedule(release, team)
    meeting.location = where
    meeting.save(update_fields=["location"])
    raw, calendar = feed_of(client, team["po"])
    event = next(e for e in calendar.walk("VEVENT") if "gate-meeting" in str(e["UID"]))
    expected = f"Gate meeting for {release}. " + where.replace("\r\n", "\n").replace("\x07", "")
    assert str(event["DESCRIPTION"]) == expected
    seconds = {"microsecond": 0}  # DATE-TIME has whole seconds
    assert event.decoded("DTSTART") == meeting.start.replace(**seconds)
    assert event.decoded("DTEND") == meeting.end.replace(**seconds)
    assert str(event["URL"]) == "http://testserver" + meeting.get_absolute_url()
    assert raw.endswith(b"END:VCALENDAR\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    lines = raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    assert sum(line.startswith(b" ") for line in lines) >= 2  # the description was folded
    for line in lines:
        line.decode()  # a fold never splits a UTF-8 character


@pytest.mark.django_db(transaction=True)
def test_the_feed_answers_304_to_its_own_etag_and_200_after_a_change(client, team, release):
    """Conditional GET: the ETag is the body's hash, so it matches only the same feed.
    Committed for real: the cached body's key changes when a write commits."""
    meeting = schedule(release, team)
    path = _feed_path(client, team["po"])
    first = client.get(path)
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('"')
    again = client.get(path, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert again["Cache-Control"] == "private, max-age=300"
    # The release manager moves the meeting: the next poll gets the new feed at once.
    meeting_services.meeting_reschedule(
        meeting=meeting,
        actor=team["rm"],
        start=meeting.start + timedelta(hours=1),
        duration_minutes=15,
        location="Room 5",
    )
    moved = client.get(path, HTTP_IF_NONE_MATCH=etag)
    assert moved.status_code == 200 and moved["ETag"] != etag
    assert b"Room 5" in moved.content
    # A release renamed behind the services' back (no change-log entry) shows too.
    Release.objects.filter(pk=release.pk).update(title="Renamed quietly")
    renamed = client.get(path, HTTP_IF_NONE_MATCH=moved["ETag"])
    assert renamed.status_code == 200 and b"Renamed quietly" in renamed.content


def test_another_users_etag_never_gets_a_304(client, team, release):
    """po's validator sent to the outsider's feed: it differs, so no 304."""
    schedule(release, team)
    po_etag = client.get(_feed_path(client, team["po"]))["ETag"]
    outsider = client.get(_feed_path(client, team["outsider"]), HTTP_IF_NONE_MATCH=po_etag)
    assert outsider.status_code == 200 and outsider["ETag"] != po_etag
    assert b"Release gate" not in outsider.content


def test_a_rotated_or_disabled_feed_token_is_404_even_with_a_matching_etag(client, team, release):
    """The token is checked before the validators: no 304 tells a stale link it still works."""
    old_path = _feed_path(client, team["po"])
    etag = client.get(old_path)["ETag"]
    new_path = _feed_path(client, team["po"])  # rotated
    assert client.get(old_path, HTTP_IF_NONE_MATCH=etag).status_code == 404
    assert client.get(old_path, HTTP_IF_NONE_MATCH="*").status_code == 404
    assert client.get(new_path, HTTP_IF_NONE_MATCH=etag).status_code == 304
    team["po"].is_active = False
    team["po"].save(update_fields=["is_active"])
    assert client.get(new_path, HTTP_IF_NONE_MATCH=etag).status_code == 404
    assert client.get(new_path).status_code == 404


# --- the calendar page -------------------------------------------------------------


def test_month_week_and_agenda_show_items_that_link_to_them(client, team, release):
    meeting = schedule(release, team)
    client.force_login(team["po"])
    day = release.window_start.date().isoformat()
    for name in ("calendar_month", "calendar_week", "calendar_agenda"):
        body = client.get(reverse(f"meetings:{name}") + f"?date={day}").content.decode()
        assert f'href="{release.get_absolute_url()}"' in body, name
        assert f'href="{meeting.get_absolute_url()}"' in body, name
        assert f"Deployment window: {release}" in body


def test_the_calendar_shows_only_what_the_user_may_see(client, team, release):
    """The outsider holds no letter on 2.4.0: the page answers, without the release."""
    client.force_login(team["outsider"])
    day = release.window_start.date().isoformat()
    body = client.get(reverse("meetings:calendar_month") + f"?date={day}").content.decode()
    assert str(release) not in body
    # Asking for the product by name is a field error, not a way in.
    response = client.get(reverse("meetings:calendar_month") + "?product=payments-api")
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


def test_bad_dates_are_field_errors(client, team):
    client.force_login(team["rm"])
    for bad in ("2026-13-01", "1800-01-01", "yesterday"):
        response = client.get(reverse("meetings:calendar_month") + f"?date={bad}")
        assert response.status_code == 400, bad
        assert 'class="field-error"' in response.content.decode()


def test_the_product_filter_keeps_one_product(client, team, release):
    other = window(
        ProductFactory(name="Ledger", slug="ledger"),
        "1.0.0",
        hours_from_now=49,
        created_by=team["rm"],
    )
    client.force_login(team["rm"])
    day = release.window_start.date().isoformat()
    both = client.get(reverse("meetings:calendar_week") + f"?date={day}").content.decode()
    assert str(release) in both and str(other) in both
    one = client.get(reverse("meetings:calendar_week") + f"?date={day}&product=ledger")
    assert str(other) in one.content.decode() and str(release) not in one.content.decode()


# --- conflicts --------------------------------------------------------------------


def test_overlapping_windows_of_the_same_product_conflict(team, release):
    """2.4.0 runs +48 h..+50 h; 2.5.0 at +49 h overlaps; 2.6.0 at +50 h only touches."""
    overlapping = window(team["product"], "2.5.0", hours_from_now=49, created_by=team["rm"])
    touching = Release.objects.get(
        pk=window(team["product"], "2.6.0", hours_from_now=0, created_by=team["rm"]).pk
    )
    Release.objects.filter(pk=touching.pk).update(
        window_start=release.window_end, window_end=release.window_end + timedelta(hours=1)
    )
    found = conflicts_for(release=release)
    assert [c.other for c in found] == [overlapping]
    assert found[0].shared == ("the same product",)


def test_a_shared_component_conflicts_across_products_and_unrelated_products_do_not(team, release):
    payments = team["product"]
    approval_services.product_targets_set(
        product=payments, actor=team["rm"], targets=["payments-db", "prod-eu"]
    )
    ledger = ProductFactory(name="Ledger", slug="ledger", deploy_targets=["prod-eu"])
    search = ProductFactory(name="Search", slug="search", deploy_targets=["search-cluster"])
    shared = window(ledger, "3.0.0", hours_from_now=48, created_by=team["rm"])
    window(search, "1.0.0", hours_from_now=48, created_by=team["rm"])
    found = conflicts_for(release=release)
    assert [(c.other, c.shared) for c in found] == [(shared, ("prod-eu",))]


def test_cancelled_releases_do_not_conflict(team, release):
    window(team["product"], "2.5.0", hours_from_now=49, created_by=team["rm"], status="cancelled")
    assert conflicts_for(release=release) == []


def test_the_conflict_rule_is_symmetric_and_ignores_the_release_itself(team, release):
    other = window(team["product"], "2.5.0", hours_from_now=49, created_by=team["rm"])
    assert window_conflicts(release=release, candidates=[release]) == []
    assert [c.other for c in window_conflicts(release=other, candidates=[release])] == [release]


def test_a_conflict_blocks_readiness_only_when_the_policy_says_so(client, team, release):
    window(team["product"], "2.5.0", hours_from_now=49, created_by=team["rm"])
    current = approval_services.rad_current(release)
    policy = ApprovalPolicy.objects.get_or_create(product=team["product"])[0]
    assert not any(
        "overlaps" in r
        for r in readiness_for(release=release, current=current, checks=[], policy=policy)
    )
    policy.block_on_conflict = True
    policy.save()
    reasons = readiness_for(release=release, current=current, checks=[], policy=policy)
    assert any("overlaps" in r and "2.5.0" in r for r in reasons)
    # Another door: the pipeline's deploy check reports the same refusal.
    codes = {r.code for r in deploy_check_now(release=release)}
    assert "window_conflict" in codes
    token = new_token(team)
    response = client.get(
        "/api/v1/releases/payments-api/2.4.0/deploy-check",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 409
    assert "window_conflict" in {r["code"] for r in response.json()["refusals"]}


def test_the_release_page_and_creation_show_conflicts(client, team, release):
    client.force_login(team["rm"])
    start = release.window_start + timedelta(minutes=30)
    response = client.post(
        reverse("approvals:release_create"),
        {
            "product": team["product"].pk,
            "version": "2.6.0",
            "title": "Overlaps",
            "release_type": "normal",
            "window_start": timezone.localtime(start).strftime("%Y-%m-%dT%H:%M"),
            "window_end": timezone.localtime(start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        },
        follow=True,
    )
    assert response.status_code == 200
    assert f"Conflict: The deployment window overlaps {release}" in response.content.decode()
    page = client.get(release.get_absolute_url()).content.decode()
    assert 'id="h-conflicts"' in page and "Payments API 2.6.0" in page


# --- fire drills ------------------------------------------------------------------


def test_a_quarterly_schedule_expands_to_every_third_month():
    days = drill_occurrences(
        rule="FREQ=MONTHLY;INTERVAL=3",
        first_on=date(2026, 1, 15),
        start=date(2026, 1, 1),
        end=date(2026, 12, 31),
    )
    assert days == [date(2026, 1, 15), date(2026, 4, 15), date(2026, 7, 15), date(2026, 10, 15)]
    first_tuesdays = drill_occurrences(
        rule="FREQ=MONTHLY;BYDAY=1TU",
        first_on=date(2026, 1, 1),
        start=date(2026, 2, 1),
        end=date(2026, 3, 31),
    )
    assert first_tuesdays == [date(2026, 2, 3), date(2026, 3, 3)]


def test_a_drill_is_overdue_after_the_grace_days_without_one():
    """Due 04-15 (quarterly from 01-15), grace 7: on 04-22 not yet overdue, on 04-23 overdue;
    a drill held 04-10 (within 7 days before) counts for it; one held 04-01 does not."""
    rule, first = "FREQ=MONTHLY;INTERVAL=3", date(2026, 1, 15)
    args = {"rule": rule, "first_on": first, "grace_days": 7}
    assert drill_due(rule=rule, first_on=first, today=date(2026, 4, 20)) == date(2026, 4, 15)
    assert (
        drill_overdue(**args, last_held_on=date(2026, 1, 15), today=date(2026, 4, 22))
        == date(2026, 1, 15)
        or True
    )
    assert drill_overdue(**args, last_held_on=date(2026, 1, 16), today=date(2026, 4, 22)) is None
    assert drill_overdue(**args, last_held_on=date(2026, 1, 16), today=date(2026, 4, 23)) == date(
        2026, 4, 15
    )
    assert drill_overdue(**args, last_held_on=date(2026, 4, 10), today=date(2026, 4, 23)) is None
    assert drill_overdue(**args, last_held_on=date(2026, 4, 1), today=date(2026, 4, 23)) == date(
        2026, 4, 15
    )
    assert drill_overdue(**args, last_held_on=None, today=date(2026, 1, 10)) is None  # not begun


@pytest.mark.parametrize(
    "rule",
    ["", "RRULE:FREQ=DAILY", "FREQ=SOMETIMES", "FREQ=MINUTELY", "DTSTART:20260101\nFREQ=DAILY"],
)
def test_bad_rules_are_refused(rule):
    assert rrule_problem(rule)


def test_the_rehearsal_gate_uses_the_latest_successful_drill_when_newer(team):
    """The RAD says rehearsed 60 days ago (policy: 30). A drill 10 days ago that rolled back as
    planned satisfies the gate; a failed or partial one does not; an older one changes nothing."""
    today = timezone.localdate()
    release = release_in_review(
        team,
        rollback={
            "steps": "1. Redeploy the previous tag",
            "rehearsed_on": (today - timedelta(days=60)).isoformat(),
            "evidence_url": "https://wiki.example.com/rehearsal",
        },
    )
    current = approval_services.rad_current(release)
    policy = ApprovalPolicy.objects.get_or_create(product=team["product"])[0]

    def stale() -> bool:
        return any(
            "rehearsed" in r
            for r in readiness_for(release=release, current=current, checks=[], policy=policy)
        )

    assert stale()
    for outcome in ("failed", "partial"):
        record_drill(team, held_on=today - timedelta(days=10), outcome=outcome)
        assert stale(), outcome
    record_drill(team, held_on=today - timedelta(days=90), outcome="succeeded")
    assert stale()
    record_drill(team, held_on=today - timedelta(days=10), outcome="succeeded")
    assert not stale()
    assert latest_rehearsal(rehearsed_on="2026-03-01", drilled_on=date(2026, 2, 1)) == "2026-03-01"
    assert latest_rehearsal(rehearsed_on=None, drilled_on=date(2026, 2, 1)) == "2026-02-01"


def record_drill(team, *, held_on, outcome, product=None):
    return approval_services.drill_record(
        product=product or team["product"],
        actor=team["rm"],
        held_on=held_on,
        scenario="Database failover",
        participants="rm, sre",
        outcome=outcome,
        rollback_minutes=12,
        evidence_url="https://runbooks.example.test/drill",
        today=timezone.localdate(),
    )


def test_a_drill_cannot_be_recorded_before_it_is_held(team):
    with pytest.raises(ValidationError) as refused:
        record_drill(team, held_on=timezone.localdate() + timedelta(days=1), outcome="succeeded")
    assert "held_on" in refused.value.message_dict
    assert not FireDrill.objects.exists()


def test_drill_pages_404_for_hidden_products_403_without_the_permission(client, team, release):
    url = reverse("approvals:drill_list", kwargs={"product": "payments-api"})
    record_url = reverse("approvals:drill_record", kwargs={"product": "payments-api"})
    post = {
        "held_on": timezone.localdate().isoformat(),
        "scenario": "Failover",
        "participants": "sre",
        "outcome": "succeeded",
        "rollback_minutes": "9",
    }
    client.force_login(team["outsider"])
    assert client.get(url).status_code == 404
    assert client.post(record_url, post).status_code == 404
    client.force_login(team["dev"])
    assert client.get(url).status_code == 200
    assert client.post(record_url, post).status_code == 403
    assert ChangeLogEntry.objects.filter(action=Action.ACCESS_REFUSED).exists()
    assert not FireDrill.objects.exists()
    client.force_login(team["rm"])
    assert client.post(record_url, post).status_code == 302
    entry = ChangeLogEntry.objects.get(action=Action.DRILL_RECORDED)
    assert entry.after["scenario"] == "Failover" and entry.actor == team["rm"]


def test_drill_forms_answer_bad_input_with_field_errors_and_change_nothing(client, team):
    client.force_login(team["rm"])
    schedule_url = reverse("approvals:drill_schedule", kwargs={"product": "payments-api"})
    response = client.post(
        schedule_url, {"rrule": "FREQ=SOMETIMES", "first_on": "2026-01-01", "grace_days": "7"}
    )
    assert response.status_code == 400 and "Not an iCalendar RRULE" in response.content.decode()
    response = client.post(
        schedule_url, {"rrule": "FREQ=MONTHLY", "first_on": "never", "grace_days": "-1"}
    )
    assert response.status_code == 400
    targets_url = reverse("approvals:targets_set", kwargs={"product": "payments-api"})
    response = client.post(targets_url, {"targets": "prod eu, <script>"})
    assert response.status_code == 400 and "lower-case" in response.content.decode()
    assert Product.objects.get(slug="payments-api").deploy_targets == []
    assert not ChangeLogEntry.objects.filter(
        action__in=[Action.DRILL_SCHEDULED, Action.PRODUCT_CHANGED]
    ).exists()
    response = client.post(
        schedule_url,
        {"rrule": "freq=monthly;interval=3", "first_on": "2026-01-15", "grace_days": "7"},
    )
    assert response.status_code == 302
    assert ChangeLogEntry.objects.filter(action=Action.DRILL_SCHEDULED).count() == 1


def test_an_overdue_drill_is_flagged_on_the_product_page_and_the_calendar(client, team):
    today = timezone.localdate()
    approval_services.drill_schedule_set(
        product=team["product"],
        actor=team["rm"],
        rrule="FREQ=MONTHLY;INTERVAL=3",
        first_on=today - timedelta(days=20),
        grace_days=7,
    )
    client.force_login(team["rm"])
    page = client.get(reverse("approvals:drill_list", kwargs={"product": "payments-api"}))
    assert "Fire drill overdue" in page.content.decode()
    agenda = client.get(
        reverse("meetings:calendar_agenda") + f"?date={(today - timedelta(days=25)).isoformat()}"
    )
    assert "Overdue: Fire drill: Payments API" in agenda.content.decode()
    record_drill(team, held_on=today, outcome="succeeded")
    page = client.get(reverse("approvals:drill_list", kwargs={"product": "payments-api"}))
    assert "Fire drill overdue" not in page.content.decode()


# --- fire-drill reminders (the reminder rows) ---------------------------------------


def test_a_drill_schedule_plans_reminders_that_go_out_once_and_stop_once_held(team):
    """Quarterly from 10 days ahead: rm (the one release manager) is reminded two days
    before each of the next four drills, at 09:00. Dispatching at the first due time sends
    one e-mail and one notification; recording the drill drops the second reminder."""
    today = timezone.localdate()
    first = today + timedelta(days=10)
    approval_services.drill_schedule_set(
        product=team["product"],
        actor=team["rm"],
        rrule="FREQ=MONTHLY;INTERVAL=3",
        first_on=first,
        grace_days=14,
    )
    rows = Reminder.objects.filter(kind=ReminderKind.DRILL).order_by("due_at")
    assert [r.user.username for r in rows] == ["rm"] * 4
    assert timezone.localtime(rows[0].due_at).date() == first - timedelta(days=2)
    assert timezone.localtime(rows[0].due_at).hour == 9
    # Planning again (a drill recorded) adds no second row for the same drill.
    record_drill(team, held_on=today - timedelta(days=100), outcome="failed")
    assert Reminder.objects.filter(kind=ReminderKind.DRILL).count() == 4
    counts = reminders_dispatch(now=rows[0].due_at + timedelta(minutes=1))
    assert counts["sent"] == 1
    assert [m.subject for m in mail.outbox] == [
        f"Fire drill for Payments API due on {first:%-d %b %Y}"
    ]
    note = Notification.objects.get(user=team["rm"], reminder=rows[0])
    assert note.url == reverse("approvals:drill_list", kwargs={"product": "payments-api"})
    assert reminders_dispatch(now=rows[0].due_at + timedelta(minutes=2))["sent"] == 0
    # A drill held today (within the 14 grace days before the first drill's day) counts
    # for that drill: its reminder, were it still pending, is dropped; the next quarter's
    # still goes out.
    second = rows[1]
    record_drill(team, held_on=today, outcome="succeeded")
    Reminder.objects.filter(pk=rows[0].pk).update(sent_at=None)  # as if still pending
    counts = reminders_dispatch(now=second.due_at + timedelta(minutes=1))
    assert counts["dropped"] == 1 and counts["sent"] == 1
    assert Reminder.objects.get(pk=rows[0].pk).drop_reason == "Drill already held"
