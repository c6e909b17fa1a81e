"""Writes for gate meetings, freeze windows, reminders and notifications."""

import logging
import secrets
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from approvals.lifecycle import Status
from approvals.models import Decision, Release, SignOff
from approvals.services import DomainError, rad_current, release_lock
from approvals.signoffs import policy_for
from audit.changelog import changelog_record
from audit.models import Action
from meetings.agenda import meeting_agenda
from meetings.calendar import meeting_invite
from meetings.models import (
    CalendarFeed,
    FreezeWindow,
    GateMeeting,
    MeetingDecision,
    MeetingStatus,
    Notification,
    Reminder,
    ReminderKind,
)
from raci.models import Assignment, Letter

logger = logging.getLogger(__name__)

SCHEDULABLE = (Status.DRAFT, Status.IN_REVIEW, Status.APPROVED, Status.HALTED)


def meeting_attendees(meeting: GateMeeting) -> list:
    """The release's R, A and C, plus the extra attendees; active users only."""
    ids = set(
        Assignment.objects.filter(
            activity__release_id=meeting.release_id,
            letter__in=[Letter.RESPONSIBLE, Letter.ACCOUNTABLE, Letter.CONSULTED],
        ).values_list("user_id", flat=True)
    )
    ids |= set(meeting.extra_attendees.values_list("pk", flat=True))
    return list(get_user_model().objects.filter(pk__in=ids, is_active=True).order_by("username"))


def _snapshot(meeting: GateMeeting) -> dict:
    return {
        "start": meeting.start.isoformat(),
        "duration_minutes": meeting.duration_minutes,
        "location": meeting.location,
        "status": meeting.status,
        "sequence": meeting.sequence,
        "extra_attendees": sorted(u.get_username() for u in meeting.extra_attendees.all()),
    }


def _validate_slot(*, start: datetime, duration_minutes: int, now: datetime) -> None:
    errors = {}
    if start <= now:
        errors["start"] = "The meeting must start in the future."
    if not 5 <= duration_minutes <= 480:
        errors["duration_minutes"] = "A gate meeting lasts between 5 minutes and 8 hours."
    if errors:
        raise ValidationError(errors)


def _notify(*, users, release, title: str, body: str = "", url: str = "") -> None:
    Notification.objects.bulk_create(
        Notification(user=user, release=release, title=title, body=body, url=url) for user in users
    )


def reminders_plan(*, meeting: GateMeeting, now: datetime) -> int:
    """Create the reminder rows of the meeting's current occurrence.

    Offsets already past collapse into one reminder (the nearest), sent at
    the next dispatch; nobody gets a "24 hours to go" and a "1 hour to go"
    at once.
    """
    policy = policy_for(meeting.release.product)
    offsets = sorted({int(o) for o in policy.reminder_offsets_seconds}, reverse=True)
    future = [o for o in offsets if meeting.start - timedelta(seconds=o) > now]
    past = [o for o in offsets if o not in future]
    planned = future + ([min(past)] if past else [])
    rows = [
        Reminder(
            kind=ReminderKind.MEETING,
            release=meeting.release,
            meeting=meeting,
            meeting_sequence=meeting.sequence,
            user=user,
            offset_seconds=offset,
            due_at=max(meeting.start - timedelta(seconds=offset), now),
        )
        for user in meeting_attendees(meeting)
        for offset in planned
    ]
    accountables = get_user_model().objects.filter(
        pk__in=Assignment.objects.filter(
            activity__release_id=meeting.release_id, letter=Letter.ACCOUNTABLE
        ).values("user_id"),
        is_active=True,
    )
    signoff_offset = policy.signoff_reminder_seconds
    rows += [
        Reminder(
            kind=ReminderKind.SIGNOFF,
            release=meeting.release,
            meeting=meeting,
            meeting_sequence=meeting.sequence,
            user=user,
            offset_seconds=signoff_offset,
            due_at=max(meeting.start - timedelta(seconds=signoff_offset), now),
        )
        for user in accountables
    ]
    Reminder.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _drop_unsent(*, meeting: GateMeeting, reason: str, now: datetime) -> int:
    return Reminder.objects.filter(
        meeting=meeting, sent_at__isnull=True, dropped_at__isnull=True
    ).update(dropped_at=now, drop_reason=reason)


