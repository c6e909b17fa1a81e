from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from approvals.search import (
    SEARCH_GROUP_SIZE,
    SEARCH_MAX_LENGTH,
    SEARCH_MIN_LENGTH,
    Group,
    group_of,
    people_with_roles,
    search_people,
    search_products,
    search_query_clean,
    search_releases,
)
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


SEARCH_GROUPS = ("releases", "products", "people")


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """The header's search: releases, products and people the reader may see, grouped.

    `group` lists one group alone, page by page (the "more" link of the products and
    people; the releases' "more" goes to the release list, filtered).
    """
    raw = request.GET.get("q", "")
    q = search_query_clean(raw)
    group = request.GET.get("group", "")
    group = group if group in SEARCH_GROUPS else ""
    context = {
        "q": q,
        "group": group,
        "truncated": len(raw) > SEARCH_MAX_LENGTH,
        "min_length": SEARCH_MIN_LENGTH,
        "max_length": SEARCH_MAX_LENGTH,
        "query": urlencode({"q": q, "group": group}),
    }
    if len(q) < SEARCH_MIN_LENGTH:
        context["too_short"] = SEARCH_MIN_LENGTH
        return render(request, "search.html", context)
    finders = {
        "releases": search_releases,
        "products": search_products,
        "people": search_people,
    }
    if group:
        page = Paginator(finders[group](user=request.user, q=q), SEARCH_GROUP_SIZE).get_page(
            request.GET.get("page")
        )
        rows = list(page.object_list)
        if group == "people":
            rows = people_with_roles(user=request.user, people=rows)
        context.update(page=page, results={group: Group(rows=rows, total=page.paginator.count)})
        return render(request, "search.html", context)
    results = {name: group_of(finder(user=request.user, q=q)) for name, finder in finders.items()}
    results["people"].rows = people_with_roles(user=request.user, people=results["people"].rows)
    context["results"] = results
    context["found"] = sum(g.total for g in results.values())
    return render(request, "search.html", context)
