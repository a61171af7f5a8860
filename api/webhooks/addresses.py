"""Where a webhook may be sent: an ``https://`` URL whose host resolves to public addresses only.

Checked when an endpoint is registered and again before every send, since a name can be made
to resolve elsewhere later (DNS rebinding): a send then goes to the very address that was
checked, with the name kept for the ``Host`` header and TLS (SNI and certificate). Loopback,
private, link-local, shared, multicast, reserved and unspecified addresses are refused however
they are written (``localhost``, ``127.1``, ``2130706433``, ``[::1]``, ``::ffff:10.0.0.1``),
so coordinators cannot reach the service's own network through it. ``allow_private`` (the
``PHENOWATCH_WEBHOOK_ALLOW_PRIVATE`` setting, for tests and development) lifts the address
check and accepts plain ``http://``.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

MAX_URL_LENGTH = 2048
#: what a team is told when a send was refused for its address (coarse, like other failures)
NOT_ALLOWED = "not sent: the endpoint's URL or address is not allowed"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UrlRefused(ValueError):
    """The URL cannot be a webhook endpoint; the message says why, for the coordinator."""


@dataclass(frozen=True)
class Target:
    """Where one send goes: ``url`` with the checked address in place of the name, and the
    name for the ``Host`` header and TLS (None when the URL named an address)."""

    url: str
    host_header: str | None
    sni_hostname: str | None


def check_url(url: str, *, allow_private: bool) -> SplitResult:
    """The URL's parts when it can be an endpoint (resolving its host); else UrlRefused."""
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"url is longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in url):
        raise UrlRefused(
            "url must not contain spaces, control characters or non-ASCII characters "
            "(write an international name in its xn-- form)"
        )
    parts = urlsplit(url)
    schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in schemes or not parts.hostname:
        raise UrlRefused("url must be an absolute https:// URL")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("url must not carry credentials; the signature authenticates")
    if parts.fragment:
        raise UrlRefused("url must not have a #fragment")
    try:
        parts.port  # noqa: B018 (raises on a port out of range)
    except ValueError as error:
        raise UrlRefused("url has an invalid port") from error
    resolve(parts, allow_private=allow_private)
    return parts


def resolve(parts: SplitResult, *, allow_private: bool) -> list[IPAddress]:
    """The host's addresses, every one of them allowed; else UrlRefused."""
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise UrlRefused(f"url's host {host!r} does not resolve") from error
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))
    if not addresses:
        raise UrlRefused(f"url's host {host!r} does not resolve")
    if not allow_private and not all(is_public(address) for address in addresses):
        raise UrlRefused(
            "url must point to a public internet address (not loopback, private, link-local, "
            "multicast or unspecified)"
        )
    return addresses


def target(url: str, *, allow_private: bool) -> Target:
    """Checks ``url`` again and pins the send to the first address checked."""
    parts = check_url(url, allow_private=allow_private)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:  # the URL names an address: nothing to pin
        return Target(url=url, host_header=None, sni_hostname=None)
    address = resolve(parts, allow_private=allow_private)[0]
    shown = f"[{address}]" if address.version == 6 else str(address)
    netloc = shown if parts.port is None else f"{shown}:{parts.port}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    return Target(url=pinned, host_header=host_header, sni_hostname=host)


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)
    return address.is_global and not (
        address.is_multicast
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_reserved
        or address.is_unspecified
    )


def redacted(url: str) -> str:
    """The URL without its query string, for logs (a query may carry a token of the team's)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
