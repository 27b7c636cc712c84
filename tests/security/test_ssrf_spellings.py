"""Spellings of blocked addresses: every one the HTTP client would turn into a blocked address
is refused by ``check_url``, and the connection itself is refused whatever the spelling.

yarl (the parser aiohttp uses) maps Unicode hosts to ASCII (IDNA / UTS-46: ideographic and
fullwidth dots, fullwidth digits and letters), and the C library reads legacy IPv4 forms
(``0x7f.1``, ``2130706433``, ``0177.0.0.1``). The generated spellings combine these; the
decision must be made on the host the client will use, not on the text as written.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from support.receiver import Receiver, Reply
from yarl import URL

from hookline.dispatch.sender import (
    AiohttpTransport,
    BlockedDestination,
    guarded_socket_factory,
    make_session,
)
from hookline.dispatch.transport import OutboundRequest
from hookline.domain.network_guard import (
    IPAddress,
    check_url,
    ip_literal,
    is_blocked,
    parse_networks,
)
from hookline.errors import Invalid

BLOCKED_V4 = [
    ipaddress.ip_network(n)
    for n in (
        "127.0.0.0/8",  # loopback
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",  # private
        "169.254.0.0/16",  # link-local
        "169.254.169.254/32",  # cloud metadata
        "100.64.0.0/10",  # CGNAT
        "0.0.0.0/32",  # unspecified
    )
]
BLOCKED_V6 = [
    ipaddress.ip_network(n)
    for n in ("::1/128", "::/128", "fe80::/10", "fc00::/7", "fd00:ec2::254/128")
]
DOTS = [".", "\u3002", "\uff0e", "\uff61"]  # full stop, ideographic, fullwidth, halfwidth
REFUSED = {"url_not_allowed", "invalid_url"}

# More examples than the default: each is cheap, and the spellings combine many choices.
many = settings(max_examples=300, deadline=None)


def address_in(
    networks: list[ipaddress.IPv4Network] | list[ipaddress.IPv6Network],
) -> st.SearchStrategy[IPAddress]:
    return st.sampled_from(networks).flatmap(
        lambda net: st.integers(0, net.num_addresses - 1).map(lambda i: net[i])
    )


def fullwidth(text: str) -> str:
    """The fullwidth form (U+FF01..) of ASCII letters and digits."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


@st.composite
def number(draw: st.DrawFn, value: int) -> str:
    """``value`` in decimal, hex (any case, leading zeros) or octal, as inet_aton reads them."""
    form = draw(st.sampled_from(["dec", "hex", "oct"]))
    if form == "dec":
        return str(value)
    if form == "oct":
        return "0" + "0" * draw(st.integers(0, 2)) + format(value, "o")
    digits = "0" * draw(st.integers(0, 2)) + format(value, "x")
    spelled = "".join(c.upper() if draw(st.booleans()) else c for c in digits)
    return draw(st.sampled_from(["0x", "0X"])) + spelled


@st.composite
def ipv4_spelling(draw: st.DrawFn, address: ipaddress.IPv4Address) -> str:
    """A host naming ``address``: 1 to 4 parts (``a``, ``a.b``, ``a.b.c``, ``a.b.c.d``), each in
    any base, joined by any dot, some characters fullwidth, maybe a trailing dot."""
    value = int(address)
    octets = list(address.packed)
    shape = draw(st.sampled_from([4, 3, 2, 1]))
    if shape == 4:
        parts = octets
    elif shape == 3:
        parts = [octets[0], octets[1], value & 0xFFFF]
    elif shape == 2:
        parts = [octets[0], value & 0xFFFFFF]
    else:
        parts = [value]
    spelled = [draw(number(p)) for p in parts]
    host = spelled[0]
    for part in spelled[1:]:
        host += draw(st.sampled_from(DOTS)) + part
    if draw(st.booleans()):
        host = "".join(fullwidth(c) if draw(st.booleans()) else c for c in host)
    if draw(st.integers(0, 4)) == 0:
        host += draw(st.sampled_from(DOTS))
    return host


@st.composite
def ipv6_spelling(draw: st.DrawFn, address: ipaddress.IPv6Address) -> str:
    """A bracketed host naming ``address``: compressed or expanded, any case, maybe a zone."""
    text = draw(st.sampled_from([address.compressed, address.exploded]))
    text = "".join(c.upper() if draw(st.booleans()) else c for c in text)
    if address.is_link_local and draw(st.booleans()):
        text += "%25" + draw(st.sampled_from(["lo", "eth0", "1"]))
    return f"[{text}]"


