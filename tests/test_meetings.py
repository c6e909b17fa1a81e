"""Gate meetings, reminders (dispatched in-process here), freezes, notifications, calendar."""

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail.backends import locmem
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from approvals import services as release_services
from approvals.models import ApprovalPolicy
from audit.models import Action, ChangeLogEntry
from meetings import services
from meetings.models import MeetingStatus, Notification, Reminder, ReminderKind
from tests.factories import release_in_review
from tests.helpers import approve_all, schedule, sign

pytestmark = pytest.mark.django_db


ATTENDEES = {"cc", "dev", "po", "qa", "rm", "sre"}  # R, A and C; ii is only Informed


def test_attendees_are_the_r_a_and_c_plus_extras(team, release):
    meeting = schedule(release, team, extra_attendees=[team["auditor"]])
    names = {u.username for u in services.meeting_attendees(meeting)}
    assert names == ATTENDEES | {"auditor"}


def test_scheduling_plans_one_reminder_per_attendee_per_offset(team, release):
    meeting = schedule(release, team)
    rows = Reminder.objects.filter(meeting=meeting, kind=ReminderKind.MEETING)
    assert rows.count() == len(ATTENDEES) * 2
    assert set(rows.values_list("offset_seconds", flat=True)) == {86400, 3600}
    due = rows.get(user=team["po"], offset_seconds=3600).due_at
    assert due == meeting.start - timedelta(hours=1)
    signoff = Reminder.objects.filter(meeting=meeting, kind=ReminderKind.SIGNOFF)
    assert {r.user.username for r in signoff} == {"po", "qa", "sre", "rm"}
    assert ChangeLogEntry.objects.filter(action=Action.MEETING_SCHEDULED).count() == 1
    meeting_notices = Notification.objects.filter(user=team["po"], title__startswith="Gate meeting")
    assert meeting_notices.count() == 1


def test_offsets_already_past_collapse_into_one_reminder(team, release):
    meeting = schedule(release, team, hours=0.5)
    rows = Reminder.objects.filter(meeting=meeting, kind=ReminderKind.MEETING, user=team["po"])
    assert [r.offset_seconds for r in rows] == [3600]
    assert rows[0].due_at <= timezone.now()


def test_a_meeting_must_start_in_the_future(team, release):
    with pytest.raises(ValidationError) as error:
        services.meeting_schedule(
            release=release, actor=team["rm"], start=timezone.now() - timedelta(minutes=1)
        )
    assert "start" in error.value.message_dict


def test_dispatch_sends_each_due_reminder_once_with_an_ics_invite(team, release):
    meeting = schedule(release, team, hours=0.5)
    first = services.reminders_dispatch()
    again = services.reminders_dispatch()
    meeting_mails = [m for m in mail.outbox if m.subject.startswith("Reminder: release gate")]
    assert first["sent"] == len(ATTENDEES) + 4  # meeting reminders + pending sign-off ones
    assert again == {"sent": 0, "dropped": 0, "skipped": 0}
    assert sorted(m.to[0].split("@")[0] for m in meeting_mails) == sorted(ATTENDEES)
    message = meeting_mails[0]
    name, content, mimetype = message.attachments[0]
    assert name == "gate-meeting.ics" and mimetype.startswith("text/calendar")
    event = Calendar.from_ical(content).walk("VEVENT")[0]
    assert str(event["SUMMARY"]) == f"Release gate: {release}"
    assert event.decoded("DTSTART") == meeting.start.replace(microsecond=0)
    assert "Sign-offs still pending" in str(event["DESCRIPTION"])
    html = message.alternatives[0]
    assert "Open the meeting in Relapp" in html[0]
    assert Notification.objects.filter(reminder__isnull=False).count() == first["sent"]


def test_a_reminder_for_a_meeting_already_started_is_dropped(team, release):
    meeting = schedule(release, team, hours=2)
    later = meeting.start + timedelta(minutes=1)
    counts = services.reminders_dispatch(now=later)
    assert counts["sent"] == 0
    assert counts["dropped"] == Reminder.objects.filter(meeting=meeting).count()
    assert set(Reminder.objects.values_list("drop_reason", flat=True)) == {
        "Meeting already started"
    }
    assert mail.outbox == []


