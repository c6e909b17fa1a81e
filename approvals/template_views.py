"""The product's RAD template: its settings page, and applying a post-release review's suggestion.

Only release managers (`approvals.change_approvalpolicy`) open them; a product
or release the user cannot see is a 404, anyone else who can see it gets a
logged 403.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from approvals import selectors, services
from approvals.rad_template_forms import ApplyReviewForm, RadTemplateEditor
from approvals.rad_templates import TEMPLATE_NOTES
from relapp.http import apply_errors, require_perm

SETTINGS_PERM = "approvals.change_approvalpolicy"


@login_required
@require_http_methods(["GET", "POST"])
def product_rad_template(request: HttpRequest, product: str) -> HttpResponse:
    product = selectors.product_settings_for_user(user=request.user, slug=product)
    require_perm(request, SETTINGS_PERM, what="change RAD templates")
    content = services.rad_template_content(product)
    if request.method == "POST":
        editor = RadTemplateEditor(request.POST)
        if editor.is_valid():
            template = services.rad_template_update(
                product=product, actor=request.user, content=editor.content()
            )
            messages.success(
                request,
                "RAD template saved; new releases start from it."
                if template
                else "Nothing changed.",
            )
            return redirect("approvals:product_rad_template", product=product.slug)
        messages.error(request, "The template was not saved: correct the marked fields.")
    else:
        editor = RadTemplateEditor(content=content)
    return render(
        request,
        "approvals/product_rad_template.html",
        {
            "product": product,
            "editor": editor,
            "has_template": content is not None,
            "notes": TEMPLATE_NOTES,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def rad_template_from_review(request: HttpRequest, product: str, version: str) -> HttpResponse:
    release = selectors.release_get_for_user(user=request.user, product=product, version=version)
    require_perm(request, SETTINGS_PERM, what="change RAD templates", release=release)
    review = selectors.review_template_suggestion(release=release)
    if review is None:
        raise Http404("This release's review suggests no template change.")
    form = ApplyReviewForm(request.POST or None, initial={"text": review.template_changes})
    if request.method == "POST" and form.is_valid():
        try:
            template = services.rad_template_apply_review(
                product=release.product,
                review=review,
                actor=request.user,
                **form.cleaned_data,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            if template is None:
                messages.info(request, "The template already says that; nothing changed.")
            else:
                messages.success(request, f"Applied the review of {release} to the RAD template.")
            return redirect("approvals:product_rad_template", product=release.product.slug)
    return render(
        request,
        "approvals/rad_template_from_review.html",
        {"release": release, "product": release.product, "review": review, "form": form},
    )
