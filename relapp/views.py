from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from approvals.selectors import ReleaseFilters, overview_for_user, release_list_for_user
from meetings.selectors import upcoming_meetings_for

OVERVIEW_MEETINGS = 5
OVERVIEW_RELEASES = 6


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """What needs the signed-in user now: signatures, meetings, recent releases.

    Each card fetches only the rows it shows (LIMIT in SQL) and counts the rest
    with COUNT, so the page costs the same for one waiting sign-off or thousands.
    """
    return render(
        request,
        "home.html",
        {
            "mine": overview_for_user(user=request.user),
            "meetings": upcoming_meetings_for(
                user=request.user, limit=OVERVIEW_MEETINGS, now=timezone.now()
            ),
            "releases": release_list_for_user(user=request.user, filters=ReleaseFilters())[
                :OVERVIEW_RELEASES
            ],
        },
    )