def test_the_signoff_reminder_is_dropped_once_signed(team, release):
    meeting = schedule(release, team, hours=0.5)
    sign(release, team["po"], "Business scope")
    services.reminders_dispatch()
    po_signoff = Reminder.objects.get(meeting=meeting, user=team["po"], kind=ReminderKind.SIGNOFF)
    assert po_signoff.drop_reason == "Nothing left to sign"
    qa_signoff = Reminder.objects.get(meeting=meeting, user=team["qa"], kind=ReminderKind.SIGNOFF)
    assert qa_signoff.sent_at is not None


def test_reschedule_replans_and_cancel_drops(team, release):
    meeting = schedule(release, team)
    services.meeting_reschedule(
        meeting=meeting,
        actor=team["rm"],
        start=meeting.start + timedelta(days=1),
        duration_minutes=30,
        location="Room 5",
    )
    meeting.refresh_from_db()
    assert meeting.sequence == 1
    old = Reminder.objects.filter(meeting=meeting, meeting_sequence=0, kind=ReminderKind.MEETING)
    assert set(old.values_list("drop_reason", flat=True)) == {"Meeting rescheduled"}
    new = Reminder.objects.filter(meeting=meeting, meeting_sequence=1, dropped_at__isnull=True)
    assert new.filter(kind=ReminderKind.MEETING).count() == len(ATTENDEES) * 2
    assert new.get(user=team["po"], offset_seconds=3600, kind="meeting").due_at == (
        meeting.start - timedelta(hours=1)
    )
    with pytest.raises(ValidationError):
        services.meeting_cancel(meeting=meeting, actor=team["rm"], reason="")
    services.meeting_cancel(meeting=meeting, actor=team["rm"], reason="Vendor outage")
    assert not Reminder.objects.filter(sent_at__isnull=True, dropped_at__isnull=True).exists()
    assert services.reminders_dispatch(now=meeting.start - timedelta(minutes=5))["sent"] == 0
    actions = list(
        ChangeLogEntry.objects.filter(action__startswith="meeting.")
        .values_list("action", flat=True)
        .order_by("seq")
    )
    assert actions == ["meeting.scheduled", "meeting.rescheduled", "meeting.cancelled"]


def test_minutes_and_decision_are_recorded_after_the_start(team, release):
    meeting = schedule(release, team, hours=0.5)
    with pytest.raises(release_services.DomainError, match="once the meeting has started"):
        services.meeting_record_outcome(
            meeting=meeting, actor=team["rm"], minutes="x", decision="go"
        )
    type(meeting).objects.filter(pk=meeting.pk).update(start=timezone.now() - timedelta(minutes=1))
    meeting.refresh_from_db()
    approve_all(release, team)  # a plain "go" needs every required sign-off in
    services.meeting_record_outcome(
        meeting=meeting, actor=team["rm"], minutes="All green", decision="go"
    )
    meeting.refresh_from_db()
    assert (meeting.status, meeting.decision) == (MeetingStatus.HELD, "go")
    assert ChangeLogEntry.objects.get(action=Action.MEETING_MINUTES).after["decision"] == "go"


# --- freeze windows ---------------------------------------------------------------


def test_a_normal_release_in_a_freeze_cannot_be_approved(team, release):
    freeze = services.freeze_create(
        actor=team["rm"],
        product=None,
        start=release.window_start - timedelta(hours=1),
        end=release.window_end + timedelta(days=1),
        reason="Year-end freeze",
    )
    assert ChangeLogEntry.objects.filter(action=Action.FREEZE_CHANGED).count() == 1
    with pytest.raises(release_services.SignOffRefused) as error:
        approve_all(release, team)
    assert "overlaps the freeze “Year-end freeze”" in str(error.value)
    with pytest.raises(release_services.DomainError, match="Only a hotfix"):
        release_services.release_freeze_override(release=release, actor=team["rm"], reason="Please")
    services.freeze_delete(actor=team["rm"], freeze=freeze)
    approve_all(release, team)
    release.refresh_from_db()
    assert release.status == "approved"


