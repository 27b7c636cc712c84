"""Which destinations a webhook may reach (CONTRACT §7). Pure: no DNS here.

``check_url`` validates a webhook URL at creation; ``is_blocked`` says whether one
resolved address is off limits. The dispatcher's resolver applies ``is_blocked``
to every address it resolves before connecting.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from hookline.errors import Invalid

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2048
_EXTRA_BLOCKED: tuple[Network, ...] = (
    ipaddress.ip_network("100.64.0.0/10"),  # CGNAT
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.ip_network("198.18.0.0/15"),  # benchmarking
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS IPv6 metadata
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64 (may embed a private IPv4)
)


def parse_networks(cidrs: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def is_blocked(address: IPAddress, allowed: Sequence[Network] = ()) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_blocked(mapped, allowed)
    if any(address in net for net in allowed):
        return False
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or not address.is_global
        or any(address in net for net in _EXTRA_BLOCKED)
    )


def ip_literal(host: str) -> IPAddress | None:
    """The address a host names directly, in any form a resolver accepts (``0x7f.1``, ``2130706433``)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def check_url(
    url: str, *, allow_http: bool, open_network: bool, allowed: Sequence[Network] = ()
) -> None:
    """Raise ``Invalid`` with the contract's code when ``url`` may not be a webhook URL."""
    if len(url) > MAX_URL_LENGTH:
        raise Invalid(f"The URL is longer than {MAX_URL_LENGTH} characters.", code="invalid_url")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise Invalid(f"The URL is malformed: {exc}.", code="invalid_url") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise Invalid("The URL must be an absolute https:// URL.", code="https_required")
    if parts.scheme == "http" and not allow_http:
        raise Invalid("The URL must use https://; http:// is refused.", code="https_required")
    if parts.username is not None or parts.password is not None:
        raise Invalid("The URL must not contain credentials.", code="invalid_url")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise Invalid("The URL must not contain whitespace.", code="invalid_url")
    literal = ip_literal(host)
    if literal is not None and not open_network and is_blocked(literal, allowed):
        raise Invalid(
            f"The URL points at {literal}, a private or reserved address.", code="url_not_allowed"
        )
    if not open_network and host.rstrip(".").lower() in ("localhost", "localhost.localdomain"):
        raise Invalid("The URL points at localhost.", code="url_not_allowed")
