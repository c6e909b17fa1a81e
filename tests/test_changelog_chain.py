"""The change log is append-only in PostgreSQL and tampering is found, exactly."""

import pytest
from django.core.management import CommandError
from django.db import DatabaseError, connection, transaction

from audit import verify as audit_verify
from audit.chain import GENESIS_HASH, HASHED_FIELDS, entry_document, entry_hash
from audit.changelog import changelog_record
from audit.models import Action, ChangeLogEntry
from audit.verify import changelog_verify
from relapp.middleware import current_client_ip
from tests.helpers import attacker, verify_changelog

pytestmark = pytest.mark.django_db


def broken_seq_reported(*args: str) -> str:
    with pytest.raises(CommandError) as raised:
        verify_changelog(*args)
    return str(raised.value)


# --- the writer -----------------------------------------------------------


def test_entries_form_a_chain_from_the_genesis_hash(filler_entries):
    entries = filler_entries(3)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS_HASH
    assert entries[1].prev_hash == entries[0].hash
    assert entries[2].prev_hash == entries[1].hash
    result = changelog_verify()
    assert result.ok, result.problem
    assert (result.count, result.head_hash) == (3, entries[2].hash)


def test_verify_prints_the_count_and_the_head_hash(filler_entries):
    entries = filler_entries(5)
    output = verify_changelog()
    assert f"OK: 5 entries, seq 1..5, head hash {entries[-1].hash}" in output


def test_an_empty_log_verifies():
    assert "OK: 0 entries" in verify_changelog()


def test_numbers_are_hashed_as_postgresql_stores_them(filler_entries):
    # jsonb gives 1e16 back as 10000000000000000 and -0.0 as 0.0.
    changelog_record(
        action=Action.GATE_CHECK_REPORTED,
        after={"big": 1e16, "huge": 1.5e300, "neg_zero": -0.0, "tiny": 1e-7, "plain": 2.5},
        before=[1.0, 12345678901234567890],
    )
    filler_entries(1)
    assert changelog_verify().ok, changelog_verify().problem


@pytest.mark.parametrize(
    "remote_addr", ["2001:DB8:0:0:0:0:0:1", "::ffff:10.0.0.1", "::10.0.0.1", "fe80::1%eth0"]
)
def test_client_addresses_are_hashed_as_postgresql_stores_them(remote_addr, filler_entries):
    token = current_client_ip.set(remote_addr)
    try:
        entry = changelog_record(action=Action.COMMENT_ADDED)
    finally:
        current_client_ip.reset(token)
    filler_entries(1)
    stored = ChangeLogEntry.objects.get(seq=entry.seq).client_ip
    assert stored == entry.client_ip
    assert changelog_verify().ok, changelog_verify().problem


def test_a_malformed_client_address_is_not_stored_and_does_not_stop_the_write():
    token = current_client_ip.set("unknown")
    try:
        entry = changelog_record(action=Action.COMMENT_ADDED)
    finally:
        current_client_ip.reset(token)
    assert ChangeLogEntry.objects.get(seq=entry.seq).client_ip is None
    assert changelog_verify().ok


# --- append-only in the database -------------------------------------------


def refused(sql: str) -> str:
    with pytest.raises(DatabaseError) as raised, transaction.atomic():  # noqa: SIM117
        with connection.cursor() as cursor:
            cursor.execute(sql)
    return str(raised.value)


def test_raw_sql_update_is_refused(filler_entries):
    filler_entries(2)
    assert "append-only (UPDATE refused)" in refused(
        "UPDATE audit_changelogentry SET reason = 'edited' WHERE seq = 1"
    )
    assert ChangeLogEntry.objects.get(seq=1).reason == "filler 0"


def test_raw_sql_delete_is_refused(filler_entries):
    filler_entries(2)
    assert "append-only (DELETE refused)" in refused(
        "DELETE FROM audit_changelogentry WHERE seq = 2"
    )
    assert ChangeLogEntry.objects.count() == 2


def test_truncate_is_refused_without_the_test_only_escape(filler_entries):
    filler_entries(2)
    with connection.cursor() as cursor:
        # Test connections carry the escape so pytest-django can empty the
        # database between transactional tests; switch it off as Relapp has it.
        cursor.execute("SHOW relapp.allow_changelog_truncate")
        assert cursor.fetchone() == ("on",)
        cursor.execute("SET LOCAL relapp.allow_changelog_truncate = 'off'")
    assert "append-only (TRUNCATE refused)" in refused("TRUNCATE audit_changelogentry")
    assert ChangeLogEntry.objects.count() == 2


def test_bulk_orm_update_and_delete_are_refused(filler_entries):
    filler_entries(2)
    with pytest.raises(DatabaseError), transaction.atomic():
        ChangeLogEntry.objects.filter(seq=1).update(reason="edited")
    with pytest.raises(DatabaseError), transaction.atomic():
        ChangeLogEntry.objects.filter(seq=1).delete()
    assert ChangeLogEntry.objects.count() == 2


# --- tampering (an attacker with the triggers switched off) ---------------


@pytest.mark.parametrize(
    "assignment",
    [
        "reason = 'nothing to see here'",
        "actor_name = 'someone else'",
        "created_at = created_at + interval '1 second'",
        'after = \'{"status": "approved"}\'::jsonb',
        "client_ip = '10.6.6.6'",
        "action = 'release.approved'",
    ],
)
def test_changing_one_field_of_one_entry_is_found_at_that_entry(filler_entries, assignment):
    filler_entries(10)
    attacker(f"UPDATE audit_changelogentry SET {assignment} WHERE seq = 6")  # noqa: S608
    result = changelog_verify()
    assert result.broken_seq == 6
    assert "altered" in result.problem
    assert "BROKEN at seq 6" in broken_seq_reported()