def meeting_schedule(
    *,
    release: Release,
    actor,
    start: datetime,
    duration_minutes: int = 15,
    location: str = "",
    extra_attendees=(),
) -> GateMeeting:
    now = timezone.now()
    _validate_slot(start=start, duration_minutes=duration_minutes, now=now)
    with transaction.atomic():
        release = release_lock(release)
        if release.status not in SCHEDULABLE:
            raise DomainError(
                f"A {release.get_status_display().lower()} release needs no gate meeting."
            )
        meeting = GateMeeting.objects.create(
            release=release,
            start=start,
            duration_minutes=duration_minutes,
            location=location.strip(),
            created_by=actor,
        )
        meeting.extra_attendees.set(extra_attendees)
        reminders_plan(meeting=meeting, now=now)
        changelog_record(
            action=Action.MEETING_SCHEDULED,
            actor=actor,
            release=release,
            obj=meeting,
            after=_snapshot(meeting),
        )
        _notify(
            users=meeting_attendees(meeting),
            release=release,
            title=f"Gate meeting for {release} on {timezone.localtime(start):%a %d %b %H:%M}",
            url=meeting.get_absolute_url(),
        )
    return meeting


def _locked_meeting(meeting: GateMeeting) -> GateMeeting:
    locked = (
        GateMeeting.objects.select_for_update()
        .select_related("release__product")
        .get(pk=meeting.pk)
    )
    if locked.status != MeetingStatus.SCHEDULED:
        raise DomainError(f"The meeting is {locked.get_status_display().lower()}.")
    return locked


def meeting_reschedule(
    *,
    meeting: GateMeeting,
    actor,
    start: datetime,
    duration_minutes: int,
    location: str,
    extra_attendees=(),
) -> GateMeeting:
    now = timezone.now()
    _validate_slot(start=start, duration_minutes=duration_minutes, now=now)
    with transaction.atomic():
        release_lock(meeting.release)
        meeting = _locked_meeting(meeting)
        before = _snapshot(meeting)
        meeting.start = start
        meeting.duration_minutes = duration_minutes
        meeting.location = location.strip()
        meeting.sequence += 1
        meeting.save()
        meeting.extra_attendees.set(extra_attendees)
        _drop_unsent(meeting=meeting, reason="Meeting rescheduled", now=now)
        reminders_plan(meeting=meeting, now=now)
        changelog_record(
            action=Action.MEETING_RESCHEDULED,
            actor=actor,
            release=meeting.release,
            obj=meeting,
            before=before,
            after=_snapshot(meeting),
        )
        _notify(
            users=meeting_attendees(meeting),
            release=meeting.release,
            title=f"Gate meeting for {meeting.release} moved to "
            f"{timezone.localtime(start):%a %d %b %H:%M}",
            url=meeting.get_absolute_url(),
        )
    return meeting


def meeting_cancel(*, meeting: GateMeeting, actor, reason: str) -> GateMeeting:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the meeting is cancelled."})
    now = timezone.now()
    with transaction.atomic():
        release_lock(meeting.release)
        meeting = _locked_meeting(meeting)
        before = _snapshot(meeting)
        meeting.status = MeetingStatus.CANCELLED
        meeting.save(update_fields=["status", "updated_at"])
        _drop_unsent(meeting=meeting, reason="Meeting cancelled", now=now)
        changelog_record(
            action=Action.MEETING_CANCELLED,
            actor=actor,
            release=meeting.release,
            obj=meeting,
            before=before,
            after=_snapshot(meeting),
            reason=reason,
        )
        _notify(
            users=meeting_attendees(meeting),
            release=meeting.release,
            title=f"Gate meeting for {meeting.release} cancelled",
            body=reason,
            url=meeting.release.get_absolute_url(),
        )
    return meeting


