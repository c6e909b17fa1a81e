"""Writes for the RAD editor's companions: section comments resolved or reopened,
evidence files attached and removed (stored through Django's storage API)."""

import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction

from approvals.evidence_files import attachment_filename, attachment_refusal, attachment_verdict
from approvals.lifecycle import FINISHED
from approvals.models import Attachment, Comment, Release
from approvals.services.base import DomainError, db_now, release_lock
from audit.changelog import changelog_record
from audit.models import Action

HEAD_BYTES = 65_536  # what the type check reads: enough for magic numbers and most text


def attachment_max_bytes() -> int:
    return settings.ATTACHMENT_MAX_BYTES


def comment_resolve(*, comment: Comment, actor, resolved: bool) -> Comment:
    """Mark a comment resolved (or open again). One change-log entry per change."""
    with transaction.atomic():
        release = release_lock(comment.release)
        if release.status in FINISHED:
            raise DomainError("The release is closed: its comments stay as they are.")
        comment = Comment.objects.select_for_update().get(pk=comment.pk)
        if (comment.resolved_at is not None) == resolved:
            return comment  # already so: nothing to log
        before = {"resolved": not resolved}
        if resolved:
            comment.resolved_at, comment.resolved_by = db_now(), actor
        else:
            comment.resolved_at, comment.resolved_by = None, None
        comment.save(update_fields=["resolved_at", "resolved_by"])
        changelog_record(
            action=Action.COMMENT_RESOLVED if resolved else Action.COMMENT_REOPENED,
            actor=actor,
            release=release,
            obj=comment,
            before=before,
            after={"resolved": resolved, "section": comment.section},
        )
    return comment


def _read(upload) -> tuple[bytes, str]:
    """The file's first bytes and the SHA-256 of all of it."""
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    return head, digest.hexdigest()


def attachment_add(*, release: Release, actor, upload) -> Attachment:
    """Store one evidence file, after checking its name, size and bytes."""
    head, sha256 = _read(upload)
    refusal = attachment_refusal(
        name=upload.name, head=head, size=upload.size, max_bytes=attachment_max_bytes()
    )
    if refusal:
        raise ValidationError({"file": refusal})
    verdict = attachment_verdict(upload.name)
    attachment = Attachment(
        release=release,
        token=secrets.token_hex(16),
        filename=attachment_filename(upload.name),
        extension=verdict.extension,
        content_type=verdict.content_type,
        size=upload.size,
        sha256=sha256,
        uploaded_by=actor,
    )
    with transaction.atomic():
        release = release_lock(release)
        if release.status in FINISHED:
            raise DomainError("The release is closed: no evidence can be added.")
        # The stored name comes from attachment_path (release id and a random token).
        attachment.file.save("upload", upload, save=False)
        try:  # a failure below must not leave the stored file behind
            attachment.save()
            changelog_record(
                action=Action.ATTACHMENT_ADDED,
                actor=actor,
                release=release,
                obj=attachment,
                after={
                    "filename": attachment.filename,
                    "size": attachment.size,
                    "sha256": attachment.sha256,
                    "content_type": attachment.content_type,
                },
            )
        except Exception:
            default_storage.delete(attachment.file.name)
            raise
    return attachment


def attachment_remove(*, attachment: Attachment, actor) -> Attachment:
    """Delete the stored file; the row stays, marked removed, for the change log."""
    with transaction.atomic():
        release = release_lock(attachment.release)
        if release.status in FINISHED:
            raise DomainError("The release is closed: its evidence stays as it is.")
        attachment = Attachment.objects.select_for_update().get(pk=attachment.pk)
        if attachment.removed_at is not None:
            raise DomainError("That file was already removed.")
        stored = attachment.file.name
        attachment.removed_at, attachment.removed_by = db_now(), actor
        attachment.file = ""
        attachment.save(update_fields=["removed_at", "removed_by", "file"])
        changelog_record(
            action=Action.ATTACHMENT_REMOVED,
            actor=actor,
            release=release,
            obj=attachment,
            before={"filename": attachment.filename, "sha256": attachment.sha256},
        )
        transaction.on_commit(lambda: default_storage.delete(stored))
    return attachment
