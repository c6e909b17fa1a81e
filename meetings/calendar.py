"""iCalendar (RFC 5545) documents, generated with the icalendar library."""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from icalendar import Calendar, Event, Timezone, TimezoneStandard, vCalAddress, vText

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


def _utc_timezone():
    """A VTIMEZONE for UTC: the one component of a feed with no events (RFC 5545 §3.6
    wants at least one), harmless to calendars that do not need it."""
    zone = Timezone()
    zone.add("tzid", "UTC")
    standard = TimezoneStandard()
    standard.add("dtstart", datetime(1970, 1, 1))
    standard.add("tzoffsetfrom", timedelta(0))
    standard.add("tzoffsetto", timedelta(0))
    standard.add("tzname", "UTC")
    zone.add_component(standard)
    return zone


def _item_event(item, *, base_url: str) -> Event:
    event = Event()
    event.add("uid", item.uid)
    event.add("sequence", item.sequence)
    event.add("dtstamp", datetime.now(UTC))
    if item.all_day:
        event.add("dtstart", item.start.date())
        event.add("dtend", item.end.date())
    else:
        event.add("dtstart", item.start.astimezone(UTC))
        event.add("dtend", item.end.astimezone(UTC))
    event.add("summary", item.title)
    description = item.description
    for conflict in item.conflicts:
        description += f"\nConflict: {conflict}"
    event.add("description", description)
    event.add("url", base_url + item.url)
    event.add("categories", [item.kind_label])
    event.add("status", "CANCELLED" if item.status == "cancelled" else "CONFIRMED")
    return event


def user_feed(*, items, base_url: str = "") -> bytes:
    """A user's feed: the calendar's items for them (cancelled meetings stay, as
    STATUS:CANCELLED with their bumped SEQUENCE, so calendars remove them)."""
    calendar = _calendar()
    calendar.add("x-wr-calname", "Relapp")
    for item in items:
        calendar.add_component(_item_event(item, base_url=base_url))
    if not items:
        calendar.add_component(_utc_timezone())
    return calendar.to_ical()
