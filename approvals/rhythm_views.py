"""Pages of the release rhythm after deployment: ticking the post-deploy checklist."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from approvals import selectors, services
from relapp.http import require


class MonitoringTickForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000, label="Note")
    link = forms.URLField(
        required=False, max_length=500, assume_scheme="https", label="Dashboard link"
    )


@login_required
@require_POST
def monitoring_tick(
    request: HttpRequest, product: str, version: str, position: int
) -> HttpResponse:
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    policy = selectors.policy_for(release.product)
    require(
        request,
        request.user.pk in selectors.monitoring_ticker_ids(release=release, policy=policy),
        what="tick the post-deploy checklist (Responsibles and the Operations Accountable do)",
        release=release,
    )
    back = redirect(release.get_absolute_url() + "#rhythm")
    form = MonitoringTickForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label}: {' '.join(errors)}")
        return back
    try:
        tick = services.monitoring_tick(
            release=release, actor=request.user, position=position, **form.cleaned_data
        )
    except services.MonitoringRefused as error:
        if error.forbidden:
            raise PermissionDenied(str(error)) from None
        messages.error(request, str(error))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Ticked “{tick.item}”.")
    return back
