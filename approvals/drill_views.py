"""A product's operations page: what it deploys to, its fire-drill schedule and records."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from approvals import selectors, services
from approvals.drill_forms import DrillRecordForm, DrillScheduleForm, TargetsForm
from relapp.http import apply_errors, require_perm

MANAGE = "approvals.add_firedrill"


def _page(request, product, *, status=200, **forms) -> HttpResponse:
    state = selectors.drill_state_for(product=product, today=timezone.localdate())
    schedule = state.schedule
    context = {
        "product": product,
        "state": state,
        "can_manage": request.user.has_perm(MANAGE),
        "targets_form": forms.get("targets_form")
        or TargetsForm(initial={"targets": ", ".join(product.deploy_targets)}),
        "schedule_form": forms.get("schedule_form")
        or DrillScheduleForm(
            initial={
                "rrule": schedule.rrule,
                "first_on": schedule.first_on,
                "grace_days": schedule.grace_days,
            }
            if schedule
            else {"rrule": "FREQ=MONTHLY;INTERVAL=3", "grace_days": 7}
        ),
        "record_form": forms.get("record_form") or DrillRecordForm(),
    }
    return render(request, "approvals/drill_list.html", context, status=status)


@login_required
@require_GET
def drill_list(request: HttpRequest, product: str) -> HttpResponse:
    return _page(request, selectors.product_get_for_user(user=request.user, slug=product))


def _post(request, product: str, form_class, key: str, apply) -> HttpResponse:
    found = selectors.product_get_for_user(user=request.user, slug=product)
    require_perm(request, MANAGE, what=f"manage the fire drills of {found}")
    form = form_class(request.POST)
    if form.is_valid():
        try:
            message = apply(found, form)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, message)
            return redirect(reverse("approvals:drill_list", kwargs={"product": found.slug}))
    return _page(request, found, status=400, **{key: form})


@login_required
@require_POST
def targets_set(request: HttpRequest, product: str) -> HttpResponse:
    def apply(found, form):
        services.product_targets_set(product=found, actor=request.user, targets=form.targets_list())
        return "Components and environments saved."

    return _post(request, product, TargetsForm, "targets_form", apply)


@login_required
@require_POST
def drill_schedule(request: HttpRequest, product: str) -> HttpResponse:
    def apply(found, form):
        services.drill_schedule_set(product=found, actor=request.user, **form.cleaned_data)
        return "Fire-drill schedule saved."

    return _post(request, product, DrillScheduleForm, "schedule_form", apply)


@login_required
@require_POST
def drill_record(request: HttpRequest, product: str) -> HttpResponse:
    def apply(found, form):
        services.drill_record(
            product=found, actor=request.user, today=timezone.localdate(), **form.cleaned_data
        )
        return "Fire drill recorded."

    return _post(request, product, DrillRecordForm, "record_form", apply)
