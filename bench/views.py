"""The page benchmark's yardstick: one query, rendered through the site's base template."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from approvals.models import Release


@login_required
def baseline(request: HttpRequest) -> HttpResponse:
    """As cheap as a page can be: the middleware, the session, the base template and one
    query of its own. Every page's throughput is reported as a ratio to this one."""
    return render(request, "bench/baseline.html", {"releases": Release.objects.count()})