def test_a_hotfix_may_deploy_in_a_freeze_with_an_emergency_reason(team, release):
    hotfix = release_in_review(team, version="2.4.1", release_type="hotfix", fixes=release)
    services.freeze_create(
        actor=team["rm"],
        product=team["product"],
        start=timezone.now(),
        end=timezone.now() + timedelta(days=10),
        reason="Peak season",
    )
    with pytest.raises(release_services.SignOffRefused, match="once an emergency reason"):
        sign(hotfix, team["rm"], "Go/no-go decision")
    release_services.release_freeze_override(
        release=hotfix, actor=team["rm"], reason="Card payments failing for 8% of users"
    )
    sign(hotfix, team["rm"], "Go/no-go decision")
    hotfix.refresh_from_db()
    assert hotfix.status == "approved"
    entry = ChangeLogEntry.objects.filter(action=Action.FREEZE_CHANGED, release=hotfix).get()
    assert entry.reason == "Card payments failing for 8% of users"


# --- pages ----------------------------------------------------------------------


def test_the_release_manager_schedules_from_the_release_page(client, team, release):
    client.force_login(team["rm"])
    url = reverse("meetings:meeting_create", kwargs={"product": "payments-api", "version": "2.4.0"})
    start = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, {"start": start, "duration_minutes": 15, "location": "Zoom"})
    assert response.status_code == 302
    assert release.meetings.get().location == "Zoom"
    bad = client.post(url, {"start": "", "duration_minutes": 2})
    assert bad.status_code == 400
    assert "Ensure this value is greater than or equal to 5." in bad.content.decode()


def test_only_schedulers_may_schedule_and_outsiders_see_nothing(client, team, release):
    meeting = schedule(release, team)
    url = reverse("meetings:meeting_create", kwargs={"product": "payments-api", "version": "2.4.0"})
    client.force_login(team["cc"])
    assert client.get(url).status_code == 403
    assert client.get(meeting.get_absolute_url()).status_code == 200
    assert (
        client.post(
            reverse("meetings:meeting_cancel", args=[meeting.pk]), {"reason": "x"}
        ).status_code
        == 403
    )
    client.force_login(team["outsider"])
    assert client.get(meeting.get_absolute_url()).status_code == 404
    assert client.get(reverse("meetings:meeting_ics", args=[meeting.pk])).status_code == 404
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.SCHEDULED


def test_the_bell_counts_unread_and_mark_read_clears_it(client, team, release):
    Notification.objects.all().delete()  # the submission's own notices (notifications app)
    schedule(release, team)
    client.force_login(team["po"])
    body = client.get("/").content.decode()
    assert 'aria-label="Notifications: 1 unread"' in body
    notification = Notification.objects.get(user=team["po"])
    client.post(reverse("meetings:notification_read"), {"notification": notification.pk})
    body = client.get("/").content.decode()
    assert 'aria-label="Notifications: 0 unread"' in body
    client.force_login(team["qa"])
    client.post(reverse("meetings:notification_read"), {"notification": notification.pk})
    notification.refresh_from_db()
    assert notification.read_at is not None  # qa cannot touch po's, but po already read it
    assert Notification.objects.get(user=team["qa"]).read_at is None


