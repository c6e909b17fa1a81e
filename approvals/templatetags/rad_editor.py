"""Section comments and evidence files, shown on the release page and in the RAD editor."""

from django import template
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from approvals import selectors
from approvals.lifecycle import ReleaseAction
from approvals.rad import SECTION_TITLES
from approvals.rad_editor_forms import AttachmentForm

register = template.Library()


def _may_attach(context) -> bool:
    access = context.get("access")
    return bool(access and access.may(ReleaseAction.EDIT_RAD) and not access.release.is_finished)


@register.inclusion_tag("approvals/includes/section_comments.html", takes_context=True)
def section_comments(context, section: str) -> dict:
    """The comments about one RAD section: open ones shown, resolved ones folded."""
    access, user = context.get("access"), context["request"].user
    may_comment = bool(access and access.may(ReleaseAction.COMMENT))
    closed = bool(access and access.release.is_finished)
    rows = [
        {
            "comment": comment,
            "can_resolve": not closed and (may_comment or comment.author_id == user.pk),
        }
        for comment in context.get("comments") or []
        if comment.section == section
    ]
    return {
        "section": section,
        "title": SECTION_TITLES.get(section, section),
        "open_rows": [row for row in rows if row["comment"].resolved_at is None],
        "resolved_rows": [row for row in rows if row["comment"].resolved_at is not None],
        "release": context.get("release"),
        "next": context.get("resolve_next", ""),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("approvals/includes/attachments_panel.html", takes_context=True)
def release_attachments(context, release) -> dict:
    """The release's evidence files, with the upload form for those who may attach."""
    attachments = context.get("attachments")
    if attachments is None:
        attachments = selectors.attachments_for_release(release=release)
    return {
        "release": release,
        "attachments": attachments,
        "may_attach": _may_attach(context),
        "attachment_form": context.get("attachment_form") or AttachmentForm(),
        "csrf_token": context.get("csrf_token"),
        "max_size": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
    }


@register.filter
def section_title(key: str) -> str:
    return SECTION_TITLES.get(key, "")
