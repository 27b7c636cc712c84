"""The aiohttp ``Transport``: one attempt over an injected aiohttp session.

Outside dev mode three checks keep deliveries off private and reserved
addresses. Each URL posted to (the webhook's, then every redirect hop) passes
the rules of a webhook URL, on the host yarl parses, which is the host aiohttp
uses; a redirect from https to http is refused. The session's resolver drops
blocked addresses from DNS answers, so a name with one good and one bad
address reaches the good one. And the socket factory refuses to create a
socket for a blocked address: whatever the spelling of the host, and whether
or not a resolver was asked, the address actually connected to is checked.
With an http(s) egress proxy (``egress``), one connection is exempt: the one to the
proxy itself, at its host and port (``ProxyExemption``); every other connection, a
direct one to the proxy's name or address included, is checked on its own address.

What aiohttp, ssl and the OS raise becomes the attempt's error through one table,
``ERRORS`` (as httpx's ``map_httpcore_exceptions`` maps httpcore's exceptions).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import ipaddress
import socket
import ssl
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from aiohappyeyeballs import AddrInfoType, SocketFactoryType
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from hookline.dispatch.egress import (
    BlockedDestination,
    Destinations,
    EgressConnector,
    ProxyExemption,
)
from hookline.dispatch.transport import OutboundRequest, SendResult
from hookline.domain.attempt_errors import AttemptError
from hookline.domain.egress_proxy import EgressProxy
from hookline.domain.network_guard import (
    IPAddress,
    Network,
    check_url,
    host_addresses,
    ip_literal,
    is_blocked,
)
from hookline.errors import Invalid
from hookline.tls import client_context

MAX_RESPONSE_BYTES = 64 * 1024
# No timer of aiohttp's own per request: the attempt's deadline is one asyncio.timeout around
# every hop, set before any request starts, so a per-request timer could never fire first.
NO_REQUEST_TIMEOUT = aiohttp.ClientTimeout()
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PROXY_AUTHENTICATION_REQUIRED = 407


class RefusedHop(Exception):
    """A URL to post to breaks the destination rules; ``error`` is the attempt's error."""

    def __init__(self, error: AttemptError) -> None:
        super().__init__(error)
        self.error = error


# What the client raised → the attempt's error: the first row naming a class of the exception
# and, where it names a second one, a class of what it wraps (``_wrapped``) gives the error.
# Any other exception of aiohttp or the OS is ``NETWORK_ERROR``; RefusedHop carries its own.
Classes = type[BaseException] | tuple[type[BaseException], ...]
ERRORS: tuple[tuple[Classes, Classes | None, AttemptError], ...] = (
    # The attempt's deadline (asyncio.timeout), or a timer of aiohttp's.
    (TimeoutError, None, AttemptError.TIMEOUT),
    (BlockedDestination, None, AttemptError.BLOCKED_DESTINATION),
    (
        (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError),
        None,
        AttemptError.PROXY_ERROR,
    ),
    # The TLS handshake failed: a certificate refused, or an alert, such as a TLS 1.2 server's
    # wanting a client certificate (aiohttp's TLS errors are connector errors too).
    ((aiohttp.ClientSSLError, ssl.SSLError), None, AttemptError.TLS_ERROR),
    # Connecting: the resolver or the socket factory refused the address, the name did not
    # resolve, or the connection failed.
    (aiohttp.ClientConnectorError, BlockedDestination, AttemptError.BLOCKED_DESTINATION),
    (aiohttp.ClientConnectorError, socket.gaierror, AttemptError.DNS_ERROR),
    (aiohttp.ClientConnectorError, None, AttemptError.CONNECT_ERROR),
    # Once connected, the connection ended before the answer did. An alert after the
    # handshake is the end of it: under TLS 1.3 a server checks the client's certificate
    # after the client's side of the handshake is done. A server that drops the connection
    # instead (without an alert) closes it, or resets it when the request lies unread in its
    # buffer: a race that a loaded machine loses, so a reset is a close like any other.
    (aiohttp.ClientOSError, ssl.SSLError, AttemptError.TLS_ERROR),
    (
        (aiohttp.ServerDisconnectedError, ConnectionError),  # ClientConnectionResetError too
        None,
        AttemptError.CONNECTION_CLOSED,
    ),
    (aiohttp.ClientOSError, ConnectionError, AttemptError.CONNECTION_CLOSED),
    (aiohttp.ClientPayloadError, None, AttemptError.INVALID_RESPONSE),
)


def attempt_error(exc: aiohttp.ClientError | OSError) -> AttemptError:
    """The attempt error that stands for ``exc``, by ``ERRORS``."""
    inner = _wrapped(exc)
    for kinds, wraps, error in ERRORS:
        if isinstance(exc, kinds) and (wraps is None or isinstance(inner, wraps)):
            return error
    return AttemptError.NETWORK_ERROR


