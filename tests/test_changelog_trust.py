"""A change log that even the database owner cannot rewrite unnoticed.

The runtime role cannot change the log; every entry carries a MAC under a key
kept outside the database; checkpoints cover the head including their own
entry and are signed with Ed25519; `verify_changelog --anchors/--stream`
compares the database with what was written outside it. The tamper table at
the bottom is the one in the issue: each of the eleven tampers, done as the
owner with the append-only triggers dropped, and which check names which
first bad sequence number.
"""

import io
import json
import os
import zipfile
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import psycopg2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from audit.chain import HASHED_FIELDS, entry_document, entry_hash
from audit.export import export_documents, export_json
from audit.models import Action, ChangeLogEntry
from audit.roles import changelog_role_check, changelog_role_problems
from audit.services import changelog_checkpoint_is_due, changelog_checkpoint_write
from audit.signing import load_public_key, public_key_pem, signature_valid
from audit.tasks import changelog_checkpoint_due_task
from audit.verify import changelog_checkpoints_compare, changelog_stream_compare, changelog_verify
from evidence.pack import evidence_pack_build
from tests.helpers import verify_changelog

pytestmark = pytest.mark.django_db

KEY_1 = "11" * 32
KEY_2 = "22" * 32


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def trust(settings, tmp_path, signing_key):
    """MAC key k1, a checkpoint signing key and a checkpoint file kept elsewhere."""
    settings.CHANGELOG_MAC_KEYS = {"k1": KEY_1}
    settings.CHANGELOG_MAC_KEY_ID = "k1"
    settings.CHANGELOG_MAC_SINCE_SEQ = 1
    settings.CHANGELOG_SIGNING_KEY = signing_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    settings.CHANGELOG_SIGNING_KEY_FILE = ""
    settings.CHANGELOG_CHECKPOINT_PATH = str(tmp_path / "anchors" / "checkpoints.jsonl")
    settings.CHANGELOG_CHECKPOINT_EMAILS = []
    return settings


def stream_copy(path) -> None:
    """What the audit stream delivered: every entry as one exported JSON line, in order."""
    with path.open("w", encoding="utf-8") as handle:
        for batch in export_documents(ChangeLogEntry.objects.all()):
            for document in batch:
                handle.write(json.dumps(document, sort_keys=True) + "\n")


def runtime_connection():
    """A direct connection to the test database as the runtime role."""

    role = settings.CHANGELOG_RUNTIME_ROLE
    assert role, "make test sets DATABASE_RUNTIME_ROLE"
    config = connection.settings_dict
    raw = psycopg2.connect(
        host=config["HOST"], port=config["PORT"], dbname=config["NAME"], user=role
    )
    raw.autocommit = False
    return raw


# --- the runtime role -------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_changelogentry SET reason = 'edited'",
        "DELETE FROM audit_changelogentry",
        "TRUNCATE audit_changelogentry",
        "ALTER TABLE audit_changelogentry DISABLE TRIGGER USER",
        "ALTER TABLE audit_changelogentry DISABLE TRIGGER audit_changelogentry_no_update_delete",
        "DROP TRIGGER audit_changelogentry_no_update_delete ON audit_changelogentry",
        "DROP TRIGGER audit_changelogentry_no_truncate ON audit_changelogentry",
    ],
)
def test_the_runtime_role_cannot_change_the_log_or_its_triggers(statement):
    raw = runtime_connection()
    try:
        with raw.cursor() as cursor:
            cursor.execute("SET lock_timeout = '5s'")
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute(statement)
    finally:
        raw.rollback()
        raw.close()


