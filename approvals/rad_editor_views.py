"""The RAD editor's companions: the Markdown preview, resolving section comments,
and evidence files (upload, download, removal)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from approvals import selectors, services
from approvals.lifecycle import ReleaseAction
from approvals.rad_editor_forms import AttachmentForm, PreviewForm, ResolveForm
from approvals.templatetags.rad import render_markdown
from relapp.http import apply_errors, refusal_record, require


@login_required
@require_POST
def rad_preview(request: HttpRequest, product: str, version: str) -> JsonResponse:
    """The HTML the reading view would show for this Markdown (same renderer and sanitiser)."""
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    require(
        request, access.may(ReleaseAction.EDIT_RAD), what="preview this RAD", release=access.release
    )
    form = PreviewForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    return JsonResponse({"html": str(render_markdown(form.cleaned_data["text"]))})


@login_required
@require_POST
def comment_resolve(
    request: HttpRequest, product: str, version: str, comment_id: int
) -> HttpResponse:
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    comment = selectors.comment_for_release(release=release, comment_id=comment_id)
    # A reviewer (anyone who may comment) or the comment's author.
    allowed = access.may(ReleaseAction.COMMENT) or comment.author_id == request.user.pk
    require(request, allowed, what="resolve comments on this release", release=release)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        refusal_record(
            request, actor=request.user, release=release, reason="Resolve: no valid choice given"
        )
        return HttpResponse(
            "Say whether to resolve (resolved=1) or reopen (resolved=0) the comment.",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    resolved = form.cleaned_data["resolved"]
    try:
        services.comment_resolve(comment=comment, actor=request.user, resolved=resolved)
    except services.DomainError as error:
        refusal_record(request, actor=request.user, release=release, reason=str(error))
        messages.error(request, str(error))
    else:
        messages.success(request, "Comment resolved." if resolved else "Comment reopened.")
    back = request.POST.get("next", "")
    if back != release.url("rad_edit"):
        back = release.get_absolute_url()
    # To the section, not the comment: a resolved one stays folded away.
    return redirect(f"{back}#comments-{comment.section}" if comment.section else back)


def _may_attach(request: HttpRequest, access) -> None:
    require(
        request,
        access.may(ReleaseAction.EDIT_RAD),
        what="attach evidence to this release",
        release=access.release,
    )


@login_required
@require_http_methods(["GET", "POST"])
def attachment_upload(request: HttpRequest, product: str, version: str) -> HttpResponse:
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    _may_attach(request, access)
    form = AttachmentForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                attachment = services.attachment_add(
                    release=release, actor=request.user, upload=form.cleaned_data["file"]
                )
            except services.DomainError as error:
                form.add_error("file", str(error))
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(
                    request, f"Attached {attachment.filename} (SHA-256 {attachment.sha256[:12]}…)."
                )
                return redirect(release.get_absolute_url() + "#attachments")
        status = 400
        reasons = "; ".join(error for errors in form.errors.values() for error in errors)
        refusal_record(
            request, actor=request.user, release=release, reason=f"Evidence refused: {reasons}"
        )
    return render(
        request,
        "approvals/attachments.html",
        {
            "release": release,
            "access": access,
            "attachment_form": form,
            "attachments": selectors.attachments_for_release(release=release),
        },
        status=status,
    )


@login_required
@require_GET
def attachment_download(
    request: HttpRequest, product: str, version: str, attachment_id: int
) -> FileResponse:
    release = selectors.release_get_for_user(user=request.user, product=product, version=version)
    attachment = selectors.attachment_for_release(release=release, attachment_id=attachment_id)
    try:
        stored = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404("The stored file is missing.") from None
    response = FileResponse(
        stored,
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
@require_POST
def attachment_remove(
    request: HttpRequest, product: str, version: str, attachment_id: int
) -> HttpResponse:
    access = selectors.release_access_for_user(user=request.user, product=product, version=version)
    release = access.release
    _may_attach(request, access)
    attachment = selectors.attachment_for_release(release=release, attachment_id=attachment_id)
    try:
        services.attachment_remove(attachment=attachment, actor=request.user)
    except services.DomainError as error:
        refusal_record(request, actor=request.user, release=release, reason=str(error))
        messages.error(request, str(error))
    else:
        messages.success(
            request, f"Removed {attachment.filename}; the change log keeps its record."
        )
    return redirect(release.get_absolute_url() + "#attachments")
