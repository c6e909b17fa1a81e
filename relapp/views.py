from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from approvals.selectors import ReleaseFilters, my_signoffs, release_list_for_user
from meetings.selectors import feed_contents


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """What needs the signed-in user now: signatures, meetings, recent releases."""
    meetings, _ = feed_contents(user=request.user)
    upcoming = sorted((m for m in meetings if m.start >= timezone.now()), key=lambda m: m.start)
    return render(
        request,
        "home.html",
        {
            "mine": my_signoffs(user=request.user),
            "meetings": upcoming[:5],
            "releases": release_list_for_user(user=request.user, filters=ReleaseFilters())[:6],
        },
    )
