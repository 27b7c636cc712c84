"""Deliveries through a real egress proxy (pproxy processes on 127.0.0.3) to real receivers
on 127.0.0.1, in production mode: the guards are on and only the receivers' addresses are
allowed, so the proxy's own address (loopback, not allowed) is reached only because it is
the proxy's.

https receivers have a certificate from a test CA (trustme) that the process's default
verifying TLS context is taught to trust; the certificate names ``localhost`` only, so a
delivery to ``https://localhost:…`` succeeds only if TLS was started with that name.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import aiohttp.connector
import pytest
import trustme
from support.net import free_port
from support.proxy import Pproxy
from support.receiver import Receiver

from hookline.dispatch.egress import BlockedDestination, ProxyExemption, to_proxy
from hookline.dispatch.sender import AiohttpTransport, guarded_socket_factory, make_session
from hookline.dispatch.transport import MAX_REDIRECTS, OutboundRequest, SendResult
from hookline.domain.egress_proxy import EgressProxy, parse_no_proxy, parse_proxy
from hookline.domain.network_guard import Network

RECEIVERS: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.1/32"),
    ipaddress.ip_network("::1/128"),  # where localhost may also resolve
)
BODY = b'{"id":"evt_1","type":"order.created","data":{}}'


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def trusted(ca: trustme.CA) -> None:
    """The default context aiohttp verifies servers with trusts the test CA as well."""
    ca.configure_trust(aiohttp.connector._SSL_CONTEXT_VERIFIED)


@pytest.fixture(scope="module")
def plain() -> Iterator[Receiver]:
    with Receiver() as rcv:
        yield rcv


@pytest.fixture(scope="module")
def tls(ca: trustme.CA, trusted: None) -> Iterator[Receiver]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    with Receiver(ssl_context=context) as rcv:
        yield rcv


@pytest.fixture(scope="module")
def certificate(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The https proxy's certificate, for its address 127.0.0.3."""
    where = tmp_path_factory.mktemp("proxy-cert")
    cert = ca.issue_cert("127.0.0.3")
    cert.cert_chain_pems[0].write_to_path(str(where / "cert.pem"))
    cert.private_key_pem.write_to_path(str(where / "key.pem"))
    return where / "cert.pem", where / "key.pem"


@pytest.fixture(scope="module")
def http_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pproxy]:
    with Pproxy(tmp_path_factory.mktemp("http-proxy"), "http") as proxy:
        yield proxy


@pytest.fixture(scope="module")
def socks_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pproxy]:
    with Pproxy(tmp_path_factory.mktemp("socks-proxy"), "socks5") as proxy:
        yield proxy


@pytest.fixture(scope="module")
def https_proxy(
    tmp_path_factory: pytest.TempPathFactory, certificate: tuple[Path, Path], trusted: None
) -> Iterator[Pproxy]:
    with Pproxy(
        tmp_path_factory.mktemp("https-proxy"), "http+ssl", certificate=certificate
    ) as proxy:
        yield proxy


@pytest.fixture
async def sessions() -> AsyncIterator[list[aiohttp.ClientSession]]:
    opened: list[aiohttp.ClientSession] = []
    yield opened
    for session in opened:
        await session.close()


async def send(
    sessions: list[aiohttp.ClientSession],
    egress: EgressProxy,
    url: str,
    *,
    allowed: tuple[Network, ...] = RECEIVERS,
    open_network: bool = False,
    follow_redirects: bool = False,
) -> SendResult:
    session = make_session(open_network=open_network, allowed=allowed, limit=4, egress=egress)
    sessions.append(session)
    transport = AiohttpTransport(
        session, open_network=open_network, allowed=allowed, allow_http=True
    )
    return await transport.send(
        OutboundRequest(
            url=url,
            headers={"Content-Type": "application/json"},
            body=BODY,
            timeout=10,
            max_redirects=MAX_REDIRECTS if follow_redirects else 0,
        )
    )


def localhost(url: str) -> str:
    return url.replace("://127.0.0.1:", "://localhost:")


@pytest.fixture(scope="module")
def loopback_name() -> str:
    """A name of 127.0.0.1 that the URL rules do not refuse by name (localhost they do, at
    each redirect hop): this machine's host name, where it is one."""
    name = socket.gethostname()
    try:
        found = {info[4][0] for info in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)}
    except OSError:
        found = set()
    if found != {"127.0.0.1"}:
        pytest.skip(f"the host name {name!r} is not a name of 127.0.0.1 only here: {found}")
    return name


def destination(scheme: str) -> str:
    """What the proxy is asked to connect to for localhost: socks5 is given the address
    checked here, the others the name."""
    return "127.0.0.1" if scheme == "socks5" else "localhost"


