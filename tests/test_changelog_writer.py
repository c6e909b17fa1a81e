"""The writer's short locked section keeps every guarantee of the one linear chain.

`changelog_record` prepares the entry and most of its canonical JSON before
taking the chain-head lock (docs/changelog-scaling.md). These tests hold
the prepared text to the reference hashing of audit.chain, and attack the
lock as concurrent writers would: eight at the same instant, some rolling
back, in threads and in separate processes (as gunicorn's workers are); a
writer waiting on one that rolls back; a hook failing after the entry.
"""

import contextlib
import multiprocessing
import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from approvals.models import Product
from audit import changelog
from audit.chain import GENESIS_HASH, canonical_json, entry_document, entry_hash
from audit.changelog import changelog_record
from audit.models import Action, ChangeLogEntry
from audit.verify import changelog_verify
from relapp.middleware import current_client_ip
from tests.writer_process import write_burst, write_entries

WRITERS = 8

TRICKY = [
    None,
    {"z": 1, "a": [1, 2.5, -0.0, 1e16, None, True], "ü": 'naïve "quoted" \\ \n\t\u2028 😀'},
    ["</script>", {"b": {"d": 1, "c": 2}}],
    "plain",
    12345678901234567890,
]


def chain_of_links() -> list[tuple[int, str, str]]:
    return list(ChangeLogEntry.objects.order_by("seq").values_list("seq", "prev_hash", "hash"))


def assert_one_linear_chain(count: int) -> None:
    """seq 1..count with no hole, each linked to the one before (no fork), and it verifies."""
    links = chain_of_links()
    assert [seq for seq, _, _ in links] == list(range(1, count + 1))
    previous = GENESIS_HASH
    for _, prev_hash, hash_hex in links:
        assert prev_hash == previous
        previous = hash_hex
    assert len({prev_hash for _, prev_hash, _ in links}) == count  # no two share a parent
    result = changelog_verify()
    assert result.ok, result.summary()
    assert result.count == count


# --- the prepared canonical text is the reference one --------------------------------


@pytest.mark.parametrize("before", TRICKY)
@pytest.mark.parametrize("client_ip", [None, "192.0.2.1", "2001:db8::1"])
def test_the_prepared_canonical_json_is_the_reference_one(before, client_ip):
    values = {
        "actor_id": 7,
        "actor_name": 'Zoë "po" O\'Neil',
        "action": "signoff.recorded",
        "product_id": None,
        "release_id": 3,
        "object_type": "approvals.SignOff",
        "object_id": "9",
        "object_repr": "Sign-off ✓",
        "before": before,
        "after": {"revision": 2},
        "reason": "line one\nline two",
        "request_id": "",
    }
    head = {
        "seq": 41,
        "prev_hash": "ab" * 32,
        "created_at": datetime(2026, 11, 30, 19, 50, 1, 5, tzinfo=UTC),
        "client_ip": client_ip,
    }
    prepared = changelog._canonical_fill(changelog._canonical_frame(values), head)
    assert prepared == canonical_json(entry_document({**values, **head}))


@pytest.mark.django_db
@pytest.mark.parametrize("after", TRICKY)
def test_stored_entries_hash_as_the_reference_says(after):
    token = current_client_ip.set("::102:304")  # stored by PostgreSQL as ::1.2.3.4
    try:
        entry = changelog_record(action=Action.COMMENT_ADDED, after=after, reason='"quoted"')
    finally:
        current_client_ip.reset(token)
    stored = ChangeLogEntry.objects.get(seq=entry.seq)
    values = {field: getattr(stored, field) for field in ("prev_hash", "hash", "client_ip")}
    document = {f.attname: getattr(stored, f.attname) for f in stored._meta.fields}
    assert values["client_ip"] == entry.client_ip == "::1.2.3.4"
    assert entry_hash(stored.prev_hash, entry_document(document)) == stored.hash == entry.hash
    assert changelog_verify().ok


@pytest.mark.django_db
def test_the_entry_is_seen_in_its_own_transaction_and_the_next_links_to_it():
    with transaction.atomic():
        first = changelog_record(action=Action.COMMENT_ADDED, reason="one")
        assert ChangeLogEntry.objects.get(seq=first.seq).hash == first.hash
        assert first.pk == first.seq and not first._state.adding
        second = changelog_record(action=Action.COMMENT_ADDED, reason="two")
    assert (second.seq, second.prev_hash) == (first.seq + 1, first.hash)
    with pytest.raises(ValueError, match="append-only"):
        second.save()  # the returned entry is a stored one: never saved again


# --- a failure after the entry never leaves the change without it --------------------


@pytest.fixture
def failing_hook(monkeypatch):
    def hook(entry):
        raise RuntimeError("hook failed")

    monkeypatch.setattr(changelog, "_post_write_hooks", [*changelog._post_write_hooks, hook])


