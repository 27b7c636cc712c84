"""The egress proxy: its URL and which hosts bypass it. Pure: no I/O.

``parse_proxy`` reads ``HOOKLINE_EGRESS_PROXY`` (``http``, ``https``, ``socks5`` or
``socks5h`` with a host and a port, maybe ``user:password``) and ``parse_no_proxy`` the
``HOOKLINE_EGRESS_NO_PROXY`` list, which follows the NO_PROXY convention: ``*`` (every
host), a host name (it and its subdomains), ``.example.com`` (subdomains only), an IP
address or a CIDR (hosts written as such an address). Both raise ``ValueError`` with a
message naming the variable and never the password.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from yarl import URL

from hookline.domain.network_guard import IPAddress, Network, ip_literal

PROXY_VARIABLE = "HOOKLINE_EGRESS_PROXY"
NO_PROXY_VARIABLE = "HOOKLINE_EGRESS_NO_PROXY"
SCHEMES = ("http", "https", "socks5", "socks5h")
_NAME_RE = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
MAX_NAME_LENGTH = 253
MAX_LABEL_LENGTH = 63
MAX_SOCKS_CREDENTIAL = 255


@dataclass(frozen=True, slots=True)
class NoProxy:
    """Hosts that are reached directly, not through the proxy."""

    everything: bool = False
    names: tuple[str, ...] = ()  # it and its subdomains
    suffixes: tuple[str, ...] = ()  # ".example.com": subdomains only
    networks: tuple[Network, ...] = ()  # single addresses are /32 and /128 networks

    def matches(self, host: str) -> bool:
        """Whether ``host`` (a URL's host as yarl gives it: ASCII, IPv6 without brackets)
        is reached directly."""
        if self.everything:
            return True
        name = host.strip("[]").rstrip(".").lower()
        address = _address(name)
        if address is not None:
            return any(address in network for network in self.networks)
        return any(name == n or name.endswith("." + n) for n in self.names) or any(
            name.endswith(s) for s in self.suffixes
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class EgressProxy:
    """Where deliveries leave through. ``url`` carries no credentials; ``repr`` and
    ``display`` never show the password."""

    scheme: str
    host: str
    port: int
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    no_proxy: NoProxy = NoProxy()

    @property
    def is_socks(self) -> bool:
        return self.scheme in ("socks5", "socks5h")

    @property
    def remote_dns(self) -> bool:
        """Whether the proxy is given the destination's name (http CONNECT and socks5h)
        rather than an address checked here (socks5)."""
        return self.scheme != "socks5"

    @property
    def url(self) -> URL:
        return URL.build(scheme=self.scheme, host=self.host, port=self.port)

    @property
    def display(self) -> str:
        """The URL for logs and ``hookline config``: credentials masked."""
        credentials = "***@" if self.username or self.password else ""
        return f"{self.scheme}://{credentials}{self.url.raw_authority}"

    def routes(self, host: str) -> bool:
        """Whether a request to ``host`` goes through the proxy."""
        return not self.no_proxy.matches(host)


def parse_proxy(value: str, no_proxy: NoProxy = NoProxy()) -> EgressProxy:
    """The proxy ``value`` names; ``ValueError`` (naming the variable) when it is not one."""
    shape = (
        f"{PROXY_VARIABLE} must be a proxy URL: a scheme ({', '.join(SCHEMES)}), a host and a "
        "port, maybe user:password, e.g. http://proxy.internal:3128"
    )
    try:
        url = URL(value.strip())
        port = url.explicit_port
        host = url.raw_host
        url.host  # noqa: B018 - raises on a host IDNA cannot decode (xn--zz)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{shape}; this one is malformed") from exc
    scheme = url.scheme.lower()
    if scheme not in SCHEMES:
        shown = f"{scheme!r} is not" if scheme else "a scheme is missing, and is"
        raise ValueError(f"{shape}; {shown} one of them")
    if not host:
        raise ValueError(f"{shape}; the host is missing")
    if not _is_host(host):
        raise ValueError(f"{shape}; the host is not a host name or an IP address")
    if port is None:
        raise ValueError(f"{shape}; the port is missing")
    if port == 0:
        raise ValueError(f"{shape}; the port must be from 1 to 65535")
    if url.raw_path not in ("", "/") or url.raw_query_string or url.raw_fragment:
        raise ValueError(f"{shape}; it has no path, query or fragment")
    if scheme.startswith("socks") and not all(
        _is_socks_credential(part) for part in (url.user, url.password)
    ):
        raise ValueError(
            f"{shape}; a SOCKS5 user name and password are ASCII, at most 255 characters each"
        )
    return EgressProxy(
        scheme=scheme,
        host=host,
        port=port,
        username=url.user,
        password=url.password,
        no_proxy=no_proxy,
    )


def parse_no_proxy(entries: Iterable[str]) -> NoProxy:
    """The hosts ``entries`` name; ``ValueError`` (naming the variable and the entry) when
    one is neither ``*``, a host name, a ``.suffix``, an address nor a CIDR."""
    names: list[str] = []
    suffixes: list[str] = []
    networks: list[Network] = []
    everything = False
    for raw in entries:
        entry = raw.strip().lower()
        if entry == "*":
            everything = True
        elif "/" in entry or _address(entry) is not None:
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError as exc:
                raise ValueError(_bad_entry(raw, "not a valid IP address or CIDR")) from exc
        else:
            name = _ascii(entry.rstrip("."), raw)
            if name.startswith("."):
                suffixes.append(name)
            else:
                names.append(name)
    return NoProxy(
        everything=everything,
        names=tuple(names),
        suffixes=tuple(suffixes),
        networks=tuple(networks),
    )


def _ascii(entry: str, raw: str) -> str:
    dot, name = ("." if entry.startswith(".") else ""), entry.removeprefix(".")
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(_bad_entry(raw, "not a valid host name")) from exc
    if not _NAME_RE.fullmatch(name):
        raise ValueError(
            _bad_entry(raw, "not *, a host name, a .domain suffix, an IP address or a CIDR")
        )
    return dot + name


def _bad_entry(raw: str, why: str) -> str:
    return (
        f"{NO_PROXY_VARIABLE} is a comma-separated list of host names, .domain suffixes, "
        f"IP addresses and CIDRs (or *); {raw.strip()!r} is {why}"
    )


def _is_host(host: str) -> bool:
    """Whether ``host`` (yarl's ASCII form) is one the connector can hand to aiohttp and to a
    resolver: an IP address in its usual form, or a host name whose labels are 1 to 63
    letters, digits, "-" or "_" (yarl's parser lets "%zz" or "<" through, which building
    the proxy's URL refuses; the resolver refuses an empty or long label with an error
    that is not a connection's)."""
    if ":" in host:
        return "%" not in host and _address(host) is not None
    name = host.removesuffix(".")
    if ip_literal(name) is not None:
        return _address(name) is not None  # 127.1, 0x7f.0.0.1: not in their usual form
    return (
        len(name) <= MAX_NAME_LENGTH
        and _NAME_RE.fullmatch(name) is not None
        and all(len(label) <= MAX_LABEL_LENGTH for label in name.split("."))
    )


def _is_socks_credential(part: str | None) -> bool:
    """SOCKS5 sends a user name and a password as ASCII, each after a one-byte length."""
    return part is None or (part.isascii() and len(part) <= MAX_SOCKS_CREDENTIAL)


def _address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None