def test_the_runtime_role_may_read_and_append(filler_entries):
    filler_entries(1)
    raw = runtime_connection()
    try:
        with raw.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM audit_changelogentry")
            cursor.execute(
                "INSERT INTO audit_changelogentry (seq, created_at, actor_name, action, object_type, "
                "object_id, object_repr, reason, request_id, prev_hash, hash, mac, mac_key_id) "
                "VALUES (900000, now(), 'x', 'comment.added', '', '', '', '', '', '', %s, '', '')",
                ["a" * 64],
            )
            # ...and every other table as usual (the runtime role runs the whole app).
            cursor.execute("SELECT count(*) FROM auth_user")
    finally:
        raw.rollback()
        raw.close()


def test_the_system_check_warns_when_the_runtime_role_can_rewrite_the_log(trust):
    owner = connection.settings_dict["USER"]
    problems = changelog_role_problems(role=owner)
    assert f"runtime role {owner!r} is a superuser" in problems
    assert any("owns audit_changelogentry" in problem for problem in problems)
    assert all(
        any(f"may {privilege}" in problem for problem in problems)
        for privilege in ("UPDATE", "DELETE", "TRUNCATE")
    )
    assert changelog_role_problems() == []  # the configured runtime role: fine
    assert changelog_role_check(databases=["default"]) == []

    trust.CHANGELOG_RUNTIME_ROLE = owner
    warnings = changelog_role_check(databases=["default"])
    assert warnings and {warning.id for warning in warnings} == {"audit.W001"}


def test_the_system_check_warns_without_a_mac_key(settings):
    settings.CHANGELOG_MAC_KEYS = {}
    settings.CHANGELOG_MAC_KEY_ID = ""
    assert [warning.id for warning in changelog_role_check(databases=["default"])] == ["audit.W002"]


# --- the keyed chain ----------------------------------------------------------


def test_every_entry_carries_a_mac_under_the_current_key(trust, filler_entries):
    entries = filler_entries(3)
    assert {(entry.mac_key_id, len(entry.mac)) for entry in entries} == {("k1", 64)}
    assert "OK: 3 entries" in verify_changelog() and "MACs verified" in verify_changelog()


def test_keys_rotate_and_old_entries_still_verify(trust, filler_entries):
    filler_entries(2)
    trust.CHANGELOG_MAC_KEYS = {"k1": KEY_1, "k2": KEY_2}
    trust.CHANGELOG_MAC_KEY_ID = "k2"
    filler_entries(2)
    stored = list(ChangeLogEntry.objects.order_by("seq").values_list("mac_key_id", flat=True))
    assert stored == ["k1", "k1", "k2", "k2"]
    assert changelog_verify().ok

    trust.CHANGELOG_MAC_KEYS = {"k2": KEY_2}  # k1 retired without being kept for verifying
    result = changelog_verify()
    assert result.broken_seq == 1 and "no MAC under a known key" in result.problem


def test_entries_written_before_the_key_are_exempt_only_below_the_since_seq(
    trust, settings, filler_entries
):
    settings.CHANGELOG_MAC_KEY_ID = ""
    settings.CHANGELOG_MAC_KEYS = {}
    filler_entries(2)  # before MACs were switched on
    settings.CHANGELOG_MAC_KEYS = {"k1": KEY_1}
    settings.CHANGELOG_MAC_KEY_ID = "k1"
    filler_entries(1)
    assert changelog_verify().broken_seq == 1
    settings.CHANGELOG_MAC_SINCE_SEQ = 3
    assert changelog_verify().ok


# --- signed checkpoints that cover the head -------------------------------------


def test_checkpoints_are_signed_and_the_public_key_is_printed(trust, signing_key, filler_entries):
    filler_entries(2)
    checkpoint = changelog_checkpoint_write()
    out = io.StringIO()
    call_command("changelog_public_key", stdout=out)
    public_key = load_public_key(out.getvalue())
    [line] = [
        json.loads(text) for text in Path(trust.CHANGELOG_CHECKPOINT_PATH).read_text().splitlines()
    ]
    assert line["seq"] == checkpoint.seq == 3 and signature_valid(line, public_key)
    assert not signature_valid({**line, "hash": "0" * 64}, public_key)
    assert not signature_valid(line, Ed25519PrivateKey.generate().public_key())
    assert "OK: 1 checkpoint(s) match the chain (signed" in verify_changelog("--anchors")


