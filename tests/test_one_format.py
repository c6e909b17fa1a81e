"""One way to write a date everywhere (issue 14, "Time"): no form falls back to the
browser's own date controls, whose display format depends on the browser's language;
and the one style sheet stays well-formed after merges (an unclosed @media block once
swallowed every rule after it)."""

import re
from datetime import date, datetime
from pathlib import Path

from django import forms

from relapp.widgets import DateTimeLocalInput, DayInput

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_DIRS = (
    "accounts",
    "api",
    "approvals",
    "audit",
    "auditstream",
    "evidence",
    "meetings",
    "metrics",
    "notifications",
    "raci",
    "relapp",
    "attestations",
    "demo",
)
NATIVE = re.compile(
    r"""["']type["']\s*:\s*["'](date|datetime-local|time)["']|input_type\s*=\s*["'](date|datetime-local)["']|type=["']?(date|datetime-local)\b"""
)


def test_no_form_or_template_uses_the_browsers_own_date_controls():
    found = []
    for folder in (*PRODUCT_DIRS, "templates"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in {".py", ".html"} or "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if NATIVE.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []


class _Form(forms.Form):
    day = forms.DateField(widget=DayInput())
    moment = forms.DateTimeField(widget=DateTimeLocalInput())


def test_days_and_moments_are_shown_and_taken_in_one_format():
    html = str(_Form(initial={"day": date(2026, 11, 25), "moment": datetime(2026, 11, 25, 14, 5)}))
    assert 'type="text" name="day" value="2026-11-25"' in html
    assert 'placeholder="YYYY-MM-DD"' in html
    assert 'value="2026-11-25 14:05"' in html
    assert 'placeholder="YYYY-MM-DD HH:MM"' in html
    for moment in ("2026-11-25 14:05", "2026-11-25T14:05"):
        form = _Form({"day": "2026-11-25", "moment": moment})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["moment"].strftime("%Y-%m-%d %H:%M") == "2026-11-25 14:05"
    bad = _Form({"day": "25/11/2026x", "moment": "tomorrow"})
    assert not bad.is_valid()
    assert set(bad.errors) == {"day", "moment"}


def test_the_style_sheet_opens_and_closes_every_block():
    css = (ROOT / "static" / "css" / "relapp.css").read_text()
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    depth = 0
    for number, line in enumerate(css.splitlines(), 1):
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"line {number} closes a block that was never opened"
    assert depth == 0, "a block (e.g. an @media rule) is never closed"