def _wrapped(exc: BaseException) -> BaseException | None:
    """What ``exc`` stands for: a connector error's OS error, else the exception aiohttp
    raised ``exc`` from (it re-raises what a connection lost with as its own errors)."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return exc.os_error
    return exc.__cause__


class GuardedResolver(AbstractResolver):
    """Resolves, then drops every address that ``is_blocked``; fails if none is left.
    The proxy's host and port (``proxy``) resolve unfiltered, their addresses noted: the
    socket factory admits them only for the connection to the proxy."""

    def __init__(self, allowed: Sequence[Network], proxy: ProxyExemption | None = None) -> None:
        self._inner = DefaultResolver()
        self._allowed = tuple(allowed)
        self._proxy = proxy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if self._proxy is not None and self._proxy.resolves(
            host, port, [r["host"] for r in results]
        ):
            return results
        safe = [r for r in results if self._is_safe(r["host"])]
        if not safe:
            raise BlockedDestination(f"{host} resolves only to blocked addresses")
        return safe

    def _is_safe(self, host: str) -> bool:
        address = ip_literal(host)
        return address is not None and not is_blocked(address, self._allowed)

    async def close(self) -> None:
        await self._inner.close()


def guarded_socket_factory(
    allowed: Sequence[Network], proxy: ProxyExemption | None = None
) -> SocketFactoryType:
    """A socket factory for aiohttp that refuses blocked addresses: it gets the address
    just before the connection, IP literals included, which skip every resolver. The
    connection to the proxy (``proxy``), and it alone, is let through."""
    allowed = tuple(allowed)

    def factory(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        try:  # strictly: a form the OS would resolve again (127.1) is not an address here
            address: IPAddress | None = ipaddress.ip_address(sockaddr[0])
        except ValueError:
            address = None
        if address is None or (
            is_blocked(address, allowed)
            and (proxy is None or not proxy.admits(address, sockaddr[1]))
        ):
            # One message for every refusal: aiohappyeyeballs re-raises the exception itself
            # (not a combined OSError) when all attempts failed with the same text.
            raise BlockedDestination("connection to a blocked address refused")
        return socket.socket(family=family, type=type_, proto=proto)

    return factory


def make_session(
    *,
    open_network: bool,
    allowed: Sequence[Network],
    limit: int,
    egress: EgressProxy | None = None,
) -> aiohttp.ClientSession:
    """The delivery session: every request made with it passes the guards and, with
    ``egress``, leaves through that proxy."""
    # A socks proxy is connected to by python_socks, past the resolver and socket factory.
    exempt = None if egress is None or egress.is_socks else ProxyExemption(egress)
    options: dict[str, Any] = {
        "limit": limit,
        "limit_per_host": 0,
        "ttl_dns_cache": 10,
        "resolver": None if open_network else GuardedResolver(allowed, exempt),
        "socket_factory": None if open_network else guarded_socket_factory(allowed, exempt),
    }
    connector = (
        aiohttp.TCPConnector(**options)
        if egress is None
        else EgressConnector(
            egress, destinations=Destinations(None if open_network else allowed), **options
        )
    )
    return aiohttp.ClientSession(
        connector=connector,
        auto_decompress=True,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("Accept-Encoding",),
    )


class AiohttpTransport:
    """Posts over ``session`` (from ``make_session``, with the same ``open_network`` and
    ``allowed``), which it closes with itself; outside dev mode each URL posted to passes the
    destination rules, and a redirect to http needs ``allow_http`` (from https, never)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        open_network: bool,
        allowed: Sequence[Network] = (),
        allow_http: bool = False,
    ) -> None:
        self.session = session
        self.open_network = open_network
        self.allowed = tuple(allowed)
        self.allow_http = allow_http
        self._client_contexts = ClientContexts()

    async def send(self, request: OutboundRequest) -> SendResult:
        """POST the request's body to its URL (and to each redirect hop it may follow that
        passes the rules); ``final_url`` is the last URL posted to. A client certificate that
        cannot be loaded is a fault of Hookline's own: it raises, the attempt is not made."""
        start = time.perf_counter()
        certificate = request.client_certificate
        client_tls = None if certificate is None else self._client_contexts.get(*certificate)
        headers = request.headers
        status: int | None = None
        resp_headers: dict[str, str] = {}
        text, truncated = "", False
        error: AttemptError | None = None
        retry_after: float | None = None
        final_url = request.url
        try:
            async with asyncio.timeout(request.timeout):
                target = _first_hop(
                    request.url, open_network=self.open_network, allowed=self.allowed
                )
                origin = target.origin()
                for hop in range(request.max_redirects + 1):
                    final_url = str(target)
                    async with self.session.post(
                        target,
                        data=request.body,
                        headers=headers,
                        timeout=NO_REQUEST_TIMEOUT,
                        allow_redirects=False,
                        ssl=_ssl_for(client_tls, target, origin),
                    ) as resp:
                        status = resp.status
                        resp_headers = _flatten(resp.headers)
                        raw = await _read_capped(resp.content, MAX_RESPONSE_BYTES + 1)
                        truncated = len(raw) > MAX_RESPONSE_BYTES
                        text = raw[:MAX_RESPONSE_BYTES].decode("utf-8", errors="replace")
                        retry_after = _retry_after(resp.headers.get("Retry-After"))
                        location = resp.headers.get("Location")
                    if status == PROXY_AUTHENTICATION_REQUIRED:  # a proxy's answer
                        error = AttemptError.PROXY_ERROR
                        break
                    if not (request.max_redirects and status in REDIRECT_STATUSES and location):
                        break
                    if hop == request.max_redirects:
                        error = AttemptError.TOO_MANY_REDIRECTS
                        break
                    following = _next_hop(
                        target,
                        location,
                        allow_http=self.allow_http,
                        open_network=self.open_network,
                        allowed=self.allowed,
                    )
                    if following.origin() != target.origin():
                        headers = _for_another_origin(headers, request.origin_only)
                    target = following
        except RefusedHop as exc:
            error = exc.error
        except (aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
            error = attempt_error(exc)
        if error is not None and error is not AttemptError.TOO_MANY_REDIRECTS:
            status = None if error is not AttemptError.INVALID_RESPONSE else status
        return SendResult(
            status_code=status,
            headers=resp_headers,
            body=text,
            truncated=truncated,
            error=error,
            duration_ms=round((time.perf_counter() - start) * 1000, 3),
            retry_after=retry_after,
            final_url=final_url,
        )

    async def close(self) -> None:
        """Close the session, and with it its connections."""
        await self.session.close()


def _ssl_for(client_tls: ssl.SSLContext | None, target: URL, origin: URL) -> ssl.SSLContext | bool:
    """The TLS context of a hop: the client certificate's, to the webhook's own origin only."""
    if client_tls is None or target.scheme != "https" or target.origin() != origin:
        return True
    return client_tls


class ClientContexts:
    """TLS contexts that present a client certificate, one per certificate and key, kept for
    the most recently used ``size`` of them (building one parses the key)."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._contexts: OrderedDict[str, ssl.SSLContext] = OrderedDict()

    def get(self, certificate: str, key: str) -> ssl.SSLContext:
        name = hashlib.sha256(f"{certificate}\0{key}".encode()).hexdigest()
        context = self._contexts.get(name)
        if context is None:
            context = client_context(certificate, key)
            self._contexts[name] = context
            if len(self._contexts) > self._size:
                self._contexts.popitem(last=False)
        self._contexts.move_to_end(name)
        return context


@functools.lru_cache(maxsize=4096)
def _first_hop(url: str, *, open_network: bool, allowed: tuple[Network, ...]) -> URL:
    """The webhook's URL as aiohttp will use it. Its rules were checked when it was saved;
    an address it names directly is checked again here, names are left to the resolver.
    Parsed and checked once per URL and rules (a refusal is not kept: it raises)."""
    try:
        target = URL(url)
    except ValueError as exc:
        raise RefusedHop(AttemptError.INVALID_URL) from exc
    if not open_network and any(is_blocked(a, allowed) for a in host_addresses(target)):
        raise RefusedHop(AttemptError.BLOCKED_DESTINATION)
    return target


def _next_hop(
    current: URL,
    location: str,
    *,
    allow_http: bool,
    open_network: bool,
    allowed: Sequence[Network],
) -> URL:
    """The redirect target, checked with the rules of a webhook URL; from https, never http."""
    try:
        target = current.join(URL(location))
    except ValueError as exc:
        raise RefusedHop(AttemptError.INVALID_REDIRECT) from exc
    if open_network:
        return target
    try:
        check_url(str(target), allow_http=True, open_network=False, allowed=allowed)
    except Invalid as exc:
        blocked = exc.error_code == "url_not_allowed"
        error = AttemptError.BLOCKED_DESTINATION if blocked else AttemptError.INVALID_REDIRECT
        raise RefusedHop(error) from exc
    if target.scheme == "http" and (current.scheme == "https" or not allow_http):
        raise RefusedHop(AttemptError.INSECURE_REDIRECT)
    return target


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


def _for_another_origin(headers: Mapping[str, str], origin_only: frozenset[str]) -> dict[str, str]:
    """``headers`` for a hop to another origin: without the credential headers and without
    those the request sends to its own origin only (a webhook's custom headers)."""
    dropped = CREDENTIAL_HEADERS | {name.lower() for name in origin_only}
    return {k: v for k, v in headers.items() if k.lower() not in dropped}


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