def meeting_record_outcome(
    *, meeting: GateMeeting, actor, minutes: str, decision: str
) -> GateMeeting:
    minutes = minutes.strip()
    errors = {}
    if not minutes:
        errors["minutes"] = "Write the minutes."
    if decision not in MeetingDecision.values:
        errors["decision"] = "Choose go, no-go or postponed."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        release_lock(meeting.release)
        meeting = _locked_meeting(meeting)
        if meeting.start > timezone.now():
            raise DomainError("Record the outcome once the meeting has started.")
        meeting.status = MeetingStatus.HELD
        meeting.minutes = minutes
        meeting.decision = decision
        meeting.save(update_fields=["status", "minutes", "decision", "updated_at"])
        _drop_unsent(meeting=meeting, reason="Meeting held", now=timezone.now())
        changelog_record(
            action=Action.MEETING_MINUTES,
            actor=actor,
            release=meeting.release,
            obj=meeting,
            after={"decision": decision, "minutes": minutes},
        )
    return meeting


# --- freeze windows ------------------------------------------------------------


def freeze_create(*, actor, product, start: datetime, end: datetime, reason: str) -> FreezeWindow:
    reason = reason.strip()
    errors = {}
    if end <= start:
        errors["end"] = "The freeze must end after it starts."
    if not reason:
        errors["reason"] = "Say why deployments are frozen."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        freeze = FreezeWindow.objects.create(
            product=product, start=start, end=end, reason=reason, created_by=actor
        )
        changelog_record(
            action=Action.FREEZE_CHANGED,
            actor=actor,
            product=product,
            obj=freeze,
            after={
                "product": product.slug if product else None,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "reason": reason,
            },
        )
    return freeze


def freeze_delete(*, actor, freeze: FreezeWindow) -> None:
    with transaction.atomic():
        before = {
            "product": freeze.product.slug if freeze.product_id else None,
            "start": freeze.start.isoformat(),
            "end": freeze.end.isoformat(),
            "reason": freeze.reason,
        }
        changelog_record(
            action=Action.FREEZE_CHANGED,
            actor=actor,
            product=freeze.product,
            obj=freeze,
            before=before,
            reason="Freeze window removed",
        )
        freeze.delete()


# --- reminders -------------------------------------------------------------------


def reminder_plan_review(*, release: Release) -> None:
    """A hotfix's post-release review falls due: remind its release manager then."""
    if release.review_due_at is None:
        return
    Reminder.objects.bulk_create(
        [
            Reminder(
                kind=ReminderKind.REVIEW,
                release=release,
                user=release.created_by,
                due_at=release.review_due_at,
            )
        ],
        ignore_conflicts=True,
    )


def _drop(reminder: Reminder, reason: str, now: datetime) -> str:
    reminder.dropped_at = now
    reminder.drop_reason = reason
    reminder.save(update_fields=["dropped_at", "drop_reason"])
    return "dropped"


def _relevance(reminder: Reminder, now: datetime) -> str:
    """Empty when the reminder should still go out, else why it is dropped."""
    meeting = reminder.meeting
    if meeting is not None:
        if meeting.status != MeetingStatus.SCHEDULED:
            return f"Meeting {meeting.get_status_display().lower()}"
        if reminder.meeting_sequence != meeting.sequence:
            return "Meeting rescheduled"
        if now >= meeting.start:
            return "Meeting already started"
    release = reminder.release
    if reminder.kind == ReminderKind.SIGNOFF:
        if release.status != Status.IN_REVIEW:
            return f"Release is {release.get_status_display().lower()}"
        current = rad_current(release)
        signed = SignOff.objects.filter(
            release=release,
            revision=current,
            signer=reminder.user,
            voided_at__isnull=True,
            decision=Decision.APPROVE,
        ).count()
        pending = Assignment.objects.filter(
            activity__release=release, user=reminder.user, letter=Letter.ACCOUNTABLE
        ).count()
        if signed >= pending:
            return "Nothing left to sign"
    if reminder.kind == ReminderKind.REVIEW and release.status not in (
        Status.DEPLOYED,
        Status.ROLLED_BACK,
    ):
        return "Review already done"
    return ""


