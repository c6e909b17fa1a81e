from datetime import date
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from approvals import selectors, services
from approvals.artifacts import artifact_set_sha256
from approvals.forms import (
    ArtifactForm,
    ArtifactRemoveForm,
    CommentForm,
    DeploymentForm,
    DeploymentPageForm,
    DiffForm,
    ProductForm,
    RadEditor,
    ReasonForm,
    ReleaseFilterForm,
    ReleaseForm,
    ReviewForm,
    SignOffForm,
    VerbalForm,
    VerbalResponseForm,
)
from approvals.lifecycle import IllegalTransition, ReleaseAction, Status
from approvals.models import Decision, DeploymentStatus, ReleaseType, VerbalState
from approvals.rad import SECTION_TITLES, rad_diff, rad_incomplete_sections, rad_summary
from approvals.rules import meaning_text, window_warnings
from approvals.waiting import my_signoff_sections, signoff_page
from audit.selectors import changelog_for_release
from raci import permissions
from raci.forms import RaciGridForm
from raci.selectors import person_suggestions, raci_candidates, raci_matrix, release_activities
from relapp.credentials import (
    CODE_MISSING,
    WRONG_CODE,
    WRONG_PASSWORD,
    has_authenticator,
    reauth_origin,
    reauth_start,
    signature_failed,
    signs_at_provider,
)
from relapp.http import apply_errors, refuse, require, require_perm

PAGE_SIZE = 25
KEYSET_PARAMS = ("before", "after")  # the release list's cursors: a release id


def _cursor(request: HttpRequest, name: str) -> int | None:
    """A keyset cursor from the query string; anything but digits is ignored."""
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and len(value) < 19 else None


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
    require_perm(request, "approvals.add_product", what="create products")
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Product {product.name} created.")
            return redirect("approvals:product_list")
    return render(request, "approvals/product_form.html", {"form": form})


@login_required
@require_GET
def release_list(request: HttpRequest) -> HttpResponse:
    products = list(selectors.products_for_choice(user=request.user))
    form = ReleaseFilterForm(request.GET or None, products=products)
    filters = selectors.ReleaseFilters()
    if form.is_valid():
        filters = selectors.ReleaseFilters(**form.cleaned_data)
    releases = selectors.release_list_for_user(user=request.user, filters=filters)
    query = request.GET.copy()
    for name in ("page", *KEYSET_PARAMS):
        query.pop(name, None)
    if filters.sort:
        page = Paginator(releases, PAGE_SIZE).get_page(request.GET.get("page"))
    elif "page" in request.GET and not any(name in request.GET for name in KEYSET_PARAMS):
        return _old_page_link(request, releases=releases, query=query)
    else:  # the default order (newest first) pages by keyset: no OFFSET, no deep-page cost
        page = selectors.release_keyset_page(
            releases=releases,
            before=_cursor(request, "before"),
            after=_cursor(request, "after"),
            limit=PAGE_SIZE,
        )
    sort_query = query.copy()
    sort_query.pop("sort", None)
    return render(
        request,
        "approvals/release_list.html",
        {
            "form": form,
            "page": page,
            "total": page.paginator.count if filters.sort else page.count,
            "query": query.urlencode(),
            "sort": filters.sort,
            "sort_query": sort_query.urlencode(),
            "can_add": request.user.has_perm("approvals.add_release"),
        },
    )


def _old_page_link(request: HttpRequest, *, releases, query) -> HttpResponse:
    """A bookmarked `?page=N` of the default order, from before it paged by keyset:
    redirect to the keyset cursor that shows the same releases, or to the newest page
    with a message when that page is past the end (or N is not a page number)."""
    value = request.GET.get("page", "")
    number = int(value) if value.isdigit() and len(value) < 9 else 1
    cursor = selectors.release_keyset_cursor_for_page(
        releases=releases, page=number, limit=PAGE_SIZE
    )
    target = query.copy()
    if cursor is not None:
        target["before"] = str(cursor)
    elif number > 1:
        messages.info(
            request,
            f"Page {number} no longer exists (the list pages with Older and Newer now); "
            "here are the newest releases.",
        )
    encoded = target.urlencode()
    return redirect(reverse("approvals:release_list") + (f"?{encoded}" if encoded else ""))


