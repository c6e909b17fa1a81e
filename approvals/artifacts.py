"""What a release ships, in canonical form, and the hash a signature covers.

Pure functions: the services validate with them and the sign-off records
`artifact_set_sha256` next to the RAD revision's hash.
"""

import hashlib
import json
import re
from collections.abc import Iterable

from approvals.models import ArtifactKind

_SHA256 = re.compile(r"^(?:sha256:)?([0-9a-fA-F]{64})$")
_COMMIT = re.compile(r"^[0-9a-fA-F]{40}$")


def artifact_digest_normalise(*, kind: str, digest: str) -> str:
    """The digest in canonical form, or ValueError with the sentence to show.

    Images and packages: `sha256:<64 lowercase hex>` (a bare 64-hex digest is
    accepted and prefixed). Git commits: 40 lowercase hex.
    """
    digest = (digest or "").strip()
    if kind == ArtifactKind.COMMIT:
        if not _COMMIT.match(digest):
            raise ValueError("A git commit is identified by its 40-character hex SHA-1.")
        return digest.lower()
    if kind not in ArtifactKind.values:
        raise ValueError("Kind must be image, commit or package.")
    match = _SHA256.match(digest)
    if not match:
        raise ValueError("The digest must be sha256: followed by 64 hex characters.")
    return "sha256:" + match.group(1).lower()


def artifact_set(artifacts: Iterable) -> list[dict[str, str]]:
    """The artifact set as plain data, sorted by name: what a signature covers."""
    rows = [
        {"name": a["name"], "kind": a["kind"], "digest": a["digest"]}
        if isinstance(a, dict)
        else {"name": a.name, "kind": a.kind, "digest": a.digest}
        for a in artifacts
    ]
    return sorted(rows, key=lambda row: row["name"])


def artifact_set_sha256(artifacts: Iterable) -> str:
    """SHA-256 of the canonical JSON of the set; the empty set has a hash too."""
    canonical = json.dumps(
        artifact_set(artifacts), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def artifact_set_diff(before: Iterable, after: Iterable) -> list[tuple[str, str, str]]:
    """(name, digest before, digest after) for every artifact that was added, removed or changed."""
    old = {a["name"]: a["digest"] for a in artifact_set(before)}
    new = {a["name"]: a["digest"] for a in artifact_set(after)}
    return [
        (name, old.get(name, ""), new.get(name, ""))
        for name in sorted(old.keys() | new.keys())
        if old.get(name) != new.get(name)
    ]
