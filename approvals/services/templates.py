"""Writes to a product's RAD template: edited on its settings page, or from a review's suggestion.

Each change is one change-log entry with the template before and after.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from approvals.models import PostReleaseReview, Product, RadTemplate
from approvals.rad_templates import (
    APPLY_SECTIONS,
    rad_template_normalise,
    rad_template_with_suggestion,
)
from audit.changelog import changelog_record
from audit.models import Action


def rad_template_content(product: Product) -> dict[str, Any] | None:
    """The product's template content, or None when it has none (or an empty one)."""
    template = RadTemplate.objects.filter(product=product).first()
    if template is None or template.content == rad_template_normalise({}):
        return None
    return template.content


def _template_locked(product: Product) -> RadTemplate:
    Product.objects.select_for_update().filter(pk=product.pk).first()
    template = RadTemplate.objects.select_for_update().filter(product=product).first()
    return template or RadTemplate(product=product, content=rad_template_normalise({}))


def _template_write(
    *, product: Product, actor, content: dict[str, Any], reason: str, extra: dict | None = None
) -> RadTemplate | None:
    """Store `content` (already normalised) and log before/after; None when nothing changed."""
    template = _template_locked(product)
    before = template.content
    if content == before:
        return None
    template.content = content
    template.updated_by = actor
    template.save()
    changelog_record(
        action=Action.POLICY_CHANGED,
        actor=actor,
        product=product,
        obj=template,
        before={"rad_template": before},
        after={"rad_template": content, **(extra or {})},
        reason=reason,
    )
    return template


def rad_template_update(*, product: Product, actor, content: dict[str, Any]) -> RadTemplate | None:
    """Replace the product's RAD template (validated by the template editor)."""
    with transaction.atomic():
        return _template_write(
            product=product,
            actor=actor,
            content=rad_template_normalise(content),
            reason="RAD template changed; new releases start from it",
        )


def rad_template_apply_review(
    *, product: Product, review: PostReleaseReview, section: str, text: str, actor
) -> RadTemplate | None:
    """Add a post-release review's suggested change to one section of the template.

    `text` is the suggestion as the release manager confirmed it (the
    review's "template changes", possibly trimmed). Returns None when the
    section already holds it.
    """
    errors = {}
    if review.release.product_id != product.pk:
        errors["__all__"] = "That review belongs to another product."
    if section not in APPLY_SECTIONS:
        errors["section"] = "Choose the section the change belongs to."
    if not (text or "").strip():
        errors["text"] = "Write the change to apply."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        current = _template_locked(product).content
        return _template_write(
            product=product,
            actor=actor,
            content=rad_template_with_suggestion(current, section=section, text=text),
            reason=f"RAD template changed from the post-release review of {review.release}",
            extra={"from_review": {"release": str(review.release), "section": section}},
        )