@login_required
@require_http_methods(["GET", "POST"])
def release_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "approvals.add_release", what="create releases")
    products = selectors.products_for_choice(user=request.user)
    fixable = selectors.release_list_for_user(
        user=request.user, filters=selectors.ReleaseFilters()
    ).exclude(status=Status.CANCELLED)
    initial = {}
    if "product" in request.GET:
        initial["product"] = products.filter(slug=request.GET["product"]).first()
    form = ReleaseForm(request.POST or None, initial=initial, products=products, releases=fixable)
    warnings: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        confirmed = data.pop("confirm_window")
        warnings = _window_warnings(data)
        if confirmed or not warnings:
            try:
                release = services.release_create(actor=request.user, **data)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, f"Release {release} created. Write its RAD next.")
                for conflict in selectors.conflicts_for(release=release):
                    messages.warning(request, f"Conflict: {conflict.message}")
                return redirect(release.url("rad_edit"))
    return render(request, "approvals/release_form.html", {"form": form, "warnings": warnings})


def _window_warnings(data: dict) -> list[str]:
    freezes = selectors.freezes_overlapping(
        product=data["product"], start=data["window_start"], end=data["window_end"]
    )
    return window_warnings(
        start=data["window_start"],
        end=data["window_end"],
        now=timezone.now(),
        freezes=freezes,
        is_hotfix=data["release_type"] == ReleaseType.HOTFIX,
    )


def _rehearsal_age(content: dict) -> int | None:
    rehearsed = content["rollback"]["rehearsed_on"]
    if not rehearsed:
        return None
    return (timezone.localdate() - date.fromisoformat(rehearsed)).days


def _with_content(release, listed):
    """The listed (content-deferred) revision, loaded again with its RAD content."""
    return selectors.revision_with_content(release=release, number=listed.number)


