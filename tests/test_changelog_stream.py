"""Change-log streaming: every entry reaches real rsyslog and a real HTTP receiver, in order.

`make test` starts a private rsyslogd (RELAPP_TEST_SYSLOG_PORT) that writes each
message body to RELAPP_TEST_SYSLOG_DIR/<APP-NAME>.jsonl; each test streams
under its own APP-NAME. The HTTP receiver is a plain `http.server` in a thread,
checking the HMAC signature of every batch like a real receiver would.
"""

import json
import os
import re
import threading
import time
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from audit.chain import GENESIS_HASH, ChainVerifier
from audit.changelog import changelog_record
from audit.export import export_documents
from audit.models import Action, ChangeLogEntry
from audit.verify import changelog_verify
from auditstream.models import DestinationKind, HttpFormat, StreamDestination, StreamOutbox
from auditstream.services import (
    destination_claim,
    destination_send,
    retry_delay,
    stream_destination_create,
    stream_destination_set_active,
    stream_destination_update,
    stream_dispatch,
)
from auditstream.transport import (
    LAST_SEQ_HEADER,
    SIGNATURE_HEADER,
    stream_signature_valid,
    syslog_message,
)
from tests.helpers import verify_changelog

SECRET = "stream-secret-for-tests"


# --- a real HTTP receiver -----------------------------------------------------------


