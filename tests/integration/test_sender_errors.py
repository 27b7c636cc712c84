"""The attempt error of a connection that ends without an answer, against real servers on
127.0.0.1: a TLS handshake refused for want of a client certificate, and a connection reset
after the request went out.

An endpoint that requires a client certificate ends the handshake of a client that has none.
Under TLS 1.2 the client learns it during its handshake; under TLS 1.3 the client's side of
the handshake is complete before the server checks, so the client sends its request and then
reads what the server did: an alert (``certificate_required``, what OpenSSL-based servers
send), or, from a server that drops the connection without one (Python's asyncio TLS, hence
aiohttp's), a close. That close is a FIN when the request has not arrived yet, and a reset
when it lies unread in the server's buffer: which one depends on who runs first, so a
loaded machine sees either. Each is the endpoint refusing the handshake: ``tls_error`` for
an alert, ``connection_closed`` for a close, never ``network_error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import threading
from collections.abc import AsyncIterator

import aiohttp
import pytest
import trustme
from aiohttp import web
from test_sender import post, session  # noqa: F401 (the session fixture)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def trusted(ca: trustme.CA) -> None:
    """The default context aiohttp verifies servers with trusts the test CA as well."""
    ca.configure_trust(aiohttp.connector._SSL_CONTEXT_VERIFIED)


def requiring_a_client_certificate(ca: trustme.CA, version: ssl.TLSVersion) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = context.maximum_version = version
    return context


class AlertingServer:
    """A TLS server that, as OpenSSL-based servers do, answers a handshake without a client
    certificate with an alert; it then reads what the client still sends until the client
    hangs up, so that its own close is never a reset."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = self._listener.getsockname()[1]
        self.url = f"https://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> AlertingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._thread.join(10)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                raw, _ = self._listener.accept()
            except TimeoutError:
                continue
            raw.settimeout(5)
            tls = self._context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
            with tls, contextlib.suppress(OSError):
                try:
                    tls.do_handshake()
                except ssl.SSLError:  # refused: the alert went out
                    tls.shutdown(socket.SHUT_WR)
                    while tls.recv(4096):
                        pass


@pytest.mark.parametrize(
    "version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["TLSv1.2", "TLSv1.3"]
)
async def test_a_handshake_refused_with_an_alert_is_a_tls_error(
    session: aiohttp.ClientSession,  # noqa: F811
    ca: trustme.CA,
    trusted: None,
    version: ssl.TLSVersion,
) -> None:
    """TLS 1.2: the handshake fails (aiohttp's ClientConnectorSSLError); TLS 1.3: the alert
    comes after it, as the answer is read (a ClientOSError from the ssl.SSLError)."""
    with AlertingServer(requiring_a_client_certificate(ca, version)) as server:
        for _ in range(3):
            result = await post(session, server.url)
            assert (result.status_code, result.error) == (None, "tls_error")


@pytest.fixture
async def dropping(ca: trustme.CA) -> AsyncIterator[str]:
    """An aiohttp https endpoint in this event loop, requiring a client certificate under
    TLS 1.3: it drops a connection without one, without an alert. Running in the client's
    loop, it gets to the client's Finished after the client sent its request, so it closes
    with the request unread: a reset."""

    async def ok(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    context = requiring_a_client_certificate(ca, ssl.TLSVersion.TLSv1_3)
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.Server)
    yield f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
    await runner.cleanup()


async def test_a_handshake_refused_by_dropping_the_connection_closed_it(
    session: aiohttp.ClientSession,  # noqa: F811
    dropping: str,
    trusted: None,
) -> None:
    for _ in range(5):
        result = await post(session, dropping)
        assert (result.status_code, result.error) == (None, "connection_closed")


@pytest.fixture
async def resetting() -> AsyncIterator[str]:
    """An http endpoint that reads a request's head and resets the connection."""

    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()

    server = await asyncio.start_server(reset, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
    server.close()
    await server.wait_closed()


async def test_a_connection_reset_before_the_answer_is_connection_closed(
    session: aiohttp.ClientSession,  # noqa: F811
    resetting: str,
) -> None:
    result = await post(session, resetting)
    assert (result.status_code, result.error) == (None, "connection_closed")


def test_the_alerting_server_refuses_only_a_handshake_without_a_certificate(
    ca: trustme.CA,
) -> None:
    """With a certificate of ``ca`` the TLS 1.2 handshake (which the server's check is part
    of) completes: the alert tests see the refusal of a missing certificate, nothing else."""
    server_context = requiring_a_client_certificate(ca, ssl.TLSVersion.TLSv1_2)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    ca.issue_cert("hookline-client").configure_cert(client_context)
    with AlertingServer(server_context) as server:
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        with client_context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() == "TLSv1.2"
