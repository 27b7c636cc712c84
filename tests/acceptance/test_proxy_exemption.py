"""Only the connection to the egress proxy itself is exempt from the destination rules.

A real ``hookline serve`` in production mode leaves through a real proxy (pproxy) named
``proxy.test``, which resolves to 127.0.0.1 in the server's processes, as a sidecar's name
would. The no-proxy list covers that name (by name, by suffix, or ``*``), so a URL on it is
connected to directly. Beside the proxy, on 127.0.0.1, a canary records every connection.
Only the receivers' 127.0.0.2 is opened: a webhook, an OAuth2 token URL or a redirect hop on
the proxy's name (on any port, the proxy's own too) is refused with ``blocked_destination``
and reaches nothing, while deliveries through the proxy still go out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.proxy import Canary, Pproxy, resolving
from support.receiver import Receiver
from support.server import Api, Hookline

pytestmark = pytest.mark.slow

PROXY_NAME = "proxy.test"


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pproxy]:
    with Pproxy(tmp_path_factory.mktemp("proxy"), "http", host="127.0.0.1") as running:
        yield running


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    with Canary("127.0.0.1") as listening:
        yield listening


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(host="127.0.0.2") as rcv:
        yield rcv


@pytest.fixture(scope="module", params=[PROXY_NAME, ".test", "*"])
def no_proxy(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, proxy: Pproxy, no_proxy: str) -> Iterator[Api]:
    data = tmp_path_factory.mktemp("exemption")
    env = {
        "HOOKLINE_EGRESS_PROXY": f"http://{PROXY_NAME}:{proxy.port}",
        "HOOKLINE_EGRESS_NO_PROXY": no_proxy,
        "HOOKLINE_ALLOWED_NETWORKS": "127.0.0.2/32",
        "HOOKLINE_ALLOW_HTTP": "true",
        # One dispatcher: what one delivery leaves in its DNS cache, the next one finds.
        "HOOKLINE_WORKERS": "1",
        **resolving(data / "hosts", {PROXY_NAME: "127.0.0.1"}),
    }
    with Hookline(data, dev=False, env=env).running() as server, server.api() as client:
        yield client


def attempt(api: Api, url: str, **fields: Any) -> dict[str, Any]:
    """The one attempt of one event to a new webhook at ``url``."""
    ws = api.workspace()
    policy = {"schedule": [0], **fields.pop("retryPolicy", {})}
    api.webhook(ws, url, retryPolicy=policy, **fields)
    event = api.send(ws, "probe.sent", {"probe": 1})
    (dlv,) = api.deliveries_of(event["id"])
    settled = api.settled(dlv["id"])
    assert settled["status"] == "failed", settled
    (only,) = settled["attempts"]
    return dict(only)


def deliver_through_the_proxy(api: Api, proxy: Pproxy, receiver: Receiver, no_proxy: str) -> None:
    """The positive control: a delivery to ``receiver`` (to which no connection is open yet:
    the proxy logs connections) succeeds, through the proxy unless the no-proxy list is
    ``*``."""
    endpoint = receiver.endpoint(default=204)
    before = len(proxy.relayed())
    ws = api.workspace()
    api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0]})
    event = api.send(ws, "order.created", {"n": 1})
    (dlv,) = api.deliveries_of(event["id"])
    assert api.settled(dlv["id"])["status"] == "succeeded"
    assert len(endpoint.wait(1)) == 1
    through = [] if no_proxy == "*" else [f"127.0.0.2:{receiver.port}"]
    assert proxy.relayed()[before:] == through


def test_urls_on_the_proxy_name_reach_neither_its_address_nor_the_proxy(
    api: Api, proxy: Pproxy, canary: Canary, receiver: Receiver, no_proxy: str
) -> None:
    deliver_through_the_proxy(api, proxy, receiver, no_proxy)
    proxy_log = proxy.output()

    # Another port of the proxy's address, then the proxy's own port, both connected to
    # directly (the no-proxy list names the host): neither is the connection to the proxy.
    for port in (canary.port, proxy.port):
        direct = attempt(api, f"https://{PROXY_NAME}:{port}/hook")
        assert (direct["error"], direct["response"]) == ("blocked_destination", None), direct

    # An OAuth2 token URL there: no token request leaves, the client secret goes nowhere.
    token_endpoint = receiver.endpoint()
    auth = {
        "type": "oauth2",
        "tokenUrl": f"https://{PROXY_NAME}:{canary.port}/token",
        "clientId": "hookline",
        "clientSecret": "cs-secret",
    }
    with_token = attempt(api, token_endpoint.url, auth=auth)
    assert with_token["error"] == "auth_error", with_token
    (fetch,) = with_token["request"]["tokenRequests"]
    assert fetch["error"] == "blocked_destination", fetch
    assert token_endpoint.requests == []

    # A redirect from the receiver (reached through the proxy) to the proxy's name.
    hop = f"https://{PROXY_NAME}:{canary.port}/next"
    first = receiver.endpoint(default=(307, {"Location": hop}))
    redirected = attempt(api, first.url, retryPolicy={"followRedirects": True})
    assert (redirected["error"], redirected["request"]["url"]) == ("blocked_destination", hop)
    assert len(first.requests) == 1

    assert canary.connections() == []
    # The proxy saw no connection but the relays to the receiver (the redirect's first hop).
    later = proxy.output()[len(proxy_log) :].splitlines()
    assert [line for line in later if not line.endswith(f" -> 127.0.0.2:{receiver.port}")] == []
    with Receiver(host="127.0.0.2") as another:  # a new connection to the proxy
        deliver_through_the_proxy(api, proxy, another, no_proxy)
