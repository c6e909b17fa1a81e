"""Form widgets shared by every app: one way to write a date, whatever the browser.

A native date or date-time input shows each browser's own format
(11/25/2026 in en-US, 25.11.2026 in de-DE, 02:00 PM or 14:00), so the same form
read differently from one person to the next. Relapp's fields are text fields that
show and take one format: `2026-11-25` for a day, `2026-11-25 14:00` (24-hour, in
the reader's time zone) for a moment. Django also parses ISO 8601 (`…T14:00`), so
scripts and pasted values work. Standard library and Django only: every layer may
import this module.
"""

from django import forms

DATE_ENTRY_FORMAT = "%Y-%m-%d"
DATE_ENTRY_HINT = "YYYY-MM-DD"
DATETIME_ENTRY_FORMAT = "%Y-%m-%d %H:%M"
DATETIME_ENTRY_HINT = "YYYY-MM-DD HH:MM"


def _text_attrs(hint: str, css: str, attrs: dict | None) -> dict:
    given = dict(attrs or {})
    given.pop("type", None)  # never the browser's own date control
    return {
        "placeholder": hint,
        "autocomplete": "off",
        "spellcheck": "false",
        "class": css,
        **given,
    }


class DayInput(forms.DateInput):
    """A day, written YYYY-MM-DD."""

    input_type = "text"

    def __init__(self, attrs: dict | None = None, format: str | None = None):  # noqa: A002
        super().__init__(
            attrs=_text_attrs(DATE_ENTRY_HINT, "date-input", attrs), format=DATE_ENTRY_FORMAT
        )


class DateTimeLocalInput(forms.DateTimeInput):
    """A moment, written YYYY-MM-DD HH:MM in the reader's time zone (the field
    include names the zone: its widget_type "datetimelocal" is what it looks for)."""

    input_type = "text"

    def __init__(self, attrs: dict | None = None, format: str | None = None):  # noqa: A002
        super().__init__(
            attrs=_text_attrs(DATETIME_ENTRY_HINT, "datetime-input", attrs),
            format=DATETIME_ENTRY_FORMAT,
        )