@pytest.mark.django_db
def test_a_failing_hook_rolls_the_change_and_its_entry_back(failing_hook):
    with pytest.raises(RuntimeError), transaction.atomic():
        Product.objects.create(name="Doomed", slug="doomed")
        changelog_record(action=Action.PRODUCT_CREATED, reason="doomed")
    assert not Product.objects.filter(slug="doomed").exists()
    assert not ChangeLogEntry.objects.exists()


@pytest.mark.django_db
def test_catching_the_failure_cannot_commit_the_change_without_its_entry(failing_hook):
    with transaction.atomic():
        Product.objects.create(name="Sneaky", slug="sneaky")
        with contextlib.suppress(RuntimeError):
            changelog_record(action=Action.PRODUCT_CREATED, reason="sneaky")
        with pytest.raises(TransactionManagementError):
            Product.objects.create(name="Sneakier", slug="sneakier")
    assert not Product.objects.filter(slug__in=["sneaky", "sneakier"]).exists()
    assert not ChangeLogEntry.objects.exists()


# --- concurrent writers ------------------------------------------------------------------


def _write_burst(writer: int, start: threading.Barrier, each: int) -> None:
    """At the barrier, then tests.writer_process.write_entries (as the process writers do)."""
    start.wait()
    write_entries(writer, each)


@pytest.mark.django_db(transaction=True)
def test_eight_writers_at_the_same_instant_some_rolling_back_keep_one_chain():
    each = 30
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def run(writer: int) -> None:
        try:
            _write_burst(writer, start, each)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    kept = WRITERS * (each - each // 3)
    assert_one_linear_chain(kept)
    # Exactly the committed entries: none of the rolled-back ones left anything.
    assert set(ChangeLogEntry.objects.values_list("reason", flat=True)) == {
        f"w{writer} #{index}"
        for writer in range(WRITERS)
        for index in range(each)
        if index % 3 != 2
    }


@pytest.mark.django_db(transaction=True)
def test_eight_writer_processes_at_the_same_instant_keep_one_chain(tmp_path):
    """As gunicorn's workers write: separate processes, no GIL between them."""
    each = 24
    # spawn, not fork: a forked child would inherit whatever sockets this long-lived
    # test process holds, and two processes on one socket corrupt each other.
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WRITERS)
    failures = context.Value("i", 0)
    workers = [
        context.Process(
            target=write_burst,
            args=(n, start, each, failures, str(tmp_path), connection.settings_dict["NAME"]),
        )
        for n in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=180)
    assert failures.value == 0, "\n".join(p.read_text() for p in sorted(tmp_path.glob("*.txt")))
    assert [worker.exitcode for worker in workers] == [0] * WRITERS
    assert_one_linear_chain(WRITERS * (each - each // 3))


@pytest.mark.django_db(transaction=True)
def test_a_writer_waiting_on_one_that_rolls_back_takes_its_place():
    changelog_record(action=Action.COMMENT_ADDED, reason="before")
    holding, waiting_done = threading.Event(), threading.Event()
    release = threading.Event()
    written: dict[str, ChangeLogEntry] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                written["rolled back"] = changelog_record(
                    action=Action.COMMENT_ADDED, reason="rolled back"
                )
                holding.set()
                release.wait(10)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        finally:
            connection.close()

    def second() -> None:
        holding.wait(10)
        try:
            written["kept"] = changelog_record(action=Action.COMMENT_ADDED, reason="kept")
        finally:
            waiting_done.set()
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    holding.wait(10)
    time.sleep(0.5)
    assert not waiting_done.is_set()  # the second writer waits for the lock...
    release.set()
    for thread in threads:
        thread.join(20)
    # ...and, once the first rolled back, takes the same seq on the same parent.
    assert written["kept"].seq == written["rolled back"].seq == 2
    assert written["kept"].prev_hash == written["rolled back"].prev_hash
    assert_one_linear_chain(2)


# --- what runs under the lock ------------------------------------------------------------


@pytest.mark.django_db
def test_under_the_lock_only_the_head_the_insert_and_the_hooks_statements_run():
    """Pinned: one round trip takes the lock and reads the head, one INSERT writes the entry,
    then the hooks' own statements (for a comment: only the stream outbox's INSERT … SELECT).
    No savepoint, no ORM read of the head, nothing before the lock that could run after it."""
    changelog_record(action=Action.COMMENT_ADDED, reason="warm-up")
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        changelog_record(action=Action.COMMENT_ADDED, reason="measured")
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) == 3, statements
    assert statements[0].startswith("SELECT * FROM audit_changelog_head(")
    assert statements[1].startswith("INSERT INTO audit_changelogentry ")
    assert statements[2].startswith("INSERT INTO auditstream_streamoutbox ")
    assert changelog_verify().ok
