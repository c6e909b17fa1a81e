from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from approvals import selectors, services
from approvals.forms import (
    CancelForm,
    CommentForm,
    DiffForm,
    ProductForm,
    RadEditor,
    ReleaseFilterForm,
    ReleaseForm,
)
from approvals.lifecycle import IllegalTransition, Status
from approvals.models import Release
from approvals.rad import SECTION_TITLES, rad_diff, rad_incomplete_sections, rad_summary
from audit.changelog import changelog_record
from audit.models import Action
from raci import permissions

PAGE_SIZE = 25


def refuse(request: HttpRequest, *, what: str, release: Release | None = None) -> PermissionDenied:
    """Log a refused action and return the 403 to raise."""
    changelog_record(
        action=Action.ACCESS_REFUSED,
        actor=request.user,
        release=release,
        after={"method": request.method, "path": request.path},
        reason=f"Not permitted: {what}",
    )
    return PermissionDenied(f"You may not {what}.")


def _require(request: HttpRequest, release: Release, codename: str, what: str) -> None:
    if codename not in release.perms:
        raise refuse(request, what=what, release=release)


def _apply_errors(form, error: ValidationError) -> None:
    for field, messages_ in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


@login_required
@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    products = selectors.product_list_for_user(user=request.user)
    return render(
        request,
        "approvals/product_list.html",
        {"products": products, "can_add": request.user.has_perm("approvals.add_product")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def product_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("approvals.add_product"):
        raise refuse(request, what="create products")
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"Product {product.name} created.")
            return redirect("approvals:product_list")
    return render(request, "approvals/product_form.html", {"form": form})


@login_required
@require_GET
def release_list(request: HttpRequest) -> HttpResponse:
    products = list(selectors.products_for_choice())
    form = ReleaseFilterForm(request.GET or None, products=products)
    filters = selectors.ReleaseFilters()
    if form.is_valid():
        filters = selectors.ReleaseFilters(**form.cleaned_data)
    releases = selectors.release_list_for_user(user=request.user, filters=filters)
    page = Paginator(releases, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "approvals/release_list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "can_add": request.user.has_perm("approvals.add_release"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def release_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("approvals.add_release"):
        raise refuse(request, what="create releases")
    products = selectors.products_for_choice()
    fixable = selectors.release_list_for_user(
        user=request.user, filters=selectors.ReleaseFilters()
    ).exclude(status=Status.CANCELLED)
    initial = {}
    if "product" in request.GET:
        initial["product"] = products.filter(slug=request.GET["product"]).first()
    form = ReleaseForm(request.POST or None, initial=initial, products=products, releases=fixable)
    if request.method == "POST" and form.is_valid():
        try:
            release = services.release_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"Release {release} created. Write its RAD next.")
            return redirect(release.url("rad_edit"))
    return render(request, "approvals/release_form.html", {"form": form})


def _rehearsal_age(content: dict) -> int | None:
    rehearsed = content["rollback"]["rehearsed_on"]
    if not rehearsed:
        return None
    return (timezone.localdate() - date.fromisoformat(rehearsed)).days


@login_required
@require_GET
def release_detail(request: HttpRequest, product: str, version: str) -> HttpResponse:
    release = selectors.release_get_for_user(user=request.user, product=product, version=version)
    revisions = selectors.revisions_for_release(release=release)
    current = revisions[-1] if revisions else None
    shown = current
    if "revision" in request.GET:
        number = request.GET["revision"]
        shown = next((r for r in revisions if str(r.number) == number), None)
        if shown is None:
            raise Http404("No such revision.")
    summary = rad_summary(shown.content) if shown else None
    problems = {}
    if current and release.status == Status.DRAFT:
        problems = rad_incomplete_sections(current.content)
    perms = release.perms
    context = {
        "release": release,
        "revisions": revisions,
        "current": current,
        "shown": shown,
        "summary": summary,
        "rehearsal_age": _rehearsal_age(shown.content) if shown else None,
        "problems": problems,
        "comments": selectors.comments_for_release(release=release),
        "comment_form": CommentForm(),
        "cancel_form": CancelForm(),
        "can_edit": permissions.EDIT_RAD in perms
        and release.status in (Status.DRAFT, Status.IN_REVIEW),
        "can_submit": permissions.SUBMIT in perms and release.status == Status.DRAFT,
        "can_comment": permissions.COMMENT in perms
        and release.status not in (Status.CLOSED, Status.CANCELLED),
        "can_cancel": permissions.MANAGE_RACI in perms
        and release.status in (Status.DRAFT, Status.IN_REVIEW, Status.APPROVED, Status.HALTED),
    }
    return render(request, "approvals/release_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def rad_edit(request: HttpRequest, product: str, version: str) -> HttpResponse:
    release = selectors.release_get_for_user(user=request.user, product=product, version=version)
    _require(request, release, permissions.EDIT_RAD, "edit this RAD")
    current = services.rad_current(release)
    if request.method == "POST":
        editor = RadEditor(request.POST)
        if editor.is_valid():
            try:
                revision = services.rad_revise(
                    release=release, content=editor.content(), actor=request.user
                )
            except services.DomainError as error:
                messages.error(request, str(error))
                return redirect(release)
            if revision is None:
                messages.info(request, "Nothing changed, so no new revision was written.")
            else:
                messages.success(request, f"Saved as RAD revision {revision.number}.")
            return redirect(release)
        messages.error(request, "The RAD was not saved: correct the marked fields.")
    else:
        editor = RadEditor(content=current.content if current else None)
    return render(
        request,
        "approvals/rad_edit.html",
        {"release": release, "editor": editor, "current": current},
    )


@login_required
@require_GET
def rad_diff_view(request: HttpRequest, product: str, version: str) -> HttpResponse:
    release = selectors.release_get_for_user(user=request.user, product=product, version=version)
    revisions = selectors.revisions_for_release(release=release)
    by_number = {r.number: r for r in revisions}
    initial = {}
    if len(revisions) >= 2:
        initial = {"base": revisions[-2].number, "compare": revisions[-1].number}
    form = DiffForm(request.GET or None, initial=initial)
    sections = None
    base = compare = None
    if form.is_valid():
        base = by_number.get(form.cleaned_data["base"])
        compare = by_number.get(form.cleaned_data["compare"])
        if base is None or compare is None:
            form.add_error(None, "Choose two revisions that exist.")
        else:
            sections = rad_diff(base.content, compare.content)
    elif not request.GET and len(revisions) >= 2:
        base, compare = revisions[-2], revisions[-1]
        sections = rad_diff(base.content, compare.content)
    return render(
        request,
        "approvals/rad_diff.html",
        {
            "release": release,
            "revisions": revisions,
            "form": form,
            "base": base,
            "compare": compare,
            "sections": sections,
            "section_titles": SECTION_TITLES,
        },
    )


@login_required
@require_POST
def release_submit(request: HttpRequest, product: str, version: str) -> HttpResponse:
    release = selectors.release_get_for_user(user=request.user, product=product, version=version)
    _require(request, release, permissions.SUBMIT, "submit this release")
    try:
        services.release_submit(release=release, actor=request.user)
    except services.DomainError as error:
        messages.error(request, str(error))
        for problem in error.problems.values():
            messages.warning(request, problem)
    except IllegalTransition as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Submitted for review. The Accountables can now sign off.")
    return redirect(release)


@login_required
@require_POST
def release_cancel(request: HttpRequest, product: str, version: str) -> HttpResponse:
    release = selectors.release_get_for_user(user=request.user, product=product, version=version)
    _require(request, release, permissions.MANAGE_RACI, "cancel this release")
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the release is cancelled.")
        return redirect(release)
    try:
        services.release_cancel(release=release, actor=request.user, **form.cleaned_data)
    except (services.DomainError, IllegalTransition) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Release cancelled.")
    return redirect(release)


@login_required
@require_POST
def comment_create(request: HttpRequest, product: str, version: str) -> HttpResponse:
    release = selectors.release_get_for_user(user=request.user, product=product, version=version)
    _require(request, release, permissions.COMMENT, "comment on this release")
    form = CommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The comment was empty or too long; nothing was posted.")
        return redirect(release)
    try:
        services.release_comment(release=release, actor=request.user, **form.cleaned_data)
    except (services.DomainError, ValidationError) as error:
        messages.error(
            request, error.messages[0] if isinstance(error, ValidationError) else str(error)
        )
    else:
        messages.success(request, "Comment posted.")
    return redirect(release.get_absolute_url() + "#comments")