@login_required
@require_GET
def release_detail(request: HttpRequest, product: str, version: str) -> HttpResponse:
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    revisions = selectors.revisions_for_release(release=release)
    current = _with_content(release, revisions[-1]) if revisions else None
    shown = current
    if "revision" in request.GET:
        number = request.GET["revision"]
        shown = next((r for r in revisions if str(r.number) == number), None)
        if shown is None:
            raise Http404("No such revision.")
        shown = current if shown.number == current.number else _with_content(release, shown)
    summary = rad_summary(shown.content) if shown else None
    # The RACI rows are read once for the progress panel, the matrix and the access panel.
    activities = release_activities(release=release)
    progress = selectors.release_progress(
        release=release, user=request.user, current=current, activities=activities
    )
    problems = {}
    if current and release.status == Status.DRAFT:
        problems = rad_incomplete_sections(current.content)
    matrix = raci_matrix(release=release, activities=activities)
    artifacts = selectors.artifacts_for_release(release=release)
    deployments = selectors.deployments_for_release(release=release)
    deploy_refusals = (
        selectors.deploy_check_now(release=release)
        if release.status in (Status.APPROVED, Status.HALTED)
        else None
    )
    context = {
        "release": release,
        "access": access,
        "can": access.can_do,
        "revisions": revisions,
        "current": current,
        "shown": shown,
        "summary": summary,
        "rehearsal_age": _rehearsal_age(shown.content) if shown else None,
        "problems": problems,
        "comments": selectors.comments_for_release(release=release),
        "comment_form": CommentForm(
            initial={"body": request.session.pop(_comment_draft_key(release), "")}
        ),
        "cancel_form": ReasonForm(),
        "progress": progress,
        "matrix": matrix,
        "access_rows": permissions.access_explanations(
            user=request.user, perms=access.perms, matrix=matrix
        )
        if not release.is_finished
        else [
            (
                "read",
                True,
                f"You can read it: the release is {release.get_status_display().lower()}, so nothing about it changes any more.",
            )
        ],
        "review": selectors.review_for_release(release=release),
        "reason_error": request.session.pop(_reason_error_key(release), None),
        # Separation of duties: whoever submits may not sign; say so before the click.
        "submit_bars": [
            row.activity.name
            for row in progress.rows
            if row.accountable and row.accountable.pk == request.user.pk and row.required
        ],
        "deployments": deployments,
        "reason_form": ReasonForm(),
        "deployment_form": DeploymentForm(),
        "artifacts": artifacts,
        "artifact_form": ArtifactForm(),
        "deploy_refusals": deploy_refusals,
        "rhythm": selectors.release_rhythm(
            release=release,
            user=request.user,
            loaded=selectors.ReleaseLoaded(
                current=current,
                revisions=revisions,
                deployments=deployments,
                checks=progress.checks,
            ),
        ),
        "header": selectors.release_header_for(
            access=access,
            progress=progress,
            problems=problems,
            current=current,
            deploy_refusals=deploy_refusals,
        ),
        "unauthorized": [d for d in deployments if d.unauthorized],
        # The change log is for auditors and release managers (docs/permissions.md).
        "timeline": changelog_for_release(release=release, reader=request.user)
        if request.user.has_perm("audit.view_changelogentry")
        else None,
    }
    return render(request, "approvals/release_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def rad_edit(request: HttpRequest, product: str, version: str) -> HttpResponse:
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    require(request, access.may(ReleaseAction.EDIT_RAD), what="edit this RAD", release=release)
    if not access.can(ReleaseAction.EDIT_RAD):
        # Say so before anything is typed, not on save.
        messages.info(
            request,
            f"The RAD of {release} cannot change now: the release is "
            f"{release.get_status_display().lower()}.",
        )
        return redirect(release)
    current = services.rad_current(release)
    template = None
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
            # The editor's script clears its browser draft on the next visit.
            request.session[_rad_saved_key(release)] = True
            if revision is None:
                messages.info(request, "Nothing changed, so no new revision was written.")
            else:
                messages.success(request, f"Saved as RAD revision {revision.number}.")
            return redirect(release)
        messages.error(request, "The RAD was not saved: correct the marked fields.")
    else:
        # A first revision starts from the product's RAD template, if it has one.
        template = None if current else services.rad_template_content(release.product)
        editor = RadEditor(content=current.content if current else template)
    return render(
        request,
        "approvals/rad_edit.html",
        {
            "release": release,
            "editor": editor,
            "current": current,
            "from_template": template is not None,
            "access": access,
            "comments": selectors.comments_for_release(release=release),
            "resolve_next": release.url("rad_edit"),
            "just_saved": request.method == "GET"
            and request.session.pop(_rad_saved_key(release), False),
            "save_failed": request.method == "POST",
        },
    )


def _rad_saved_key(release) -> str:
    return f"rad_saved:{release.pk}"


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
            base, compare = _with_content(release, base), _with_content(release, compare)
            sections = rad_diff(base.content, compare.content)
    elif not request.GET and len(revisions) >= 2:
        base, compare = _with_content(release, revisions[-2]), _with_content(release, revisions[-1])
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
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    require(request, access.may(ReleaseAction.SUBMIT), what="submit this release", release=release)
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
    return _reason_action(
        request,
        product,
        version,
        action=ReleaseAction.CANCEL,
        what="cancel this release",
        service=services.release_cancel,
        done="Release cancelled.",
    )


def _comment_draft_key(release) -> str:
    return f"comment-draft-{release.pk}"


@login_required
@require_POST
def comment_create(request: HttpRequest, product: str, version: str) -> HttpResponse:
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    require(
        request, access.may(ReleaseAction.COMMENT), what="comment on this release", release=release
    )
    form = CommentForm(request.POST)
    if not form.is_valid() and "body" not in form.errors:
        messages.error(request, "Choose a section of the RAD, or none; nothing was posted.")
        return redirect(release.get_absolute_url() + "#comments")
    if not form.is_valid():
        body = request.POST.get("body", "")
        limit = form.fields["body"].max_length
        if body.strip():
            # Keep what was typed: the release page puts it back in the box.
            request.session[_comment_draft_key(release)] = body[:50_000]
            messages.error(
                request,
                f"The comment is too long: {len(body):,} characters, at most {limit:,}. "
                "Nothing was posted; your text is still in the box.",
            )
        else:
            messages.error(request, "The comment is empty; nothing was posted.")
        return redirect(release.get_absolute_url() + "#comments")
    try:
        services.release_comment(release=release, actor=request.user, **form.cleaned_data)
    except (services.DomainError, ValidationError) as error:
        messages.error(
            request, error.messages[0] if isinstance(error, ValidationError) else str(error)
        )
    else:
        messages.success(request, "Comment posted.")
    return redirect(release.get_absolute_url() + "#comments")


# --- sign-offs ----------------------------------------------------------------


def _code_options(user, release) -> dict[str, bool]:
    """Whether a signing form asks for the authenticator code (relapp.credentials)."""
    enrolled = has_authenticator(user)
    policy = selectors.policy_for(release.product)
    return {
        "code_required": enrolled,
        "show_code": enrolled or policy.signature_requires_two_components,
    }


def _progress_row(request, release, activity_id: int):
    current = services.rad_current(release)
    progress = selectors.release_progress(release=release, user=request.user, current=current)
    row = next((r for r in progress.rows if r.activity.pk == activity_id), None)
    if row is None:
        raise Http404("No such activity.")
    return progress, row


@login_required
@require_http_methods(["GET", "POST"])
def signoff(request: HttpRequest, product: str, version: str, activity_id: int) -> HttpResponse:
    release = selectors.release_get_for_user(user=request.user, product=product, version=version)
    progress, row = _progress_row(request, release, activity_id)
    # Only the activity's Accountable gets as far as the form: everyone else is
    # refused (and logged) before anything they sent is looked at.
    if not row.may_sign(request.user):
        owner = (
            f"its Accountable is the team {row.team.name}"
            if row.team is not None
            else f"its Accountable is {row.accountable.get_full_name() or row.accountable}"
            if row.accountable
            else "it has no Accountable"
        )
        raise refuse(request, what=f"sign {row.activity.name} ({owner})", release=release)
    decision = request.POST.get("decision") or request.GET.get("decision") or "approve"
    if decision not in Decision.values:
        decision = Decision.APPROVE
    current_number = progress.current.number if progress.current else 1
    at_provider = signs_at_provider(request)
    code_options = _code_options(request.user, release)
    if at_provider:
        code_options = {"code_required": False, "show_code": False, "at_provider": True}
    if request.method == "POST":
        form = SignOffForm(request.POST, **code_options)
        if form.is_valid():
            if at_provider:
                return _signoff_at_provider(request, release=release, row=row, form=form)
            done = _signoff_submit(request, release=release, row=row, form=form)
            if done is not None:
                return done
    else:
        form = SignOffForm(
            initial={"decision": decision, "revision": current_number}, **code_options
        )
    artifacts = selectors.artifacts_for_release(release=release)
    artifacts_sha256 = artifact_set_sha256(artifacts) if artifacts else ""
    meaning = (
        meaning_text(
            decision=decision,
            activity=row.activity,
            release=release,
            revision_number=current_number,
            artifacts_sha256=artifacts_sha256,
            judged_risks=selectors.judged_risks_for(release=release, activity=row.activity),
        )
        if progress.current
        else ""
    )
    if meaning and row.on_behalf_of is not None:
        absent = row.on_behalf_of
        meaning += f", on behalf of {absent.get_full_name() or absent.get_username()}"
    response = render(
        request,
        "approvals/signoff.html",
        {
            "release": release,
            "row": row,
            "progress": progress,
            "form": form,
            "decision": decision,
            "meaning": meaning,
            "artifacts": artifacts,
            "artifacts_sha256": artifacts_sha256,
            "enrol_first": code_options["show_code"] and not code_options["code_required"],
            "at_provider": at_provider,
            "provider_name": settings.OIDC_PROVIDER_NAME,
            # A wrong password is said before "not ready": the form stays with its error.
            "credential_error": any(
                form.has_error(name) for name in ("password", "code") if name in form.fields
            ),
        },
    )
    if at_provider:
        # The form's POST redirects to the provider: CSP form-action covers redirects.
        response._csp_update = {"form-action": [reauth_origin()]}
    return response


def _signoff_at_provider(request, *, release, row, form) -> HttpResponse:
    """Keep the pending signature in the session and send the signer to the provider.

    accounts' callback records it once the provider says the signer signed in
    again after this click (relapp.credentials.provider_reauthentication).
    """
    url = reauth_start(
        request,
        {
            "release_id": release.pk,
            "product": release.product.slug,
            "version": release.version,
            "activity_id": row.activity.pk,
            "decision": form.cleaned_data["decision"],
            "comment": form.cleaned_data["comment"],
            "revision": form.cleaned_data["revision"],
            "cutoff_acknowledged": bool(form.cleaned_data.get("cutoff_acknowledged")),
        },
    )
    return redirect(url)


# A refusal about a credential belongs to the box it was typed in (marked invalid, its
# message read with it); any other refusal is the form's one message.
_CREDENTIAL_FIELDS = {WRONG_PASSWORD: "password", WRONG_CODE: "code", CODE_MISSING: "code"}


def _add_refusal(form, message: str) -> None:
    name = _CREDENTIAL_FIELDS.get(message)
    if name not in form.fields or (name == "code" and not form.show_code):
        form.add_error(None, message)
        return
    form.add_error(name, message)
    bound = form[name]
    described = [f"{bound.id_for_label}-error"]
    if bound.help_text:
        described.append(f"{bound.auto_id}_helptext")
    form.fields[name].widget.attrs["aria-describedby"] = " ".join(described)
    for other in ("password", "code"):
        if other in form.fields:
            form.fields[other].widget.attrs.pop("autofocus", None)
    form.fields[name].widget.attrs["autofocus"] = True


def _signoff_submit(request, *, release, row, form) -> HttpResponse | None:
    """Record the signature; a redirect when done, None to show the form with its errors."""
    try:
        _, created = services.signoff_record(
            release=release,
            activity_id=row.activity.pk,
            signer=request.user,
            decision=form.cleaned_data["decision"],
            comment=form.cleaned_data["comment"],
            password=form.cleaned_data["password"],
            code=form.cleaned_data["code"],
            revision_number=form.cleaned_data["revision"],
            cutoff_acknowledged=form.cleaned_data.get("cutoff_acknowledged", False),
            on_behalf_of=row.on_behalf_of,
        )
    except services.SignOffRefused as error:
        if error.forbidden:
            raise PermissionDenied(str(error)) from None
        if error.wrong_credential:
            locked = signature_failed(request)
            if locked is not None:
                return locked
        _add_refusal(form, str(error))
        return None
    except (services.DomainError, IllegalTransition) as error:
        messages.error(request, str(error))
    except ValidationError as error:
        apply_errors(form, error)
        return None
    else:
        if created:
            messages.success(request, f"Your decision on {row.activity.name} is recorded.")
        else:
            messages.info(request, "That decision was already recorded; nothing was added.")
    return redirect(release.get_absolute_url() + "#approvals")


@login_required
@require_http_methods(["GET", "POST"])
def verbal_record(
    request: HttpRequest, product: str, version: str, activity_id: int
) -> HttpResponse:
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    require(
        request,
        access.may(ReleaseAction.RECORD_VERBAL),
        what="record verbal approvals",
        release=release,
    )
    _, row = _progress_row(request, release, activity_id)
    form = VerbalForm(request.POST or None, initial={"given_at": timezone.localtime()})
    if request.method == "POST" and form.is_valid():
        try:
            services.signoff_record_verbal(
                release=release,
                activity_id=activity_id,
                recorded_by=request.user,
                **form.cleaned_data,
            )
        except ValidationError as error:
            apply_errors(form, error)
        except services.DomainError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"Verbal approval of {row.activity.name} recorded; "
                f"{row.accountable.get_username()} is asked to confirm it.",
            )
            return redirect(release.get_absolute_url() + "#approvals")
    return render(
        request, "approvals/verbal_record.html", {"release": release, "row": row, "form": form}
    )


