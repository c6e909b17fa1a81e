"""How a batch of exported entries goes on the wire: syslog and HTTP.

Every message body is one exported entry exactly as the JSON export writes
it (hashed fields plus `hash`), so what a destination received can be
verified with `verify_changelog --stream FILE` or `python audit/chain.py`.

- Syslog: RFC 5424 messages over TCP with octet-counting framing (RFC 6587),
  optionally TLS (RFC 5425). TCP syslog has no acknowledgement, so after a
  batch the sender half-closes the connection and waits for the server to
  close its side: the server has then read every byte of the batch.
- HTTP: one POST per batch, `application/x-ndjson`, one entry per line,
  signed with HMAC-SHA256 of the body in `X-Relapp-Signature`; or, for
  Splunk's HTTP Event Collector, one HEC event per line with
  `Authorization: Splunk <token>`. Any 2xx answer is a delivery.
"""

import hashlib
import hmac
import json
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from auditstream.models import DestinationKind, HttpFormat, StreamDestination

SIGNATURE_HEADER = "X-Relapp-Signature"
FIRST_SEQ_HEADER = "X-Relapp-First-Seq"
LAST_SEQ_HEADER = "X-Relapp-Last-Seq"
# RFC 5424 structured-data ID under the private enterprise number reserved
# for documentation (RFC 5612): `relapp@32473`.
SD_ID = "relapp@32473"
# Facility 13 (log audit), severity 6 (informational).
PRI = 13 * 8 + 6


class DeliveryFailed(Exception):
    """The batch was not delivered; the text is shown as the destination's last error."""


def entry_line(document: dict[str, Any]) -> str:
    """One entry as the JSON export writes it (sorted keys, no whitespace)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def stream_signature(secret: str, body: bytes) -> str:
    """`sha256=` and the hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def stream_signature_valid(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(stream_signature(secret, body), header or "")


# --- syslog -------------------------------------------------------------------


def _sd_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def syslog_message(document: dict[str, Any], *, app_name: str, hostname: str) -> bytes:
    """One RFC 5424 message, octet-counted: `LEN SP <PRI>1 TS HOST APP - MSGID [SD] MSG`."""
    msgid = str(document["action"]).encode("ascii", "replace").decode()[:32] or "-"
    sd = f'[{SD_ID} seq="{document["seq"]}" hash="{_sd_value(str(document["hash"]))}"]'
    # ASCII JSON: no syslog relay can mangle it, and it parses to the same values.
    body = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    header = f"<{PRI}>1 {document['created_at']} {hostname} {app_name} - {msgid} {sd} "
    message = (header + body).encode("utf-8")
    return str(len(message)).encode("ascii") + b" " + message


def _syslog_socket(destination: StreamDestination, timeout: float) -> socket.socket:
    raw = socket.create_connection((destination.host, destination.port), timeout=timeout)
    if not destination.use_tls:
        return raw
    context = ssl.create_default_context(cafile=settings.CHANGELOG_STREAM_TLS_CA_FILE or None)
    try:
        return context.wrap_socket(raw, server_hostname=destination.host)
    except (OSError, ssl.SSLError):
        raw.close()
        raise


def _await_close(sock: socket.socket) -> None:
    """Half-close, then read until the server closes: it has consumed the batch.

    Over TLS the half-close is TLS's close_notify, which follows the batch; a
    server that then drops the connection without answering it has read it all.
    """
    if isinstance(sock, ssl.SSLSocket):
        try:
            sock = sock.unwrap()
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
            return
    sock.shutdown(socket.SHUT_WR)
    while sock.recv(4096):
        pass


def syslog_send(destination: StreamDestination, documents: Sequence[dict[str, Any]]) -> None:
    hostname = settings.CHANGELOG_STREAM_HOSTNAME or socket.gethostname()
    payload = b"".join(
        syslog_message(document, app_name=destination.app_name, hostname=hostname)
        for document in documents
    )
    try:
        with _syslog_socket(destination, settings.CHANGELOG_STREAM_TIMEOUT_SECONDS) as sock:
            sock.sendall(payload)
            _await_close(sock)
    except (OSError, ssl.SSLError, ValueError) as error:
        raise DeliveryFailed(f"{type(error).__name__}: {error}"[:500]) from error


# --- HTTP ---------------------------------------------------------------------


def _hec_event(document: dict[str, Any]) -> str:
    created = datetime.strptime(document["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    event = {
        "time": round(created.replace(tzinfo=UTC).timestamp(), 6),
        "host": settings.CHANGELOG_STREAM_HOSTNAME or socket.gethostname(),
        "source": "relapp",
        "sourcetype": "relapp:changelog",
        "event": document,
    }
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def http_body(destination: StreamDestination, documents: Sequence[dict[str, Any]]) -> bytes:
    render = _hec_event if destination.http_format == HttpFormat.SPLUNK_HEC else entry_line
    return "".join(render(document) + "\n" for document in documents).encode("utf-8")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a delivery: never re-POST the log elsewhere."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def http_send(destination: StreamDestination, documents: Sequence[dict[str, Any]]) -> None:
    body = http_body(destination, documents)
    headers = {
        "Content-Type": "application/x-ndjson",
        "User-Agent": "Relapp-Changelog-Stream/1",
        FIRST_SEQ_HEADER: str(documents[0]["seq"]),
        LAST_SEQ_HEADER: str(documents[-1]["seq"]),
        SIGNATURE_HEADER: stream_signature(destination.secret, body),
    }
    if destination.http_format == HttpFormat.SPLUNK_HEC:
        headers["Authorization"] = f"Splunk {destination.secret}"
    request = urllib.request.Request(destination.url, data=body, headers=headers, method="POST")  # noqa: S310
    timeout = settings.CHANGELOG_STREAM_TIMEOUT_SECONDS
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(500)
    except urllib.error.HTTPError as error:
        raise DeliveryFailed(f"HTTP {error.code} {error.reason}") from error
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise DeliveryFailed(f"{type(error).__name__}: {reason}"[:500]) from error


def batch_send(destination: StreamDestination, documents: Sequence[dict[str, Any]]) -> None:
    """Deliver `documents` (ascending seq) or raise DeliveryFailed."""
    if destination.kind == DestinationKind.SYSLOG:
        syslog_send(destination, documents)
    else:
        http_send(destination, documents)
