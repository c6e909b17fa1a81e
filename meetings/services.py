"""Writes for gate meetings, freeze windows, reminders and notifications."""

import logging
import secrets
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from approvals.drills import drill_occurrences
from approvals.lifecycle import BEFORE_DEPLOYMENT, Status
from approvals.models import (
    Decision,
    DrillOutcome,
    FireDrill,
    FireDrillSchedule,
    FreezeWindow,
    Release,
    SignOff,
)
from approvals.selectors import (
    deployment_to_verify,
    monitoring_ticker_ids,
    policy_for,
    release_progress,
)
from approvals.services import DomainError, rad_current, release_lock
from audit.changelog import changelog_record
from audit.models import Action
from meetings.agenda import meeting_agenda
from meetings.calendar import meeting_invite
from meetings.models import (
    CalendarFeed,
    GateMeeting,
    MeetingDecision,
    MeetingStatus,
    Notification,
    Reminder,
    ReminderKind,
)
from meetings.selectors import meeting_slot_warnings
from raci import permissions
from raci.models import Assignment, Letter

logger = logging.getLogger(__name__)

SCHEDULABLE = BEFORE_DEPLOYMENT


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


class SlotWarningsChanged(DomainError):
    """The slot's warnings changed between the form and the save (another meeting was
    scheduled meanwhile): nothing changed; the form shows `warnings` again."""

    def __init__(self, warnings: list[str]):
        super().__init__(
            "Something changed while you were deciding: check the warnings below again."
        )
        self.warnings = warnings


def _acknowledged(after: dict, warnings: Sequence[str] | None) -> dict:
    """The entry's `after`, with the form's warnings the actor confirmed (when there were any)."""
    return {**after, "warnings_acknowledged": list(warnings)} if warnings else after


def _recheck(
    *, release, start, duration_minutes: int, acknowledged: Sequence[str] | None, exclude=None
) -> None:
    """Under the release's row lock, the slot's warnings again: a form caller
    (`acknowledged` not None) must have confirmed every one of them. Two schedulers of the
    same release at the same instant are serialised by the lock, so the second sees the
    first meeting."""
    if acknowledged is None:
        return
    found = meeting_slot_warnings(
        release=release, start=start, duration_minutes=duration_minutes, exclude_pk=exclude
    )
    if any(warning not in acknowledged for warning in found):
        raise SlotWarningsChanged(found)


def _validate_slot(
    *, start: datetime, duration_minutes: int, now: datetime, held_now: bool = False
) -> None:
    errors = {}
    if start <= now and not held_now:
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
    """Drop the meeting's unsent reminders, except those a worker is sending right now.

    A leased reminder ends sent; if its worker dies instead, the lease runs
    out and the next dispatch drops it as stale.
    """
    return (
        Reminder.objects.filter(meeting=meeting, sent_at__isnull=True, dropped_at__isnull=True)
        .filter(_lease_free(now))
        .update(dropped_at=now, drop_reason=reason)
    )


