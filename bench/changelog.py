"""Benchmark the change log at scale (a script, not a test).

Fills N entries (default 1,000,000) into PostgreSQL as one valid hash chain,
then reports:

- time per page and query count for `/changelog/` (first page, filtered
  pages, a page deep in history, an entry page), through Django's test
  client as an auditor;
- export throughput (rows/s) for the streamed CSV and JSON exports, with
  peak traced Python memory (tracemalloc) and the process's peak RSS;
- `verify_changelog` throughput (entries/s) on the database, with every
  entry's MAC checked, and of `--file` on the JSON export;
- change-log writes per second from 8 concurrent writers (threads, one
  connection each): MAC off and post-write hooks removed, MAC on, MAC on
  with the hooks as installed (webhook and streaming outboxes, reminders),
  and then with a real stream destination (an HTTP receiver on loopback, so
  every entry writes its outbox row), delivered afterwards or meanwhile by
  a dispatcher process doing what the beat task does; with the ratios
  (`--trust-only` runs just the verification and this).
- `verify_changelog --since-checkpoint` after a signed checkpoint and 2,000
  more entries; writes per second from 1 and from N writers, as threads and
  as forked processes (no GIL between them, as gunicorn's workers);
- with `--compare`, only main's writer before issue 16 (kept here as
  `legacy_changelog_record`) against the current one, interleaved in short
  slices so that a shared machine's load falls on both alike.

Run it against a throwaway cluster, never a real database:

    scripts/bench.sh                     # 1,000,000 entries
    scripts/bench.sh --entries 200000    # fewer

`scripts/bench.sh` starts PostgreSQL 15 on a free loopback port in a
temporary directory (as `scripts/test.sh` does), creates `relapp_bench`,
runs this script with `relapp.settings_test` and removes the cluster
afterwards. To run against a cluster you started yourself:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relapp_bench \\
        .venv/bin/python bench/changelog.py --entries 100000

The fill computes the chain in Python with audit.chain (the same code as
the writer) and loads it with COPY in batches, which is far faster than one
`changelog_record` per entry; the verification step proves the result is a
valid chain. The data: 60 users, 20 products with 10 releases each, entries
spread evenly over three years, a realistic mix of actions.
"""

import argparse
import csv
import io
import multiprocessing
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relapp.settings_test")

import django  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group, Permission  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import close_old_connections, connection, connections, transaction  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from approvals.models import Product, Release  # noqa: E402
from audit.chain import (  # noqa: E402
    GENESIS_HASH,
    canonical_json,
    entry_document,
    entry_hash,
    entry_mac,
    verify_export_file,
)
from audit.changelog import (  # noqa: E402
    CHAIN_LOCK_KEY,
    _post_write_hooks,
    changelog_mac_keys,
    changelog_record,
)
from audit.models import Action, ChangeLogEntry  # noqa: E402
from audit.services import changelog_checkpoint_write  # noqa: E402
from audit.verify import changelog_verify, changelog_verify_since_checkpoint  # noqa: E402
from auditstream.models import DestinationKind, StreamDestination, StreamOutbox  # noqa: E402
from auditstream.services import stream_destination_create  # noqa: E402

COLUMNS = (
    "seq",
    "created_at",
    "actor_id",
    "actor_name",
    "action",
    "product_id",
    "release_id",
    "object_type",
    "object_id",
    "object_repr",
    "before",
    "after",
    "reason",
    "request_id",
    "client_ip",
    "prev_hash",
    "hash",
    "mac",
    "mac_key_id",
)
BENCH_MAC_KEY_ID = "bench"
BENCH_MAC_KEY = "5a" * 32
NULLABLE = ("actor_id", "product_id", "release_id", "before", "after", "client_ip")

