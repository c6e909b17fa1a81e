"""`verify_changelog --since-checkpoint`: only what was written since the latest signed checkpoint.

The latest checkpoint's signature and its hash against the stored entry are
checked first; then the walk starts at that entry. An entry altered before
the checkpoint without re-hashing keeps the checkpoint's hash: the full walk
(the default) still catches it, which these tests show side by side.
"""

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError

from audit.chain import entry_document, entry_hash
from audit.models import ChangeLogEntry
from audit.services import changelog_checkpoint_write
from audit.signing import public_key_pem, sign_document
from audit.verify import changelog_verify_since_checkpoint
from tests.helpers import attacker, verify_changelog

pytestmark = pytest.mark.django_db


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def checkpoints(settings, tmp_path, signing_key) -> Path:
    """MAC key k1, a checkpoint signing key, and the checkpoint file kept elsewhere."""
    settings.CHANGELOG_MAC_KEYS = {"k1": "11" * 32}
    settings.CHANGELOG_MAC_KEY_ID = "k1"
    settings.CHANGELOG_MAC_SINCE_SEQ = 1
    settings.CHANGELOG_SIGNING_KEY = signing_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    settings.CHANGELOG_SIGNING_KEY_FILE = ""
    path = tmp_path / "kept-elsewhere" / "checkpoints.jsonl"
    settings.CHANGELOG_CHECKPOINT_PATH = str(path)
    settings.CHANGELOG_CHECKPOINT_EMAILS = []
    return path


@pytest.fixture
def logged(checkpoints, filler_entries) -> Path:
    """Entries 1-5, the checkpoint's own entry 6 (signed, in the file), then entries 7-9."""
    filler_entries(5)
    checkpoint = changelog_checkpoint_write()
    assert checkpoint.seq == 6
    filler_entries(3, reason="after the checkpoint")
    return checkpoints


def test_only_the_checkpoint_entry_and_what_follows_are_walked(logged):
    out = verify_changelog("--since-checkpoint")
    assert f"Checkpoint seq 6 (line 1 of {logged}, signed) matches the chain" in out
    assert "OK: 4 entries, seq 6..9" in out
    assert "MACs verified" in out
    assert "OK: 9 entries, seq 1..9" in verify_changelog()  # the full walk, the default


def test_the_latest_checkpoint_is_the_start(logged):
    changelog_checkpoint_write()  # entry 10, line 2
    assert "OK: 1 entries, seq 10..10" in verify_changelog("--since-checkpoint", str(logged))


def test_an_entry_altered_after_the_checkpoint_is_found(logged):
    attacker("UPDATE audit_changelogentry SET reason = 'edited' WHERE seq = 8")
    with pytest.raises(CommandError, match=r"BROKEN at seq 8: hash does not match"):
        verify_changelog("--since-checkpoint")


def test_an_entry_altered_before_the_checkpoint_is_left_to_the_full_walk(logged):
    attacker("UPDATE audit_changelogentry SET reason = 'edited' WHERE seq = 2")
    # The checkpoint's hash still matches: the incremental walk does not look back...
    assert "OK: 4 entries, seq 6..9" in verify_changelog("--since-checkpoint")
    # ...and the full walk names the altered entry.
    with pytest.raises(CommandError, match=r"BROKEN at seq 2: hash does not match"):
        verify_changelog()


def test_a_chain_re_hashed_up_to_the_checkpoint_is_found(logged):
    # Re-hash entries 2..9 after editing entry 2 (the owner, without the MAC key):
    # the stored hash of entry 6 is no longer the signed one.
    attacker("UPDATE audit_changelogentry SET reason = 'edited' WHERE seq = 2")
    prev = ChangeLogEntry.objects.get(seq=1).hash
    for entry in ChangeLogEntry.objects.filter(seq__gte=2).order_by("seq"):
        values = {field.attname: getattr(entry, field.attname) for field in entry._meta.fields}
        values["actor_id"], values["prev_hash"] = entry.actor_id, prev
        prev = entry_hash(prev, entry_document(values))
        attacker(
            "UPDATE audit_changelogentry SET prev_hash = %s, hash = %s WHERE seq = %s",
            (values["prev_hash"], prev, entry.seq),
        )
    with pytest.raises(
        CommandError, match=r"BROKEN at seq 6: checkpoint line 1: entry 6 has hash [0-9a-f]+, not"
    ):
        verify_changelog("--since-checkpoint")


def test_a_cut_off_tail_through_the_checkpoint_is_found(logged):
    attacker("DELETE FROM audit_changelogentry WHERE seq >= 5")
    assert "OK: 4 entries" in verify_changelog()  # the chain alone cannot tell
    with pytest.raises(
        CommandError, match=r"BROKEN at seq 6: checkpoint line 1: entry 6 is missing"
    ):
        verify_changelog("--since-checkpoint")


