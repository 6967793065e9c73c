"""Webhook URLs that cannot be turned against us (SSRF): checked at registration and again at each
delivery, and the delivery connects to an address this check approved (no second DNS lookup).

Rules (OWASP's SSRF guidance for webhooks): https only; no credentials in the URL; every address
the host resolves to must be public: not loopback, private, link-local (169.254.0.0/16, the
metadata service), CGNAT (100.64.0.0/10), 0.0.0.0/8, ULA (fc00::/7), multicast or reserved, and
an IPv6 address that embeds IPv4 (IPv4-mapped, NAT64, 6to4, Teredo) is judged by that IPv4 too.
Local mode may allow plain http to loopback, and then only to loopback.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

MAX_URL_LENGTH = 2048
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")

Resolver = Callable[..., list[tuple[Any, ...]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(ValueError):
    """The URL may not receive webhooks; the message says why and what to do."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (the approved addresses) and what to ask for."""

    url: str
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """True only for a globally routable unicast address (and its embedded IPv4, if any)."""
    if address.is_multicast or not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
    return True


def _is_loopback(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _parse(url: str) -> SplitResult:
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise UnsafeUrl("contains spaces or control characters; percent-encode them")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as error:
        raise UnsafeUrl(f"is not a valid URL ({error})") from None
    return parts


def check_url(
    url: str, *, allow_http_loopback: bool = False, resolve: Resolver | None = None
) -> Target:
    """The URL as a Target, or UnsafeUrl saying what is wrong with it."""
    parts = _parse(url)
    scheme = parts.scheme.lower()
    if scheme not in {"https", "http"} or (scheme == "http" and not allow_http_loopback):
        raise UnsafeUrl("must be an https:// URL")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("must not contain a user name or password; authenticate by signature")
    if not parts.hostname:
        raise UnsafeUrl("has no host name")
    host = parts.hostname
    port = parts.port or (443 if scheme == "https" else 80)
    try:
        infos = (resolve or socket.getaddrinfo)(host, port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UnsafeUrl(f"host {host!r} does not resolve; check the name") from None
    addresses = sorted({str(info[4][0]).split("%", 1)[0] for info in infos})
    if not addresses:
        raise UnsafeUrl(f"host {host!r} does not resolve; check the name")
    parsed = [ipaddress.ip_address(address) for address in addresses]
    if allow_http_loopback and all(_is_loopback(address) for address in parsed):
        pass  # local mode: a receiver on this machine
    elif scheme == "http":
        raise UnsafeUrl("may use http:// only for a receiver on loopback; use https://")
    else:
        refused = [str(address) for address in parsed if not is_public(address)]
        if refused:
            raise UnsafeUrl(
                f"host {host!r} resolves to {', '.join(refused)}, which is not a public address "
                "(loopback, private, link-local, CGNAT, multicast and reserved ranges are refused)"
            )
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    return Target(url, scheme, host, port, path, tuple(addresses))