def test_the_private_calendar_feed(client, team, release):
    meeting = schedule(release, team)
    client.force_login(team["po"])
    response = client.post(reverse("meetings:calendar_settings"))
    feed_url = response.context["feed_url"]
    path = feed_url.split("testserver", 1)[1]
    client.logout()
    feed = client.get(path)
    assert feed.status_code == 200 and feed["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(feed.content)
    summaries = sorted(str(e["SUMMARY"]) for e in calendar.walk("VEVENT"))
    assert summaries == [
        f"Code cut-off: {release}",
        f"Deployment window: {release} (In review)",
        f"Release gate: {release}",
    ]
    assert calendar.walk("VEVENT")[0]["UID"]
    assert meeting.pk
    client.force_login(team["po"])
    client.post(reverse("meetings:calendar_settings"))
    client.logout()
    assert client.get(path).status_code == 404  # regenerated: the old link is dead
    assert client.get("/calendar/not-a-token.ics").status_code == 404


def test_reminder_offsets_come_from_the_product_policy(team, release):
    ApprovalPolicy.objects.update_or_create(
        product=team["product"], defaults={"reminder_offsets_seconds": [7200]}
    )
    meeting = schedule(release, team)
    offsets = set(
        Reminder.objects.filter(meeting=meeting, kind="meeting").values_list(
            "offset_seconds", flat=True
        )
    )
    assert offsets == {7200}


def test_the_release_manager_is_reminded_when_a_hotfix_review_falls_due(
    team, release, django_capture_on_commit_callbacks
):
    hotfix = release_in_review(team, version="2.4.1", release_type="hotfix", fixes=release)
    sign(hotfix, team["rm"], "Go/no-go decision")
    release_services.deployment_record(release=hotfix, actor=team["rm"], status="succeeded")
    hotfix.refresh_from_db()
    reminder = Reminder.objects.get(kind=ReminderKind.REVIEW, release=hotfix)
    assert (reminder.user, reminder.due_at) == (team["rm"], hotfix.review_due_at)
    assert services.reminders_dispatch()["sent"] == 0  # not due yet
    with django_capture_on_commit_callbacks(execute=True):
        counts = services.reminders_dispatch(now=hotfix.review_due_at + timedelta(minutes=1))
    # The review reminder (sent through the event catalogue, test_notifications_events),
    # and the overdue post-deploy checklist's to dev and sre.
    assert counts["sent"] == 3
    [message] = [m for m in mail.outbox if m.subject.startswith("Post-release review due")]
    assert message.to == ["rm@example.test"]
    assert "/review/" in message.body


# --- reminder leases: claim, send with nothing locked, mark by token --------------


class WorkerDied(BaseException):
    """Stands for the process dying: no `except Exception` in the code catches it."""


def one_due_reminder(team, release) -> Reminder:
    """The product owner's meeting reminder, due now; every other reminder is dropped."""
    meeting = schedule(release, team, hours=0.5)
    reminder = Reminder.objects.get(meeting=meeting, user=team["po"], kind=ReminderKind.MEETING)
    Reminder.objects.exclude(pk=reminder.pk).update(
        dropped_at=timezone.now(), drop_reason="Not part of this test"
    )
    return reminder


def lease() -> timedelta:
    return timedelta(seconds=settings.REMINDER_LEASE_SECONDS)


def run_in_threads(*targets) -> None:
    """Run each target in its own thread, so each has its own database connection."""
    errors = []

    def run(target):
        try:
            target()
        except BaseException as error:  # re-raised in the test's thread below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    if errors:
        raise errors[0]


@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_at_the_same_instant_get_disjoint_reminders(team, release):
    schedule(release, team, hours=0.5)
    ids = list(Reminder.objects.order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    start = threading.Barrier(2)
    tokens: dict[str, dict] = {}

    def worker(name):
        def claim_all():
            start.wait(timeout=10)
            tokens[name] = {pk: services.reminder_claim(reminder_id=pk, now=now) for pk in ids}

        return claim_all

    run_in_threads(worker("a"), worker("b"))
    won_a = {pk for pk, token in tokens["a"].items() if token}
    won_b = {pk for pk, token in tokens["b"].items() if token}
    assert won_a.isdisjoint(won_b)
    assert won_a | won_b == set(ids)
    on_rows = dict(Reminder.objects.values_list("pk", "claim_token"))
    assert on_rows == {pk: tokens["a"][pk] or tokens["b"][pk] for pk in ids}
    assert set(Reminder.objects.values_list("claimed_until", flat=True)) == {now + lease()}


@pytest.mark.django_db(transaction=True)
def test_two_dispatches_at_once_send_each_reminder_once(team, release, settings):
    settings.REMINDER_SEND_PAUSE_SECONDS = 0.01  # interleaves the two workers
    mail.outbox.clear()  # the submission's own e-mails (notifications app)
    schedule(release, team, hours=0.5)
    total = Reminder.objects.count()
    start = threading.Barrier(2)
    counts = []

    def dispatch():
        start.wait(timeout=10)
        counts.append(services.reminders_dispatch())

    run_in_threads(dispatch, dispatch)
    ids = [m.extra_headers["Message-ID"] for m in mail.outbox]
    assert len(ids) == total
    assert len(set(ids)) == total
    assert sum(c["sent"] for c in counts) == total
    assert Reminder.objects.filter(sent_at__isnull=False, claim_token__isnull=True).count() == total
    assert Notification.objects.filter(reminder__isnull=False).count() == total


@pytest.mark.django_db(transaction=True)
def test_no_row_lock_or_transaction_is_held_while_a_reminder_is_sent(team, release, monkeypatch):
    reminder = one_due_reminder(team, release)
    mail.outbox.clear()  # the submission's own e-mails (notifications app)
    sending, finish = threading.Event(), threading.Event()
    sender = {}
    send_messages = locmem.EmailBackend.send_messages

    def blocking_send_messages(backend, messages):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            sender["pid"] = cursor.fetchone()[0]
        sending.set()
        finish.wait(timeout=10)
        return send_messages(backend, messages)

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", blocking_send_messages)
    outcome = []

    def send():
        try:
            outcome.append(services.reminder_send(reminder_id=reminder.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=send)
    thread.start()
    try:
        assert sending.wait(timeout=10), "the send never started"
        with transaction.atomic():  # NOWAIT raises at once if the sender held the row lock
            row = Reminder.objects.select_for_update(nowait=True).get(pk=reminder.pk)
        assert row.sent_at is None
        assert row.claim_token is not None and row.claimed_until > timezone.now()
        with connection.cursor() as cursor:
            cursor.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", [sender["pid"]])
            assert cursor.fetchone()[0] == "idle"  # not "idle in transaction"
        # The lease is live: another worker's dispatch leaves the row alone.
        assert services.reminders_dispatch() == {"sent": 0, "dropped": 0, "skipped": 0}
        assert mail.outbox == []
    finally:
        finish.set()
        thread.join(timeout=20)
    assert outcome == ["sent"]
    assert [m.to for m in mail.outbox] == [[team["po"].email]]
    row = Reminder.objects.get(pk=reminder.pk)
    assert row.sent_at is not None and row.claim_token is None and row.claimed_until is None


def test_a_worker_that_dies_after_the_send_sends_it_again_once_the_lease_runs_out(
    team, release, monkeypatch
):
    reminder = one_due_reminder(team, release)

    def die(**kwargs):
        raise WorkerDied

    monkeypatch.setattr(services, "reminder_mark_sent", die)
    with pytest.raises(WorkerDied):
        services.reminders_dispatch()
    monkeypatch.undo()
    assert len(mail.outbox) == 1  # the mail server has it ...
    row = Reminder.objects.get(pk=reminder.pk)
    assert row.sent_at is None and row.claim_token is not None  # ... the row does not know
    # While the dead worker's lease is live, nobody sends it.
    assert services.reminders_dispatch() == {"sent": 0, "dropped": 0, "skipped": 0}
    assert len(mail.outbox) == 1
    after_lease = timezone.now() + lease() + timedelta(seconds=1)
    assert services.reminders_dispatch(now=after_lease)["sent"] == 1
    assert services.reminders_dispatch(now=after_lease + lease() * 2)["sent"] == 0
    assert [m.to for m in mail.outbox] == [[team["po"].email]] * 2
    first, second = mail.outbox
    assert first.extra_headers["Message-ID"] == second.extra_headers["Message-ID"]
    row.refresh_from_db()
    assert row.sent_at is not None and row.claim_token is None
    assert Notification.objects.filter(reminder=row).count() == 1


def test_a_mark_with_a_stale_token_writes_nothing(team, release, caplog):
    reminder = one_due_reminder(team, release)
    now = timezone.now()
    stale = services.reminder_claim(reminder_id=reminder.pk, now=now)
    assert stale is not None
    assert services.reminder_claim(reminder_id=reminder.pk, now=now + lease() / 2) is None
    later = now + lease() + timedelta(seconds=1)
    current = services.reminder_claim(reminder_id=reminder.pk, now=later)
    assert current not in (None, stale)
    assert not services.reminder_mark_sent(reminder=reminder, claim_token=stale, title="Late")
    row = Reminder.objects.get(pk=reminder.pk)
    assert (row.sent_at, row.claim_token, row.claimed_until) == (None, current, later + lease())
    assert not Notification.objects.filter(reminder=reminder).exists()
    assert f"Reminder {reminder.pk} was sent but not marked" in caplog.text
    assert services.reminder_mark_sent(reminder=reminder, claim_token=current, title="On time")
    row.refresh_from_db()
    assert row.sent_at is not None and row.claim_token is None
    assert Notification.objects.get(reminder=reminder).title == "On time"


def test_a_send_that_fails_gives_its_claim_back_for_the_next_dispatch(team, release, monkeypatch):
    reminder = one_due_reminder(team, release)

    def refuse(backend, messages):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", refuse)
    assert services.reminders_dispatch() == {"sent": 0, "dropped": 0, "skipped": 1}
    row = Reminder.objects.get(pk=reminder.pk)
    assert (row.sent_at, row.claim_token, row.claimed_until) == (None, None, None)
    monkeypatch.undo()
    assert services.reminders_dispatch()["sent"] == 1
    assert [m.to for m in mail.outbox] == [[team["po"].email]]


def test_a_send_is_not_started_once_the_lease_has_run_out(team, release, settings):
    reminder = one_due_reminder(team, release)
    settings.REMINDER_LEASE_SECONDS = 1
    settings.REMINDER_SEND_PAUSE_SECONDS = 1.05  # outlasts the lease
    assert services.reminders_dispatch() == {"sent": 0, "dropped": 0, "skipped": 1}
    assert mail.outbox == []
    row = Reminder.objects.get(pk=reminder.pk)
    assert (row.sent_at, row.claim_token) == (None, None)  # given back, due again


def test_cancelling_spares_the_reminder_being_sent_and_drops_it_if_its_worker_dies(team, release):
    meeting = schedule(release, team, hours=0.5)
    reminder = Reminder.objects.get(meeting=meeting, user=team["po"], kind=ReminderKind.MEETING)
    now = timezone.now()
    assert services.reminder_claim(reminder_id=reminder.pk, now=now) is not None
    services.meeting_cancel(meeting=meeting, actor=team["rm"], reason="Vendor outage")
    unsent = Reminder.objects.filter(sent_at__isnull=True, dropped_at__isnull=True)
    assert list(unsent) == [reminder]  # its worker may be talking to the mail server
    counts = services.reminders_dispatch(now=now + lease() + timedelta(seconds=1))
    assert counts == {"sent": 0, "dropped": 1, "skipped": 0}
    reminder.refresh_from_db()
    assert reminder.drop_reason == "Meeting cancelled"
    assert mail.outbox == []


# --- minutes: recorded only by those who run the meeting ---------------------------


def started(meeting):
    """The meeting began five minutes ago: its outcome may be recorded now."""
    type(meeting).objects.filter(pk=meeting.pk).update(start=timezone.now() - timedelta(minutes=5))
    meeting.refresh_from_db()
    return meeting


def post_outcome(client, meeting):
    return client.post(
        reverse("meetings:meeting_outcome", args=[meeting.pk]),
        {"decision": "go", "minutes": "All green"},
    )


@pytest.mark.parametrize("username", ["auditor", "ii"], ids=["auditor", "informed-viewer"])
def test_people_who_only_see_a_meeting_cannot_record_its_minutes(client, team, release, username):
    meeting = started(schedule(release, team, hours=0.5))
    client.force_login(team[username])
    assert client.get(meeting.get_absolute_url()).status_code == 200  # they may see it
    assert post_outcome(client, meeting).status_code == 403
    meeting.refresh_from_db()
    assert (meeting.status, meeting.decision, meeting.minutes) == (MeetingStatus.SCHEDULED, "", "")
    assert not ChangeLogEntry.objects.filter(action=Action.MEETING_MINUTES).exists()
    [refusal] = ChangeLogEntry.objects.filter(action=Action.ACCESS_REFUSED)
    assert refusal.actor == team[username]


def test_the_release_manager_records_the_minutes_of_a_started_meeting(client, team, release):
    meeting = started(schedule(release, team, hours=0.5))
    client.force_login(team["rm"])
    # A plain "go" with sign-offs missing is refused beside the field, the minutes kept.
    refused = post_outcome(client, meeting)
    assert refused.status_code == 200
    assert "Go, pending sign-offs" in refused.context["outcome_form"].errors["decision"][0]
    assert refused.context["outcome_form"]["minutes"].value() == "All green"
    meeting.refresh_from_db()
    assert meeting.status == MeetingStatus.SCHEDULED
    approve_all(release, team)
    assert post_outcome(client, meeting).status_code == 302
    meeting.refresh_from_db()
    assert (meeting.status, meeting.decision, meeting.minutes) == (
        MeetingStatus.HELD,
        "go",
        "All green",
    )
    assert meeting.signoffs_missing == []