# (action, weight, before, after): a plausible mix, sign-ins dominating.
ACTION_MIX = [
    (Action.LOGIN, 30, None, None),
    (Action.LOGOUT, 10, None, None),
    (Action.LOGIN_FAILED, 3, None, None),
    (Action.COMMENT_ADDED, 15, None, {"body": "Looks good to me."}),
    (Action.RAD_REVISED, 12, {"revision": 1}, {"revision": 2}),
    (Action.GATE_CHECK_REPORTED, 12, None, {"check": "unit-tests", "result": "passed"}),
    (Action.SIGNOFF_RECORDED, 6, None, {"activity": "qa", "decision": "approve"}),
    (Action.RELEASE_SUBMITTED, 3, {"status": "draft"}, {"status": "in_review"}),
    (Action.RELEASE_APPROVED, 2, {"status": "in_review"}, {"status": "approved"}),
    (Action.RELEASE_DEPLOYED, 2, {"status": "approved"}, {"status": "deployed"}),
    (Action.RELEASE_HALTED, 1, {"status": "approved"}, {"status": "halted"}),
    (Action.ACCESS_REFUSED, 2, None, {"method": "POST", "path": "/releases/x/"}),
    (Action.RACI_CHANGED, 2, {"qa": "R"}, {"qa": "A"}),
]
RELEASE_ACTIONS = {
    Action.COMMENT_ADDED,
    Action.RAD_REVISED,
    Action.GATE_CHECK_REPORTED,
    Action.SIGNOFF_RECORDED,
    Action.RELEASE_SUBMITTED,
    Action.RELEASE_APPROVED,
    Action.RELEASE_DEPLOYED,
    Action.RELEASE_HALTED,
    Action.RACI_CHANGED,
}