@login_required
@require_http_methods(["GET", "POST"])
def verbal_respond(request: HttpRequest, signoff_id: int) -> HttpResponse:
    signoff_obj = selectors.verbal_signoff_for_user(user=request.user, signoff_id=signoff_id)
    release = signoff_obj.release
    at_provider = signs_at_provider(request)
    code_options = _code_options(request.user, release)
    if at_provider:
        code_options = {"code_required": False, "show_code": False, "at_provider": True}
    form = VerbalResponseForm(request.POST or None, **code_options)
    if request.method == "POST" and form.is_valid() and at_provider:
        return _verbal_respond_at_provider(request, signoff=signoff_obj, form=form)
    if request.method == "POST" and form.is_valid():
        try:
            services.signoff_verbal_respond(
                signoff=signoff_obj,
                actor=request.user,
                confirm=form.cleaned_data["response"] == "confirm",
                password=form.cleaned_data["password"],
                code=form.cleaned_data["code"],
                note=form.cleaned_data["note"],
                cutoff_acknowledged=form.cleaned_data["cutoff_acknowledged"],
            )
        except services.SignOffRefused as error:
            if error.forbidden:
                raise PermissionDenied(str(error)) from None
            locked = signature_failed(request) if error.wrong_credential else None
            if locked is not None:
                return locked
            form.add_error(None, str(error))
        except services.DomainError as error:
            messages.error(request, str(error))
            return redirect(release)
        else:
            if form.cleaned_data["response"] == "confirm":
                messages.success(request, "Thank you: your verbal approval is confirmed.")
            else:
                messages.warning(request, "Your dispute is recorded; the approval was voided.")
            return redirect(release)
    response = render(
        request,
        "approvals/verbal_respond.html",
        {
            "signoff": signoff_obj,
            "release": release,
            "form": form,
            "enrol_first": code_options["show_code"] and not code_options["code_required"],
            "at_provider": at_provider,
            "provider_name": settings.OIDC_PROVIDER_NAME,
        },
    )
    if at_provider:
        response._csp_update = {"form-action": [reauth_origin()]}
    return response