@st.composite
def embedded_v4_spelling(draw: st.DrawFn, address: ipaddress.IPv4Address) -> str:
    """A blocked IPv4 address inside IPv6: mapped (dotted or hex tail), 6to4 or NAT64."""
    high, low = int(address) >> 16, int(address) & 0xFFFF
    form = draw(st.sampled_from(["mapped-dotted", "mapped-hex", "expanded", "6to4", "nat64"]))
    text = {
        "mapped-dotted": f"::ffff:{address}",
        "mapped-hex": f"::ffff:{high:x}:{low:x}",
        "expanded": f"0:0:0:0:0:ffff:{high:04x}:{low:04x}",
        "6to4": f"2002:{high:x}:{low:x}::",
        "nat64": f"64:ff9b::{high:x}:{low:x}",
    }[form]
    return "[" + "".join(c.upper() if draw(st.booleans()) else c for c in text) + "]"


def percent_encoded(host: str, which: list[bool]) -> str:
    """``host`` with some characters written as ``%XX``."""
    out = ""
    for i, ch in enumerate(host):
        encode = which[i % len(which)] and ch not in "[]:"
        out += "".join(f"%{b:02X}" for b in ch.encode()) if encode else ch
    return out


blocked_hosts = st.one_of(
    address_in(BLOCKED_V4).flatmap(ipv4_spelling),
    address_in(BLOCKED_V4).flatmap(embedded_v4_spelling),
    address_in(BLOCKED_V6).flatmap(ipv6_spelling),
    st.builds(
        percent_encoded,
        address_in(BLOCKED_V4).flatmap(ipv4_spelling),
        st.lists(st.booleans(), min_size=1, max_size=4).filter(any),
    ),
    st.tuples(
        st.sampled_from(
            ["localhost", "LOCALHOST", "localhost.", "LocalHost.LocalDomain", "a.localhost"]
        ),
        st.booleans(),
    ).map(lambda spelled: fullwidth(spelled[0]) if spelled[1] else spelled[0]),
)


def url_with(host: str, port: int | None, path: str) -> str:
    return f"https://{host}{'' if port is None else f':{port}'}{path}"


ports = st.none() | st.integers(1, 65535)
paths = st.sampled_from(["", "/", "/x", "/hook?a=1", "/caf\u00e9#frag"])


def refusal(url: str, *, open_network: bool = False) -> str | None:
    try:
        check_url(url, allow_http=True, open_network=open_network)
    except Invalid as exc:
        return exc.error_code
    return None


@many
@given(blocked_hosts, ports, paths)
@example("127\u30020\u30020\u30021", 9443, "/x")  # the reported bypass
@example("\uff11\uff12\uff17.0.0.1", None, "/")
@example("0x7f\uff0e1", None, "/")
@example("[::ffff:127.0.0.1]", None, "/")
@example("[fe80::1%25eth0]", 443, "/")
@example("169\uff61254\uff61169\uff61254", 80, "/latest/meta-data/")
def test_every_spelling_of_a_blocked_address_is_refused(
    host: str, port: int | None, path: str
) -> None:
    url = url_with(host, port, path)
    assert refusal(url) in REFUSED, url


@many
@given(blocked_hosts, ports, paths)
def test_an_open_network_accepts_every_well_formed_spelling(
    host: str, port: int | None, path: str
) -> None:
    url = url_with(host, port, path)
    assert refusal(url, open_network=True) in (None, "invalid_url"), url


@many
@given(address_in(BLOCKED_V4).flatmap(ipv4_spelling))
def test_the_spelling_is_judged_on_the_address_the_client_uses(host: str) -> None:
    """What yarl yields for the host is, for the C library, exactly the blocked address."""
    raw = URL(f"https://{host}/").raw_host
    assert raw is not None
    address = ip_literal(raw.rstrip("."))
    assert address is not None and is_blocked(address), (host, raw)


# Hosts from an alphabet of everything that can make a spelling: any accepted URL must not
# name a blocked address, for yarl, for ``ipaddress`` or for the C library.
HOST_ALPHABET = (
    "0123456789abcdefnxX.:[]%-_l" + "".join(DOTS) + fullwidth("0179afx") + "\u2460\u246b"
)


def numeric_addresses(host: str) -> list[IPAddress]:
    """The addresses the C library reads ``host`` as, without DNS (``AI_NUMERICHOST``)."""
    try:
        infos = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError, ValueError):
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def checked(url: str) -> str | Invalid:
    """The URL as ``check_url`` stores it, or its refusal."""
    try:
        return check_url(url, allow_http=False, open_network=False)
    except Invalid as refused:
        return refused


