from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from approvals import selectors
from approvals.views import refuse
from raci import permissions, services
from raci.forms import RaciGridForm
from raci.selectors import raci_candidates, raci_matrix


@login_required
@require_http_methods(["GET", "POST"])
def raci_edit(request: HttpRequest, product: str, version: str) -> HttpResponse:
    release = selectors.release_get_for_user(user=request.user, product=product, version=version)
    if permissions.MANAGE_RACI not in release.perms:
        raise refuse(request, what="edit the RACI matrix", release=release)
    matrix = raci_matrix(release=release)
    form = RaciGridForm(request.POST or None, matrix=matrix, candidates=raci_candidates())
    if request.method == "POST" and form.is_valid():
        cells, new_row = form.cells()
        try:
            changed = services.raci_matrix_update(
                release=release,
                actor=request.user,
                cells=cells,
                new_activity=form.cleaned_data["new_activity"],
                new_activity_cells=new_row,
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                for message in error.messages:
                    form.add_error(None, message)
        else:
            messages.success(
                request,
                "RACI matrix saved; permissions follow it." if changed else "Nothing changed.",
            )
            return redirect(release.get_absolute_url() + "#raci")
    return render(
        request,
        "raci/raci_edit.html",
        {"release": release, "matrix": matrix, "form": form},
    )
