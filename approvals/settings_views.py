"""Product settings pages for release managers: the approval policy and the RACI template.

Only holders of `approvals.change_approvalpolicy` (the Release managers group)
open them; a product the user cannot see is a 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from approvals import selectors, services
from approvals.policy_forms import PolicyForm
from raci import services as raci_services
from raci.forms import RaciGridForm
from raci.selectors import person_suggestions, raci_candidates, raci_template_matrix
from relapp.http import apply_errors, require_perm

SETTINGS_PERM = "approvals.change_approvalpolicy"


def _settings_product(request: HttpRequest, slug: str, *, what: str):
    product = selectors.product_settings_for_user(user=request.user, slug=slug)
    require_perm(request, SETTINGS_PERM, what=what)
    return product


@login_required
@require_http_methods(["GET", "POST"])
def product_policy(request: HttpRequest, product: str) -> HttpResponse:
    product = _settings_product(request, product, what="change approval policies")
    form = PolicyForm(request.POST or None, instance=selectors.policy_for(product))
    if request.method == "POST" and form.is_valid():
        try:
            version = services.policy_update(
                product=product, actor=request.user, values=form.values()
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            if version is None:
                messages.info(request, "Nothing changed.")
            else:
                messages.success(
                    request,
                    f"Policy saved as version {version.number}; releases approved from now on "
                    "record it.",
                )
            return redirect("approvals:product_policy", product=product.slug)
    return render(
        request,
        "approvals/product_policy.html",
        {
            "product": product,
            "form": form,
            "versions": selectors.policy_versions_for_product(product=product),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def product_raci_template(request: HttpRequest, product: str) -> HttpResponse:
    product = _settings_product(request, product, what="change RACI templates")
    matrix = raci_template_matrix(product=product)
    form = RaciGridForm(
        request.POST or None,
        matrix=matrix,
        candidates=raci_candidates(),
        suggest_url=reverse("approvals:product_raci_people", args=[product.slug]),
    )
    if request.method == "POST" and form.is_valid():
        cells, new_row = form.cells()
        try:
            changed = raci_services.raci_template_replace(
                product=product,
                actor=request.user,
                cells=cells,
                new_activity=form.cleaned_data["new_activity"],
                new_activity_cells=new_row,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                "RACI template saved; new releases copy it." if changed else "Nothing changed.",
            )
            return redirect(reverse("approvals:product_raci_template", args=[product.slug]))
    return render(
        request,
        "approvals/product_raci_template.html",
        {"product": product, "matrix": matrix, "form": form},
    )


@login_required
@require_GET
def product_raci_people(request: HttpRequest, product: str) -> JsonResponse:
    """Up to 20 people matching what was typed into the RACI template's "Add person"
    field (JSON), for those who may change the product's settings."""
    product = _settings_product(request, product, what="change RACI templates")
    in_template = [person.pk for person in raci_template_matrix(product=product).people]
    return JsonResponse(
        {"people": person_suggestions(text=request.GET.get("q", ""), exclude_ids=in_template)}
    )
