"""The calendar page (month, week, agenda) and the private feed built from the same items."""

import hashlib
from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response
from django.utils.http import quote_etag
from django.views.decorators.http import require_GET

from approvals.selectors import products_for_choice
from meetings import selectors
from meetings.calendar import user_feed
from meetings.calendar_items import KINDS
from relapp.widgets import DayInput

VIEWS = ("month", "week", "agenda")
AGENDA_DAYS = 30
FEED_PAST_DAYS, FEED_FUTURE_DAYS = 90, 400


class CalendarFilterForm(forms.Form):
    product = forms.ChoiceField(required=False, label="Product")
    date = forms.DateField(required=False, label="Showing", widget=DayInput())

    def __init__(self, data, *, products):
        data = data.copy()
        data.setdefault("date", timezone.localdate().isoformat())  # shown in the field
        super().__init__(data)
        self.products = {p.slug: p for p in products}
        self.fields["product"].choices = [("", "All products")] + [
            (p.slug, p.name) for p in products
        ]

    def clean_date(self):
        day = self.cleaned_data.get("date") or timezone.localdate()
        if not date(2000, 1, 1) <= day <= date(2100, 12, 31):
            raise forms.ValidationError("Pick a day between 2000 and 2100.")
        return day


def _span(view: str, day: date) -> tuple[date, date, date, date]:
    """(first, last) days shown, and the days the previous and next links go to."""
    if view == "month":
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        first = start - timedelta(days=start.weekday())
        last = end + timedelta(days=6 - end.weekday())
        return first, last, (start - timedelta(days=1)).replace(day=1), end + timedelta(days=1)
    if view == "week":
        first = day - timedelta(days=day.weekday())
        return (
            first,
            first + timedelta(days=6),
            first - timedelta(days=7),
            first + timedelta(days=7),
        )
    return (
        day,
        day + timedelta(days=AGENDA_DAYS - 1),
        day - timedelta(days=AGENDA_DAYS),
        day + timedelta(days=AGENDA_DAYS),
    )


@login_required
@require_GET
def calendar_page(request: HttpRequest, view: str) -> HttpResponse:
    form = CalendarFilterForm(request.GET, products=list(products_for_choice(user=request.user)))
    context = {"form": form, "view": view, "views": VIEWS, "kinds": KINDS}
    if not form.is_valid():
        return render(request, "meetings/calendar.html", context, status=400)
    day = form.cleaned_data["date"]
    product = form.products.get(form.cleaned_data["product"] or "")
    first = _span(view, day)[0]  # the heading names the week by its first day
    today = timezone.localdate()
    # Reading the items and drawing some 40 days of them is most of the page's time:
    # the rendered grid is cached (selectors.data_cached) under the data version, which
    # every committed write to a table it reads replaces (the triggers of
    # metrics/migrations), the user and all else it depends on: the view and day (hence
    # the range), the product, today (the "Today" mark, drill statuses), the active time
    # zone (which day an item falls on, its times) and the language (month and day
    # names). It holds no CSRF token and no messages, which the page adds around it.
    context.update(
        day=day,
        first=first,
        grid=selectors.data_cached(
            user=request.user,
            parts=(
                "calendar-page",
                view,
                day,
                product.pk if product else None,
                product.slug if product else "",
                today,
                timezone.get_current_timezone_name(),
                translation.get_language(),
            ),
            compute=lambda: grid_render(
                user=request.user, view=view, day=day, product=product, today=today
            ),
        ),
    )
    return render(request, "meetings/calendar.html", context)


def grid_render(*, user, view: str, day: date, product, today: date) -> str:
    """The calendar's navigation, legend and grid of `user`'s items, rendered."""
    first, last, previous, following = _span(view, day)
    items = selectors.calendar_for_user(user=user, first=first, last=last, product=product)
    by_day: dict[date, list] = {
        first + timedelta(days=n): [] for n in range((last - first).days + 1)
    }
    for item in items:
        for touched in item.days():
            if touched in by_day:
                by_day[touched].append(item)
    slug = product.slug if product else ""

    def link(target_view: str, target: date) -> str:
        query = f"?date={target.isoformat()}" + (f"&product={slug}" if slug else "")
        return reverse(f"meetings:calendar_{target_view}") + query

    context = {
        "view": view,
        "views": VIEWS,
        "kinds": KINDS,
        "day": day,
        "today": today,
        "days": list(by_day.items()),
        "weeks": [list(by_day.items())[i : i + 7] for i in range(0, len(by_day), 7)],
        "agenda": [(d, its) for d, its in by_day.items() if its],
        "previous": link(view, previous),
        "following": link(view, following),
        "today_link": link(view, today),
        "view_links": [(v, link(v, day)) for v in VIEWS],
        "conflicts": sum(1 for item in items if item.conflicts),
    }
    return render_to_string("meetings/includes/calendar_grid.html", context)


def _feed_stamp() -> datetime:
    """The feed's DTSTAMP: the start of the current UTC day. It stays put between polls
    (so the body and its ETag do too while nothing changed) and moves once a day, as the
    feed's drill statuses ("overdue") and window do."""
    return datetime.combine(timezone.now().astimezone(UTC).date(), time.min, tzinfo=UTC)


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The private feed. The token is checked first, so a revoked or rotated token is a
    404 whatever validators the client sends, and whatever is cached. The ETag is the
    body's SHA-256: it can only match when the client already holds exactly this feed,
    so a 304 is never stale and never another user's. Calendar clients poll every few
    hours with If-None-Match; the 304 saves them the download.

    The body and its ETag are cached (selectors.feed_cached) under the data version,
    which every committed write to a table the feed reads replaces (the triggers of
    metrics/migrations), and under everything else the body depends on: the local day
    (the window, drill statuses), the UTC day (DTSTAMP), the active time zone (the
    window's midnights) and the site's address (the links)."""
    feed = selectors.feed_for_token(token=token)
    today = timezone.localdate()
    base_url = request.build_absolute_uri("/").rstrip("/")
    stamp = _feed_stamp()

    def compute() -> tuple[bytes, str]:
        items = selectors.feed_items(
            user=feed.user,
            first=today - timedelta(days=FEED_PAST_DAYS),
            last=today + timedelta(days=FEED_FUTURE_DAYS),
        )
        body = user_feed(items=items, base_url=base_url, stamp=stamp)
        return body, quote_etag(hashlib.sha256(body).hexdigest())

    body, etag = selectors.feed_cached(
        feed=feed,
        parts=(today, stamp, timezone.get_current_timezone_name(), base_url),
        compute=compute,
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    response["ETag"] = etag
    return get_conditional_response(request, etag=etag, response=response)