def _verbal_respond_at_provider(request, *, signoff, form) -> HttpResponse:
    """Keep the pending answer in the session and send the Accountable to the provider.

    accounts' callback records the confirmation or dispute once the provider
    says they signed in again after this click, as for a sign-off.
    """
    if signoff.verbal_state != VerbalState.PENDING or signoff.is_void:
        messages.error(request, "This verbal approval has already been answered.")
        return redirect(signoff.release)
    release = signoff.release
    url = reauth_start(
        request,
        {
            "kind": "verbal",
            "signoff_id": signoff.pk,
            "release_id": release.pk,
            "product": release.product.slug,
            "version": release.version,
            "activity_id": signoff.activity_id,
            "confirm": form.cleaned_data["response"] == "confirm",
            "note": form.cleaned_data["note"],
            "cutoff_acknowledged": bool(form.cleaned_data.get("cutoff_acknowledged")),
        },
    )
    return redirect(url)


@login_required
@require_GET
def my_signoffs(request: HttpRequest) -> HttpResponse:
    """Ready to sign and waiting on something, each paged by its own keyset cursor
    (`?ready_after=` / `?waiting_after=`, an activity id), so the page stays bounded."""
    mine = selectors.my_signoffs(user=request.user)
    sections = my_signoff_sections(user=request.user, mine=mine)
    groups = {"ready": sections.ready, "waiting": sections.waiting}
    cursors = {name: _cursor(request, f"{name}_after") for name in groups}

    def link(name: str, after: int | None) -> str:
        """This group at `after`, the other group where the reader left it."""
        query = {f"{n}_after": c for n, c in cursors.items() if n != name and c is not None}
        if after is not None:
            query[f"{name}_after"] = after
        return "?" + urlencode(query) if query else request.path

    pages = {}
    for name, items in groups.items():
        page = pages[name] = signoff_page(items, after=cursors[name])
        page.more_url = link(name, page.next_after) if page.next_after else ""
        page.first_url = link(name, None) if page.earlier else ""
    return render(request, "approvals/my_signoffs.html", {"mine": mine, **pages})


