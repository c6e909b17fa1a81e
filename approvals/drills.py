"""Fire-drill schedules: expanding a product's RRULE and telling when a drill is overdue.

Pure functions: the caller passes the rule, the drills held and today's date.
"""

from datetime import date, datetime, timedelta

from dateutil.rrule import rrulestr

MAX_OCCURRENCES = 500


def rrule_problem(rule: str) -> str:
    """Why `rule` is not a usable RRULE value (empty when it is)."""
    rule = rule.strip()
    if not rule or rule.upper().startswith(("DTSTART", "RRULE:")) or "\n" in rule:
        return "Give the rule's value only, e.g. FREQ=MONTHLY;INTERVAL=3."
    try:
        rrulestr(rule, dtstart=datetime(2000, 1, 1))
    except (ValueError, TypeError) as error:
        return f"Not an iCalendar RRULE: {error}."
    if "FREQ=SECONDLY" in rule.upper() or "FREQ=MINUTELY" in rule.upper():
        return "Fire drills repeat at most hourly."
    return ""


def drill_occurrences(*, rule: str, first_on: date, start: date, end: date) -> list[date]:
    """The days in [start, end] on which the schedule puts a drill."""
    expanded = rrulestr(rule, dtstart=datetime.combine(first_on, datetime.min.time()))
    days: list[date] = []
    for moment in expanded.between(
        datetime.combine(start, datetime.min.time()),
        datetime.combine(end, datetime.max.time()),
        inc=True,
    ):
        if not days or days[-1] != moment.date():
            days.append(moment.date())
        if len(days) >= MAX_OCCURRENCES:
            break
    return days


def drill_due(*, rule: str, first_on: date, today: date) -> date | None:
    """The latest day on or before `today` the schedule put a drill on."""
    expanded = rrulestr(rule, dtstart=datetime.combine(first_on, datetime.min.time()))
    moment = expanded.before(datetime.combine(today, datetime.max.time()), inc=True)
    return moment.date() if moment else None


def drill_overdue(
    *, rule: str, first_on: date, grace_days: int, last_held_on: date | None, today: date
) -> date | None:
    """The due day of the drill that is overdue, or None.

    A drill falls due on each occurrence; a drill held within `grace_days`
    before it counts for it; more than `grace_days` after it with none held, it is overdue.
    """
    due = drill_due(rule=rule, first_on=first_on, today=today - timedelta(days=grace_days + 1))
    if due is None:
        return None
    if last_held_on is not None and last_held_on >= due - timedelta(days=grace_days):
        return None
    return due