def say(text: str) -> None:
    print(text, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- fill -----------------------------------------------------------------


def make_world() -> tuple[list, list, object]:
    User = get_user_model()
    users = [User(username=f"user{n:02d}", first_name=f"User{n:02d}") for n in range(60)]
    for user in users:
        user.set_unusable_password()
    User.objects.bulk_create(users)
    users = list(User.objects.filter(username__startswith="user").order_by("id"))
    auditor = User.objects.create_user("bench-auditor")  # force_login only
    permission = Permission.objects.get(codename="view_changelogentry")
    group, _ = Group.objects.get_or_create(name="Auditors")
    group.permissions.add(permission)
    auditor.groups.add(group)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    releases = []
    for p in range(20):
        product = Product.objects.create(name=f"Product {p:02d}", slug=f"product-{p:02d}")
        for r in range(10):
            releases.append(
                Release(
                    product=product,
                    version=f"{r + 1}.0.0",
                    title=f"Product {p:02d} release {r + 1}",
                    window_start=start,
                    window_end=start + timedelta(hours=2),
                    created_by=users[0],
                )
            )
    Release.objects.bulk_create(releases)
    releases = list(Release.objects.select_related("product").order_by("id"))
    return users, releases, auditor


def fill(entries: int, *, users: list, releases: list, batch: int = 50_000) -> None:
    """Append `entries` entries to the chain (from its head, or from genesis when empty),
    dated evenly over the last three years, referring to `users` and `releases`."""
    rng = random.Random(20261126)  # noqa: S311 (benchmark data, not security)
    actions = [a for a, *_ in ACTION_MIX]
    weights = [w for _, w, *_ in ACTION_MIX]
    shapes = {a: (before, after) for a, _, before, after in ACTION_MIX}
    names = {u.pk: f"{u.first_name} Tester ({u.username})" for u in users}
    user_ids = list(names)
    start = datetime.now(UTC) - timedelta(days=3 * 365)
    step_us = (3 * 365 * 86400 * 1_000_000) // entries
    head = ChangeLogEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    first_seq, prev_hash = head or (0, GENESIS_HASH)
    mac_key = bytes.fromhex(BENCH_MAC_KEY)
    copy_sql = (
        f"COPY audit_changelogentry ({', '.join(COLUMNS)}) FROM STDIN "
        f"WITH (FORMAT csv, FORCE_NULL ({', '.join(NULLABLE)}))"
    )
    seq = first_seq
    last_seq = first_seq + entries
    while seq < last_seq:
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
        for _ in range(min(batch, last_seq - seq)):
            seq += 1
            action = rng.choices(actions, weights)[0]
            before, after = shapes[action]
            actor_id = None if action == Action.LOGIN_FAILED else rng.choice(user_ids)
            release = rng.choice(releases) if action in RELEASE_ACTIONS else None
            values = {
                "seq": seq,
                "created_at": start + timedelta(microseconds=(seq - first_seq) * step_us),
                "actor_id": actor_id,
                "actor_name": names[actor_id] if actor_id else f"guess{rng.randrange(999)}",
                "action": action.value,
                "product_id": release.product_id if release else None,
                "release_id": release.pk if release else None,
                "object_type": "approvals.Release" if release else "",
                "object_id": str(release.pk) if release else "",
                "object_repr": f"{release.product.name} {release.version}" if release else "",
                "before": before,
                "after": after,
                "reason": "Routine" if rng.random() < 0.2 else "",
                "request_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "client_ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                "prev_hash": prev_hash,
            }
            document = entry_document(values)
            values["hash"] = prev_hash = entry_hash(prev_hash, document)
            values["mac"] = entry_mac(mac_key, values["hash"])
            values["mac_key_id"] = BENCH_MAC_KEY_ID
            writer.writerow(
                [
                    None
                    if values[c] is None
                    else canonical_json(values[c])
                    if c in ("before", "after")
                    else values[c].isoformat()
                    if c == "created_at"
                    else values[c]
                    for c in COLUMNS
                ]
            )
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(copy_sql, buffer)
        if (seq - first_seq) % 200_000 == 0 or seq == last_seq:
            say(f"  filled {seq:,}")
    with connection.cursor() as cursor:
        # VACUUM as autovacuum would have done to a long-lived table: sets the hint bits
        # and visibility map, so the first scan is not also the one that writes them.
        cursor.execute("VACUUM (ANALYZE) audit_changelogentry")


# --- measurements ---------------------------------------------------------


def time_page(client: Client, label: str, url: str, repeat: int = 7) -> None:
    response = client.get(url)  # warm caches and the plan
    assert response.status_code == 200, (url, response.status_code)
    timings, sql_timings = [], []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200
        sql_timings.append(sum(float(q["time"]) for q in queries.captured_queries))
    shown = response.content.count(b'aria-label="Entry ')
    say(
        f"  {label:<31} median {statistics.median(timings) * 1000:5.1f} ms "
        f"(SQL {statistics.median(sql_timings) * 1000:4.1f} ms)  "
        f"max {max(timings) * 1000:5.1f} ms  queries {len(queries.captured_queries):2d}  "
        f"rows {shown:2d}  {url}"
    )


def time_export(
    client: Client, url: str, *, traced: bool, sink=None
) -> tuple[int, float, float, float]:
    """Lines, seconds, megabytes and (if traced) peak traced megabytes."""
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200
    size = 0
    rows = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        rows += chunk.count(b"\n")
        if sink is not None:
            sink.write(chunk)
    elapsed = time.perf_counter() - started
    peak = 0.0
    if traced:
        peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
        tracemalloc.stop()
    return rows, elapsed, size / 1024 / 1024, peak


def legacy_changelog_record(*, action: Action, reason: str = "") -> ChangeLogEntry:
    """The writer as it was on main before issue 16 (a793276), for `--compare` only.

    Its own savepoint; the lock; the time and address; the head through the
    ORM; the hash; an ORM create; the hooks: all but the savepoint under the
    lock. It hashes exactly as the product's writer does, so the chain it
    extends verifies (the benchmark checks) whichever wrote each entry.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
            cursor.execute("SELECT clock_timestamp(), host(%s::inet)", [None])
            created_at, client_ip = cursor.fetchone()
        head = ChangeLogEntry.objects.order_by("-seq").values("seq", "hash").first()
        prev_hash = head["hash"] if head else GENESIS_HASH
        values = {
            "seq": head["seq"] + 1 if head else 1,
            "created_at": created_at,
            "actor_id": None,
            "actor_name": "system",
            "action": Action(action).value,
            "product_id": None,
            "release_id": None,
            "object_type": "",
            "object_id": "",
            "object_repr": "",
            "before": None,
            "after": None,
            "reason": reason,
            "request_id": "",
            "client_ip": client_ip,
            "prev_hash": prev_hash,
        }
        values["hash"] = entry_hash(prev_hash, entry_document(values))
        key_id = settings.CHANGELOG_MAC_KEY_ID
        if key_id:
            values["mac"] = entry_mac(changelog_mac_keys()[key_id], values["hash"])
            values["mac_key_id"] = key_id
        entry = ChangeLogEntry.objects.create(**values)
        for hook in _post_write_hooks:
            hook(entry)
        return entry


_RECORDERS = {"current": changelog_record, "legacy": legacy_changelog_record}


def _writer(stop_at: float, counts: list[int], index: int, recorder: str = "current") -> None:
    """One concurrent writer: entries through the one writer until the deadline."""
    record = _RECORDERS[recorder]
    written = 0
    try:
        while time.perf_counter() < stop_at:
            with transaction.atomic():
                record(action=Action.COMMENT_ADDED, reason=f"writer {index}")
            written += 1
    finally:
        counts[index] = written
        close_old_connections()
        connection.close()


def time_writers(
    *,
    writers: int,
    seconds: float,
    keyed: bool,
    hooks: bool,
    processes: bool = False,
    recorder: str = "current",
) -> tuple[float, int]:
    """Entries per second from `writers` threads (or forked processes, as gunicorn's
    workers would be, without one GIL between them), each with its own connection;
    and the count."""
    keys = {BENCH_MAC_KEY_ID: BENCH_MAC_KEY} if keyed else {}
    installed = list(_post_write_hooks)
    if not hooks:
        _post_write_hooks.clear()  # no streaming outbox (nor webhook) rows
    try:
        with override_settings(
            CHANGELOG_MAC_KEYS=keys, CHANGELOG_MAC_KEY_ID=BENCH_MAC_KEY_ID if keyed else ""
        ):
            if processes:
                # Children open their own connections: none may be inherited open.
                connections.close_all()
                context = multiprocessing.get_context("fork")
                counts = context.Array("l", writers)
                kind = context.Process
            else:
                counts = [0] * writers
                kind = threading.Thread
            stop_at = time.perf_counter() + seconds
            threads = [
                kind(target=_writer, args=(stop_at, counts, index, recorder))
                for index in range(writers)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
    finally:
        _post_write_hooks[:] = installed
    return sum(counts) / elapsed, sum(counts)


class _Receiver(BaseHTTPRequestHandler):
    """A stream receiver on loopback: counts the JSON lines it is sent and answers 200."""

    lines = 0

    def do_POST(self) -> None:  # noqa: N802 (http.server's spelling)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).lines += sum(1 for line in body.splitlines() if line.strip())
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


# The beat task's work in a loop, in its own process as a Celery worker would
# be (a thread here would compete with the writers for the GIL): sends what is
# owed until its stdin is closed, then the rest, and prints how many it sent.
_DISPATCHER = """
import os, sys, threading
sys.path.insert(0, os.getcwd())
import django
django.setup()
from auditstream.services import stream_dispatch
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
sent = 0
while not done.is_set():
    delivered = stream_dispatch()
    sent += delivered
    if not delivered:
        done.wait(0.2)
sent += stream_dispatch()
print(sent)
"""


def _start_dispatcher() -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 (this interpreter, fixed code)
        [sys.executable, "-c", _DISPATCHER],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def time_writers_streaming(*, writers: int, seconds: float, deliver: bool) -> tuple[float, str]:
    """MAC on, hooks on, and a real HTTP stream destination; with `deliver`, a dispatcher
    process delivers the outbox meanwhile (otherwise it is delivered afterwards)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    _Receiver.lines = 0
    head = ChangeLogEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    with override_settings(
        CHANGELOG_MAC_KEYS={BENCH_MAC_KEY_ID: BENCH_MAC_KEY}, CHANGELOG_MAC_KEY_ID=BENCH_MAC_KEY_ID
    ):
        destination = stream_destination_create(
            name="bench-receiver",
            kind=DestinationKind.HTTP,
            url=f"http://127.0.0.1:{server.server_address[1]}/ingest",
            secret="bench-stream-secret",  # noqa: S106 (a throwaway receiver)
            from_seq=head,  # owes the entries written from now on, not the filled history
        )
    dispatcher = _start_dispatcher() if deliver else None
    try:
        rate, written = time_writers(writers=writers, seconds=seconds, keyed=True, hooks=True)
        owed_at_end = StreamOutbox.objects.filter(destination=destination).count()
    finally:
        dispatcher = dispatcher or _start_dispatcher()
        delivered = int(dispatcher.communicate("")[0].strip() or 0)
        server.shutdown()
    destination.refresh_from_db()
    detail = (
        f"{written:,} entries written, {owed_at_end:,} outbox rows owed when the writers "
        f"stopped; {delivered:,} delivered to {destination.address} ({_Receiver.lines:,} "
        f"lines received), cursor at seq {destination.delivered_seq:,}"
    )
    StreamDestination.objects.filter(pk=destination.pk).delete()  # the next run starts clean
    return rate, detail


def bench_trust(*, writers: int, seconds: float) -> None:
    say(f"Change-log writes, {writers} concurrent writers, {seconds:.0f} s each")
    hooks = ", ".join(f"{hook.__module__}.{hook.__name__}" for hook in _post_write_hooks)
    say(f"  post-write hooks installed: {hooks or 'none'}")
    plain, _ = time_writers(writers=writers, seconds=seconds, keyed=False, hooks=False)
    say(f"  MAC off, hooks off (no streaming):  {plain:,.0f} entries/s")
    keyed, _ = time_writers(writers=writers, seconds=seconds, keyed=True, hooks=False)
    say(f"  MAC on,  hooks off (no streaming):  {keyed:,.0f} entries/s (ratio {keyed / plain:.2f})")
    hooked, _ = time_writers(writers=writers, seconds=seconds, keyed=True, hooks=True)
    say(
        f"  MAC on,  hooks on, no destination:  {hooked:,.0f} entries/s "
        f"(ratio {hooked / plain:.2f})"
    )
    for deliver, label in ((False, "outbox only, sent after"), (True, "sent meanwhile")):
        full, detail = time_writers_streaming(writers=writers, seconds=seconds, deliver=deliver)
        say(f"  MAC on,  streaming on ({label}): {full:,.0f} entries/s (ratio {full / plain:.2f})")
        say(f"    {detail}")
    say(f"Writers by number and kind (MAC on, hooks on, no destination), {seconds:.0f} s each")
    for count in sorted({1, writers}):
        for processes in (False, True):
            rate, _ = time_writers(
                writers=count, seconds=seconds, keyed=True, hooks=True, processes=processes
            )
            kind = "processes" if processes else "threads"
            say(f"  {count} writer {kind + ':':<11} {rate:,.0f} entries/s")
    result = changelog_verify(mac=False)  # entries written with MAC off carry none
    assert result.ok, result.summary()


def bench_compare(*, writers: int, seconds: float, rounds: int) -> None:
    """main's writer against the current one, interleaved in short slices (MAC on, hooks on),
    so that the load of a shared machine falls on both alike; medians and their ratio."""
    say(
        f"Writers: main's (legacy) against the current writer, interleaved, {rounds} rounds of "
        f"{seconds:.0f} s each (MAC on, hooks on, no destination)"
    )
    for count, processes in ((1, False), (writers, False), (writers, True)):
        rates: dict[str, list[float]] = {"legacy": [], "current": []}
        for index in range(rounds):
            order = ("legacy", "current") if index % 2 == 0 else ("current", "legacy")
            for recorder in order:
                rate, _ = time_writers(
                    writers=count,
                    seconds=seconds,
                    keyed=True,
                    hooks=True,
                    processes=processes,
                    recorder=recorder,
                )
                rates[recorder].append(rate)
        legacy, current = (statistics.median(rates[name]) for name in ("legacy", "current"))
        kind = "processes" if processes else "threads"
        say(
            f"  {count} writer {kind + ':':<11} legacy {legacy:7,.0f}/s  current {current:7,.0f}/s"
            f"  ratio {current / legacy:4.2f}   (legacy {', '.join(f'{r:,.0f}' for r in rates['legacy'])};"
            f" current {', '.join(f'{r:,.0f}' for r in rates['current'])})"
        )
    result = changelog_verify(mac=False)
    assert result.ok, result.summary()
    say(f"  the chain both wrote: {result.summary()}")


def bench_incremental(*, entries: int, since: int = 2000) -> None:
    """`verify_changelog --since-checkpoint` after a signed checkpoint and `since` more entries."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    with (
        tempfile.TemporaryDirectory() as folder,
        override_settings(
            CHANGELOG_SIGNING_KEY=pem,
            CHANGELOG_SIGNING_KEY_FILE="",
            CHANGELOG_CHECKPOINT_PATH=str(Path(folder) / "checkpoints.jsonl"),
            CHANGELOG_CHECKPOINT_EMAILS=[],
        ),
    ):
        checkpoint = changelog_checkpoint_write()
        for index in range(since):
            changelog_record(action=Action.COMMENT_ADDED, reason=f"after checkpoint {index}")
        started = time.perf_counter()
        start, result = changelog_verify_since_checkpoint(
            path=settings.CHANGELOG_CHECKPOINT_PATH, public_key=key.public_key()
        )
        elapsed = time.perf_counter() - started
    assert result.ok and start.seq == checkpoint.seq, result.summary()
    say(
        f"verify_changelog --since-checkpoint (signed checkpoint at seq {start.seq:,}, "
        f"{entries:,} entries before it)"
    )
    say(f"  {result.summary()}")
    say(f"  {result.count:,} entries in {elapsed * 1000:.0f} ms (checkpoint check included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--skip-fill", action="store_true", help="reuse the entries already there")
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers")
    parser.add_argument("--writer-seconds", type=float, default=10.0)
    parser.add_argument(
        "--trust-only",
        action="store_true",
        help="only the keyed-chain numbers: verify with MACs and concurrent writes",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="only main's writer against the current one, interleaved (after fill and verify)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="with --compare: rounds per setting")
    args = parser.parse_args()
    # The fill writes MACs under this key; verification checks them.
    settings.CHANGELOG_MAC_KEYS = {BENCH_MAC_KEY_ID: BENCH_MAC_KEY}
    settings.CHANGELOG_MAC_KEY_ID = BENCH_MAC_KEY_ID

    say(f"PostgreSQL database {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    User = get_user_model()
    if args.skip_fill:
        users = list(User.objects.filter(username__startswith="user"))
        releases = list(Release.objects.select_related("product").order_by("id"))
        auditor = User.objects.get(username="bench-auditor")
    else:
        if ChangeLogEntry.objects.exists():
            sys.exit("The change log is not empty: use a fresh database or --skip-fill.")
        users, releases, auditor = make_world()
        say(f"Filling {args.entries:,} entries (chain computed in Python, loaded with COPY)")
        started = time.perf_counter()
        fill(args.entries, users=users, releases=releases)
        elapsed = time.perf_counter() - started
        say(f"  fill: {elapsed:.1f} s ({args.entries / elapsed:,.0f} entries/s)")
    total = ChangeLogEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('audit_changelogentry'))")
        size = cursor.fetchone()[0]
    say(f"Change log: {total:,} entries, table with indexes {size}")

    for workers in (1, os.cpu_count() or 1):
        say(
            f"verify_changelog (database, server-side cursors, chunk 5000, MACs checked, "
            f"{workers} worker process(es))"
        )
        started = time.perf_counter()
        # The filled entries: a --skip-fill rerun also holds the MAC-off writes of the last run.
        result = changelog_verify(workers=workers, to_seq=args.entries)
        elapsed = time.perf_counter() - started
        assert result.ok and result.macs_checked, result.summary()
        say(f"  {result.summary()}")
        say(
            f"  {result.count:,} entries in {elapsed:.1f} s = "
            f"{result.count / elapsed:,.0f} entries/s"
        )
    if args.compare:
        bench_compare(writers=args.writers, seconds=args.writer_seconds, rounds=args.rounds)
        return
    bench_incremental(entries=args.entries)
    if args.trust_only:
        bench_trust(writers=args.writers, seconds=args.writer_seconds)
        return

    client = Client()
    client.force_login(auditor)  # appends one LOGIN entry
    head = total + 1
    release = releases[len(releases) // 2]
    middle_day = (
        ChangeLogEntry.objects.filter(seq=total // 2).values_list("created_at", flat=True).first()
    ).date()
    say("Pages (Django test client, auditor; median of 7 after one warm-up)")
    time_page(client, "first page", "/changelog/")
    time_page(client, "second page", f"/changelog/?before={head - 50}")
    time_page(client, "deep page (seq < 1,000)", "/changelog/?before=1000")
    time_page(client, "oldest page via ?after=0", "/changelog/?after=0")
    time_page(client, "filtered: release", f"/changelog/?release={release.pk}")
    time_page(
        client,
        "filtered: release, deep",
        f"/changelog/?release={release.pk}&before={total // 100}",
    )
    time_page(client, "filtered: product", f"/changelog/?product={release.product.slug}")
    time_page(client, "filtered: actor", "/changelog/?actor=user07")
    time_page(client, "filtered: rare action", "/changelog/?action=release.halted")
    time_page(
        client,
        "filtered: one day mid-history",
        f"/changelog/?date_from={middle_day}&date_to={middle_day}",
    )
    time_page(
        client,
        "filtered: action + date range",
        f"/changelog/?action=release.approved&date_to={middle_day}",
    )
    time_page(client, "entry page", f"/changelog/{total // 2}/")

    say("Exports (streamed through the test client)")
    for url, label in (
        ("/changelog/export.csv", "CSV, everything"),
        ("/changelog/export.json", "JSON, everything"),
        (f"/changelog/export.csv?release={release.pk}", "CSV, one release"),
    ):
        rows, elapsed, megabytes, _ = time_export(client, url, traced=False)
        say(
            f"  {label:<18} {rows:>9,} lines {megabytes:7.1f} MB in {elapsed:6.1f} s = "
            f"{rows / elapsed:>9,.0f} rows/s"
        )
    rss_before = peak_rss_mb()
    rows, elapsed, megabytes, peak = time_export(client, "/changelog/export.csv", traced=True)
    say(
        f"  CSV, everything, under tracemalloc: peak traced Python memory {peak:.1f} MB "
        f"for {megabytes:.0f} MB of output ({rows:,} lines, {rows / elapsed:,.0f} rows/s traced); "
        f"process peak RSS {rss_before:.0f} MB before, {peak_rss_mb():.0f} MB after"
    )

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "changelog.json"
        with path.open("wb") as sink:
            time_export(client, "/changelog/export.json", traced=False, sink=sink)
        say("verify_changelog --file (offline, JSON export)")
        started = time.perf_counter()
        result = verify_export_file(path)
        elapsed = time.perf_counter() - started
        assert result.ok, result.summary()
        say(f"  {result.summary()}")
        say(f"  {result.count:,} entries in {elapsed:.1f} s = {result.count / elapsed:,.0f}/s")

    bench_trust(writers=args.writers, seconds=args.writer_seconds)


if __name__ == "__main__":
    main()