def test_the_evidence_pack_ships_the_public_key(trust, signing_key, team, release):
    with zipfile.ZipFile(
        evidence_pack_build(release=release, generated_by=team["auditor"])
    ) as pack:
        [name] = [name for name in pack.namelist() if name.endswith("/changelog-public-key.pem")]
        shipped = pack.read(name).decode("ascii")
    assert shipped == public_key_pem(signing_key)


def test_a_forged_checkpoint_line_is_refused(trust, filler_entries):
    filler_entries(2)
    changelog_checkpoint_write()
    path = trust.CHANGELOG_CHECKPOINT_PATH
    with Path(path).open("a") as handle:  # someone appends a checkpoint of a rewritten chain
        handle.write(json.dumps({"seq": 2, "hash": "a" * 64, "time": "x", "signature": None}))
    with pytest.raises(CommandError, match="BROKEN at seq 2: checkpoint line 2: signature invalid"):
        verify_changelog("--anchors", path)


def test_a_checkpoint_is_due_every_n_entries_or_m_minutes(trust, filler_entries):
    trust.CHANGELOG_CHECKPOINT_EVERY_ENTRIES = 5
    trust.CHANGELOG_CHECKPOINT_EVERY_MINUTES = 5
    assert not changelog_checkpoint_is_due()  # nothing to cover
    filler_entries(4)
    assert not changelog_checkpoint_is_due()
    assert changelog_checkpoint_is_due(now=timezone.now() + timedelta(minutes=6))
    filler_entries(1)
    assert changelog_checkpoint_is_due()
    assert changelog_checkpoint_due_task() == 6  # the checkpoint's own entry is covered
    assert not changelog_checkpoint_is_due(now=timezone.now() + timedelta(minutes=60))
    filler_entries(1)
    assert not changelog_checkpoint_is_due()
    assert changelog_checkpoint_is_due(now=timezone.now() + timedelta(minutes=6))
    assert changelog_checkpoint_due_task() is None  # not due now
    assert ChangeLogEntry.objects.filter(action=Action.CHECKPOINT_WRITTEN).count() == 1


# --- the streamed copy ------------------------------------------------------------


def test_the_stream_matches_and_a_repeat_delivery_is_harmless(trust, tmp_path, filler_entries):
    filler_entries(4)
    path = tmp_path / "stream.jsonl"
    stream_copy(path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:3], lines[2], *lines[3:]]) + "\n")
    assert "OK: 4 entries match the stream" in verify_changelog("--stream", str(path))


def test_syslog_and_splunk_hec_lines_serve_as_the_stream(trust, tmp_path, filler_entries):
    filler_entries(2)
    plain = tmp_path / "stream.jsonl"
    stream_copy(plain)
    first, second = plain.read_text().splitlines()
    mixed = tmp_path / "received.log"
    mixed.write_text(
        f"2026-11-30T14:00:00Z relapp relapp - - - {first}\n"
        f'{{"event": {second}, "sourcetype": "relapp:changelog"}}\n'
    )
    assert changelog_stream_compare(path=mixed).count == 2


def test_a_json_export_serves_as_the_stream(trust, tmp_path, filler_entries):
    filler_entries(3)
    path = tmp_path / "export.json"
    path.write_text("".join(export_json(ChangeLogEntry.objects.all(), filters={})))
    assert changelog_stream_compare(path=path).count == 3
    filler_entries(1)
    result = changelog_stream_compare(path=path)
    assert (result.seq, "not in the stream" in result.problem) == (4, True)


# --- the eleven tampers -----------------------------------------------------------


TRIGGERS = ("audit_changelogentry_no_update_delete", "audit_changelogentry_no_truncate")


def owner_role() -> str:
    role = os.environ.get("RELAPP_TEST_OWNER_ROLE", "")
    assert role, "make test creates the owner role and sets RELAPP_TEST_OWNER_ROLE"
    return role