def _meeting_material(meeting: GateMeeting, cache: dict) -> tuple:
    """Agenda and invite of a meeting, built once per dispatch run, not once per attendee."""
    key = (meeting.pk, meeting.sequence)
    if key not in cache:
        agenda = meeting_agenda(release=meeting.release, user=meeting.created_by)
        invite = meeting_invite(
            meeting, attendees=meeting_attendees(meeting), description=agenda.as_text()
        )
        cache[key] = (agenda, invite)
    return cache[key]


def _message(reminder: Reminder, cache: dict) -> tuple[EmailMultiAlternatives, str]:
    release = reminder.release
    meeting = reminder.meeting
    context = {
        "reminder": reminder,
        "release": release,
        "meeting": meeting,
        "user": reminder.user,
        "site_url": settings.SITE_URL,
    }
    attachments = []
    if meeting is not None:
        agenda, invite = _meeting_material(meeting, cache)
        context["agenda"] = agenda
        attachments.append(
            ("gate-meeting.ics", invite, "text/calendar; method=REQUEST; charset=UTF-8")
        )
    template = f"emails/reminder_{reminder.kind}"
    subject = render_to_string(f"{template}_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        to=[reminder.user.email],
        headers={"Message-ID": f"<reminder-{reminder.pk}@{settings.CALENDAR_UID_DOMAIN}>"},
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    for name, content, mimetype in attachments:
        message.attach(name, content, mimetype)
    return message, subject


def reminder_send(
    *, reminder_id: int, now: datetime | None = None, cache: dict | None = None
) -> str:
    """Claim one due reminder and send it, or drop it. Safe to call from many workers.

    The row stays locked (skip_locked for everyone else) until the message is
    handed to the mail backend and `sent_at` is committed with it: a worker
    that dies before the commit leaves the row unsent for the next run.
    """
    with transaction.atomic():
        reminder = (
            Reminder.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("release__product", "meeting", "user", "release__created_by")
            .filter(pk=reminder_id, sent_at__isnull=True, dropped_at__isnull=True)
            .first()
        )
        if reminder is None:
            return "skipped"  # sent, dropped, or being sent by another worker
        now = now or timezone.now()
        reason = _relevance(reminder, now)
        if reason:
            return _drop(reminder, reason, now)
        if not reminder.user.email:
            return _drop(reminder, "No e-mail address", now)
        pause = settings.REMINDER_SEND_PAUSE_SECONDS
        if pause:
            time.sleep(pause)  # throttles bursts for SMTP servers with rate limits
        message, subject = _message(reminder, {} if cache is None else cache)
        message.send()
        reminder.sent_at = timezone.now()
        reminder.save(update_fields=["sent_at"])
        Notification.objects.create(
            user=reminder.user,
            release=reminder.release,
            reminder=reminder,
            title=subject,
            url=reminder.meeting.get_absolute_url()
            if reminder.meeting_id
            else reminder.release.get_absolute_url(),
        )
    return "sent"


def reminders_dispatch(*, now: datetime | None = None, limit: int = 1000) -> dict[str, int]:
    """Send every due reminder once. Called by the beat task every minute."""
    due = list(
        Reminder.objects.filter(
            sent_at__isnull=True, dropped_at__isnull=True, due_at__lte=now or timezone.now()
        )
        .order_by("due_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    counts = {"sent": 0, "dropped": 0, "skipped": 0}
    cache: dict = {}
    for reminder_id in due:
        try:
            # Without an explicit `now`, each send judges relevance at its own moment.
            counts[reminder_send(reminder_id=reminder_id, now=now, cache=cache)] += 1
        except Exception:
            # One broken message must not hold back the rest; it stays due and is retried.
            logger.exception("Reminder %s could not be sent", reminder_id)
            counts["skipped"] += 1
    return counts


# --- notifications and the calendar feed -------------------------------------------


def notifications_mark_read(*, user, notification_id: int | None = None) -> int:
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=timezone.now())


def calendar_feed_regenerate(*, user) -> str:
    """A new secret feed token for the user; the old URL stops working at once."""
    token = secrets.token_urlsafe(32)
    CalendarFeed.objects.update_or_create(
        user=user, defaults={"token_sha256": CalendarFeed.hash_token(token)}
    )
    return token
