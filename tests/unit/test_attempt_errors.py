"""Attempt errors: every one documented, and the sender's table from what aiohttp, ssl and the
OS raise to them, exceptions built as aiohttp builds them."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

from hookline.dispatch.egress import BlockedDestination, ProxyFailure
from hookline.dispatch.sender import attempt_error
from hookline.domain.attempt_errors import (
    INTERNAL_SENTENCE,
    SENTENCES,
    AttemptError,
    sentence,
)

DOCS = Path(__file__).parents[2] / "docs"
KEY = ConnectionKey("receiver.example", 443, True, True, None, None, None, "receiver.example")


def test_every_attempt_error_is_documented() -> None:
    """Attempt errors in configuration.md's table; a token request's own in delivery-options.md."""
    table = (DOCS / "configuration.md").read_text().split("## Attempt errors")[1].split("\n## ")[0]
    token_requests = (DOCS / "delivery-options.md").read_text()
    for error in AttemptError:
        token = error in (AttemptError.TOKEN_REFUSED, AttemptError.INVALID_TOKEN_RESPONSE)
        assert f"`{error.value}`" in (token_requests if token else table), error


def test_every_attempt_error_reads_as_a_sentence() -> None:
    assert set(SENTENCES) == set(AttemptError)
    assert all(text[0].isupper() and text.endswith(".") for text in SENTENCES.values())
    assert sentence("dns_error") == "The name could not be resolved."
    assert sentence("internal_error: record: OSError") == INTERNAL_SENTENCE
    assert sentence("something_newer") is None
    assert sentence(None) is None


def test_the_values_are_the_wire_values() -> None:
    assert AttemptError("tls_error") is AttemptError.TLS_ERROR
    assert [e for e in AttemptError if e.value != e.name.lower()] == []


def caused(exc: BaseException, cause: BaseException) -> BaseException:
    """``exc`` raised from ``cause``, as aiohttp re-raises what a connection was lost with."""
    exc.__cause__ = cause
    return exc


EXCEPTIONS = [
    (TimeoutError(), AttemptError.TIMEOUT),
    (aiohttp.SocketTimeoutError("Timeout on reading data from socket"), AttemptError.TIMEOUT),
    (
        BlockedDestination("connection to a blocked address refused"),
        AttemptError.BLOCKED_DESTINATION,
    ),
    (
        aiohttp.ClientConnectorError(KEY, BlockedDestination("a blocked address")),
        AttemptError.BLOCKED_DESTINATION,
    ),
    (
        aiohttp.ClientConnectorDNSError(KEY, BlockedDestination("resolves only to blocked")),
        AttemptError.BLOCKED_DESTINATION,
    ),
    (
        aiohttp.ClientConnectorDNSError(KEY, socket.gaierror(-2, "Name or service not known")),
        AttemptError.DNS_ERROR,
    ),
    (
        aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(111, "Connection refused")),
        AttemptError.CONNECT_ERROR,
    ),
    (
        aiohttp.ClientConnectorError(KEY, ConnectionResetError(104, "reset while connecting")),
        AttemptError.CONNECT_ERROR,
    ),
    (ProxyFailure(KEY, OSError("the proxy closed the connection")), AttemptError.PROXY_ERROR),
    (aiohttp.ClientHttpProxyError(None, (), status=403), AttemptError.PROXY_ERROR),  # type: ignore[arg-type]
    (
        aiohttp.ClientConnectorCertificateError(
            KEY, ssl.SSLCertVerificationError(1, "certificate verify failed")
        ),
        AttemptError.TLS_ERROR,
    ),
    (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), AttemptError.TLS_ERROR),
    (aiohttp.ServerDisconnectedError(), AttemptError.CONNECTION_CLOSED),
    (
        aiohttp.ClientPayloadError("Response payload is not completed"),
        AttemptError.INVALID_RESPONSE,
    ),
    (aiohttp.InvalidURL("http://[::1"), AttemptError.NETWORK_ERROR),
    (aiohttp.ClientOSError(113, "No route to host"), AttemptError.NETWORK_ERROR),
]


@pytest.mark.parametrize(("exc", "error"), EXCEPTIONS, ids=lambda v: type(v).__name__)
def test_client_exceptions_map_to_attempt_errors(exc: OSError, error: AttemptError) -> None:
    assert attempt_error(exc) is error


# A handshake refused for want of a client certificate, and a connection lost once it was made
# (aiohttp re-raises what the connection was lost with as a ClientOSError from it): which one
# the client sees of a refused handshake depends on the TLS version and on timing
# (tests/integration/test_sender_errors.py); each is what happened, none a network_error.
REFUSED_OR_LOST = [
    pytest.param(
        aiohttp.ClientConnectorSSLError(
            KEY,
            ssl.SSLError(1, "[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure"),
        ),
        AttemptError.TLS_ERROR,
        id="TLS 1.2: an alert during the handshake",
    ),
    pytest.param(
        caused(
            aiohttp.ClientOSError(
                1, "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] certificate required"
            ),
            ssl.SSLError(1, "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] certificate required"),
        ),
        AttemptError.TLS_ERROR,
        id="TLS 1.3: an alert after the handshake",
    ),
    pytest.param(
        caused(
            aiohttp.ClientOSError(104, "Connection reset by peer"),
            ConnectionResetError(104, "Connection reset by peer"),
        ),
        AttemptError.CONNECTION_CLOSED,
        id="a reset",
    ),
    pytest.param(
        caused(aiohttp.ClientOSError(32, "Broken pipe"), BrokenPipeError(32, "Broken pipe")),
        AttemptError.CONNECTION_CLOSED,
        id="a broken pipe",
    ),
    pytest.param(
        aiohttp.ClientConnectionResetError("Cannot write to closing transport"),
        AttemptError.CONNECTION_CLOSED,
        id="writing to a closing connection",
    ),
]


@pytest.mark.parametrize(("exc", "error"), REFUSED_OR_LOST)
def test_a_refused_handshake_is_a_tls_error_and_a_lost_connection_closed(
    exc: OSError, error: AttemptError
) -> None:
    assert attempt_error(exc) is error
