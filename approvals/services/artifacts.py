"""Writes to a release's artifact set. A change voids the signatures that covered the old set.

A commit may carry the time CI says it was committed (`committed_at`, for the
lead-time metric). It is not part of what a signature covers: a new commit
time alone is logged but voids nothing.
"""

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction

from approvals.artifacts import artifact_digest_normalise, artifact_set, artifact_set_diff
from approvals.lifecycle import ARTIFACTS_EDITABLE
from approvals.models import Artifact, ArtifactKind, Release
from approvals.services.base import DomainError, db_now, release_lock, signoffs_void
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
        row_clean = {"name": name, "kind": kind, "digest": digest}
        committed_at = _committed_at(name=name, kind=kind, value=row.get("committed_at"))
        if committed_at is not None:
            row_clean["committed_at"] = committed_at
        cleaned.append(row_clean)
    return cleaned


# A commit time later than now (with this much clock skew) is refused.
COMMIT_CLOCK_SKEW = timedelta(minutes=5)


def _committed_at(*, name: str, kind: str, value) -> datetime | None:
    """The reported commit time, checked: commits only, with a time zone, not in the future."""
    if value is None or value == "":
        return None
    if kind != ArtifactKind.COMMIT:
        raise ValidationError({"committed_at": f"{name}: only a commit has a commit time."})
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationError(
            {"committed_at": f"{name}: give the commit time as ISO 8601 with a time zone."}
        )
    if value > db_now() + COMMIT_CLOCK_SKEW:
        raise ValidationError({"committed_at": f"{name}: the commit time lies in the future."})
    return value


def _commit_times(rows) -> dict[str, str]:
    """name -> ISO commit time, for the rows that have one (the change log's before/after)."""
    times = {}
    for row in rows:
        value = row.get("committed_at") if isinstance(row, dict) else row.committed_at
        if value is not None:
            times[row["name"] if isinstance(row, dict) else row.name] = value.isoformat()
    return times


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
        rows = list(release.artifacts.all())
        before = artifact_set(rows)
        times_before = _commit_times(rows)
        wanted = {a["name"]: a for a in ([] if replace else before)}
        wanted.update({a["name"]: a for a in cleaned})
        times = {name: t for name, t in times_before.items() if name in wanted}
        for row in cleaned:
            times.pop(row["name"], None)
        times.update(_commit_times(cleaned))
        return _artifacts_apply(
            release=release,
            before=before,
            after=artifact_set(wanted.values()),
            actor=actor,
            actor_name=actor_name,
            times=(times_before, times),
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


def _artifacts_apply(*, release, before, after, actor, actor_name: str = "", times=None) -> bool:
    """Store the new set, log it with what changed, and void the signatures on the old one."""
    times_before, times_after = times or ({}, None)
    if after == before:
        if times_after is None or times_after == times_before:
            return False
        return _commit_times_apply(
            release=release, before=times_before, after=times_after, actor=actor, name=actor_name
        )
    keep = {a["name"] for a in after}
    Artifact.objects.filter(release=release).exclude(name__in=keep).delete()
    reporter = actor_name or (actor.get_username() if actor is not None else "system")
    for row in after:
        Artifact.objects.update_or_create(
            release=release,
            name=row["name"],
            defaults={
                "kind": row["kind"],
                "digest": row["digest"],
                "reported_by": reporter,
                **_committed_default(row["name"], times_after),
            },
        )
    changelog_record(
        action=Action.ARTIFACTS_CHANGED,
        actor=actor,
        actor_name=actor_name or None,
        release=release,
        before={"artifacts": before},
        after={
            "artifacts": after,
            "changed": artifact_set_diff(before, after),
            **({"commit_times": times_after} if times_after else {}),
        },
    )
    signoffs_void(release=release, actor=actor, reason="Artifacts changed after signing")
    return True


def _committed_default(name: str, times: dict[str, str] | None) -> dict:
    """update_or_create's default for the commit time; {} when the caller does not set times."""
    if times is None:
        return {}
    value = times.get(name)
    return {"committed_at": datetime.fromisoformat(value) if value else None}


def _commit_times_apply(*, release, before: dict, after: dict, actor, name: str) -> bool:
    """Only commit times changed: store and log them; the signed set is the same, nothing voids."""
    for artifact in Artifact.objects.filter(release=release):
        value = after.get(artifact.name)
        artifact.committed_at = datetime.fromisoformat(value) if value else None
        artifact.save(update_fields=["committed_at"])
    changelog_record(
        action=Action.ARTIFACTS_CHANGED,
        actor=actor,
        actor_name=name or None,
        release=release,
        before={"commit_times": before},
        after={"commit_times": after},
    )
    return True