@contextmanager
def as_the_owner_without_triggers():
    """Inside the test's transaction: the change log owned by the owner role, which is no
    superuser, and everything in the block done as that role after it dropped the triggers.

    Production migrates as the owner, so the owner owns the table; the test database was
    created by the superuser, so ownership is handed over first (rolled back with the test).
    SET ROLE makes every privilege check the owner's own, on this connection, so the
    tampers see the entries the test wrote and have not committed.
    """
    role = connection.ops.quote_name(owner_role())
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE audit_changelogentry OWNER TO {role}")
        cursor.execute(f"SET LOCAL ROLE {role}")
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False,)
        for trigger in TRIGGERS:
            cursor.execute(f"DROP TRIGGER {trigger} ON audit_changelogentry")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def owner_tampers(sql: str, params: tuple | list | None = None) -> None:
    """Run SQL inside `as_the_owner_without_triggers` (the tamper table's tests)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone() == (owner_role(),), "tamper as the owner role"
        cursor.execute(sql, params)


def rehash_from(seq: int) -> None:
    """Recompute prev_hash and hash from `seq` to the head, as anyone with the source can."""
    prev = ChangeLogEntry.objects.get(seq=seq - 1).hash
    rows = ChangeLogEntry.objects.filter(seq__gte=seq).order_by("seq").values(*HASHED_FIELDS)
    for row in list(rows):
        row["prev_hash"] = prev
        new = entry_hash(prev, entry_document(row))
        owner_tampers(
            "UPDATE audit_changelogentry SET prev_hash = %s, hash = %s WHERE seq = %s",
            (prev, new, row["seq"]),
        )
        prev = new


def append(*, bad_hash: bool) -> None:
    head = ChangeLogEntry.objects.get(seq=25)
    values = ChangeLogEntry.objects.filter(seq=25).values(*HASHED_FIELDS).get()
    values.update(seq=26, reason="forged", prev_hash=head.hash)
    values["hash"] = "f" * 64 if bad_hash else entry_hash(head.hash, entry_document(values))
    # The attacker has no MAC key: the best they can do is copy one.
    ChangeLogEntry.objects.create(**values, mac=head.mac, mac_key_id=head.mac_key_id)


def swap(first: int, second: int) -> None:
    owner_tampers("UPDATE audit_changelogentry SET seq = -1 WHERE seq = %s", (first,))
    owner_tampers("UPDATE audit_changelogentry SET seq = %s WHERE seq = %s", (first, second))
    owner_tampers("UPDATE audit_changelogentry SET seq = %s WHERE seq = -1", (second,))


def edit_then_rehash() -> None:
    owner_tampers("UPDATE audit_changelogentry SET reason = 'edited' WHERE seq = 5")
    rehash_from(5)


def delete_renumber_rehash() -> None:
    owner_tampers("DELETE FROM audit_changelogentry WHERE seq = 5")
    for seq in range(6, 26):
        owner_tampers("UPDATE audit_changelogentry SET seq = %s WHERE seq = %s", (seq - 1, seq))
    rehash_from(5)


def sql(statement: str):
    return lambda: owner_tampers(statement)


# The log: entries 1-10, checkpoint 11, entries 12-21, checkpoint 22, entries 23-25
# (written after the last checkpoint); the stream holds all 25.
# tamper: (chain alone, chain + MAC, --anchors, --stream) -> first bad seq, None = unseen.
TAMPERS = {
    "edit a field": (
        sql("UPDATE audit_changelogentry SET reason = 'edited' WHERE seq = 5"),
        5,
        5,
        None,
        5,
    ),
    "edit the actor": (
        sql("UPDATE audit_changelogentry SET actor_name = 'Mallory (mallory)' WHERE seq = 5"),
        *(5, 5, None, 5),
    ),
    "delete a middle entry": (sql("DELETE FROM audit_changelogentry WHERE seq = 5"), 5, 5, None, 5),
    "delete the last entry": (
        sql("DELETE FROM audit_changelogentry WHERE seq = 25"),
        None,
        None,
        None,
        25,
    ),
    "delete the last ten": (
        sql("DELETE FROM audit_changelogentry WHERE seq >= 16"),
        None,
        None,
        22,
        16,
    ),
    "swap two entries": (lambda: swap(4, 7), 4, 4, None, 4),
    "insert an entry with a bad hash": (lambda: append(bad_hash=True), 26, 26, None, 26),
    "append a forged entry with a correct hash": (
        lambda: append(bad_hash=False),
        *(None, 26, None, 26),
    ),
    "edit then re-hash the chain": (edit_then_rehash, None, 5, 11, 5),
    "delete, renumber and re-hash": (delete_renumber_rehash, None, 5, 11, 5),
    "edit a stored hash": (
        sql(
            "UPDATE audit_changelogentry SET hash = 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee' WHERE seq = 5"
        ),
        5,
        5,
        None,
        5,
    ),
}


@pytest.fixture
def witnessed_log(trust, tmp_path, filler_entries):
    """25 entries with two checkpoints and a streamed copy, all kept outside the database."""
    filler_entries(10)
    changelog_checkpoint_write()
    filler_entries(10)
    changelog_checkpoint_write()
    filler_entries(3)
    stream = tmp_path / "stream.jsonl"
    stream_copy(stream)
    anchors = trust.CHANGELOG_CHECKPOINT_PATH
    assert [json.loads(line)["seq"] for line in Path(anchors).read_text().splitlines()] == [11, 22]
    out = verify_changelog("--anchors", anchors, "--stream", str(stream))
    assert "OK: 25 entries" in out and "MACs verified" in out
    return {"anchors": anchors, "stream": str(stream)}


def detections(witnessed_log) -> tuple:
    """The first bad seq each check names (None when it sees nothing)."""
    chain = changelog_verify(mac=False).broken_seq
    keyed = changelog_verify().broken_seq
    _, problems = changelog_checkpoints_compare(
        path=witnessed_log["anchors"],
        public_key=load_public_key(_public_key_text()),  # what auditors were given
    )
    stream = changelog_stream_compare(path=witnessed_log["stream"]).seq
    return chain, keyed, problems[0].seq if problems else None, stream


def _public_key_text() -> str:
    out = io.StringIO()
    call_command("changelog_public_key", stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("name", list(TAMPERS))
def test_each_tamper_is_caught_and_the_first_bad_seq_named(name, witnessed_log):
    tamper, *expected = TAMPERS[name]
    with as_the_owner_without_triggers():
        tamper()
    assert detections(witnessed_log) == tuple(expected)
    first = min(seq for seq in expected if seq is not None)
    with pytest.raises(CommandError) as caught:
        verify_changelog("--anchors", witnessed_log["anchors"], "--stream", witnessed_log["stream"])
    assert f"BROKEN at seq {first}:" in str(caught.value)


def test_the_owner_role_is_no_superuser_yet_may_drop_the_triggers_of_its_table():
    role = owner_role()
    config = connection.settings_dict
    raw = psycopg2.connect(
        host=config["HOST"], port=config["PORT"], dbname=config["NAME"], user=role
    )
    try:
        with raw.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            assert cursor.fetchone() == (False,)
            # Not a superuser: the replication-role switch the `attacker` helper uses is refused.
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute("SET session_replication_role = replica")
    finally:
        raw.rollback()
        raw.close()
    # As the owner (what `as_the_owner_without_triggers` does for every tamper):
    with as_the_owner_without_triggers(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_changelogentry'::regclass "
            "AND NOT tgisinternal"
        )
        # No guard is left; only the metrics cache's data-version bump, which guards nothing.
        assert [name for (name,) in cursor.fetchall()] == ["metrics_data_changed"]
