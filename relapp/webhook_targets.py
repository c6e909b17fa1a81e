"""Where webhooks may be sent: never to loopback, private, link-local or metadata addresses.

A target is checked when the endpoint is saved and again when each delivery
is sent, after DNS resolution; the connection then goes to the address that
was checked, so a name that resolves differently the second time (DNS
rebinding) cannot slip through. Networks in WEBHOOK_ALLOWED_NETWORKS (CIDR)
are let through for internal receivers. Proxies are not used.
"""

import http.client
import ipaddress
import socket
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings

# Cloud metadata services that are not in a private or link-local range.
_METADATA = {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}


class TargetRefused(OSError):
    """The webhook target resolves to an address Relapp does not send to."""


def _allowed(address) -> bool:
    for network in settings.WEBHOOK_ALLOWED_NETWORKS:
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


def address_refusal(address: str) -> str:
    """Why `address` is no webhook target ("" when it may be one)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if _allowed(ip):
        return ""
    if ip in _METADATA:
        return f"{ip} is a cloud metadata address"
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved or ip.is_multicast or ip.is_unspecified),
    ):
        if flag:
            return f"{ip} is a {kind} address"
    return ""


def resolve_checked(host: str, port: int) -> tuple:
    """The first address `host` resolves to; TargetRefused if any of them is refused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise TargetRefused(f"{host} does not resolve: {error}") from None
    for info in infos:
        reason = address_refusal(info[4][0])
        if reason:
            raise TargetRefused(
                f"{host} resolves to {reason}; it is not allowed as a webhook target"
            )
    return infos[0][4]


def url_refusal(url: str) -> str:
    """Why `url` may not be a webhook target ("" when it may be; an unresolvable name
    passes here and is checked again at every send)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "The URL has an invalid port."
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        try:
            resolve_checked(host, port)
        except TargetRefused as error:
            return "" if "does not resolve" in str(error) else f"{error}."
        return ""
    reason = address_refusal(host)
    return f"{reason}; it is not allowed as a webhook target." if reason else ""


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def connect(self):
        address = resolve_checked(self.host, self.port)
        self.sock = socket.create_connection(address[:2], self.timeout, self.source_address)


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    def connect(self):
        address = resolve_checked(self.host, self.port)
        sock = socket.create_connection(address[:2], self.timeout, self.source_address)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _CheckedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_CheckedHTTPConnection, req)


class _CheckedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_CheckedHTTPSConnection, req, context=self._context)


def checked_opener(*handlers) -> urllib.request.OpenerDirector:
    """An opener that connects only to checked addresses, with no proxy."""
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _CheckedHTTPHandler, _CheckedHTTPSHandler, *handlers
    )
