"""The one way Relapp shows a time: `{{ value|when }}`.

In the reader's zone (activated per request by `TimeZoneMiddleware`), as
"30 Nov 2026, 15:00 CET", inside `<time datetime="…Z" title="… UTC">` so the
exact UTC instant is one hover away. Exports and the API never use these:
they stay UTC ISO-8601.

    {{ value|when }}               30 Nov 2026, 15:00 CET
    {{ value|when_day }}           30 Nov 2026 (a date, or a time's day in the reader's zone)
    {{ start|when_span:end }}      30 Nov 2026, 15:00 – 17:00 CET (one day) or two full times
    {{ value|when_time }}          15:00 CET (where the day is said around it: calendar cells)
    {{ value|when_text }}          30 Nov 2026, 15:00 CET as plain text (attributes)
    {{ value|when_for:user }}      plain text in `user`'s zone, with the zone's name (e-mails)
    {{ value|when_utc }}           2026-11-30 14:00:00 UTC (evidence packs)
"""

import zoneinfo
from datetime import UTC, date, datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.dates import MONTHS_3
from django.utils.html import format_html

from accounts.timezones import zone_of

register = template.Library()

DAY = "j M Y"


def _day(value: date) -> str:
    """`value` as Django's "j M Y" (30 Nov 2026), without its format parser.

    Pages call these filters a hundred times and more (every row of a list has its
    times), and the generic formatter costs more than the rest of the filter; the
    month's abbreviation is Django's own (MONTHS_3, translated), so the text is the same.
    """
    return f"{value.day} {MONTHS_3[value.month].title()} {value.year:04d}"


def _clock(value: datetime, *, seconds: bool = False) -> str:
    """Django's "H:i" (or "H:i:s"): the 24-hour clock with leading zeros."""
    text = f"{value.hour:02d}:{value.minute:02d}"
    return f"{text}:{value.second:02d}" if seconds else text


def _text(local: datetime, *, day: bool = True, zone: bool = True) -> str:
    # The zone's abbreviation comes from Python, not the "T" format: Django leaves
    # "T" empty for the hour that repeats when clocks go back, exactly where it matters.
    text = f"{_day(local)}, {_clock(local)}" if day else _clock(local)
    return f"{text} {local.tzname()}" if zone else text


def _aware(value: datetime) -> datetime:
    return timezone.make_aware(value, UTC) if timezone.is_naive(value) else value


def _iso_utc(value: datetime) -> str:
    return _aware(value).astimezone(UTC).isoformat().replace("+00:00", "Z")


def _utc_title(value: datetime) -> str:
    utc = _aware(value).astimezone(UTC)
    return f"{_day(utc)}, {_clock(utc, seconds=True)} UTC"


def _tag(value: datetime, text: str):
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', _iso_utc(value), _utc_title(value), text
    )


def _local(value: datetime) -> datetime:
    return timezone.localtime(_aware(value))


@register.filter
def when(value):
    """A time in the reader's zone with its UTC instant on hover; a date as `when_day`."""
    if not isinstance(value, date):
        return ""
    if not isinstance(value, datetime):
        return when_day(value)
    return _tag(value, _text(_local(value)))


@register.filter
def when_day(value):
    """The day only: a date as it is, a time's day in the reader's zone.

    An ISO date string (a RAD's "rehearsed on") is read as that date; other text shows as is.
    """
    if isinstance(value, str) and value:
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return _tag(value, _day(_local(value)))
    if isinstance(value, date):
        return format_html('<time datetime="{}">{}</time>', value.isoformat(), _day(value))
    return ""


@register.filter
def when_span(start, end):
    """From `start` to `end`; the day and zone said once when both fall on one local day."""
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        return when(start) or when(end)
    local_start, local_end = _local(start), _local(end)
    if local_start.date() != local_end.date():
        return format_html("{} – {}", when(start), when(end))
    return format_html(
        "{} – {}",
        _tag(start, _text(local_start, zone=False)),
        _tag(end, _text(local_end, day=False)),
    )


@register.filter
def when_for(value, user):
    """Plain text in `user`'s zone, naming the zone (e-mails go to one reader each)."""
    if not isinstance(value, date):
        return ""
    if not isinstance(value, datetime):
        return _day(value)
    name = zone_of(user)
    local = _aware(value).astimezone(zoneinfo.ZoneInfo(name))
    return f"{_text(local)} ({name})"


@register.filter
def when_utc(value):
    """Plain UTC text for records that must not depend on a reader (evidence packs)."""
    if not isinstance(value, datetime):
        return ""
    return date_format(_aware(value).astimezone(UTC), "Y-m-d H:i:s") + " UTC"


@register.filter
def when_iso(value):
    """The UTC instant as ISO-8601 (a `datetime` attribute outside `when`)."""
    return _iso_utc(value) if isinstance(value, datetime) else ""


@register.filter
def when_time(value):
    """The time of day only, in the reader's zone, for places that already name the day."""
    if not isinstance(value, datetime):
        return ""
    return _tag(value, _text(_local(value), day=False))


@register.filter
def when_text(value):
    """`when` without the markup, for attributes (a `title`)."""
    if not isinstance(value, datetime):
        return ""
    return _text(_local(value))


@register.simple_tag
def current_zone() -> str:
    """The name of the zone times are shown and read in now ("Europe/Berlin")."""
    return timezone.get_current_timezone_name()
