"""iCalendar (RFC 5545) documents: invitations with the icalendar library, the feed
written directly (see below why)."""

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


# --- the feed, written directly -----------------------------------------------------
#
# A feed holds every item of a 490-day window: ~1,800 events for a busy user. Building
# icalendar objects and serialising them was three quarters of a poll's CPU time (~150
# of ~210 ms at the benchmark's large size), so the feed writes RFC 5545 text itself. Only four things matter for valid output, all
# here: TEXT escaping (§3.3.11), CRLF line ends, folding at 75 octets without splitting a
# UTF-8 character (§3.1), and the value formats of DATE / UTC DATE-TIME (§3.3.4-5).
# tests/test_calendar.py parses the result back with the icalendar library.

# Backslash, semicolon and comma are escaped; a line break becomes "\n"; other control
# characters (not allowed in TEXT) are dropped.
_TEXT_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        ";": "\\;",
        ",": "\\,",
        "\n": "\\n",
        **{chr(c): None for c in range(32) if c not in (9, 10)},
        "\x7f": None,
    }
)
_UTC_TIMEZONE = (
    # The one component of a feed with no events (RFC 5545 §3.6 wants at least one),
    # harmless to calendars that do not need it.
    "BEGIN:VTIMEZONE",
    "TZID:UTC",
    "BEGIN:STANDARD",
    "DTSTART:19700101T000000",
    "TZOFFSETFROM:+0000",
    "TZOFFSETTO:+0000",
    "TZNAME:UTC",
    "END:STANDARD",
    "END:VTIMEZONE",
)


def _text(value: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11); CR LF and a lone CR count as one line break."""
    return value.replace("\r\n", "\n").replace("\r", "\n").translate(_TEXT_ESCAPES)


def _fold(line: str) -> str:
    """One content line, folded so no physical line exceeds 75 octets (§3.1): a
    continuation starts with a space, and a UTF-8 character is never split."""
    if len(line) <= 75 and line.isascii():
        return line
    if len(line.encode()) <= 75:
        return line
    parts, current, size = [], [], 0
    for char in line:
        width = len(char.encode())
        if size + width > 75:
            parts.append("".join(current))
            current, size = [" "], 1
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n".join(parts)


def _utc(moment: datetime) -> str:
    """A UTC DATE-TIME (§3.3.5 form 2); formatted by hand, strftime is ten times slower."""
    m = moment.astimezone(UTC)
    return f"{m.year:04d}{m.month:02d}{m.day:02d}T{m.hour:02d}{m.minute:02d}{m.second:02d}Z"


def _item_lines(item, *, base_url: str, stamp: str) -> list[str]:
    if item.all_day:
        start = f"DTSTART;VALUE=DATE:{item.start.date().isoformat().replace('-', '')}"
        end = f"DTEND;VALUE=DATE:{item.end.date().isoformat().replace('-', '')}"
    else:
        start, end = f"DTSTART:{_utc(item.start)}", f"DTEND:{_utc(item.end)}"
    description = item.description
    for conflict in item.conflicts:
        description += f"\nConflict: {conflict}"
    return [
        "BEGIN:VEVENT",
        _fold(f"UID:{_text(item.uid)}"),
        f"SEQUENCE:{int(item.sequence)}",
        stamp,
        start,
        end,
        _fold(f"SUMMARY:{_text(item.title)}"),
        _fold(f"DESCRIPTION:{_text(description)}"),
        _fold(f"URL:{base_url}{item.url}"),
        _fold(f"CATEGORIES:{_text(item.kind_label)}"),
        f"STATUS:{'CANCELLED' if item.status == 'cancelled' else 'CONFIRMED'}",
        "END:VEVENT",
    ]


def user_feed(*, items, base_url: str = "", stamp: datetime) -> bytes:
    """A user's feed: the calendar's items for them (cancelled meetings stay, as
    STATUS:CANCELLED with their bumped SEQUENCE, so calendars remove them).

    `stamp` is every event's DTSTAMP. Without METHOD it means "last revised" (§3.8.7.2),
    and a stamp that does not move with each request keeps the body, and so its ETag,
    the same between polls while nothing changed."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "X-WR-CALNAME:Relapp",
    ]
    dtstamp = f"DTSTAMP:{_utc(stamp)}"
    for item in items:
        lines += _item_lines(item, base_url=base_url, stamp=dtstamp)
    if not items:
        lines += _UTC_TIMEZONE
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()