@many
@given(st.text(HOST_ALPHABET, min_size=1, max_size=24), ports)
@example("127\u30020\u30020\u30021", None)
@example("2130706433", None)
@example("0x7f.1", None)
@example("\u246b\u2466.0.0.1", None)  # circled 12 and 7
@example("xn--zz", None)  # an xn-- label IDNA cannot decode
def test_an_accepted_url_never_names_a_blocked_address(host: str, port: int | None) -> None:
    url = url_with(host, port, "/x")
    normalised = checked(url)
    if isinstance(normalised, Invalid):
        assert normalised.error_code in (REFUSED | {"https_required"})
        return
    for spelled in (url, normalised):
        raw = URL(spelled).raw_host or ""
        for candidate in (raw, raw.rstrip(".")):
            address = ip_literal(candidate)
            assert address is None or not is_blocked(address), (url, raw)
            for numeric in numeric_addresses(candidate):
                assert not is_blocked(numeric), (url, raw, numeric)
    # The stored form is stable: checking it again gives it back unchanged.
    assert check_url(normalised, allow_http=False, open_network=False) == normalised


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        (
            "https://B\u00fccher.Example/Caf\u00e9?q=\u00e9#f",
            "https://xn--bcher-kva.example/Caf%C3%A9?q=%C3%A9#f",
        ),
        ("HTTPS://EXAMPLE.COM:443/\u00e9/./x/../y", "https://example.com/%C3%A9/y"),
        ("https://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\u3002com/x", "https://example.com/x"),
        ("https://93.184.216.34:8443/", "https://93.184.216.34:8443/"),
    ],
)
def test_the_url_is_stored_as_it_is_sent(url: str, normalised: str) -> None:
    assert check_url(url, allow_http=False, open_network=False) == normalised


# -- the connection itself --------------------------------------------------------------------


@pytest.fixture
async def loopback_receiver() -> AsyncIterator[Receiver]:
    """A real receiver on 127.0.0.1 answering ``/fine``; it records whatever reaches it."""
    async with Receiver() as rcv:
        rcv.endpoint(path="/fine", default=Reply(body="secret from loopback"))
        yield rcv


def test_the_socket_factory_refuses_a_blocked_sockaddr() -> None:
    factory = guarded_socket_factory(())
    for family, sockaddr in [
        (socket.AF_INET, ("127.0.0.1", 80)),
        (socket.AF_INET, ("169.254.169.254", 80)),
        (socket.AF_INET6, ("::1", 80, 0, 0)),
        (socket.AF_INET6, ("::ffff:10.0.0.1", 80, 0, 0)),
        (socket.AF_INET6, ("fe80::1%1", 80, 0, 1)),
    ]:
        with pytest.raises(BlockedDestination):
            factory((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
    opened = guarded_socket_factory(parse_networks(["127.0.0.1/32"]))
    sock = opened((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", 80)))
    sock.close()
    # Only a canonical address is judged: a form the OS would resolve again is refused.
    for host in ("127.1", "2130706433", "localhost"):
        with pytest.raises(BlockedDestination):
            opened((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, 80)))


async def test_the_connection_is_refused_even_when_no_resolver_is_asked(
    loopback_receiver: Receiver,
) -> None:
    """The session posts straight to an IP literal (no resolver, no pre-check by the transport):
    the socket factory alone refuses the blocked address; the receiver gets nothing."""
    port = loopback_receiver.port
    session = make_session(open_network=False, allowed=(), limit=4)
    try:
        for host in ("127.0.0.1", "[::ffff:127.0.0.1]"):
            with pytest.raises(aiohttp.ClientConnectorError) as caught:
                async with session.post(f"http://{host}:{port}/leak", data=b"{}"):
                    pass
            assert isinstance(caught.value.os_error, BlockedDestination), host
    finally:
        await session.close()
    seen = [r.path for r in loopback_receiver.requests]
    assert seen == []


async def test_a_unicode_spelling_sent_directly_is_blocked_at_the_attempt(
    loopback_receiver: Receiver,
) -> None:
    """A URL stored before it was normalised still cannot reach loopback."""
    port = loopback_receiver.port
    session = make_session(open_network=False, allowed=(), limit=4)
    transport = AiohttpTransport(session, open_network=False, allow_http=True)
    try:
        for url in (
            f"http://127\u30020\u30020\u30021:{port}/leak",
            f"http://\uff11\uff12\uff17.0.0.1:{port}/leak",
        ):
            result = await transport.send(
                OutboundRequest(
                    url=url, headers={"Content-Type": "application/json"}, body=b"{}", timeout=5
                )
            )
            assert result.error == "blocked_destination", url
            assert result.status_code is None
    finally:
        await session.close()
    seen = [r.path for r in loopback_receiver.requests]
    assert seen == []


async def test_the_connection_check_opens_for_allowed_networks(
    loopback_receiver: Receiver,
) -> None:
    port = loopback_receiver.port
    allowed = parse_networks(["127.0.0.1/32"])
    session = make_session(open_network=False, allowed=allowed, limit=4)
    try:
        async with session.post(f"http://127.0.0.1:{port}/fine", data=b"{}") as resp:
            assert resp.status == 200
    finally:
        await session.close()
    seen = [r.path for r in loopback_receiver.requests]
    assert seen == ["/fine"]
