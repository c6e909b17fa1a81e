"""The evidence pack of one release: one zip an auditor can read and verify offline.

Inside one folder named after the release:

- the RAD revisions as JSON (content and SHA-256) and each as a standalone
  HTML page, rendered with the same Markdown filter as the release page;
- every sign-off with its manifestation (printed name, time, meaning,
  revision number and hash, method) and void state, voided ones included;
- the RACI matrix, gate checks, gate meetings and deployments;
- the release's change-log slice in the JSON export format, hashes included,
  plus a copy of audit/chain.py, so `python chain.py changelog.json` checks
  it with nothing but Python;
- release.json (the release, its post-release review and the chain head at
  build time), README.txt and SHA256SUMS.

Everything is read in one REPEATABLE READ snapshot (PostgreSQL), so the files
agree with each other even while the release moves on. The zip is written to
an anonymous temporary file, the change-log slice streamed into it in keyset
batches; only the small per-release files are held in memory, one at a time.
A fixed number of queries builds it, however many revisions, sign-offs or
entries the release has.
"""

import hashlib
import json
import tempfile
import textwrap
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.template.loader import render_to_string
from django.utils import timezone

from approvals.artifacts import artifact_set, artifact_set_sha256
from approvals.models import (
    Attachment,
    GateCheck,
    PostReleaseReview,
    RadRevision,
    Release,
    SignOff,
)
from approvals.rad import rad_summary
from approvals.selectors import artifacts_for_release, deployments_for_release
from approvals.services import signoff_manifest
from attestations import verify_attestation
from attestations.selectors import attestation_keys_document, attestations_for_release
from audit import chain
from audit.export import export_json
from audit.models import Action, ChangeLogEntry
from audit.selectors import ChangelogFilters, changelog_queryset
from audit.signing import changelog_signing_key, public_key_pem
from meetings.models import GateMeeting
from raci.selectors import raci_matrix

PACK_FORMAT = "relapp-evidence-pack"
PACK_VERSION = 1


@dataclass(frozen=True)
class PackFile:
    name: str
    description: str


# What the pack holds, in the order README.txt explains it.
PACK_FILES = (
    PackFile("README.txt", "This file: what each file holds and how to verify the pack."),
    PackFile(
        "release.json",
        "The release (status, window, who created and submitted it), its post-release review, "
        "the change-log head when the pack was built and the size of the change-log slice.",
    ),
    PackFile(
        "rad/revisions.json",
        "Every RAD revision: number, author, time, SHA-256 and the full content. `sha256` is "
        "the SHA-256 of the content as canonical JSON (sorted keys, no whitespace, UTF-8); "
        "`changelog` names the change-log entry that recorded the revision.",
    ),
    PackFile(
        "rad/revision-NNN.html",
        "Each revision as a readable page (one per revision, NNN its number), with the "
        "sign-offs given on it.",
    ),
    PackFile(
        "signoffs.json",
        "Every sign-off, voided ones included, oldest first, with its manifestation as "
        "frozen at signing: printed name, time (UTC), meaning, RAD revision number and "
        "SHA-256, method (e-signature or verbal), who recorded a verbal one; then its void "
        "state and reason, and the change-log entry that recorded it.",
    ),
    PackFile("raci.json", "The RACI matrix: each activity with its people and their letter."),
    PackFile(
        "gate_checks.json",
        "The latest result of each automated gate check; earlier results of the same check "
        "are in the change log (gatecheck.reported).",
    ),
    PackFile(
        "meetings.json",
        "Gate meetings: start (UTC), duration, location, status, decision and minutes, and the "
        "required sign-offs still missing when the decision was recorded.",
    ),
    PackFile(
        "deployments.json",
        "Deployments recorded for the release, oldest first; `unauthorized` ones were recorded "
        "while the deploy check refused them, with its reasons then.",
    ),
    PackFile(
        "artifacts.json",
        "What the release ships (name, kind, digest) and the SHA-256 of the set that "
        "sign-offs name in their `artifacts_sha256`.",
    ),
    PackFile(
        "unauthorized.json",
        "Only the unauthorized deployments, with the deploy check's codes and sentences.",
    ),
    PackFile(
        "changelog.json",
        "The release's change-log entries with their hashes, in Relapp's JSON export format "
        "(the same as /changelog/export.json?release=ID).",
    ),
    PackFile(
        "chain.py",
        "A copy of Relapp's change-log checker (audit/chain.py, standard library only).",
    ),
    PackFile(
        "changelog-public-key.pem",
        "The Ed25519 public key that verifies the change log's signed checkpoints "
        "(`manage.py changelog_public_key`); a comment line instead if none was configured.",
    ),
    PackFile(
        "attestations.json",
        "Every signed approval attestation of the release, oldest first: DSSE envelopes "
        "(in-toto Statement v1 over the artifact digests, Ed25519) of each approval and of each "
        "revocation after a halt or a voided sign-off; the last one is in force. Empty when "
        "the release was never approved with artifacts (docs/attestations.md).",
    ),
    PackFile(
        "attestation-keys.json",
        "The public keys that verify the attestations, with their key ids and validity periods "
        "(the same as /.well-known/relapp/attestation-keys.json).",
    ),
    PackFile(
        "verify_attestation.py",
        "Relapp's offline attestation verifier (Python and the cryptography package only).",
    ),
    PackFile(
        "attachments.json",
        "Evidence files attached to the release: name, size, content type, SHA-256, who "
        "attached it and when, and, for removed ones, who removed it and when. The files "
        "themselves are on the release page.",
    ),
    PackFile("SHA256SUMS", "The SHA-256 of every other file, for `sha256sum -c SHA256SUMS`."),
)


