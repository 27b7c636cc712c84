"""hookline.dispatch.sender.AiohttpTransport against real receivers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import AsyncIterator
from email.utils import formatdate

import aiohttp
import pytest
from aiohttp import web
from support.net import free_port
from support.receiver import HANG, Receiver, Reply

from hookline.dispatch.sender import MAX_RESPONSE_BYTES, AiohttpTransport, make_session
from hookline.dispatch.transport import MAX_REDIRECTS, OutboundRequest, SendResult

BODY = b'{"id":"evt_1","type":"order.created","data":{"n":1}}'
HEADERS = {"Content-Type": "application/json", "User-Agent": "Hookline-Webhook/1.0"}
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    sess = make_session(open_network=True, allowed=(), limit=10)
    yield sess
    await sess.close()


async def post(
    session: aiohttp.ClientSession,
    url: str,
    *,
    timeout: float = 5.0,
    follow_redirects: bool = False,
    open_network: bool = True,
) -> SendResult:
    transport = AiohttpTransport(session, open_network=open_network)
    return await transport.send(request(url, timeout=timeout, follow_redirects=follow_redirects))


def request(url: str, *, timeout: float = 5.0, follow_redirects: bool = False) -> OutboundRequest:
    return OutboundRequest(
        url=url,
        headers=HEADERS,
        body=BODY,
        timeout=timeout,
        max_redirects=MAX_REDIRECTS if follow_redirects else 0,
    )


def answer(status: int, text: str = "", **headers: str) -> Reply:
    return Reply(status=status, body=text, headers=headers)


async def test_2xx_returns_status_headers_and_body(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    receiver.endpoint(path="/hook", default=answer(202, "thanks", **{"X-Receiver": "r1"}))

    result = await post(session, receiver.url("/hook"))

    assert result.status_code == 202
    assert result.error is None
    assert result.body == "thanks"
    assert result.truncated is False
    assert result.headers["X-Receiver"] == "r1"
    assert result.duration_ms > 0
    assert result.final_url == receiver.url("/hook")
    ((method, path, headers, body),) = [
        (r.method, r.path, r.headers, r.body) for r in receiver.requests
    ]
    assert (method, path, body) == ("POST", "/hook", BODY)
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "Hookline-Webhook/1.0"
    assert "Accept-Encoding" not in headers
    assert "Cookie" not in headers


async def test_500_is_a_response_not_an_error(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    receiver.endpoint(path="/hook", default=answer(500, "boom"))

    result = await post(session, receiver.url("/hook"))

    assert (result.status_code, result.error, result.body) == (500, None, "boom")


async def test_slow_receiver_times_out(receiver: Receiver, session: aiohttp.ClientSession) -> None:
    receiver.endpoint(path="/hook", default=HANG)

    started = time.monotonic()
    result = await post(session, receiver.url("/hook"), timeout=0.3)

    assert result.error == "timeout"
    assert result.status_code is None
    assert 0.25 <= time.monotonic() - started < 2.0
    assert 250 <= result.duration_ms < 2000


async def test_slow_body_counts_against_the_same_timeout(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    async def trickle(request: web.BaseRequest) -> web.StreamResponse:
        resp = web.StreamResponse(status=200)
        await resp.prepare(request)
        await resp.write(b"partial")
        await receiver.released()
        return resp

    receiver.endpoint(path="/hook", handler=trickle)

    result = await post(session, receiver.url("/hook"), timeout=0.3)

    assert result.error == "timeout"
    assert result.status_code is None


async def test_connection_refused_is_connect_error(session: aiohttp.ClientSession) -> None:
    port = free_port()
    # Nothing listens on the port any more.
    result = await post(session, f"http://127.0.0.1:{port}/hook")

    assert result.error == "connect_error"
    assert result.status_code is None


@pytest.mark.parametrize(
    ("size", "truncated"),
    [(MAX_RESPONSE_BYTES, False), (MAX_RESPONSE_BYTES + 1, True), (1024 * 1024, True)],
)
async def test_response_body_is_cut_at_64_kib(
    receiver: Receiver, session: aiohttp.ClientSession, size: int, truncated: bool
) -> None:
    async def big(request: web.BaseRequest) -> web.StreamResponse:
        # Streamed in small chunks over a few milliseconds, as a real server would.
        resp = web.StreamResponse(status=200)
        resp.content_length = size
        await resp.prepare(request)
        chunk = b"a" * 8192
        sent = 0
        while sent < size:
            part = chunk[: size - sent]
            await resp.write(part)
            sent += len(part)
            if sent <= 2 * MAX_RESPONSE_BYTES:
                await asyncio.sleep(0.002)
        await resp.write_eof()
        return resp

    receiver.endpoint(path="/hook", handler=big)

    result = await post(session, receiver.url("/hook"))

    assert result.status_code == 200
    assert result.error is None
    assert result.truncated is truncated
    assert len(result.body) == min(size, MAX_RESPONSE_BYTES)


async def test_non_utf8_body_is_kept_as_text(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    async def latin(request: web.BaseRequest) -> web.StreamResponse:
        return web.Response(body=b"caf\xe9", content_type="text/plain")

    receiver.endpoint(path="/hook", handler=latin)

    result = await post(session, receiver.url("/hook"))

    assert result.body == "caf\ufffd"


async def test_redirect_is_a_failure_unless_followed(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    receiver.endpoint(path="/old", default=answer(301, Location="/new"))
    receiver.endpoint(path="/new", default=answer(200, "moved here"))

    result = await post(session, receiver.url("/old"))

    assert result.status_code == 301
    assert result.error is None
    assert result.headers["Location"] == "/new"
    assert [r.path for r in receiver.requests] == ["/old"]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_followed_when_asked(
    receiver: Receiver, session: aiohttp.ClientSession, status: int
) -> None:
    receiver.endpoint(path="/old", default=answer(status, Location="/new"))
    receiver.endpoint(path="/new", default=answer(200, "moved here"))

    result = await post(session, receiver.url("/old"), follow_redirects=True)

    assert (result.status_code, result.error, result.body) == (200, None, "moved here")
    assert result.final_url == receiver.url("/new")
    assert [(r.method, r.path, r.body) for r in receiver.requests] == [
        ("POST", "/old", BODY),
        ("POST", "/new", BODY),
    ]


async def test_five_hops_are_followed_and_a_sixth_is_too_many(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    for n in range(6):
        receiver.endpoint(path=f"/r{n}", default=answer(307, Location=f"/r{n + 1}"))
    receiver.endpoint(path="/r6", default=answer(200, "end"))

    five = await post(session, receiver.url("/r1"), follow_redirects=True)
    assert (five.status_code, five.error) == (200, None)
    assert five.final_url == receiver.url("/r6")

    receiver.clear()
    six = await post(session, receiver.url("/r0"), follow_redirects=True)
    assert six.error == "too_many_redirects"
    assert six.status_code == 307
    assert len(receiver.requests) == 6
    assert "/r6" not in [r.path for r in receiver.requests]


async def test_every_redirect_hop_is_checked_against_the_blocklist(receiver: Receiver) -> None:
    # 127.0.0.1 is allowed; the redirect points at 127.0.0.2, which is not.
    receiver.endpoint(path="/hook", default=answer(302, Location="http://127.0.0.2/steal"))
    only_one = (ipaddress.ip_network("127.0.0.1/32"),)
    session = make_session(open_network=False, allowed=only_one, limit=4)
    try:
        transport = AiohttpTransport(session, open_network=False, allowed=only_one)
        result = await transport.send(request(receiver.url("/hook"), follow_redirects=True))
    finally:
        await session.close()

    assert result.error == "blocked_destination"
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("status", "value", "expected"),
    [
        (429, "7", 7.0),
        (503, "1.5", 1.5),
        (503, "-3", 0.0),
        (429, "soon", None),
        (200, None, None),
    ],
)
async def test_retry_after_seconds_are_parsed(
    receiver: Receiver,
    session: aiohttp.ClientSession,
    status: int,
    value: str | None,
    expected: float | None,
) -> None:
    headers = {} if value is None else {"Retry-After": value}
    receiver.endpoint(path="/hook", default=answer(status, **headers))

    result = await post(session, receiver.url("/hook"))

    assert result.status_code == status
    assert result.retry_after == expected


async def test_retry_after_http_date_is_parsed(
    receiver: Receiver, session: aiohttp.ClientSession
) -> None:
    receiver.endpoint(
        path="/hook",
        default=answer(503, **{"Retry-After": formatdate(time.time() + 120, usegmt=True)}),
    )

    result = await post(session, receiver.url("/hook"))

    assert result.retry_after is not None
    assert 100 < result.retry_after <= 121


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "2130706433", "0x7f.1"])
async def test_loopback_is_blocked_outside_dev_mode(receiver: Receiver, host: str) -> None:
    receiver.endpoint(path="/hook", default=answer(200))
    session = make_session(open_network=False, allowed=(), limit=4)
    try:
        transport = AiohttpTransport(session, open_network=False)
        result = await transport.send(request(receiver.url("/hook", host=host)))
    finally:
        await session.close()

    assert result.error == "blocked_destination"
    assert result.status_code is None
    assert receiver.requests == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_allowed_networks_open_loopback(receiver: Receiver, host: str) -> None:
    receiver.endpoint(path="/hook", default=answer(204))
    session = make_session(open_network=False, allowed=LOOPBACK, limit=4)
    try:
        transport = AiohttpTransport(session, open_network=False, allowed=LOOPBACK)
        result = await transport.send(request(receiver.url("/hook", host=host)))
    finally:
        await session.close()

    assert (result.status_code, result.error) == (204, None)
    assert len(receiver.requests) == 1


async def guarded_send(url: str, *, allow_http: bool) -> SendResult:
    """A send outside dev mode with loopback opened, following redirects."""
    session = make_session(open_network=False, allowed=LOOPBACK, limit=4)
    try:
        transport = AiohttpTransport(
            session, open_network=False, allowed=LOOPBACK, allow_http=allow_http
        )
        return await transport.send(request(url, follow_redirects=True))
    finally:
        await session.close()


async def test_a_redirect_to_http_needs_http_allowed(receiver: Receiver) -> None:
    receiver.endpoint(path="/old", default=answer(302, Location="/new"))
    receiver.endpoint(path="/new", default=answer(200, "moved here"))

    refused = await guarded_send(receiver.url("/old"), allow_http=False)
    assert (refused.error, refused.status_code) == ("insecure_redirect", None)
    assert refused.final_url == receiver.url("/old")  # the last URL posted to
    assert [r.path for r in receiver.requests] == ["/old"]

    receiver.clear()
    followed = await guarded_send(receiver.url("/old"), allow_http=True)
    assert (followed.error, followed.status_code) == (None, 200)
    assert followed.final_url == receiver.url("/new")
    assert [r.path for r in receiver.requests] == ["/old", "/new"]


@pytest.mark.parametrize(
    ("location", "error"),
    [
        ("http://169\u3002254\u3002169\u3002254/latest", "blocked_destination"),  # metadata
        ("http://localhost/x", "blocked_destination"),
        ("http://[::1", "invalid_redirect"),
        ("ftp://127.0.0.1/x", "invalid_redirect"),
        ("http://user:pw@127.0.0.1/x", "invalid_redirect"),
    ],
)
async def test_each_redirect_hop_passes_the_webhook_url_rules(
    receiver: Receiver, location: str, error: str
) -> None:
    receiver.endpoint(path="/hook", default=answer(307, Location=location))

    result = await guarded_send(receiver.url("/hook"), allow_http=True)

    assert result.error == error
    assert result.final_url == receiver.url("/hook")
    assert len(receiver.requests) == 1
