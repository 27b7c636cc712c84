"""A real ``hookline serve`` with ``HOOKLINE_EGRESS_PROXY``: deliveries and test pings leave
through a real proxy (pproxy on 127.0.0.3), and a malformed proxy URL stops the server at
start.

The servers run in production mode with only 127.0.0.1 (the receiver) opened: the proxy's
loopback address is reached because it is the proxy's. The proxy asks for credentials, which
the server's output never shows. The proxy's log tells that each request went through it
and where it asked to go: it logs connections, so each test has a receiver of its own, to
which no connection is open yet.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.proxy import Pproxy
from support.receiver import Receiver
from support.server import Api, Hookline

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["http", "socks5"])
def proxy(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pproxy]:
    proxy = Pproxy(tmp_path_factory.mktemp("proxy"), request.param, credentials="hook:s3cret")
    with proxy as running:
        yield running


@pytest.fixture(scope="module")
def proxied(proxy: Pproxy, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    env = {
        "HOOKLINE_EGRESS_PROXY": f"{proxy.scheme}://hook:s3cret@127.0.0.3:{proxy.port}",
        "HOOKLINE_ALLOWED_NETWORKS": "127.0.0.1/32",
        "HOOKLINE_ALLOW_HTTP": "true",
    }
    with Hookline(tmp_path_factory.mktemp("egress"), dev=False, env=env).running() as server:
        banner = f"Deliveries leave through {proxy.scheme}://***@127.0.0.3:{proxy.port}"
        assert banner in server.output()
        with server.api() as api:
            yield api
        assert "s3cret" not in server.output()


def test_a_delivery_leaves_through_the_proxy(proxied: Api, proxy: Pproxy) -> None:
    with Receiver() as own:  # a new receiver: no connection to it is open yet
        endpoint = own.endpoint()
        ws = proxied.workspace()
        proxied.webhook(ws, endpoint.url, retryPolicy={"schedule": [0]})
        before = len(proxy.relayed())

        event = proxied.send(ws, "order.created", {"n": 1})
        (dlv,) = proxied.deliveries_of(event["id"])

        assert proxied.settled(dlv["id"])["status"] == "succeeded"
        (received,) = endpoint.wait(1)
        assert received.headers["webhook-id"] == event["id"]
        assert proxy.relayed()[before:] == [f"127.0.0.1:{own.port}"]


def test_a_test_ping_leaves_through_the_proxy(proxied: Api, proxy: Pproxy) -> None:
    with Receiver() as own:
        endpoint = own.endpoint()
        ws = proxied.workspace()
        wh = proxied.webhook(ws, endpoint.url)
        before = len(proxy.relayed())

        dlv = proxied.post(f"/v1/webhooks/{wh['id']}/test")

        assert dlv["status"] == "succeeded", dlv
        assert len(endpoint.wait(1)) == 1
        assert proxy.relayed()[before:] == [f"127.0.0.1:{own.port}"]


def test_a_malformed_proxy_url_stops_the_server_at_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env.update(
        HOOKLINE_DATA_DIR=str(tmp_path),
        HOOKLINE_EGRESS_PROXY="http://hook:s3cret@proxy.internal",
    )

    done = subprocess.run(
        [sys.executable, "-m", "hookline", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )

    assert done.returncode == 1, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "invalid settings" in output
    assert "HOOKLINE_EGRESS_PROXY must be a proxy URL" in output
    assert "the port is missing" in output
    assert "s3cret" not in output
    assert "Traceback" not in output
    assert not (tmp_path / "hookline.db").exists()


@pytest.mark.parametrize("command", [["config"], ["serve", "--port", "0"]])
def test_a_proxy_host_no_url_can_carry_is_refused_at_start(
    tmp_path: Path, command: list[str]
) -> None:
    """yarl parses ``%zz`` as a host; the proxy's URL built from it later would not be."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKLINE_")}
    env.update(HOOKLINE_DATA_DIR=str(tmp_path), HOOKLINE_EGRESS_PROXY="http://hook:s3cret@%zz:1")

    done = subprocess.run(
        [sys.executable, "-m", "hookline", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )

    assert done.returncode == 1, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert "invalid settings" in output
    assert "HOOKLINE_EGRESS_PROXY must be a proxy URL" in output
    assert "the host is not a host name or an IP address" in output
    assert "s3cret" not in output
    assert "Traceback" not in output
    assert not (tmp_path / "hookline.db").exists()
