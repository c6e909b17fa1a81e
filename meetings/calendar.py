"""iCalendar (RFC 5545) documents, generated with the icalendar library."""

from datetime import UTC, datetime

from django.conf import settings
from icalendar import Calendar, Event, vCalAddress, vText

PRODID = "-//Relapp//Release approval//EN"


def _calendar(method: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    if method:
        calendar.add("method", method)
    return calendar


def _uid(kind: str, pk: int) -> str:
    return f"{kind}-{pk}@{settings.CALENDAR_UID_DOMAIN}"


def _meeting_event(meeting, *, attendees, description: str, cancelled: bool = False) -> Event:
    event = Event()
    event.add("uid", _uid("gate-meeting", meeting.pk))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", meeting.start.astimezone(UTC))
    event.add("dtend", meeting.end.astimezone(UTC))
    event.add("summary", f"Release gate: {meeting.release}")
    if meeting.location:
        event.add("location", meeting.location)
    event.add("description", description)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{meeting.created_by.email or 'relapp@localhost'}")
    organizer.params["cn"] = vText(
        meeting.created_by.get_full_name() or meeting.created_by.username
    )
    event["organizer"] = organizer
    for person in attendees:
        if not person.email:
            continue
        attendee = vCalAddress(f"mailto:{person.email}")
        attendee.params["cn"] = vText(person.get_full_name() or person.get_username())
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=0)
    return event


def meeting_invite(meeting, *, attendees, description: str, cancelled: bool = False) -> bytes:
    calendar = _calendar("CANCEL" if cancelled else "REQUEST")
    calendar.add_component(
        _meeting_event(meeting, attendees=attendees, description=description, cancelled=cancelled)
    )
    return calendar.to_ical()


def user_feed(*, meetings, releases) -> bytes:
    """A user's feed: their gate meetings and the deployment windows of their releases."""
    calendar = _calendar()
    calendar.add("x-wr-calname", "Relapp")
    for meeting in meetings:
        calendar.add_component(
            _meeting_event(
                meeting, attendees=[], description=f"Gate meeting for {meeting.release}."
            )
        )
    for release in releases:
        event = Event()
        event.add("uid", _uid("deployment-window", release.pk))
        event.add("dtstamp", datetime.now(UTC))
        event.add("dtstart", release.window_start.astimezone(UTC))
        event.add("dtend", release.window_end.astimezone(UTC))
        event.add("summary", f"Deployment window: {release} ({release.get_status_display()})")
        event.add("description", release.title)
        calendar.add_component(event)
        if release.cutoff_at:
            cutoff = Event()
            cutoff.add("uid", _uid("code-cutoff", release.pk))
            cutoff.add("dtstamp", datetime.now(UTC))
            cutoff.add("dtstart", release.cutoff_at.astimezone(UTC))
            cutoff.add("dtend", release.cutoff_at.astimezone(UTC))
            cutoff.add("summary", f"Code cut-off: {release}")
            cutoff.add("description", "After the cut-off only fixes go in.")
            calendar.add_component(cutoff)
    return calendar.to_ical()