@pytest.mark.parametrize("scheme", ["http", "socks5", "socks5h", "https"])
@pytest.mark.parametrize("target", ["plain", "tls"])
async def test_a_delivery_goes_through_the_proxy(
    request: pytest.FixtureRequest,
    sessions: list[aiohttp.ClientSession],
    scheme: str,
    target: str,
) -> None:
    proxy: Pproxy = request.getfixturevalue(
        {"http": "http_proxy", "https": "https_proxy"}.get(scheme, "socks_proxy")
    )
    receiver: Receiver = request.getfixturevalue(target)
    endpoint = receiver.endpoint(default=202)
    before = len(proxy.relayed())

    result = await send(
        sessions, parse_proxy(f"{scheme}://127.0.0.3:{proxy.port}"), localhost(endpoint.url)
    )

    assert (result.status_code, result.error) == (202, None), result
    (received,) = endpoint.requests
    assert received.body == BODY
    assert proxy.relayed()[before:] == [f"{destination(scheme)}:{receiver.port}"]


async def test_no_proxy_hosts_are_reached_directly(
    sessions: list[aiohttp.ClientSession], http_proxy: Pproxy, plain: Receiver
) -> None:
    endpoint = plain.endpoint(default=204)
    before = len(http_proxy.relayed())
    egress = parse_proxy(
        f"http://127.0.0.3:{http_proxy.port}", parse_no_proxy(["example.com", "127.0.0.0/8"])
    )

    direct = await send(sessions, egress, endpoint.url)
    proxied = await send(sessions, egress, localhost(endpoint.url))

    assert (direct.status_code, proxied.status_code) == (204, 204)
    assert len(endpoint.requests) == 2
    assert http_proxy.relayed()[before:] == [f"localhost:{plain.port}"]


@pytest.mark.parametrize("scheme", ["http", "socks5", "socks5h"])
async def test_a_name_of_a_blocked_address_is_refused_before_the_proxy_is_asked(
    request: pytest.FixtureRequest,
    sessions: list[aiohttp.ClientSession],
    plain: Receiver,
    scheme: str,
) -> None:
    """localhost is 127.0.0.1 (a receiver listens there), which only 127.0.0.2 may be."""
    proxy: Pproxy = request.getfixturevalue("http_proxy" if scheme == "http" else "socks_proxy")
    endpoint = plain.endpoint()
    before = len(proxy.relayed())
    only_another = (ipaddress.ip_network("127.0.0.2/32"),)

    result = await send(
        sessions,
        parse_proxy(f"{scheme}://127.0.0.3:{proxy.port}"),
        localhost(endpoint.url),
        allowed=only_another,
    )

    assert (result.status_code, result.error) == (None, "blocked_destination")
    assert endpoint.requests == []
    assert proxy.relayed()[before:] == []


async def test_dev_mode_sends_any_destination_to_the_proxy(
    sessions: list[aiohttp.ClientSession], http_proxy: Pproxy, plain: Receiver
) -> None:
    endpoint = plain.endpoint()

    result = await send(
        sessions,
        parse_proxy(f"http://127.0.0.3:{http_proxy.port}"),
        localhost(endpoint.url),
        allowed=(),
        open_network=True,
    )

    assert (result.status_code, result.error) == (200, None)
    assert len(endpoint.requests) == 1


@pytest.mark.parametrize("scheme", ["http", "socks5"])
async def test_each_redirect_hop_goes_through_the_proxy_and_is_checked(
    request: pytest.FixtureRequest,
    sessions: list[aiohttp.ClientSession],
    plain: Receiver,
    loopback_name: str,
    scheme: str,
) -> None:
    """The first hop, 127.0.0.2, is allowed; the second, a name of 127.0.0.1, only when
    127.0.0.1 is."""
    proxy: Pproxy = request.getfixturevalue("http_proxy" if scheme == "http" else "socks_proxy")
    egress = parse_proxy(f"{scheme}://127.0.0.3:{proxy.port}")
    final = plain.endpoint(default=201)
    hop = final.url.replace("://127.0.0.1:", f"://{loopback_name}:")
    named = loopback_name if scheme == "http" else "127.0.0.1"
    with Receiver(host="127.0.0.2") as other:
        first = other.endpoint(default=(307, {"Location": hop}))
        before = len(proxy.relayed())

        followed = await send(
            sessions,
            egress,
            first.url,
            allowed=(ipaddress.ip_network("127.0.0.0/30"),),
            follow_redirects=True,
        )

        assert (followed.status_code, followed.final_url) == (201, hop)
        assert proxy.relayed()[before:] == [f"127.0.0.2:{other.port}", f"{named}:{plain.port}"]
        assert len(final.requests) == 1

        before = len(proxy.relayed())
        refused = await send(
            sessions,
            egress,
            first.url,
            allowed=(ipaddress.ip_network("127.0.0.2/32"),),
            follow_redirects=True,
        )

        assert (refused.status_code, refused.error) == (None, "blocked_destination")
        assert (refused.final_url, len(first.requests)) == (hop, 2)
        assert len(final.requests) == 1
        assert proxy.relayed()[before:] == [f"127.0.0.2:{other.port}"]


