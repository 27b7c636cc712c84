"""The connector every delivery leaves through: straight out, or through the egress proxy.

``EgressConnector`` is aiohttp's ``TCPConnector`` with the proxy choice inside it, so every
request made over its session (deliveries, their redirect hops, test pings, token requests)
takes the same way out. A request to a host the no-proxy list names connects directly, with
the session's guarded resolver and socket factory. Any other goes through the proxy, after
``Destinations`` resolved its host and found every address allowed: the proxy, not this
process, connects to the destination, so the connect-time check cannot see it.

The connection to an http(s) proxy itself, opened inside ``to_proxy()``, is the only one
that may reach a blocked address (``ProxyExemption``); a request whose URL names the proxy's
host, address or port is judged like any other, so a no-proxy entry never widens what may
be reached.

- ``http``/``https`` proxies: aiohttp's own proxy support, a ``CONNECT`` tunnel for https
  destinations and an absolute-form request for http ones. The proxy resolves the name
  again: a DNS answer that changes between the two lookups is not seen here.
- ``socks5``: the proxy is asked for the checked address itself, and TLS is started here
  with the destination's name, so the certificate is still checked against that name.
  ``socks5h`` hands the proxy the name instead, after the same check.

Failures of the proxy (it cannot be reached, its name does not resolve, it refuses the
tunnel or hangs up instead of answering it) are ``ProxyFailure`` or aiohttp's
``ClientHttpProxyError``.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import aiohttp
import python_socks
from aiohttp.client_proto import ResponseHandler
from aiohttp.resolver import DefaultResolver
from python_socks.async_.asyncio import Proxy as SocksProxy

from hookline.domain.egress_proxy import EgressProxy
from hookline.domain.network_guard import IPAddress, Network, ip_literal, is_blocked

if TYPE_CHECKING:
    from aiohttp.client_reqrep import ClientRequest
    from aiohttp.tracing import Trace


class BlockedDestination(OSError):
    """The destination resolves to an address webhooks may not reach."""


class ProxyFailure(aiohttp.ClientProxyConnectionError):
    """The egress proxy could not be reached or would not connect to the destination."""


class ProxyExemption:
    """The one connection exempt from the destination rules: the one this process opens to
    the http(s) egress proxy itself, at the host and port its URL names.

    ``EgressConnector`` opens that connection inside ``to_proxy()``. The resolver answers for
    the proxy's host and port unfiltered (``resolves``), noting the addresses; aiohttp keeps
    such an answer in its DNS cache, keyed by host and port, and shares a lookup under way,
    so a direct connection to that host and port may be handed the same answer. The socket
    factory is therefore the guard: it lets a blocked address through only inside
    ``to_proxy()``, on the proxy's port, when it is the proxy's (``admits``). Any other
    connection, whether to the proxy's name on another port, to its address, or to its own
    port from a URL the no-proxy list sends there directly, is judged on its own address.
    """

    def __init__(self, proxy: EgressProxy) -> None:
        self.host = _name(proxy.host)
        self.port = proxy.port
        literal = _address(proxy.host)
        self._addresses: set[IPAddress] = {literal} if literal is not None else set()

    def resolves(self, host: str, port: int, addresses: Sequence[str]) -> bool:
        """Whether an answer for ``host`` and ``port`` is the proxy's (its ``addresses`` are
        then noted): given unfiltered, for the socket factory to judge."""
        if port != self.port or _name(host) != self.host:
            return False
        self._addresses.update(a for a in map(_address, addresses) if a is not None)
        return True

    def admits(self, address: IPAddress, port: int) -> bool:
        """Whether a socket to ``address`` and ``port`` is the connection to the proxy."""
        return _TO_PROXY.get() and port == self.port and address in self._addresses


# Set while EgressConnector opens a connection to the proxy; tasks started inside (aiohttp's
# DNS lookup, happy eyeballs' connection attempts) copy it.
_TO_PROXY: ContextVar[bool] = ContextVar("hookline_to_proxy", default=False)


@contextmanager
def to_proxy() -> Iterator[None]:
    """Marks the connection opened inside as the one to the egress proxy."""
    token = _TO_PROXY.set(True)
    try:
        yield
    finally:
        _TO_PROXY.reset(token)


class Destinations:
    """Resolves the host of a request bound for the proxy; with ``allowed`` (outside dev
    mode), refuses it when any of its addresses is blocked."""

    def __init__(self, allowed: Sequence[Network] | None) -> None:
        self._resolver = DefaultResolver()
        self._allowed = None if allowed is None else tuple(allowed)

    @property
    def guarding(self) -> bool:
        return self._allowed is not None

    async def addresses(self, host: str, port: int) -> list[str]:
        literal = ip_literal(host)
        if literal is not None:
            found = [literal]
        else:
            results = await self._resolver.resolve(host, port, socket.AF_UNSPEC)
            found = [a for a in (_address(r["host"]) for r in results) if a is not None]
        if self._allowed is not None and (
            not found or any(is_blocked(a, self._allowed) for a in found)
        ):
            raise BlockedDestination(f"{host} resolves to a blocked address")
        return [str(a) for a in found]

    async def close(self) -> None:
        await self._resolver.close()


class EgressConnector(aiohttp.TCPConnector):
    """Sends each request through ``proxy`` unless its no-proxy list names the host;
    ``destinations`` resolves and checks the destination first."""

    def __init__(self, proxy: EgressProxy, *, destinations: Destinations, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._proxy = proxy
        self._destinations = destinations
        self._proxy_headers = _credentials(proxy)

    def _proxied(self, req: ClientRequest) -> bool:
        return self._proxy.routes(req.url.raw_host or "")

    async def connect(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> aiohttp.connector.Connection:
        """Check the destination of a request bound for the proxy (each one, a kept-alive
        connection to the proxy too) and, for an http(s) proxy, point it there."""
        if self._proxied(req) and self._proxy.remote_dns:
            if self._destinations.guarding:
                await self._checked(req)
            if not self._proxy.is_socks and req.proxy is None:
                self._through_http_proxy(req)
        return await super().connect(req, traces, timeout)

    def _through_http_proxy(self, req: ClientRequest) -> None:
        """Point ``req`` at the proxy. Its credentials go with the CONNECT of an https
        destination, and with the request itself (which the proxy reads) for an http one."""
        if req.is_ssl():
            req.update_proxy(self._proxy.url, None, self._proxy_headers)
        else:
            req.update_proxy(self._proxy.url, None, None)
            req.headers.update(self._proxy_headers)

    async def _create_connection(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> ResponseHandler:
        if self._proxy.is_socks and self._proxied(req):
            return await self._socks_connection(req, timeout)
        try:
            if req.proxy is None:
                return await super()._create_connection(req, traces, timeout)
            with to_proxy():
                return await super()._create_connection(req, traces, timeout)
        except aiohttp.ClientConnectorDNSError as exc:
            if req.proxy is None:
                raise
            # Through an http(s) proxy, only the proxy's own name is resolved here.
            raise ProxyFailure(req.connection_key, exc.os_error) from exc
        except aiohttp.ServerDisconnectedError as exc:
            if req.proxy is None:
                raise
            # Here only a CONNECT is answered: the proxy hung up instead.
            refused = OSError("the proxy closed the connection instead of answering CONNECT")
            raise ProxyFailure(req.connection_key, refused) from exc

    async def _socks_connection(
        self, req: ClientRequest, timeout: aiohttp.ClientTimeout
    ) -> ResponseHandler:
        host, port = req.url.raw_host or "", req.port or 0
        socks = SocksProxy(
            proxy_type=python_socks.ProxyType.SOCKS5,
            host=self._proxy.host,
            port=self._proxy.port,
            username=self._proxy.username,
            password=self._proxy.password,
            rdns=self._proxy.remote_dns,
        )
        targets = [host] if self._proxy.remote_dns else await self._checked(req)
        sslcontext = self._get_ssl_context(req)
        failure: Exception | None = None
        for target in targets:  # each address in turn, as a direct connection would
            try:
                sock = await socks.connect(dest_host=target, dest_port=port)
            except (
                python_socks.ProxyError,
                python_socks.ProxyConnectionError,
                python_socks.ProxyTimeoutError,
            ) as exc:
                failure = ProxyFailure(req.connection_key, OSError(str(exc)))
                continue
            _, proto = await self._wrap_existing_connection(
                self._factory,
                timeout=timeout,
                ssl=sslcontext,
                sock=sock,
                server_hostname=(req.server_hostname or host).rstrip(".") if sslcontext else None,
                req=req,
            )
            return proto
        assert failure is not None
        raise failure

    async def _checked(self, req: ClientRequest) -> list[str]:
        """The destination's addresses, all allowed. Refusals and names that do not resolve
        are raised as aiohttp's connection errors (a bare ``OSError`` would be rewrapped
        without its kind), as a direct connection would raise them."""
        try:
            return await self._destinations.addresses(req.url.raw_host or "", req.port or 0)
        except BlockedDestination as exc:
            raise aiohttp.ClientConnectorError(req.connection_key, exc) from exc
        except OSError as exc:
            if isinstance(exc, asyncio.TimeoutError):
                raise
            raise aiohttp.ClientConnectorDNSError(req.connection_key, exc) from exc

    async def close(self, **kwargs: Any) -> None:
        await self._destinations.close()
        await super().close(**kwargs)


def _credentials(proxy: EgressProxy) -> dict[str, str]:
    """The Proxy-Authorization header for the proxy's user and password (none without)."""
    if proxy.username is None and proxy.password is None:
        return {}
    pair = f"{proxy.username or ''}:{proxy.password or ''}".encode()
    return {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}


def _name(host: str) -> str:
    return host.rstrip(".").lower()


def _address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
