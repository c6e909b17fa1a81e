"""Writes to a release's artifact set. A change voids the signatures that covered the old set."""

from django.core.exceptions import ValidationError
from django.db import transaction

from approvals.artifacts import artifact_digest_normalise, artifact_set, artifact_set_diff
from approvals.lifecycle import ARTIFACTS_EDITABLE
from approvals.models import Artifact, Release
from approvals.services.base import DomainError, release_lock, signoffs_void
from audit.changelog import changelog_record
from audit.models import Action

MAX_ARTIFACTS = 50


def _cleaned(artifacts: list[dict]) -> list[dict[str, str]]:
    """Validate and canonicalise; ValidationError naming the row and field."""
    if len(artifacts) > MAX_ARTIFACTS:
        raise ValidationError({"artifacts": f"At most {MAX_ARTIFACTS} artifacts per release."})
    cleaned, names = [], set()
    for index, row in enumerate(artifacts):
        name = str(row.get("name") or "").strip()
        kind = str(row.get("kind") or "").strip()
        if not name or len(name) > 300:
            raise ValidationError(
                {"name": f"Artifact {index + 1}: give a name (300 characters at most)."}
            )
        if name in names:
            raise ValidationError({"name": f"Artifact “{name}” is listed twice."})
        try:
            digest = artifact_digest_normalise(kind=kind, digest=str(row.get("digest") or ""))
        except ValueError as error:
            raise ValidationError({"digest": f"{name}: {error}"}) from None
        names.add(name)
        cleaned.append({"name": name, "kind": kind, "digest": digest})
    return cleaned


def artifacts_report(
    *, release: Release, actor, artifacts: list[dict], replace: bool = False, actor_name: str = ""
) -> bool:
    """Add or update artifacts by name (`replace`: the list becomes the whole set).

    Returns False when the set did not change. A change voids every live
    sign-off ("Artifacts changed after signing"), like a new RAD revision.
    """
    cleaned = _cleaned(artifacts)
    with transaction.atomic():
        release = _locked_editable(release)
        before = artifact_set(release.artifacts.all())
        wanted = {a["name"]: a for a in ([] if replace else before)}
        wanted.update({a["name"]: a for a in cleaned})
        return _artifacts_apply(
            release=release,
            before=before,
            after=artifact_set(wanted.values()),
            actor=actor,
            actor_name=actor_name,
        )


def artifact_remove(*, release: Release, actor, name: str) -> bool:
    """Remove one artifact from the set by name; False when there was none."""
    with transaction.atomic():
        release = _locked_editable(release)
        before = artifact_set(release.artifacts.all())
        after = [a for a in before if a["name"] != name]
        return _artifacts_apply(release=release, before=before, after=after, actor=actor)


def _locked_editable(release: Release) -> Release:
    release = release_lock(release)
    if release.status not in ARTIFACTS_EDITABLE:
        raise DomainError(
            "The artifacts are fixed once the release is "
            f"{release.get_status_display().lower()}; revise the release to change them."
        )
    return release


def _artifacts_apply(*, release, before, after, actor, actor_name: str = "") -> bool:
    """Store the new set, log it with what changed, and void the signatures on the old one."""
    if after == before:
        return False
    keep = {a["name"] for a in after}
    Artifact.objects.filter(release=release).exclude(name__in=keep).delete()
    reporter = actor_name or (actor.get_username() if actor is not None else "system")
    for row in after:
        Artifact.objects.update_or_create(
            release=release,
            name=row["name"],
            defaults={"kind": row["kind"], "digest": row["digest"], "reported_by": reporter},
        )
    changelog_record(
        action=Action.ARTIFACTS_CHANGED,
        actor=actor,
        actor_name=actor_name or None,
        release=release,
        before={"artifacts": before},
        after={"artifacts": after, "changed": artifact_set_diff(before, after)},
    )
    signoffs_void(release=release, actor=actor, reason="Artifacts changed after signing")
    return True