def _readme_files() -> list[dict[str, str]]:
    """PACK_FILES for README.txt: each description wrapped and indented under its name."""
    return [
        {
            "name": file.name,
            "text": textwrap.fill(
                file.description,
                76,
                initial_indent="    ",
                subsequent_indent="    ",
                break_on_hyphens=False,
            ),
        }
        for file in PACK_FILES
    ]


def evidence_pack_filename(release: Release) -> str:
    return f"{_folder(release)}.zip"


def _folder(release: Release) -> str:
    return f"relapp-evidence-{release.product.slug}-{release.version}"


def _time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _person(user) -> str | None:
    if user is None:
        return None
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else user.get_username()


def _json_bytes(data: Any) -> bytes:
    text = json.dumps(data, indent=2, ensure_ascii=False, cls=DjangoJSONEncoder)
    return (text + "\n").encode("utf-8")


@contextmanager
def _snapshot() -> Iterator[None]:
    """One read-only snapshot for every query of the pack.

    Only possible as the outermost transaction (the isolation level must be
    the first statement); nested in a caller's transaction, the pack reads in
    that one.
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


# --- the files ------------------------------------------------------------


def _changelog_refs(release: Release) -> dict[tuple[str, str], dict[str, Any]]:
    """(object type, id) -> the entry that recorded a revision or a sign-off."""
    rows = ChangeLogEntry.objects.filter(
        release_id=release.pk,
        action__in=[Action.RAD_REVISED, Action.SIGNOFF_RECORDED, Action.VERBAL_RECORDED],
    ).values_list("object_type", "object_id", "seq", "hash")
    return {(kind, pk): {"seq": seq, "hash": digest} for kind, pk, seq, digest in rows}


def _revision_document(revision: RadRevision, refs: dict) -> dict[str, Any]:
    return {
        "number": revision.number,
        "author": _person(revision.author),
        "created_at": _time(revision.created_at),
        "sha256": revision.sha256,
        "changelog": refs.get((RadRevision._meta.label, str(revision.pk))),
        "content": revision.content,
    }


def _signoff_document(signoff: SignOff, refs: dict) -> dict[str, Any]:
    manifest = signoff_manifest(signoff)
    return {
        "id": signoff.pk,
        **manifest,
        "signer": signoff.signer.get_username(),
        "comment": signoff.comment,
        "verbal": {
            "channel": signoff.verbal_channel,
            "given_at": _time(signoff.verbal_given_at),
            "note": signoff.verbal_note,
            "state": signoff.verbal_state,
            "confirmed_at": _time(signoff.verbal_confirmed_at),
        }
        if signoff.method == "verbal"
        else None,
        "void": signoff.is_void,
        "voided_at": _time(signoff.voided_at),
        "void_reason": signoff.void_reason,
        "changelog": refs.get((SignOff._meta.label, str(signoff.pk))),
    }


def _raci_document(release: Release) -> dict[str, Any]:
    matrix = raci_matrix(release=release)
    return {
        "people": [
            {"username": person.get_username(), "name": person.get_full_name()}
            for person in matrix.people
        ],
        "activities": [
            {
                "name": activity.name,
                "position": activity.position,
                "go_no_go": activity.is_go_no_go,
                "assignments": {
                    person.get_username(): letter for person, letter in cells if letter
                },
            }
            for activity, cells in matrix.rows()
        ],
    }


def _gate_checks_document(release: Release) -> list[dict[str, Any]]:
    checks = GateCheck.objects.filter(release=release).select_related("reported_by")
    return [
        {
            "name": check.name,
            "status": check.status,
            "details": check.details,
            "url": check.url,
            "reported_by": _person(check.reported_by),
            "reported_at": _time(check.reported_at),
        }
        for check in checks.order_by("name")
    ]


def _meetings_document(release: Release) -> list[dict[str, Any]]:
    meetings = (
        GateMeeting.objects.filter(release=release)
        .select_related("created_by")
        .prefetch_related("extra_attendees")
        .order_by("start", "id")
    )
    return [
        {
            "id": meeting.pk,
            "start": _time(meeting.start),
            "duration_minutes": meeting.duration_minutes,
            "end": _time(meeting.end),
            "location": meeting.location,
            "status": meeting.status,
            "times_rescheduled": meeting.sequence,
            "decision": meeting.decision,
            "signoffs_missing_at_decision": meeting.signoffs_missing,
            "minutes": meeting.minutes,
            "extra_attendees": sorted(u.get_username() for u in meeting.extra_attendees.all()),
            "scheduled_by": _person(meeting.created_by),
            "created_at": _time(meeting.created_at),
        }
        for meeting in meetings
    ]


def _deployments_document(release: Release) -> list[dict[str, Any]]:
    return [
        {
            "status": deployment.status,
            "environment": deployment.environment,
            "details": deployment.details,
            "recorded_by": _person(deployment.recorded_by),
            "recorded_at": _time(deployment.recorded_at),
            "unauthorized": deployment.unauthorized,
            "unauthorized_reasons": deployment.unauthorized_reasons,
        }
        for deployment in deployments_for_release(release=release)
    ]


def _artifacts_document(release: Release) -> dict[str, Any]:
    rows = artifacts_for_release(release=release)
    return {
        "artifacts": [
            {**row, "reported_by": a.reported_by, "reported_at": _time(a.reported_at)}
            for row, a in zip(artifact_set(rows), rows, strict=True)
        ],
        "artifacts_sha256": artifact_set_sha256(rows) if rows else "",
    }


def _attachments_document(release: Release) -> list[dict[str, Any]]:
    rows = Attachment.objects.filter(release=release).select_related("uploaded_by", "removed_by")
    return [
        {
            "filename": a.filename,
            "size": a.size,
            "content_type": a.content_type,
            "sha256": a.sha256,
            "uploaded_by": _person(a.uploaded_by),
            "uploaded_at": _time(a.uploaded_at),
            "removed_by": _person(a.removed_by),
            "removed_at": _time(a.removed_at),
        }
        for a in rows.order_by("uploaded_at", "id")
    ]


def _release_document(
    release: Release, *, generated_at: datetime, generated_by, changelog: dict[str, Any]
) -> dict[str, Any]:
    review = PostReleaseReview.objects.filter(release=release).select_related("author").first()
    return {
        "format": PACK_FORMAT,
        "version": PACK_VERSION,
        "generated_at": _time(generated_at),
        "generated_by": _person(generated_by),
        "release": {
            "id": release.pk,
            "product": {"slug": release.product.slug, "name": release.product.name},
            "version": release.version,
            "title": release.title,
            "type": release.release_type,
            "fixes": release.fixes.version if release.fixes_id else None,
            "status": release.status,
            "status_reason": release.status_reason,
            "window_start": _time(release.window_start),
            "window_end": _time(release.window_end),
            "created_by": _person(release.created_by),
            "created_at": _time(release.created_at),
            "submitted_by": _person(release.submitted_by),
            "deployed_at": _time(release.deployed_at),
            "freeze_override_reason": release.freeze_override_reason,
            "review_due_at": _time(release.review_due_at),
            "approved_at": _time(release.approved_at),
            "policy_version": {
                "number": release.policy_version.number,
                "settings": release.policy_version.snapshot,
            }
            if release.policy_version_id
            else None,
        },
        "post_release_review": {
            "went_well": review.went_well,
            "slipped": review.slipped,
            "template_changes": review.template_changes,
            "author": _person(review.author),
            "created_at": _time(review.created_at),
        }
        if review is not None
        else None,
        "changelog": changelog,
    }


def _changelog_summary(release: Release) -> dict[str, Any]:
    head = ChangeLogEntry.objects.order_by("-seq").values("seq", "hash").first()
    head_seq = head["seq"] if head else 0
    # The export stops at the head it reads itself; in the snapshot that is this one.
    stats = (
        ChangeLogEntry.objects.filter(release_id=release.pk, seq__lte=head_seq)
        .order_by()
        .aggregate(entries=Count("seq"), first_seq=Min("seq"), last_seq=Max("seq"))
    )
    return {
        "file": "changelog.json",
        **stats,
        "chain_head": {"seq": head_seq, "hash": head["hash"] if head else chain.GENESIS_HASH},
    }


# --- the zip --------------------------------------------------------------


class _PackWriter:
    """Adds members under the pack's folder and remembers their SHA-256."""

    def __init__(self, archive: zipfile.ZipFile, *, folder: str, stamp: datetime):
        self.archive = archive
        self.folder = folder
        self.date_time = stamp.timetuple()[:6]
        self.sums: dict[str, str] = {}

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(f"{self.folder}/{name}", date_time=self.date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        return info

    def add(self, name: str, data: bytes) -> None:
        self.archive.writestr(self._info(name), data)
        self.sums[name] = hashlib.sha256(data).hexdigest()

    def add_stream(self, name: str, chunks: Iterator[str]) -> None:
        digest = hashlib.sha256()
        with self.archive.open(self._info(name), "w") as member:
            for chunk in chunks:
                data = chunk.encode("utf-8")
                digest.update(data)
                member.write(data)
        self.sums[name] = digest.hexdigest()


def evidence_pack_write(*, release: Release, generated_by, target: IO[bytes]) -> None:
    """Write the release's evidence pack as a zip into `target` (a binary file)."""
    generated_at = timezone.now()
    release = Release.objects.select_related(
        "product", "fixes", "created_by", "submitted_by", "policy_version"
    ).get(pk=release.pk)
    refs = _changelog_refs(release)
    revisions = list(
        RadRevision.objects.filter(release=release).select_related("author").order_by("number")
    )
    signoffs = list(
        SignOff.objects.filter(release=release)
        .select_related("activity", "signer", "recorded_by")
        .order_by("signed_at", "id")
    )
    signoffs_by_revision: dict[int, list[SignOff]] = {}
    for signoff in signoffs:
        signoffs_by_revision.setdefault(signoff.revision_id, []).append(signoff)
    changelog = _changelog_summary(release)
    filters = ChangelogFilters(release=release)
    attestations = attestations_for_release(release=release)

    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        pack = _PackWriter(archive, folder=_folder(release), stamp=generated_at)
        readme = render_to_string(
            "evidence/pack/README.txt",
            {
                "release": release,
                "files": _readme_files(),
                "folder": _folder(release),
                "revisions": revisions,
                "signoff_count": len(signoffs),
                "changelog": changelog,
                "generated_at": generated_at,
                "generated_by": _person(generated_by),
                "attestations": attestations,
            },
        )
        pack.add("README.txt", readme.encode("utf-8"))
        pack.add(
            "release.json",
            _json_bytes(
                _release_document(
                    release,
                    generated_at=generated_at,
                    generated_by=generated_by,
                    changelog=changelog,
                )
            ),
        )
        pack.add(
            "rad/revisions.json",
            _json_bytes({"revisions": [_revision_document(r, refs) for r in revisions]}),
        )
        for revision in revisions:
            html = render_to_string(
                "evidence/pack/rad_revision.html",
                {
                    "release": release,
                    "revision": revision,
                    "summary": rad_summary(revision.content),
                    "signoffs": signoffs_by_revision.get(revision.pk, []),
                    "is_current": revision is revisions[-1],
                    "generated_at": generated_at,
                },
            )
            pack.add(f"rad/revision-{revision.number:03d}.html", html.encode("utf-8"))
        pack.add(
            "signoffs.json",
            _json_bytes({"signoffs": [_signoff_document(s, refs) for s in signoffs]}),
        )
        pack.add("raci.json", _json_bytes(_raci_document(release)))
        pack.add("gate_checks.json", _json_bytes({"gate_checks": _gate_checks_document(release)}))
        pack.add("meetings.json", _json_bytes({"meetings": _meetings_document(release)}))
        deployments = _deployments_document(release)
        pack.add("deployments.json", _json_bytes({"deployments": deployments}))
        pack.add("artifacts.json", _json_bytes(_artifacts_document(release)))
        pack.add(
            "unauthorized.json",
            _json_bytes({"unauthorized": [d for d in deployments if d["unauthorized"]]}),
        )
        pack.add_stream(
            "changelog.json",
            export_json(changelog_queryset(filters=filters), filters=filters.describe()),
        )
        pack.add("chain.py", Path(chain.__file__).read_bytes())
        key = changelog_signing_key()
        pack.add(
            "changelog-public-key.pem",
            (public_key_pem(key) if key else "# No checkpoint signing key configured.\n").encode(),
        )
        _attestations_add(pack, attestations)
        pack.add("attachments.json", _json_bytes({"attachments": _attachments_document(release)}))
        sums = "".join(f"{digest}  {name}\n" for name, digest in sorted(pack.sums.items()))
        pack.add("SHA256SUMS", sums.encode("utf-8"))


def _attestations_add(pack: _PackWriter, attestations: list) -> None:
    rows = [
        {
            "kind": a.kind,
            "issued_at": _time(a.issued_at),
            "keyid": a.keyid,
            "changelog_seq": a.changelog_seq,
            "payload_sha256": a.payload_sha256,
            "envelope": a.envelope,
        }
        for a in attestations
    ]
    pack.add("attestations.json", _json_bytes({"attestations": rows}))
    pack.add("attestation-keys.json", _json_bytes(attestation_keys_document()))
    pack.add("verify_attestation.py", Path(verify_attestation.__file__).read_bytes())


def evidence_pack_build(*, release: Release, generated_by) -> IO[bytes]:
    """The pack in an anonymous temporary file, positioned at its start.

    The caller closes it (FileResponse does); closing deletes it.
    """
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    try:
        with _snapshot():
            evidence_pack_write(release=release, generated_by=generated_by, target=handle)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return handle
