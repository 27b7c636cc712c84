"""What a delivery may not reach (the SSRF guard): URL rules and blocked addresses. Pure: no DNS.

``check_url`` validates a webhook URL at creation and returns it in the form it is
sent. It parses with yarl, the parser aiohttp uses, and decides on the host yarl
yields: the ASCII form after IDNA mapping, so ``127。0。0。1`` or fullwidth digits are
judged as the ``127.0.0.1`` the client would connect to. ``is_blocked`` says whether
one address is off limits; the dispatcher applies it to every address it resolves
and again to the address of every socket it connects.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Sequence

from yarl import URL

from hookline.domain.limits import MAX_URL
from hookline.errors import Invalid

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# A host name as resolvers take it, after IDNA: letters, digits, "-" and "_" in non-empty
# labels, at most one trailing dot. Anything else (a "%", "<", an empty label) is refused.
_HOST_NAME_RE = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?")
LOCALHOST_NAMES = ("localhost", "localhost.localdomain")
# What a localhost name resolves to: a deployment that allows them is told to use the address.
LOOPBACK = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
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
) -> str:
    """The URL as it is sent (yarl's encoded form: ASCII host, lower-case scheme and host,
    percent-encoded path); raise ``Invalid`` with the error code when it may not be a
    webhook URL."""
    if len(url) > MAX_URL:
        raise Invalid(f"The URL is longer than {MAX_URL} characters.", code="invalid_url")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise Invalid("The URL must not contain whitespace.", code="invalid_url")
    try:
        parsed = URL(url)
        parsed.port  # noqa: B018 - raises on a malformed port
        parsed.host  # noqa: B018 - raises on a host IDNA cannot decode (xn--zz)
    except (TypeError, ValueError) as exc:
        raise Invalid(f"The URL is malformed: {exc}.", code="invalid_url") from exc
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        raise Invalid(
            f"The URL must be an absolute {_schemes(allow_http)} URL.", code="https_required"
        )
    if parsed.scheme == "http" and not allow_http:
        raise Invalid("The URL must use https://; http:// is refused.", code="https_required")
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise Invalid("The URL must not contain credentials.", code="invalid_url")
    check_host(parsed, open_network=open_network, allowed=allowed)
    normalised = str(parsed)
    if len(normalised) > MAX_URL:
        raise Invalid(
            f"The URL is longer than {MAX_URL} characters once encoded.", code="invalid_url"
        )
    return normalised


def host_addresses(url: URL) -> list[IPAddress]:
    """The addresses the URL's host names directly, in any spelling (none for a name).

    Both of yarl's forms of the host are read (the ASCII one aiohttp connects to and the
    decoded one), with and without trailing dots."""
    found: list[IPAddress] = []
    try:
        decoded = url.host or ""
    except ValueError:  # an xn-- label that does not decode: only the ASCII form is used
        decoded = ""
    for host in (url.raw_host or "", decoded):
        for spelling in (host, host.rstrip(".")):
            address = ip_literal(spelling) if spelling else None
            if address is not None and address not in found:
                found.append(address)
    return found


def check_host(url: URL, *, open_network: bool, allowed: Sequence[Network] = ()) -> None:
    """Raise ``Invalid``: ``invalid_url`` for a host that is neither an address nor a host
    name, ``url_not_allowed`` for one that names a blocked address or localhost (unless the
    network is open)."""
    addresses = host_addresses(url)
    if not addresses and not _HOST_NAME_RE.fullmatch(url.raw_host or ""):
        raise Invalid("The URL's host is not a valid host name.", code="invalid_url")
    if open_network:
        return
    for address in addresses:
        if is_blocked(address, allowed):
            raise Invalid(
                f"The URL points at {address}, a private or reserved address{_outside(allowed)}.",
                code="url_not_allowed",
            )
    name = (url.raw_host or "").rstrip(".")
    if name in LOCALHOST_NAMES or name.endswith(".localhost"):
        if any(not is_blocked(loopback, allowed) for loopback in LOOPBACK):
            raise Invalid(
                "The URL points at localhost: give the loopback address instead (this "
                f"deployment allows {_networks(allowed)}).",
                code="url_not_allowed",
            )
        raise Invalid(f"The URL points at localhost{_outside(allowed)}.", code="url_not_allowed")


def url_hint(*, allow_http: bool, open_network: bool, allowed: Sequence[Network] = ()) -> str:
    """What a webhook URL may be on a deployment with these rules, in a sentence or two."""
    if open_network:
        return (
            f"An absolute {_schemes(allow_http)} URL. Development mode: loopback and private "
            "addresses such as http://127.0.0.1:9000/hook are allowed."
        )
    schemes = (
        "An absolute https:// or http:// URL (http:// is allowed on this deployment)."
        if allow_http
        else "An absolute https:// URL."
    )
    if not allowed:
        return f"{schemes} Private and loopback addresses are refused."
    return (
        f"{schemes} Private and loopback addresses are refused, except in "
        f"{_networks(allowed)}, which this deployment allows."
    )


def _schemes(allow_http: bool) -> str:
    return "http:// or https://" if allow_http else "https://"


def _networks(allowed: Sequence[Network]) -> str:
    return ", ".join(str(net) for net in allowed)


def _outside(allowed: Sequence[Network]) -> str:
    """The end of a refusal on a deployment that opens some networks: which ones."""
    return (
        f", outside the networks this deployment allows ({_networks(allowed)})" if allowed else ""
    )