@pytest.mark.parametrize(
    "change",
    [
        {"hash": "a" * 64},  # points at another chain
        {"seq": 9},  # moved forward to skip entries 6-8
        {"signature": None},
    ],
)
def test_a_tampered_checkpoint_line_is_refused(logged, change):
    line = json.loads(logged.read_text())
    logged.write_text(json.dumps({**line, **change}) + "\n")
    with pytest.raises(CommandError, match=r"checkpoint line 1: signature invalid"):
        verify_changelog("--since-checkpoint")


def test_a_checkpoint_signed_by_another_key_is_refused(logged):
    # Someone appends a checkpoint at the head, signed with a key of their own.
    head = ChangeLogEntry.objects.order_by("-seq").first()
    document = {"seq": head.seq, "hash": head.hash, "time": "2026-01-01T00:00:00.000000Z"}
    forged = {**document, "signature": sign_document(document, Ed25519PrivateKey.generate())}
    with logged.open("a") as handle:
        handle.write(json.dumps(forged) + "\n")
    with pytest.raises(
        CommandError, match=r"BROKEN at seq 9: checkpoint line 2: signature invalid"
    ):
        verify_changelog("--since-checkpoint")


def test_the_checkpoint_entry_itself_is_re_checked(logged):
    # The hash column keeps the signed value, the contents changed: the re-hash fails.
    attacker("UPDATE audit_changelogentry SET reason = 'edited' WHERE seq = 6")
    with pytest.raises(CommandError, match=r"BROKEN at seq 6: hash does not match"):
        verify_changelog("--since-checkpoint")


def test_a_forged_entry_after_the_checkpoint_without_the_mac_key_is_found(logged):
    head = ChangeLogEntry.objects.order_by("-seq").first()
    values = {field.attname: getattr(head, field.attname) for field in head._meta.fields}
    values.update(seq=head.seq + 1, prev_hash=head.hash, reason="forged")
    values["hash"] = entry_hash(head.hash, entry_document(values))
    values["mac"] = "0" * 64
    attacker(
        "INSERT INTO audit_changelogentry (seq, created_at, actor_name, action, object_type, "
        "object_id, object_repr, reason, request_id, prev_hash, hash, mac, mac_key_id) "
        "VALUES (%s, %s, %s, %s, '', '', '', %s, %s, %s, %s, %s, 'k1')",
        (
            values["seq"], values["created_at"], values["actor_name"], values["action"],
            values["reason"], values["request_id"], values["prev_hash"], values["hash"],
            values["mac"],
        ),
    )  # fmt: skip
    with pytest.raises(CommandError, match=r"BROKEN at seq 10: "):
        verify_changelog("--since-checkpoint")


def test_unsigned_checkpoints_are_not_trusted(logged, settings):
    settings.CHANGELOG_SIGNING_KEY = ""
    with pytest.raises(CommandError, match="trusts only signed checkpoints"):
        verify_changelog("--since-checkpoint")


def test_the_public_key_may_be_given(logged, signing_key, settings, tmp_path):
    pem = tmp_path / "public.pem"
    pem.write_text(public_key_pem(signing_key))
    settings.CHANGELOG_SIGNING_KEY = ""
    assert "OK: 4 entries, seq 6..9" in verify_changelog(
        "--since-checkpoint", "--public-key", str(pem)
    )


def test_without_a_checkpoint_the_whole_chain_is_walked(checkpoints, filler_entries):
    filler_entries(3)
    checkpoints.parent.mkdir(parents=True)
    checkpoints.write_text("")
    out = verify_changelog("--since-checkpoint")
    assert "No checkpoint in" in out and "OK: 3 entries, seq 1..3" in out


def test_a_missing_file_or_a_combination_is_a_clear_error(checkpoints, filler_entries):
    filler_entries(1)
    with pytest.raises(CommandError, match="Cannot read checkpoints"):
        verify_changelog("--since-checkpoint")
    with pytest.raises(CommandError, match="cannot be combined"):
        verify_changelog("--since-checkpoint", "--from", "2")


def test_the_service_returns_where_it_started(logged, signing_key):
    start, result = changelog_verify_since_checkpoint(
        path=logged, public_key=signing_key.public_key()
    )
    assert (start.line, start.seq) == (1, 6)
    assert start.hash == ChangeLogEntry.objects.get(seq=6).hash
    assert result.ok and (result.first_seq, result.last_seq, result.count) == (6, 9, 4)
