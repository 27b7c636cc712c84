"""Send one attempt over HTTP with an injected aiohttp session.

Outside dev mode the session's resolver refuses private and reserved
addresses and aiohttp connects to the address that was checked, so a
hostname cannot resolve to one address for the check and another for the
connection. IP-literal hosts skip resolvers, so they are checked here.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from hookline.domain.destinations import Network, ip_literal, is_blocked

MAX_RESPONSE_BYTES = 64 * 1024
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class BlockedDestination(OSError):
    """The destination resolves to an address webhooks may not reach."""


class GuardedResolver(AbstractResolver):
    """Resolves, then drops every address that ``is_blocked``; fails if none is left."""

    def __init__(self, allowed: Sequence[Network]) -> None:
        self._inner = DefaultResolver()
        self._allowed = tuple(allowed)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        safe = [r for r in results if self._is_safe(r["host"])]
        if not safe:
            raise BlockedDestination(f"{host} resolves only to blocked addresses")
        return safe

    def _is_safe(self, host: str) -> bool:
        address = ip_literal(host)
        return address is not None and not is_blocked(address, self._allowed)

    async def close(self) -> None:
        await self._inner.close()


def make_session(
    *, open_network: bool, allowed: Sequence[Network], limit: int
) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=limit,
        limit_per_host=0,
        ttl_dns_cache=10,
        resolver=None if open_network else GuardedResolver(allowed),
    )
    return aiohttp.ClientSession(
        connector=connector,
        auto_decompress=True,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("Accept-Encoding",),
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class SendResult:
    status_code: int | None
    headers: dict[str, str]
    body: str
    truncated: bool
    error: str | None
    duration_ms: float
    retry_after: float | None
    final_url: str


async def send(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    timeout: float,
    follow_redirects: bool,
    open_network: bool,
    allowed: Sequence[Network] = (),
) -> SendResult:
    start = time.perf_counter()
    deadline = aiohttp.ClientTimeout(total=timeout)
    status: int | None = None
    resp_headers: dict[str, str] = {}
    text, truncated, error = "", False, None
    retry_after: float | None = None
    try:
        async with asyncio.timeout(timeout):
            for _hop in range(MAX_REDIRECTS + 1):
                host = urlsplit(url).hostname or ""
                literal = ip_literal(host)
                if not open_network and literal is not None and is_blocked(literal, allowed):
                    raise BlockedDestination(f"{literal} is a blocked address")
                async with session.post(
                    url, data=body, headers=headers, timeout=deadline, allow_redirects=False
                ) as resp:
                    status = resp.status
                    resp_headers = _flatten(resp.headers)
                    raw = await _read_capped(resp.content, MAX_RESPONSE_BYTES + 1)
                    truncated = len(raw) > MAX_RESPONSE_BYTES
                    text = raw[:MAX_RESPONSE_BYTES].decode("utf-8", errors="replace")
                    retry_after = _retry_after(resp.headers.get("Retry-After"))
                    location = resp.headers.get("Location")
                if not (follow_redirects and status in REDIRECT_STATUSES and location):
                    break
                target = urljoin(url, location)
                if _origin(target) != _origin(url):
                    headers = _without_credentials(headers)
                url = target
            else:
                error = "too_many_redirects"
    except TimeoutError:
        error = "timeout"
    except BlockedDestination:
        error = "blocked_destination"
    except aiohttp.ClientConnectorCertificateError:
        error = "tls_error"
    except aiohttp.ClientConnectorError as exc:
        error = (
            "blocked_destination"
            if isinstance(exc.os_error, BlockedDestination)
            else ("dns_error" if isinstance(exc.os_error, socket.gaierror) else "connect_error")
        )
    except (aiohttp.ClientSSLError, ssl.SSLError):
        error = "tls_error"
    except aiohttp.ServerDisconnectedError:
        error = "connection_closed"
    except aiohttp.ClientPayloadError:
        error = "invalid_response"
    except (aiohttp.ClientError, OSError):
        error = "network_error"
    if error is not None and error != "too_many_redirects":
        status = None if error != "invalid_response" else status
    return SendResult(
        status_code=status,
        headers=resp_headers,
        body=text,
        truncated=truncated,
        error=error,
        duration_ms=round((time.perf_counter() - start) * 1000, 3),
        retry_after=retry_after,
        final_url=url,
    )


async def _read_capped(content: aiohttp.StreamReader, limit: int) -> bytes:
    """Read the body up to ``limit`` bytes or its end, whichever comes first.

    ``StreamReader.read(n)`` returns what is buffered, often less than ``n``.
    """
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await content.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


# Headers that authenticate to the webhook's own origin: a redirect elsewhere does not get them
# (what browsers, requests and httpx do). Signatures stay: they are made for this delivery.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _without_credentials(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in CREDENTIAL_HEADERS}


def _flatten(headers: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in headers.items():
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