def meeting_schedule(
    *,
    release: Release,
    actor,
    start: datetime,
    duration_minutes: int = 15,
    location: str = "",
    extra_attendees=(),
    held_now: bool = False,
    warnings_acknowledged: Sequence[str] | None = None,
) -> GateMeeting:
    """Schedule the gate meeting; `held_now`: it starts now (an ad-hoc gate), `start` ignored.

    `warnings_acknowledged`: the form's warnings the scheduler confirmed, kept in the entry
    and checked again under the lock (None: the caller does not check warnings).
    """
    now = timezone.now()
    if held_now:
        start = now
    _validate_slot(start=start, duration_minutes=duration_minutes, now=now, held_now=held_now)
    with transaction.atomic():
        release = release_lock(release)
        if release.status not in SCHEDULABLE:
            raise DomainError(
                f"A {release.get_status_display().lower()} release needs no gate meeting."
            )
        _recheck(
            release=release,
            start=start,
            duration_minutes=duration_minutes,
            acknowledged=warnings_acknowledged,
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
            after=_acknowledged(_snapshot(meeting), warnings_acknowledged),
        )
        _notify(
            users=meeting_attendees(meeting),
            release=release,
            # Stored once for every attendee, whatever their zone: say UTC.
            title=f"Gate meeting for {release} on {start.astimezone(UTC):%a %d %b %H:%M} UTC",
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
    warnings_acknowledged: Sequence[str] | None = None,
) -> GateMeeting:
    now = timezone.now()
    _validate_slot(start=start, duration_minutes=duration_minutes, now=now)
    with transaction.atomic():
        release_lock(meeting.release)
        meeting = _locked_meeting(meeting)
        _recheck(
            release=meeting.release,
            start=start,
            duration_minutes=duration_minutes,
            acknowledged=warnings_acknowledged,
            exclude=meeting.pk,
        )
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
            after=_acknowledged(_snapshot(meeting), warnings_acknowledged),
        )
        _notify(
            users=meeting_attendees(meeting),
            release=meeting.release,
            title=f"Gate meeting for {meeting.release} moved to "
            f"{start.astimezone(UTC):%a %d %b %H:%M} UTC",
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
        # A cancellation is a revision of the event: calendars apply it only with a
        # higher SEQUENCE (RFC 5546 §3.2.5), in the CANCEL invite and in the feed.
        meeting.sequence += 1
        meeting.save(update_fields=["status", "sequence", "updated_at"])
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
        errors["decision"] = "Choose go, go pending sign-offs, no-go or postponed."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        release_lock(meeting.release)
        meeting = _locked_meeting(meeting)
        if meeting.start > timezone.now():
            raise DomainError("Record the outcome once the meeting has started.")
        missing = _signoffs_missing(meeting.release)
        if decision == MeetingDecision.GO and missing:
            raise ValidationError(
                {
                    "decision": "Required sign-offs are missing: "
                    + ", ".join(missing)
                    + ". Choose “Go, pending sign-offs” to record a go anyway."
                }
            )
        meeting.status = MeetingStatus.HELD
        meeting.minutes = minutes
        meeting.decision = decision
        meeting.signoffs_missing = missing
        meeting.save(
            update_fields=["status", "minutes", "decision", "signoffs_missing", "updated_at"]
        )
        _drop_unsent(meeting=meeting, reason="Meeting held", now=timezone.now())
        changelog_record(
            action=Action.MEETING_MINUTES,
            actor=actor,
            release=meeting.release,
            obj=meeting,
            after={"decision": decision, "minutes": minutes, "signoffs_missing": missing},
        )
    return meeting


def _signoffs_missing(release: Release) -> list[str]:
    """Names of the required activities whose approval does not count yet."""
    current = rad_current(release)
    return release_progress(release=release, user=release.created_by, current=current).missing


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


def reminders_from_changelog(entry) -> None:
    """Change-log hook: a deployment plans the post-deploy checklist reminders and, for a
    hotfix, its post-release review reminder; a fire-drill schedule set, or a drill
    recorded, plans the next drills' reminders."""
    if entry.action in (Action.DRILL_SCHEDULED, Action.DRILL_RECORDED) and entry.product_id:
        reminders_plan_drills(product_id=entry.product_id, today=timezone.localdate())
        return
    if entry.action != Action.RELEASE_DEPLOYED or entry.release_id is None:
        return
    release = Release.objects.select_related("created_by", "product").get(pk=entry.release_id)
    reminder_plan_review(release=release)
    reminder_plan_monitoring(release=release)


def reminder_plan_monitoring(*, release: Release) -> None:
    """Everyone who ticks the checklist is reminded once when unticked items fall overdue."""
    current = rad_current(release)
    if release.deployed_at is None or current is None or not current.content["monitoring"]:
        return
    policy = policy_for(release.product)
    due_at = release.deployed_at + timedelta(hours=policy.monitoring_tick_hours)
    Reminder.objects.bulk_create(
        [
            Reminder(kind=ReminderKind.MONITORING, release=release, user_id=user_id, due_at=due_at)
            for user_id in sorted(monitoring_ticker_ids(release=release, policy=policy))
        ],
        ignore_conflicts=True,
    )


def reminder_plan_review(*, release: Release) -> None:
    """A hotfix's post-release review falls due: remind its release manager then.

    When the row falls due it is not mailed from here: `review_due_record` writes the
    `review.due` change-log entry and the notifications app's event catalogue tells
    the release manager on the channel they chose (and webhooks carry it)."""
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


DRILL_REMINDER_DAYS = 2  # release managers hear of a drill this long before its day
DRILL_REMINDERS_AHEAD = 4  # occurrences planned at a time


def reminders_plan_drills(*, product_id: int, today: date) -> int:
    """Remind the release managers before each of the product's next drills (one row per
    drill day and person; planning again adds nothing)."""
    schedule = FireDrillSchedule.objects.filter(product_id=product_id).first()
    if schedule is None:
        return 0
    days = drill_occurrences(
        rule=schedule.rrule,
        first_on=schedule.first_on,
        start=today + timedelta(days=DRILL_REMINDER_DAYS),
        end=today + timedelta(days=2 * 366),
    )[:DRILL_REMINDERS_AHEAD]
    managers = (
        get_user_model()
        .objects.filter(groups__name=permissions.RELEASE_MANAGERS, is_active=True)
        .distinct()
    )
    rows = [
        Reminder(
            kind=ReminderKind.DRILL,
            product_id=product_id,
            user=user,
            due_at=timezone.make_aware(
                datetime.combine(day - timedelta(days=DRILL_REMINDER_DAYS), dt_time(9, 0))
            ),
        )
        for day in days
        for user in managers
    ]
    return len(Reminder.objects.bulk_create(rows, ignore_conflicts=True))


def _drill_relevance(reminder: Reminder) -> str:
    """A drill reminder is dropped once a drill that went to plan is recorded near its day."""
    day = (reminder.due_at + timedelta(days=DRILL_REMINDER_DAYS)).date()
    schedule = FireDrillSchedule.objects.filter(product_id=reminder.product_id).first()
    if schedule is None:
        return "No fire-drill schedule any more"
    held = FireDrill.objects.filter(
        product_id=reminder.product_id,
        outcome=DrillOutcome.SUCCEEDED,
        held_on__gte=day - timedelta(days=schedule.grace_days),
    )
    return "Drill already held" if held.exists() else ""


def _relevance(reminder: Reminder, now: datetime) -> str:
    """Empty when the reminder should still go out, else why it is dropped."""
    if reminder.kind == ReminderKind.DRILL:
        return _drill_relevance(reminder)
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
    if reminder.kind == ReminderKind.MONITORING:
        deployment = deployment_to_verify(release=release)
        if deployment is None:
            return f"Release is {release.get_status_display().lower()}"
        items = len(rad_current(release).content["monitoring"])
        if deployment.ticks.count() >= items:
            return "Every checklist item ticked"
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
        "product": reminder.product,
        "drill_day": (reminder.due_at + timedelta(days=DRILL_REMINDER_DAYS)).date(),
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


def _lease_free(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def _due(now: datetime) -> Q:
    return Q(sent_at__isnull=True, dropped_at__isnull=True, due_at__lte=now) & _lease_free(now)


def reminder_claim(*, reminder_id: int, now: datetime) -> uuid.UUID | None:
    """Lease one due reminder to the caller for REMINDER_LEASE_SECONDS.

    One conditional UPDATE, committed on its own: it changes the row only if
    the reminder is due, unsent, not dropped and under no live lease, so of
    any number of workers racing for the row at most one gets the token.
    None when the reminder is not due or another worker's lease is live.
    """
    token = uuid.uuid4()
    lease = timedelta(seconds=settings.REMINDER_LEASE_SECONDS)
    changed = (
        Reminder.objects.filter(_due(now), pk=reminder_id)
        .order_by()
        .update(claimed_until=now + lease, claim_token=token)
    )
    return token if changed == 1 else None


def _release(*, reminder_id: int, claim_token: uuid.UUID) -> None:
    """Give a claim back unsent: the reminder is due again at the next dispatch."""
    Reminder.objects.filter(pk=reminder_id, claim_token=claim_token).update(
        claimed_until=None, claim_token=None
    )


def _drop_claimed(*, reminder: Reminder, claim_token: uuid.UUID, reason: str, now: datetime) -> str:
    dropped = Reminder.objects.filter(
        pk=reminder.pk, claim_token=claim_token, sent_at__isnull=True, dropped_at__isnull=True
    ).update(dropped_at=now, drop_reason=reason, claimed_until=None, claim_token=None)
    if dropped != 1:
        logger.warning("Reminder %s was re-claimed before it could be dropped", reminder.pk)
        return "skipped"
    return "dropped"


def _reminder_url(reminder: Reminder) -> str:
    if reminder.meeting_id:
        return reminder.meeting.get_absolute_url()
    if reminder.release_id:
        return reminder.release.get_absolute_url()
    return reverse("approvals:drill_list", kwargs={"product": reminder.product.slug})


def reminder_mark_sent(*, reminder: Reminder, claim_token: uuid.UUID, title: str) -> bool:
    """Record a sent reminder, if the caller's claim is still the one on the row.

    False, and nothing written, when the token no longer matches: the lease
    ran out during the send and another worker claimed the row (and sends
    it too, or has already).
    """
    with transaction.atomic():
        marked = Reminder.objects.filter(
            pk=reminder.pk, claim_token=claim_token, sent_at__isnull=True
        ).update(sent_at=timezone.now(), claimed_until=None, claim_token=None)
        if marked != 1:
            logger.warning(
                "Reminder %s was sent but not marked: its lease ran out and another worker "
                "claimed it, so it may arrive twice",
                reminder.pk,
            )
            return False
        Notification.objects.create(
            user=reminder.user,
            release=reminder.release,
            reminder=reminder,
            title=title,
            url=_reminder_url(reminder),
        )
    return True


def reminder_send(
    *, reminder_id: int, now: datetime | None = None, cache: dict | None = None
) -> str:
    """Claim one due reminder and send it, or drop it: "sent", "dropped" or "skipped".

    Call it outside any transaction (the beat task does). Three steps, none
    holding a row lock or a transaction open across the SMTP conversation:
    claim a lease (one conditional UPDATE), send, then mark the row sent with
    an UPDATE conditional on the claim token.

    Delivery guarantee, per reminder:

    - Only the holder of a live lease sends, and at most one worker holds a
      live lease on a row at a time; a worker does not start a send once its
      lease has run out. Two workers send the same row concurrently only if
      one SMTP conversation outlasts the rest of its lease (a mail server
      that stalls for minutes). Leases are compared on the workers' clocks,
      which must agree.
    - At least once while relevant, not exactly once. A send that raises
      gives the claim back and the next dispatch retries it. A worker that
      dies leaves its claim to run out; the row is then due again (up to
      REMINDER_LEASE_SECONDS late, and dropped instead if stale by then).
    - A worker that dies, or loses the database, after the mail backend
      accepted the message and before the mark commits leaves the row
      claimed and unsent; when the lease runs out the row is due again and
      that message is sent a second time (same Message-ID). A backend that
      raises after the server accepted the message repeats it the same way.
      A worker holds one claim at a time, so each such failure repeats at
      most one message. A mark with a stale token writes nothing and is
      logged.
    - Relevance is judged when the row is claimed: a reminder whose meeting
      has started, moved or been cancelled, or with nothing left to sign,
      is dropped, never sent late.
    """
    now = now or timezone.now()
    claim_token = reminder_claim(reminder_id=reminder_id, now=now)
    if claim_token is None:
        return "skipped"  # sent, dropped, not due, or leased by another worker
    leased_at = time.monotonic()
    reminder = Reminder.objects.select_related(
        "release__product", "meeting", "user", "release__created_by", "product"
    ).get(pk=reminder_id)
    try:
        reason = _relevance(reminder, now)
        if not reason and reminder.kind != ReminderKind.REVIEW and not reminder.user.email:
            reason = "No e-mail address"
        if reason:
            return _drop_claimed(reminder=reminder, claim_token=claim_token, reason=reason, now=now)
        if reminder.kind == ReminderKind.REVIEW:
            return review_due_record(reminder=reminder, claim_token=claim_token)
        pause = settings.REMINDER_SEND_PAUSE_SECONDS
        if pause:
            time.sleep(pause)  # throttles bursts for SMTP servers with rate limits
        message, subject = _message(reminder, {} if cache is None else cache)
        if time.monotonic() - leased_at >= settings.REMINDER_LEASE_SECONDS:
            logger.warning("Reminder %s not sent: its lease ran out before the send", reminder_id)
            _release(reminder_id=reminder_id, claim_token=claim_token)
            return "skipped"
        message.send()
    except Exception:
        _release(reminder_id=reminder_id, claim_token=claim_token)
        raise
    reminder_mark_sent(reminder=reminder, claim_token=claim_token, title=subject)
    return "sent"


def review_due_record(*, reminder: Reminder, claim_token: uuid.UUID) -> str:
    """A claimed review reminder becomes the `review.due` change-log entry, in the same
    transaction as marking it sent: exactly once, whatever the workers do. Who hears of
    it, and how, is the event catalogue's business (notifications.events)."""
    release = reminder.release
    with transaction.atomic():
        marked = Reminder.objects.filter(
            pk=reminder.pk, claim_token=claim_token, sent_at__isnull=True
        ).update(sent_at=timezone.now(), claimed_until=None, claim_token=None)
        if marked != 1:
            return "skipped"
        changelog_record(
            action=Action.REVIEW_DUE,
            release=release,
            obj=reminder,
            after={"due_at": reminder.due_at.isoformat(), "release_manager": str(reminder.user)},
            reason=f"The post-release review of {release} is due",
        )
    return "sent"


def reminders_dispatch(*, now: datetime | None = None, limit: int = 1000) -> dict[str, int]:
    """Send every due reminder once. Called by the beat task every minute.

    Rows under another worker's live lease are not due; see `reminder_send`
    for the delivery guarantee.
    """
    due = list(
        Reminder.objects.filter(_due(now or timezone.now()))
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