class Receiver:
    """Collects JSON lines POSTed to it; can be stopped and started on the same port."""

    def __init__(self, *, secret: str = SECRET, status: int = 200):
        self.secret = secret
        self.status = status
        self.lines: list[str] = []
        self.requests: list[dict] = []
        self.bad_signatures = 0
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    if not stream_signature_valid(
                        receiver.secret, body, self.headers.get(SIGNATURE_HEADER, "")
                    ):
                        receiver.bad_signatures += 1
                        self.send_response(401)
                        self.end_headers()
                        return
                    if receiver.status == 200:
                        receiver.lines.extend(body.decode("utf-8").splitlines())
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(b'{"text":"Success","code":0}')

            def log_message(self, *args):
                pass

        return Handler

    def start(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ingest"

    def seqs(self) -> list[int]:
        with self.lock:
            return [json.loads(line)["seq"] for line in self.lines]


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.stop()


# --- the test command's rsyslog -----------------------------------------------------


def new_destination(*, name: str, from_seq: int = 0, **fields) -> StreamDestination:
    """A destination set up directly, without the service's change-log entry, so the
    log holds exactly the entries each test writes (the entry is tested below)."""
    return StreamDestination.objects.create(name=name, delivered_seq=from_seq, **fields)


def syslog_destination(name: str) -> StreamDestination:
    """A destination to the test rsyslog whose messages land in their own file."""
    return new_destination(
        name=name,
        kind=DestinationKind.SYSLOG,
        host="127.0.0.1",
        port=int(os.environ["RELAPP_TEST_SYSLOG_PORT"]),
        app_name=f"t{uuid.uuid4().hex[:12]}",
    )


def syslog_file(destination: StreamDestination) -> Path:
    return Path(os.environ["RELAPP_TEST_SYSLOG_DIR"]) / f"{destination.app_name}.jsonl"


def syslog_lines(destination: StreamDestination, *, count: int, timeout: float = 20) -> list[str]:
    """The lines rsyslog wrote for `destination`, once there are `count` (it writes async)."""
    path = syslog_file(destination)
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        if len(lines) >= count:
            break
        time.sleep(0.05)
    return lines


def http_destination(receiver: Receiver, name: str = "siem", **fields) -> StreamDestination:
    return new_destination(
        name=name, kind=DestinationKind.HTTP, url=receiver.url, secret=SECRET, **fields
    )


def write_entries(count: int, *, start: int = 0) -> None:
    for number in range(start, start + count):
        changelog_record(
            action=Action.POLICY_CHANGED,
            actor_name="stream test",
            after={"n": number, "text": 'naïve ünïcode ]"\\'},
            reason=f"entry {number}",
        )


def exported(after_seq: int = 0) -> list[dict]:
    """The JSON export's documents for the entries after `after_seq`."""
    queryset = ChangeLogEntry.objects.filter(seq__gt=after_seq)
    return [document for batch in export_documents(queryset) for document in batch]


def verifies(documents: list[dict]) -> bool:
    """The received copy is one unbroken run of the chain (what --stream checks)."""
    first = documents[0]
    verifier = ChainVerifier(
        first_seq=first["seq"], prev_hash=GENESIS_HASH if first["seq"] == 1 else first["prev_hash"]
    )
    return all(verifier.feed(document) for document in documents)


# --- the outbox ---------------------------------------------------------------------


@pytest.mark.django_db
def test_each_entry_writes_one_outbox_row_per_active_destination_in_its_transaction(receiver):
    active = http_destination(receiver)
    paused = http_destination(receiver, name="paused", is_active=False)
    write_entries(2)
    with pytest.raises(RuntimeError), transaction.atomic():
        write_entries(1)
        raise RuntimeError("the change rolls back")
    seqs = list(ChangeLogEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert list(active.outbox.order_by("seq").values_list("seq", flat=True)) == seqs
    assert not paused.outbox.exists()


@pytest.mark.django_db
def test_a_new_destination_is_sent_the_whole_log_unless_told_to_start_later(receiver):
    write_entries(3)
    everything = http_destination(receiver)
    later = Receiver()
    new_destination(
        name="from-now", kind=DestinationKind.HTTP, url=later.url, secret=SECRET, from_seq=3
    )
    write_entries(1)
    assert stream_dispatch() == 4 + 1
    later.stop()
    assert receiver.seqs() == [1, 2, 3, 4]
    assert later.seqs() == [4]
    assert StreamDestination.objects.get(pk=everything.pk).delivered_seq == 4
    assert not StreamOutbox.objects.exists()


# --- formats ------------------------------------------------------------------------


def test_a_syslog_message_is_rfc5424_octet_counted_with_the_exported_entry_as_its_body():
    document = {
        "seq": 7,
        "action": "access.refused",
        "created_at": "2026-11-30T10:00:00.123456Z",
        "hash": "ab" * 32,
        "reason": 'naïve "quoted" ]',
    }
    frame = syslog_message(document, app_name="relapp", hostname="relapp-1")
    length, _, message = frame.partition(b" ")
    assert int(length) == len(message)
    match = re.fullmatch(
        rb"<110>1 2026-11-30T10:00:00\.123456Z relapp-1 relapp - access\.refused "
        rb'\[relapp@32473 seq="7" hash="(?P<hash>[0-9a-f]{64})"\] (?P<msg>\{.*\})',
        message,
    )
    assert match, message
    assert json.loads(match["msg"]) == document
    assert match["msg"].isascii()


@pytest.mark.django_db
def test_http_batches_are_json_lines_of_the_export_signed_with_hmac(receiver):
    destination = http_destination(receiver)
    write_entries(5)
    assert stream_dispatch() == 5
    assert receiver.bad_signatures == 0
    assert [json.loads(line) for line in receiver.lines] == exported(destination.delivered_seq)
    assert receiver.requests[-1]["headers"][LAST_SEQ_HEADER] == "5"
    assert receiver.requests[-1]["headers"]["Content-Type"] == "application/x-ndjson"


@pytest.mark.django_db
def test_the_splunk_format_sends_one_hec_event_per_entry_with_the_token(receiver):
    http_destination(receiver, http_format=HttpFormat.SPLUNK_HEC)
    write_entries(2)
    stream_dispatch()
    request = receiver.requests[-1]
    assert request["headers"]["Authorization"] == f"Splunk {SECRET}"
    events = [json.loads(line) for line in receiver.lines]
    assert [event["event"] for event in events] == exported()
    assert {event["sourcetype"] for event in events} == {"relapp:changelog"}
    created = ChangeLogEntry.objects.get(seq=1).created_at.timestamp()
    assert float(events[0]["time"]) == pytest.approx(created, abs=1e-6)


@pytest.mark.django_db
def test_entries_reach_the_real_rsyslog_in_order_and_the_file_verifies():
    destination = syslog_destination("syslog")
    write_entries(25)
    assert stream_dispatch() == 25
    lines = syslog_lines(destination, count=25)
    documents = [json.loads(line) for line in lines]
    assert documents == exported()
    assert verifies(documents)
    assert "OK: 25 entries match the stream" in verify_changelog(
        "--stream", str(syslog_file(destination))
    )


@pytest.mark.django_db
def test_the_admin_adds_a_destination_only_with_what_its_kind_needs(admin_client):
    url = reverse("admin:auditstream_streamdestination_add")
    form = {"name": "siem", "kind": "http", "is_active": "on", "delivered_seq": "0"}
    form |= {"app_name": "relapp", "http_format": "jsonl"}
    response = admin_client.post(url, form)
    assert response.status_code == 200
    assert "An HTTP destination needs a URL." in response.content.decode()
    form |= {"url": "https://siem.example.com/ingest", "secret": SECRET}
    assert admin_client.post(url, form).status_code == 302
    destination = StreamDestination.objects.get(name="siem")
    change = reverse("admin:auditstream_streamdestination_change", args=[destination.pk])
    admin_client.post(change, form | {"delivered_seq": "99"})
    destination.refresh_from_db()
    assert destination.delivered_seq == 0  # the cursor is the sender's alone


def destination_entries() -> list[ChangeLogEntry]:
    return list(
        ChangeLogEntry.objects.filter(action=Action.STREAM_DESTINATION_CHANGED).order_by("seq")
    )


@pytest.mark.django_db
def test_every_destination_change_in_the_admin_is_logged_with_before_and_after(
    admin_client, admin_user
):
    add = reverse("admin:auditstream_streamdestination_add")
    form = {"name": "siem", "kind": "http", "is_active": "on", "delivered_seq": "0"}
    form |= {"app_name": "relapp", "http_format": "jsonl"}
    form |= {"url": "https://siem.example.com/ingest", "secret": SECRET}
    assert admin_client.post(add, form).status_code == 302
    destination = StreamDestination.objects.get(name="siem")
    change = reverse("admin:auditstream_streamdestination_change", args=[destination.pk])
    moved = form | {"url": "https://siem2.example.com/ingest", "secret": "another-secret"}
    assert admin_client.post(change, moved).status_code == 302
    assert admin_client.post(change, moved).status_code == 302  # nothing changed: no entry
    changelist = reverse("admin:auditstream_streamdestination_changelist")
    for action in ("pause_destinations", "resume_destinations"):
        selected = {"action": action, "_selected_action": [destination.pk]}
        assert admin_client.post(changelist, selected).status_code == 302
    delete = reverse("admin:auditstream_streamdestination_delete", args=[destination.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not StreamDestination.objects.exists()

    created, updated, paused, resumed, deleted = destination_entries()
    assert {e.actor_id for e in (created, updated, paused, resumed, deleted)} == {admin_user.pk}
    assert created.before is None
    assert created.after["event"] == "created"
    assert created.after["url"] == "https://siem.example.com/ingest"
    assert created.after["secret"] == "(set)"  # the secret itself never enters the log
    assert (updated.before["url"], updated.after["url"]) == (
        "https://siem.example.com/ingest",
        "https://siem2.example.com/ingest",
    )
    assert (updated.before["secret"], updated.after["secret"]) == ("(set)", "(changed)")
    assert (paused.before["is_active"], paused.after["is_active"]) == (True, False)
    assert paused.after["event"] == "paused"
    assert (resumed.after["is_active"], resumed.after["event"]) == (True, "resumed")
    assert deleted.before["name"] == "siem"
    assert deleted.after == {"event": "deleted"}
    assert all(SECRET not in json.dumps([e.before, e.after]) for e in destination_entries())
    assert changelog_verify().ok


@pytest.mark.django_db
def test_destination_services_write_one_entry_per_change_in_its_transaction(receiver):
    destination = stream_destination_create(
        name="siem", kind=DestinationKind.HTTP, url=receiver.url, secret=SECRET
    )
    with pytest.raises(RuntimeError), transaction.atomic():
        stream_destination_set_active(destination=destination, actor=None, is_active=False)
        raise RuntimeError("the change rolls back")
    assert StreamDestination.objects.get(pk=destination.pk).is_active
    stream_destination_update(destination=destination, actor=None, name="siem")  # no change
    assert [e.after["event"] for e in destination_entries()] == ["created"]
    # The creation entry is the first the new destination owes: it is streamed too.
    assert stream_dispatch() == 1
    assert receiver.seqs() == [destination_entries()[0].seq]


@pytest.mark.django_db
def test_syslog_over_tls_reaches_the_real_rsyslog_when_its_certificate_is_trusted(settings):
    settings.CHANGELOG_STREAM_TLS_CA_FILE = os.environ["RELAPP_TEST_SYSLOG_CA"]
    destination = syslog_destination("syslog-tls")
    StreamDestination.objects.filter(pk=destination.pk).update(
        use_tls=True, port=int(os.environ["RELAPP_TEST_SYSLOG_TLS_PORT"])
    )
    write_entries(3)
    assert stream_dispatch() == 3
    documents = [json.loads(line) for line in syslog_lines(destination, count=3)]
    assert documents == exported()


@pytest.mark.django_db
def test_syslog_over_tls_refuses_a_server_whose_certificate_is_not_trusted():
    destination = syslog_destination("syslog-tls")
    StreamDestination.objects.filter(pk=destination.pk).update(
        use_tls=True, port=int(os.environ["RELAPP_TEST_SYSLOG_TLS_PORT"])
    )
    write_entries(1)
    assert stream_dispatch() == 0
    destination.refresh_from_db()
    assert destination.delivered_seq == 0
    assert "CERTIFICATE_VERIFY_FAILED" in destination.last_error


# --- failure, backoff, leases -------------------------------------------------------


@pytest.mark.django_db
def test_a_destination_that_is_down_is_retried_with_backoff_and_nothing_is_skipped(receiver):
    destination = http_destination(receiver)
    receiver.stop()
    write_entries(3)
    before = timezone.now()
    assert stream_dispatch() == 0
    destination.refresh_from_db()
    assert destination.delivered_seq == 0
    assert destination.failures == 1
    assert "Connection refused" in destination.last_error
    assert destination.next_attempt_at >= before + retry_delay(1)
    assert stream_dispatch() == 0  # not due yet: no attempt
    assert StreamDestination.objects.get(pk=destination.pk).failures == 1
    StreamDestination.objects.filter(pk=destination.pk).update(next_attempt_at=timezone.now())
    assert stream_dispatch() == 0
    destination.refresh_from_db()
    assert destination.failures == 2
    assert destination.next_attempt_at - destination.last_error_at == retry_delay(2)
    receiver.start()
    write_entries(2, start=3)
    StreamDestination.objects.filter(pk=destination.pk).update(next_attempt_at=timezone.now())
    assert stream_dispatch() == 5
    destination.refresh_from_db()
    assert receiver.seqs() == [1, 2, 3, 4, 5]
    assert (destination.delivered_seq, destination.failures) == (5, 0)
    assert destination.last_error  # kept, so the page can say it recovered


@pytest.mark.django_db
def test_an_answer_that_is_not_2xx_is_a_failure(receiver):
    destination = http_destination(receiver)
    receiver.status = 503
    write_entries(1)
    assert stream_dispatch() == 0
    destination.refresh_from_db()
    assert (destination.delivered_seq, destination.last_error) == (
        0,
        "HTTP 503 Service Unavailable",
    )


def test_backoff_doubles_up_to_the_cap(settings):
    settings.CHANGELOG_STREAM_RETRY_BASE_SECONDS = 2
    settings.CHANGELOG_STREAM_RETRY_MAX_SECONDS = 60
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 5, 6, 40)] == [2, 4, 8, 32, 60, 60]


@pytest.mark.django_db
def test_a_destination_held_by_one_worker_cannot_be_claimed_by_another(receiver):
    destination = http_destination(receiver)
    write_entries(2)
    token = destination_claim(destination_id=destination.pk)
    assert token is not None
    assert destination_claim(destination_id=destination.pk) is None
    assert stream_dispatch() == 0
    assert destination_send(destination_id=destination.pk, token=uuid.uuid4()) == 0
    assert destination_send(destination_id=destination.pk, token=token) == 2
    assert receiver.seqs() == [1, 2]
    assert destination_claim(destination_id=destination.pk) is not None  # released


@pytest.mark.django_db
def test_a_worker_whose_lease_ran_out_does_not_move_the_cursor(receiver):
    destination = http_destination(receiver)
    write_entries(1)
    token = destination_claim(destination_id=destination.pk)
    StreamDestination.objects.filter(pk=destination.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )
    destination_send(destination_id=destination.pk, token=token)
    assert StreamDestination.objects.get(pk=destination.pk).delivered_seq == 0


# --- the destination page -----------------------------------------------------------


@pytest.mark.django_db
def test_the_destination_page_shows_lag_and_last_error(client, auditor, receiver):
    destination = http_destination(receiver)
    receiver.stop()
    write_entries(3)
    stream_dispatch()
    client.force_login(auditor)
    response = client.get(reverse("auditstream:destination_list"))
    text = response.content.decode()
    assert response.status_code == 200
    head = ChangeLogEntry.objects.order_by("-seq").first().seq
    assert f"#0 of #{head}" in text
    assert f"{head} entries behind" in text
    assert "Connection refused" in text
    assert "1 failed attempt in a row" in text
    assert destination.url in text


@pytest.mark.django_db
def test_the_destination_page_is_refused_to_people_who_may_not_read_the_log(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("auditstream:destination_list")).status_code == 403
    assert ChangeLogEntry.objects.filter(action=Action.ACCESS_REFUSED).count() == 1


# --- the whole way: 10,000 entries across a 30-second outage -------------------------

OUTAGE_SECONDS = 30


class Sender(threading.Thread):
    """The beat task, run back to back on its own database connection."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.errors: list[BaseException] = []

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                stream_dispatch()
                self.stopping.wait(0.2)
        except BaseException as error:  # noqa: BLE001 (reported by the test)
            self.errors.append(error)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=60)


def delivered(*destinations: StreamDestination) -> list[int]:
    return list(
        StreamDestination.objects.filter(pk__in=[d.pk for d in destinations])
        .order_by("pk")
        .values_list("delivered_seq", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_ten_thousand_entries_arrive_in_order_exactly_once_across_a_30_second_outage(
    receiver, settings, tmp_path
):
    settings.CHANGELOG_STREAM_RETRY_BASE_SECONDS = 1
    settings.CHANGELOG_STREAM_RETRY_MAX_SECONDS = 4
    syslog = syslog_destination("rsyslog")
    http = http_destination(receiver)
    sender = Sender()
    sender.start()
    clock = time.monotonic()
    write_entries(5000)
    receiver.stop()
    down_at = time.monotonic()
    write_entries(5000, start=5000)
    written_at = time.monotonic()
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
    during = StreamDestination.objects.get(pk=http.pk)
    receiver.start()
    up_at = time.monotonic()
    deadline = up_at + 120
    while delivered(syslog, http) != [10000, 10000] and time.monotonic() < deadline:
        time.sleep(0.2)
    caught_up_at = time.monotonic()
    sender.stop()
    assert not sender.errors

    assert during.failures >= 3  # retried through the outage, with backoff
    assert "Connection refused" in during.last_error
    assert 0 < during.delivered_seq < 10000
    expected = exported()
    assert [d["seq"] for d in expected] == list(range(1, 10001))
    http_documents = [json.loads(line) for line in receiver.lines]
    syslog_documents = [json.loads(line) for line in syslog_lines(syslog, count=10000)]
    for documents in (http_documents, syslog_documents):
        assert [d["seq"] for d in documents] == list(range(1, 10001))  # in order, once each
        assert documents == expected
        assert verifies(documents)
    assert receiver.bad_signatures == 0
    assert not StreamOutbox.objects.exists()
    http_copy = tmp_path / "http.jsonl"
    http_copy.write_text("".join(line + "\n" for line in receiver.lines), encoding="utf-8")
    for copy in (http_copy, syslog_file(syslog)):
        assert "OK: 10000 entries match the stream" in verify_changelog("--stream", str(copy))
    print(
        f"\n10,000 entries: written in {written_at - clock:.1f} s (outage from entry 5,001);"
        f" HTTP receiver down {up_at - down_at:.1f} s, {during.failures} failed attempts;"
        f" caught up {caught_up_at - up_at:.1f} s after it came back;"
        f" {len(receiver.requests)} HTTP requests; both copies in order, exactly once, verified"
    )
