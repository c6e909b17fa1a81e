import re

import markdown as markdown_lib
import nh3
from django import template
from django.utils.safestring import mark_safe

register = template.Library()

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "b",
    "i",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "del",
}
_HEADING = re.compile(r"<(/?)h([1-6])")
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}


@register.filter
def render_markdown(text: str) -> str:
    """Markdown to HTML, then sanitised: no scripts, handlers or javascript: links."""
    html = markdown_lib.markdown(text or "", extensions=["extra", "sane_lists"])
    # RAD text sits under the page's h2 section headings: shift its headings down.
    html = _HEADING.sub(lambda m: f"<{m[1]}h{min(int(m[2]) + 2, 6)}", html)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above


@register.filter
def severity_badge(severity: str) -> str:
    return {
        "blocker": "badge-danger",
        "critical": "badge-danger",
        "major": "badge-warn",
        "minor": "badge-info",
    }.get(severity, "")


@register.filter
def status_badge(status: str) -> str:
    return {
        "draft": "",
        "in_review": "badge-info",
        "approved": "badge-ok",
        "deployed": "badge-ok",
        "closed": "",
        "halted": "badge-danger",
        "rolled_back": "badge-warn",
        "cancelled": "",
    }.get(status, "")


@register.filter
def heat_class(score: int) -> str:
    if score >= 15:
        return "heat-high"
    if score >= 8:
        return "heat-medium"
    return "heat-low"


@register.filter
def words(value: str) -> str:
    """snake_case to words: "in_progress" -> "in progress"."""
    return str(value).replace("_", " ")
