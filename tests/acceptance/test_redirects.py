"""Redirects in production mode: a hop from https to http is refused, and the attempt records
the URL actually posted to.

The webhook points at an https:// receiver on 127.0.0.1 with a certificate from a test CA
(trustme); the server trusts that CA through ``SSL_CERT_FILE``, which the default SSL context
of aiohttp reads as OpenSSL's default CA file. ``HOOKLINE_ALLOWED_NETWORKS`` opens exactly
127.0.0.1/32 and ``HOOKLINE_ALLOW_HTTP`` is on: http:// webhook URLs are allowed, yet a
redirect from https to http is still a downgrade and is refused.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from support.receiver import Receiver
from support.server import Api, Hookline

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_receiver(ca: trustme.CA) -> Iterator[Receiver]:
    """An https:// receiver on 127.0.0.1, its certificate issued by the test CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with Receiver(ssl_context=context) as rcv:
        yield rcv


@pytest.fixture(scope="module")
def trusting(tmp_path_factory: pytest.TempPathFactory, ca: trustme.CA) -> Iterator[Api]:
    """A production-mode server trusting the test CA, with 127.0.0.1/32 opened."""
    data = tmp_path_factory.mktemp("redirects")
    ca_file = data / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    env = {
        "HOOKLINE_ALLOWED_NETWORKS": json.dumps(["127.0.0.1/32"]),
        "HOOKLINE_ALLOW_HTTP": "true",
        "SSL_CERT_FILE": str(ca_file),
    }
    with Hookline(data, dev=False, env=env).running() as server, server.api() as api:
        yield api


def deliver(api: Api, url: str) -> dict[str, Any]:
    """One event to a new webhook at ``url`` following redirects, tried once; its delivery."""
    ws = api.workspace()
    wh = api.webhook(ws, url, retryPolicy={"schedule": [0], "followRedirects": True})
    event = api.send(ws, "probe.sent", {"probe": 1})
    (dlv,) = [d for d in api.deliveries_of(event["id"]) if d["webhookId"] == wh["id"]]
    return api.settled(dlv["id"])


def test_the_tls_receiver_is_trusted(trusting: Api, tls_receiver: Receiver) -> None:
    endpoint = tls_receiver.endpoint()
    assert endpoint.url.startswith("https://127.0.0.1:")
    dlv = deliver(trusting, endpoint.url)
    assert dlv["status"] == "succeeded", dlv
    assert len(endpoint.wait(1)) == 1


def test_a_redirect_from_https_to_http_is_refused(
    trusting: Api, tls_receiver: Receiver, receiver: Receiver
) -> None:
    plain = receiver.endpoint()
    assert plain.url.startswith("http://127.0.0.1:")
    first = tls_receiver.endpoint(default=(307, {"Location": plain.url}))

    dlv = deliver(trusting, first.url)

    assert dlv["status"] == "failed", dlv
    assert dlv["lastError"] == "insecure_redirect", dlv
    (attempt,) = dlv["attempts"]
    assert attempt["error"] == "insecure_redirect"
    assert attempt["response"] is None
    assert attempt["request"]["url"] == first.url  # the last URL posted to
    assert len(first.requests) == 1
    assert plain.requests == [], "the signed payload went out over plain http"


def test_a_same_scheme_redirect_records_the_final_hop(
    trusting: Api, tls_receiver: Receiver
) -> None:
    final = tls_receiver.endpoint(default=201)
    middle = tls_receiver.endpoint(default=(308, {"Location": final.path}))
    first = tls_receiver.endpoint(default=(307, {"Location": middle.url}))

    dlv = deliver(trusting, first.url)

    assert dlv["status"] == "succeeded", dlv
    (attempt,) = dlv["attempts"]
    assert attempt["response"]["status"] == 201
    assert attempt["request"]["url"] == final.url
    assert [len(e.requests) for e in (first, middle, final)] == [1, 1, 1]


def test_a_redirect_from_http_to_http_follows_allow_http(trusting: Api, receiver: Receiver) -> None:
    """With http:// allowed, an http webhook may be redirected to another http URL."""
    final = receiver.endpoint()
    first = receiver.endpoint(default=(302, {"Location": final.url}))

    dlv = deliver(trusting, first.url)

    assert dlv["status"] == "succeeded", dlv
    assert dlv["attempts"][0]["request"]["url"] == final.url
    assert len(final.wait(1)) == 1
