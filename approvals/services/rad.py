"""Writes to the RAD: immutable revisions, each voiding sign-offs on older ones."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from approvals.lifecycle import (
    RAD_EDITABLE,
)
from approvals.models import (
    RadRevision,
    Release,
)
from approvals.rad import rad_normalise, rad_sha256
from approvals.rad_templates import SECTION_KEYS, rad_copy_sections
from approvals.rules import scope_changed_after_cutoff
from approvals.services.base import DomainError, db_now, release_lock, signoffs_void
from approvals.services.templates import rad_template_content
from audit.changelog import changelog_record
from audit.models import Action


def rad_current(release: Release) -> RadRevision | None:
    return release.revisions.order_by("-number").first()


def rad_revise(*, release: Release, content: dict[str, Any], actor) -> RadRevision | None:
    """Write a new RAD revision, or return None when nothing really changed."""
    normalised = rad_normalise(content)
    digest = rad_sha256(normalised)
    with transaction.atomic():
        release = release_lock(release)
        if release.status not in RAD_EDITABLE:
            raise DomainError(
                f"The RAD cannot be edited while the release is {release.get_status_display().lower()}."
            )
        current = rad_current(release)
        if current is not None and current.sha256 == digest:
            return None
        late_scope = scope_changed_after_cutoff(
            cutoff_at=release.cutoff_at,
            now=db_now(),
            previous_scope=current.content["scope"] if current else None,
            new_scope=normalised["scope"],
        )
        revision = RadRevision.objects.create(
            release=release,
            number=(current.number + 1) if current else 1,
            author=actor,
            content=normalised,
            sha256=digest,
            scope_changed_after_cutoff=late_scope,
        )
        changelog_record(
            action=Action.RAD_REVISED,
            actor=actor,
            release=release,
            obj=revision,
            before={"revision": current.number, "sha256": current.sha256} if current else None,
            after={
                "revision": revision.number,
                "sha256": revision.sha256,
                **({"scope_changed_after_cutoff": True} if late_scope else {}),
            },
            reason="Scope changed after the code cut-off" if late_scope else "",
        )
        signoffs_void(
            release=release,
            actor=actor,
            reason="RAD changed after signing",
            revision__number__lt=revision.number,
        )
    return revision


def rad_start_from(*, release: Release, source: Release, sections: list[str], actor):
    """Write a revision of `release`'s RAD with the ticked sections of `source`'s current RAD.

    The source must be another release of the same product with a RAD; the
    sections not ticked keep what the RAD has now (or, for a first revision,
    start from the product's RAD template, else empty). Returns
    the revision, or None when nothing changed.
    """
    errors = {}
    if source.pk == release.pk or source.product_id != release.product_id:
        errors["source"] = "Choose an earlier release of the same product."
    unknown = set(sections) - set(SECTION_KEYS)
    if not sections or unknown:
        errors["sections"] = "Tick at least one section to copy."
    source_rad = rad_current(source) if not errors else None
    if not errors and source_rad is None:
        errors["source"] = f"{source} has no RAD to start from."
    if errors:
        raise ValidationError(errors)
    current = rad_current(release)
    base = current.content if current else rad_template_content(release.product)
    content = rad_copy_sections(base=base, source=source_rad.content, sections=sections)
    return rad_revise(release=release, content=content, actor=actor)