def test_re_hashing_an_altered_entry_breaks_the_link_from_the_next(filler_entries):
    filler_entries(10)
    attacker("UPDATE audit_changelogentry SET reason = 'edited' WHERE seq = 6")
    entry = ChangeLogEntry.objects.get(seq=6)
    values = {field: getattr(entry, field) for field in HASHED_FIELDS}
    rehashed = entry_hash(entry.prev_hash, entry_document(values))
    attacker("UPDATE audit_changelogentry SET hash = %s WHERE seq = 6", (rehashed,))
    assert changelog_verify().broken_seq == 7
    assert "BROKEN at seq 7" in broken_seq_reported()


@pytest.mark.parametrize("deleted", [1, 6, 9])
def test_deleting_one_entry_is_found_at_its_sequence_number(filler_entries, deleted):
    filler_entries(10)
    attacker("DELETE FROM audit_changelogentry WHERE seq = %s", (deleted,))
    result = changelog_verify()
    assert result.broken_seq == deleted
    assert "missing" in result.problem
    assert f"BROKEN at seq {deleted}" in broken_seq_reported()


def test_swapping_two_entries_is_found_at_the_earlier_one(filler_entries):
    filler_entries(10)
    attacker("UPDATE audit_changelogentry SET seq = -4 WHERE seq = 4")
    attacker("UPDATE audit_changelogentry SET seq = 4 WHERE seq = 7")
    attacker("UPDATE audit_changelogentry SET seq = 7 WHERE seq = -4")
    assert list(ChangeLogEntry.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, 11)
    )
    assert changelog_verify().broken_seq == 4
    assert "BROKEN at seq 4" in broken_seq_reported()


def test_swapping_the_contents_of_two_entries_is_found_at_the_earlier_one(filler_entries):
    filler_entries(10)
    attacker(
        "UPDATE audit_changelogentry AS e SET reason = o.reason FROM audit_changelogentry AS o "
        "WHERE (e.seq, o.seq) IN ((3, 8), (8, 3))"
    )
    assert changelog_verify().broken_seq == 3


def test_a_range_is_verified_and_anchored_on_the_entry_before_it(filler_entries):
    entries = filler_entries(10)
    output = verify_changelog("--from", "4", "--to", "7")
    assert f"OK: 4 entries, seq 4..7, head hash {entries[6].hash}" in output
    attacker("UPDATE audit_changelogentry SET reason = 'edited' WHERE seq = 9")
    assert "OK: 4 entries" in verify_changelog("--from", "4", "--to", "7")
    assert "BROKEN at seq 9" in broken_seq_reported("--from", "8")
    attacker("DELETE FROM audit_changelogentry WHERE seq = 3")
    assert "BROKEN at seq 3" in broken_seq_reported("--from", "4")


# --- verifying in several processes -----------------------------------------------


PARALLEL_TAMPERS = {
    # 40 entries in two slices: 1..20 and 21..40.
    "nothing": (None, None),
    "edit in the second slice": ("UPDATE audit_changelogentry SET reason = 'x' WHERE seq = 30", 30),
    "edit in the first slice": ("UPDATE audit_changelogentry SET reason = 'x' WHERE seq = 7", 7),
    "delete the last of the first slice": ("DELETE FROM audit_changelogentry WHERE seq = 20", 20),
    "delete the first of the second slice": ("DELETE FROM audit_changelogentry WHERE seq = 21", 21),
    "edit the hash the second slice starts from": (
        "UPDATE audit_changelogentry SET hash = repeat('e', 64) WHERE seq = 20",
        20,
    ),
    "forge a MAC in the second slice": (
        "UPDATE audit_changelogentry SET mac = repeat('0', 64) WHERE seq = 33",
        33,
    ),
    "delete the head": ("DELETE FROM audit_changelogentry WHERE seq = 40", None),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(PARALLEL_TAMPERS))
def test_worker_processes_report_exactly_what_one_pass_reports(name, settings, monkeypatch):
    settings.CHANGELOG_MAC_KEYS = {"k1": "11" * 32}
    settings.CHANGELOG_MAC_KEY_ID = "k1"
    settings.CHANGELOG_MAC_SINCE_SEQ = 1
    for index in range(40):
        changelog_record(action=Action.COMMENT_ADDED, reason=f"entry {index}", after={"n": index})
    statement, broken = PARALLEL_TAMPERS[name]
    if statement:
        with transaction.atomic():
            attacker(statement)  # committed: the worker processes have their own connections
    monkeypatch.setattr("audit.verify.PARALLEL_MIN_ENTRIES", 10)
    walks = []
    parallel = audit_verify._verify_parallel
    monkeypatch.setattr(
        audit_verify, "_verify_parallel", lambda **kw: walks.append(parallel(**kw)) or walks[-1]
    )

    in_workers = changelog_verify(workers=2)
    one_pass = changelog_verify(workers=1)

    assert in_workers == one_pass
    assert in_workers.broken_seq == broken
    # A clean log is answered by the workers; anything else by the one pass.
    assert (walks[0] is not None) == (broken is None)
    if walks[0] is not None:
        assert (walks[0].count, walks[0].head_hash) == (one_pass.count, one_pass.head_hash)