def _reason_error_key(release) -> str:
    return f"reason-error-{release.pk}"


def _reason_action(request, product, version, *, action, what, service, done):
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    require(request, access.may(action), what=what, release=release)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        # The release page opens this form again, with the error beside it.
        request.session[_reason_error_key(release)] = {
            "action": action.value,
            "error": f"Give a reason to {action.label}; nothing was changed.",
        }
        return redirect(release.get_absolute_url() + f"#{action.value}-form")
    try:
        service(release=release, actor=request.user, reason=form.cleaned_data["reason"])
    except (services.DomainError, IllegalTransition) as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done)
    return redirect(release)


@login_required
@require_POST
def release_halt(request: HttpRequest, product: str, version: str) -> HttpResponse:
    return _reason_action(
        request,
        product,
        version,
        action=ReleaseAction.HALT,
        what="halt this release",
        service=services.release_halt,
        done="Release halted. The pipeline is blocked until the Go/no-go Accountable signs again.",
    )


@login_required
@require_POST
def release_revise(request: HttpRequest, product: str, version: str) -> HttpResponse:
    return _reason_action(
        request,
        product,
        version,
        action=ReleaseAction.REVISE,
        what="revise this release",
        service=services.release_revise,
        done="Release sent back to draft.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def deployment_create(request: HttpRequest, product: str, version: str) -> HttpResponse:
    """Record a deployment; the page says first what would be flagged, and asks to confirm."""
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    require(
        request,
        access.may(ReleaseAction.RECORD_DEPLOYMENT),
        what="record deployments",
        release=release,
    )
    form = DeploymentPageForm(request.POST or None)
    if request.method == "GET":
        warnings = [r.message for r in selectors.deploy_check_now(release=release)]
        return _deployment_page(request, release, form, warnings, preview=True)
    if not form.is_valid():
        return _deployment_page(request, release, form, [], status=400)
    data = dict(form.cleaned_data)
    confirmed = data.pop("confirm_warnings")
    warnings = (
        []
        if data["status"] == DeploymentStatus.ROLLED_BACK
        else [
            r.message
            for r in selectors.deploy_check_now(release=release, artifact=data["artifact"])
        ]
    )
    if warnings and not confirmed:
        return _deployment_page(request, release, form, warnings)
    try:
        deployment = services.deployment_record(
            release=release, actor=request.user, warnings_acknowledged=warnings, **data
        )
    except (services.DomainError, IllegalTransition) as error:
        messages.error(request, str(error))
    else:
        done = f"Deployment {data['status'].replace('_', ' ')} recorded"
        if deployment.unauthorized:
            reasons = " ".join(r["message"] for r in deployment.unauthorized_reasons)
            messages.warning(request, f"{done}, and flagged unauthorized: {reasons}")
        else:
            messages.success(request, f"{done}.")
    return redirect(release)


def _deployment_page(request, release, form, warnings, *, preview=False, status=200):
    return render(
        request,
        "approvals/deployment_form.html",
        {"release": release, "form": form, "warnings": warnings, "preview": preview},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def review_create(request: HttpRequest, product: str, version: str) -> HttpResponse:
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    require(
        request,
        access.may(ReleaseAction.REVIEW),
        what="write the post-release review",
        release=release,
    )
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.review_record(release=release, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        except (services.DomainError, IllegalTransition) as error:
            messages.error(request, str(error))
            return redirect(release)
        else:
            messages.success(request, "Post-release review recorded; the release is closed.")
            return redirect(release)
    return render(request, "approvals/review_form.html", {"release": release, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def raci_edit(request: HttpRequest, product: str, version: str) -> HttpResponse:
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    require(
        request, access.may(ReleaseAction.EDIT_RACI), what="edit the RACI matrix", release=release
    )
    matrix = raci_matrix(release=release)
    form = RaciGridForm(
        request.POST or None,
        matrix=matrix,
        candidates=raci_candidates(),
        suggest_url=release.url("raci_people"),
    )
    if request.method == "POST" and form.is_valid():
        cells, new_row = form.cells()
        try:
            changed = services.release_raci_update(
                release=release,
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
                "RACI matrix saved; permissions follow it." if changed else "Nothing changed.",
            )
            return redirect(release.get_absolute_url() + "#raci")
    return render(
        request,
        "raci/raci_edit.html",
        {"release": release, "matrix": matrix, "form": form},
    )


@login_required
@require_GET
def raci_people(request: HttpRequest, product: str, version: str) -> JsonResponse:
    """Up to 20 people matching what was typed into the RACI editor's "Add person"
    field (JSON), for those who may edit this release's matrix; people already in
    the matrix are left out."""
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    require(
        request, access.may(ReleaseAction.EDIT_RACI), what="edit the RACI matrix", release=release
    )
    in_matrix = [person.pk for person in raci_matrix(release=release).people]
    return JsonResponse(
        {"people": person_suggestions(text=request.GET.get("q", ""), exclude_ids=in_matrix)}
    )


@login_required
@require_POST
def artifact_add(request: HttpRequest, product: str, version: str) -> HttpResponse:
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    require(
        request,
        access.may(ReleaseAction.EDIT_ARTIFACTS),
        what="record artifacts",
        release=release,
    )
    form = ArtifactForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the artifact's name, kind and digest; nothing was recorded.")
        return redirect(release.get_absolute_url() + "#artifacts")
    try:
        changed = services.artifacts_report(
            release=release, actor=request.user, artifacts=[form.cleaned_data]
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except services.DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            "Artifact recorded; sign-offs on the old set were voided."
            if changed
            else "That artifact was already recorded; nothing changed.",
        )
    return redirect(release.get_absolute_url() + "#artifacts")


@login_required
@require_POST
def artifact_remove(request: HttpRequest, product: str, version: str) -> HttpResponse:
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    require(
        request,
        access.may(ReleaseAction.EDIT_ARTIFACTS),
        what="record artifacts",
        release=release,
    )
    form = ArtifactRemoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the artifact to remove; nothing changed.")
        return redirect(release.get_absolute_url() + "#artifacts")
    try:
        removed = services.artifact_remove(
            release=release, actor=request.user, name=form.cleaned_data["name"]
        )
    except services.DomainError as error:
        messages.error(request, str(error))
    else:
        if removed:
            messages.success(request, "Artifact removed; sign-offs on the old set were voided.")
        else:
            messages.info(request, "There was no such artifact; nothing changed.")
    return redirect(release.get_absolute_url() + "#artifacts")
