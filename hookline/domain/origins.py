"""Web origins (``https://app.example.com``, ``http://localhost:3000``) as typed values. Pure.

The deployment names the origins allowed to frame the customer portal
(``HOOKLINE_PORTAL_ORIGINS``); each becomes an ``Origin`` here, or a ``ValueError`` saying
what is wrong with it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
HOST_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


@dataclass(frozen=True, kw_only=True, slots=True)
class Origin:
    """A scheme, a host and a port: what a browser compares when it decides whether a page
    may frame another or receive its messages."""

    scheme: str
    host: str
    port: int

    @property
    def text(self) -> str:
        """As browsers write it: no default port, no trailing slash."""
        port = "" if DEFAULT_PORTS[self.scheme] == self.port else f":{self.port}"
        return f"{self.scheme}://{self.host}{port}"


def parse_origin(value: str) -> Origin:
    """The origin ``value`` names; ``ValueError`` saying why it is not one."""
    text = value.strip()
    problem = f"{text!r} is not an origin (scheme://host[:port], e.g. https://app.example.com)"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{problem}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"{problem}: the scheme must be https or http")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{problem}: it has a user name or password")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{problem}: it has a path, query or fragment")
    host = (parts.hostname or "").lower()
    if not _valid_host(host):
        raise ValueError(f"{problem}: {host or 'the host'} is not a host name or IP address")
    shown = f"[{host}]" if ":" in host else host
    return Origin(scheme=scheme, host=shown, port=port or DEFAULT_PORTS[scheme])


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        labels = host.split(".")
        return len(host) <= 253 and all(HOST_LABEL.fullmatch(label) for label in labels)