@pytest.mark.parametrize("scheme", ["http", "https", "socks5", "socks5h"])
async def test_an_unreachable_proxy_is_a_proxy_error(
    sessions: list[aiohttp.ClientSession], plain: Receiver, scheme: str
) -> None:
    endpoint = plain.endpoint()
    closed = free_port("127.0.0.3")

    result = await send(sessions, parse_proxy(f"{scheme}://127.0.0.3:{closed}"), endpoint.url)

    assert (result.status_code, result.error) == (None, "proxy_error")
    assert endpoint.requests == []


async def test_a_proxy_whose_name_does_not_resolve_is_a_proxy_error(
    sessions: list[aiohttp.ClientSession], plain: Receiver
) -> None:
    result = await send(sessions, parse_proxy("http://proxy.invalid:3128"), plain.endpoint().url)
    assert (result.status_code, result.error) == (None, "proxy_error")


@pytest.mark.parametrize("scheme", ["http", "socks5"])
@pytest.mark.parametrize("target", ["plain", "tls"])
async def test_a_proxy_refusing_the_request_is_a_proxy_error(
    request: pytest.FixtureRequest,
    sessions: list[aiohttp.ClientSession],
    tmp_path: Path,
    scheme: str,
    target: str,
) -> None:
    """The proxy asks for credentials (407 to CONNECT and to a plain request; a SOCKS
    authentication failure): wrong ones are refused, the right ones let the request through."""
    receiver: Receiver = request.getfixturevalue(target)
    endpoint = receiver.endpoint()
    with Pproxy(tmp_path, scheme, credentials="hook:s3cret") as proxy:
        wrong = await send(
            sessions, parse_proxy(f"{scheme}://hook:guess@127.0.0.3:{proxy.port}"), endpoint.url
        )
        assert (wrong.status_code, wrong.error) == (None, "proxy_error")
        assert proxy.wait_refused() and endpoint.requests == []

        right = await send(
            sessions,
            parse_proxy(f"{scheme}://hook:s3cret@127.0.0.3:{proxy.port}"),
            localhost(endpoint.url),
        )
        assert (right.status_code, right.error) == (200, None), proxy.output()
        assert len(endpoint.requests) == 1


async def test_a_proxy_hanging_up_on_a_connect_is_a_proxy_error(
    sessions: list[aiohttp.ClientSession], tls: Receiver, tmp_path: Path
) -> None:
    """pproxy turns a blocked destination away by closing the connection, not with a 403."""
    endpoint = tls.endpoint()
    with Pproxy(tmp_path, "http", block="localhost") as proxy:
        result = await send(
            sessions, parse_proxy(f"http://127.0.0.3:{proxy.port}"), localhost(endpoint.url)
        )

        assert (result.status_code, result.error) == (None, "proxy_error")
        assert "BLOCK localhost" in proxy.output()
        assert endpoint.requests == []


async def test_a_proxy_named_by_its_host_name_is_reached(
    sessions: list[aiohttp.ClientSession], tmp_path: Path
) -> None:
    """The proxy is localhost (127.0.0.1), the receiver 127.0.0.2, the only address allowed:
    what the proxy's name resolves to is exempt from the connect-time check."""
    with (
        Pproxy(tmp_path, "http", host="127.0.0.1") as proxy,
        Receiver(host="127.0.0.2") as other,
    ):
        endpoint = other.endpoint(default=204)

        result = await send(
            sessions,
            parse_proxy(f"http://localhost:{proxy.port}"),
            endpoint.url,
            allowed=(ipaddress.ip_network("127.0.0.2/32"),),
        )

        assert (result.status_code, result.error) == (204, None), result
        assert proxy.relayed() == [f"127.0.0.2:{other.port}"]


def test_only_the_connection_to_the_proxy_is_exempt_from_the_connect_time_check() -> None:
    """Its address on its port, while the connector opens the connection to the proxy."""
    exempt = ProxyExemption(parse_proxy("http://127.0.0.3:3128"))
    factory = guarded_socket_factory((), exempt)

    def connect(address: str, port: int) -> socket.socket:
        return factory(
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))
        )

    with to_proxy():
        connect("127.0.0.3", 3128).close()
        for other, port in (("127.0.0.3", 1), ("127.0.0.4", 3128), ("10.0.0.3", 3128)):
            with pytest.raises(BlockedDestination):
                connect(other, port)
    with pytest.raises(BlockedDestination):  # the same address and port, connected directly
        connect("127.0.0.3", 3128)
    unguarded = guarded_socket_factory(())
    with pytest.raises(BlockedDestination), to_proxy():
        unguarded((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.3", 3128)))
