from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from auditstream.selectors import destination_statuses
from relapp.http import require_perm

# Whoever may read the change log (release managers, auditors) may see where it goes.
VIEW_PERMISSION = "audit.view_changelogentry"


@require_GET
@login_required
def destination_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, VIEW_PERMISSION, what="see the change-log destinations")
    return render(
        request, "auditstream/destination_list.html", {"statuses": destination_statuses()}
    )
