"""Safety (CONTRACT §7): no private destinations outside dev mode, retention, and a worker
killed with SIGKILL losing nothing.

The SSRF tests run servers WITHOUT ``--dev`` (``HOOKLINE_ALLOW_HTTP`` lets ``http://``
pass the scheme check). Every bypass attempt aims at this machine's recording receivers,
so a destination that slipped through would show up there; nothing leaves the host.
They run on SQLite only (they check destinations, not the store); the retention and
SIGKILL tests run on every backend (``database_url``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ipaddress
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from support.polling import poll
from support.receiver import Endpoint, Receiver
from support.server import Api, Hookline

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def guarded_server(data: Path, **env: str) -> Iterator[Hookline]:
    """A server without ``--dev``; ``http://`` allowed so the receivers here can be used."""
    with Hookline(data, dev=False, env={"HOOKLINE_ALLOW_HTTP": "true", **env}).running() as server:
        yield server


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A production-mode server: no network is open."""
    with guarded_server(tmp_path_factory.mktemp("guarded")) as server, server.api() as api:
        yield api


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """A production-mode server with exactly 127.0.0.1/32 opened."""
    allowed = json.dumps(["127.0.0.1/32"])
    data = tmp_path_factory.mktemp("opened")
    with (
        guarded_server(data, HOOKLINE_ALLOWED_NETWORKS=allowed) as server,
        server.api() as api,
    ):
        yield api


@pytest.fixture(scope="module")
def second_loopback() -> Iterator[Receiver]:
    """A receiver on 127.0.0.2, outside the opened /32: it must never get a request."""
    with Receiver(host="127.0.0.2") as rcv:
        yield rcv


@pytest.fixture(scope="module")
def ipv6_loopback() -> Iterator[Receiver]:
    with Receiver(host="::1") as rcv:
        yield rcv


def probe(api: Api, ws: str) -> dict[str, dict[str, Any]]:
    """Send one event to every webhook of ``ws``; their settled deliveries by webhook id."""
    event = api.send(ws, "probe.sent", {"probe": 1})
    return {d["webhookId"]: api.settled(d["id"]) for d in api.deliveries_of(event["id"])}


# -- refused at creation -------------------------------------------------------------------------

# Host forms that name a loopback, private, link-local, CGNAT, multicast, unspecified or
# unique-local address, in the spellings resolvers accept. Each URL uses the receiver's port.
LITERAL_BYPASSES = [
    "127.0.0.1",
    "2130706433",  # decimal
    "0177.0.0.1",  # octal
    "0x7f.0.0.1",  # hex
    "0x7f000001",
    "017700000001",
    "127.1",
    "127.0.1",
    "0",
    "0.0.0.0",
    "[::]",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::ffff:a00:1]",  # mapped 10.0.0.1
    "[2002:7f00:1::]",  # 6to4 around 127.0.0.1
    "[64:ff9b::7f00:1]",  # NAT64 around 127.0.0.1
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "[fd00:ec2::254]",  # AWS IPv6 metadata
    "100.64.0.1",  # CGNAT
    "[fe80::1]",
    "[fe80::1%25lo]",  # with a zone id
    "[fc00::1]",
    "224.0.0.1",
    "[ff02::1]",
    "255.255.255.255",
    "198.18.0.1",
    "localhost",
    "LOCALHOST",
    "localhost.",
    "localhost.localdomain",
]


@pytest.mark.parametrize("host", LITERAL_BYPASSES)
def test_a_private_address_in_any_spelling_is_refused_at_creation(
    guarded: Api, receiver: Receiver, host: str
) -> None:
    ws = guarded.workspace()
    url = f"http://{host}:{receiver.port}/hook/ssrf"
    error = guarded.post(f"/v1/workspaces/{ws}/webhooks", {"url": url, "events": ["*"]}, status=422)
    assert error["code"] == "url_not_allowed", (url, error)
    assert guarded.get(f"/v1/workspaces/{ws}/webhooks") == []


# Spellings the HTTP client maps to a blocked address (IDNA / UTS-46: ideographic, fullwidth and
# halfwidth dots, fullwidth and circled digits, fullwidth letters), and hosts that are neither an
# address nor a host name. The check is made on the host the client will use.
UNICODE_BYPASSES = [
    "127\u30020\u30020\u30021",  # ideographic full stops
    "127\uff0e0\uff0e0\uff0e1",  # fullwidth full stops
    "127\uff610\uff610\uff611",  # halfwidth ideographic full stops
    "\uff11\uff12\uff17.\uff10.\uff10.\uff11",  # fullwidth digits
    "\u246b\u2466.0.0.1",  # circled 12 and 7
    "0x7f\u30021",
    "\uff10\uff58\uff17\uff46.1",  # fullwidth 0x7f
    "169\u3002254\u3002169\u3002254",  # cloud metadata
    "10\u30020\u30020\u30021",
    "127.0.0.1.",
    "\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54",  # fullwidth localhost
    "%31%32%37.0.0.1",
    "127.0.0.1%2e",
]


@pytest.mark.parametrize("host", UNICODE_BYPASSES)
def test_a_unicode_spelling_of_a_private_address_is_refused_at_creation_and_patch(
    guarded: Api, receiver: Receiver, host: str
) -> None:
    ws = guarded.workspace()
    endpoint = receiver.endpoint()
    for scheme in ("https", "http"):
        url = f"{scheme}://{host}:{receiver.port}{endpoint.path}"
        body = {"url": url, "events": ["*"]}
        error = guarded.post(f"/v1/workspaces/{ws}/webhooks", body, status=422)
        assert error["code"] in ("url_not_allowed", "invalid_url"), (url, error)
        assert error["message"]
    assert guarded.get(f"/v1/workspaces/{ws}/webhooks") == []

    wh = guarded.webhook(ws, "https://example.com/hook", status="paused")
    url = f"https://{host}:{receiver.port}{endpoint.path}"
    error = guarded.patch(f"/v1/webhooks/{wh['id']}", {"url": url}, status=422)
    assert error["code"] in ("url_not_allowed", "invalid_url"), (url, error)
    assert guarded.get(f"/v1/webhooks/{wh['id']}")["url"] == "https://example.com/hook"
    assert endpoint.requests == []


def test_an_accepted_url_is_stored_as_it_is_sent(guarded: Api) -> None:
    ws = guarded.workspace()
    written = (
        "HTTPS://\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25\u3002com:443/Caf\u00e9/./a?q=\u00fc"
    )
    wh = guarded.webhook(ws, written, status="paused")
    sent = "https://example.com/Caf%C3%A9/a?q=%C3%BC"
    assert wh["url"] == sent
    assert guarded.get(f"/v1/webhooks/{wh['id']}")["url"] == sent
    assert [w["url"] for w in guarded.get(f"/v1/workspaces/{ws}/webhooks")] == [sent]

    patched = guarded.patch(f"/v1/webhooks/{wh['id']}", {"url": "https://B\u00fccher.example/x"})
    assert patched["url"] == "https://xn--bcher-kva.example/x"
    assert guarded.get(f"/v1/webhooks/{wh['id']}")["url"] == "https://xn--bcher-kva.example/x"


def test_https_is_still_required_without_allow_http(tmp_path: Path) -> None:
    with guarded_server(tmp_path / "data", HOOKLINE_ALLOW_HTTP="false") as server:
        with server.api() as api:
            ws = api.workspace()
            error = api.post(
                f"/v1/workspaces/{ws}/webhooks",
                {"url": "http://example.com/hook", "events": ["*"]},
                status=422,
            )
            assert error["code"] == "https_required"


# -- refused at the attempt, after DNS -----------------------------------------------------------


def hosts_file_names() -> list[str]:
    """Names /etc/hosts maps to a loopback or private address, other than localhost's."""
    names: list[str] = []
    try:
        lines = Path("/etc/hosts").read_text().splitlines()
    except OSError:
        return names
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        try:
            address = ipaddress.ip_address(fields[0])
        except ValueError:
            continue
        if address.is_loopback or address.is_private:
            names += [n for n in fields[1:] if not n.lower().startswith("localhost")]
    return sorted(set(names))


def test_a_hostname_resolving_to_loopback_is_blocked_at_the_attempt(
    guarded: Api, receiver: Receiver
) -> None:
    names = hosts_file_names()
    if not names:
        pytest.skip("/etc/hosts names no private host besides localhost")
    ws = guarded.workspace()
    probes: dict[str, tuple[Endpoint, str]] = {}
    for name in names:
        endpoint = receiver.endpoint()
        url = endpoint.url.replace("127.0.0.1", name)
        wh = guarded.webhook(ws, url, retryPolicy={"schedule": [0]})
        probes[name] = (endpoint, wh["id"])

    settled = probe(guarded, ws)
    for name, (endpoint, wh_id) in probes.items():
        dlv = settled[wh_id]
        assert dlv["status"] == "failed", (name, dlv)
        assert dlv["lastError"] == "blocked_destination", (name, dlv)
        (attempt,) = dlv["attempts"]
        assert attempt["error"] == "blocked_destination"
        assert attempt["response"] is None
        assert endpoint.requests == [], f"{name} reached the receiver"


def test_a_blocked_destination_is_retried_like_a_network_error(
    guarded: Api, receiver: Receiver
) -> None:
    names = hosts_file_names()
    if not names:
        pytest.skip("/etc/hosts names no private host besides localhost")
    ws = guarded.workspace()
    endpoint = receiver.endpoint()
    url = endpoint.url.replace("127.0.0.1", names[0])
    wh = guarded.webhook(ws, url, retryPolicy={"schedule": [0, 0.05, 0.05]})
    dlv = probe(guarded, ws)[wh["id"]]
    assert [a["error"] for a in dlv["attempts"]] == ["blocked_destination"] * 3
    assert endpoint.requests == []


# -- HOOKLINE_ALLOWED_NETWORKS and redirects -------------------------------------------------------


def test_allowed_networks_opens_exactly_its_cidr(
    guarded: Api, opened: Api, receiver: Receiver, second_loopback: Receiver
) -> None:
    endpoint = receiver.endpoint()
    ws = guarded.workspace()
    refused = guarded.post(
        f"/v1/workspaces/{ws}/webhooks", {"url": endpoint.url, "events": ["*"]}, status=422
    )
    assert refused["code"] == "url_not_allowed"

    ws = opened.workspace()
    wh = opened.webhook(ws, endpoint.url)
    dlv = probe(opened, ws)[wh["id"]]
    assert dlv["status"] == "succeeded", dlv
    assert len(endpoint.wait(1)) == 1

    outside = second_loopback.endpoint()
    refused = opened.post(
        f"/v1/workspaces/{ws}/webhooks", {"url": outside.url, "events": ["*"]}, status=422
    )
    assert refused["code"] == "url_not_allowed"
    assert outside.requests == []


def test_a_redirect_from_an_allowed_receiver_to_a_private_address_is_blocked(
    opened: Api, receiver: Receiver, second_loopback: Receiver, ipv6_loopback: Receiver
) -> None:
    ws = opened.workspace()
    targets = {
        "127.0.0.2": second_loopback.endpoint(),
        "decimal 127.0.0.2": second_loopback.endpoint(),
        "mapped 127.0.0.2": second_loopback.endpoint(),
        "::1": ipv6_loopback.endpoint(),
    }
    port2 = second_loopback.port
    locations = {
        "127.0.0.2": targets["127.0.0.2"].url,
        "decimal 127.0.0.2": f"http://2130706434:{port2}{targets['decimal 127.0.0.2'].path}",
        "mapped 127.0.0.2": f"http://[::ffff:127.0.0.2]:{port2}{targets['mapped 127.0.0.2'].path}",
        "::1": targets["::1"].url,
    }
    hops: dict[str, tuple[Endpoint, str]] = {}
    for name, location in locations.items():
        first = receiver.endpoint(default=(307, {"Location": location}))
        policy = {"schedule": [0], "followRedirects": True}
        hops[name] = (first, opened.webhook(ws, first.url, retryPolicy=policy)["id"])

    settled = probe(opened, ws)
    for name, (first, wh_id) in hops.items():
        dlv = settled[wh_id]
        assert dlv["status"] == "failed", (name, dlv)
        assert dlv["lastError"] == "blocked_destination", (name, dlv)
        assert len(first.requests) == 1, name  # the allowed first hop was asked
        assert targets[name].requests == [], f"the redirect reached {name}"

    # The same redirect to an allowed address is followed: only the target's address mattered.
    ws = opened.workspace()
    allowed_target = receiver.endpoint()
    first = receiver.endpoint(default=(307, {"Location": allowed_target.url}))
    wh = opened.webhook(ws, first.url, retryPolicy={"schedule": [0], "followRedirects": True})
    assert probe(opened, ws)[wh["id"]]["status"] == "succeeded"
    assert len(allowed_target.wait(1)) == 1


# -- retention -----------------------------------------------------------------------------------


def test_retention_purges_old_events_deliveries_and_attempts_while_delivering_new_ones(
    tmp_path: Path, receiver: Receiver, database_url: str | None
) -> None:
    retention = 0.00002  # days: 1.728 s
    env = {
        "HOOKLINE_RETENTION_DAYS": str(retention),
        "HOOKLINE_PURGE_INTERVAL": "0.2",
        "HOOKLINE_LEASE_SECONDS": "0.6",  # housekeeping runs every lease/3 s
    }
    data = tmp_path / "data"
    server = Hookline(data, env=env, database_url=database_url).start()
    try:
        with server.api() as api:
            ws = api.workspace()
            endpoint = receiver.endpoint([500], default=200)
            wh = api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0, 0.05]})
            old = api.send(ws, "report.ready", {"n": 0}, id="report-0")
            (old_dlv,) = api.deliveries_of(old["id"])
            # Both attempts reached the endpoint (the record itself may already be purged on a
            # machine slower than the retention).
            poll(lambda: len(endpoint.requests), lambda n: n == 2, what="the old event's attempts")

            sent = [old["id"]]

            def tick() -> int:
                """Send one more event; how the old one reads now (200 or 404)."""
                sent.append(api.send(ws, "report.ready", {"n": len(sent)})["id"])
                return api.http.get(f"/v1/events/{old['id']}").status_code

            poll(tick, lambda status: status == 404, timeout=10, interval=0.1, what="purge")

            assert api.get(f"/v1/deliveries/{old_dlv['id']}", status=404)["code"]
            listed = api.get(f"/v1/webhooks/{wh['id']}/deliveries?limit=250")
            assert old_dlv["id"] not in {d["id"] for d in listed}
            assert attempts_left(database_url or data, old_dlv["id"]) == 0
            # The idempotency key is forgotten with the event: the same id is new again.
            again = api.send(ws, "report.ready", {"n": -1}, id="report-0")
            assert again["createdAt"] > old["createdAt"]

            # Every event sent while purging arrived; the newest are still on record.
            arrived = poll(
                lambda: {r.headers["X-Hookline-Delivery"] for r in endpoint.requests},
                lambda ids: ids >= set(sent),
                what="every event delivered",
            )
            assert set(sent) <= arrived
            newest = api.deliveries_of(sent[-1])
            assert [api.settled(d["id"])["status"] for d in newest] == ["succeeded"]
    finally:
        assert server.terminate() == 0, server.output()


def attempts_left(database: Path | str, dlv_id: str) -> int:
    """Attempt rows of a delivery, read from the database itself (the SQLite file of the data
    directory, or a PostgreSQL URL): the API has no route for an attempt alone, and an
    orphaned attempt would be invisible through it."""
    if isinstance(database, str):
        return asyncio.run(_postgres_attempts_left(database, dlv_id))
    data = database
    with sqlite3.connect(f"file:{data / 'hookline.db'}?mode=ro", uri=True) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM attempts WHERE delivery_id = ?", (dlv_id,)
        ).fetchone()
    conn.close()
    return int(count)


async def _postgres_attempts_left(url: str, dlv_id: str) -> int:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        count = await conn.fetchval("SELECT count(*) FROM attempts WHERE delivery_id = $1", dlv_id)
    finally:
        await conn.close()
    return int(count)


# -- SIGKILL -------------------------------------------------------------------------------------


def test_a_server_killed_mid_delivery_delivers_every_accepted_event_after_restart(
    tmp_path: Path, receiver: Receiver, database_url: str | None
) -> None:
    concurrency = 8
    env = {"HOOKLINE_LEASE_SECONDS": "1", "HOOKLINE_ENDPOINT_CONCURRENCY": str(concurrency)}
    data = tmp_path / "data"
    endpoint = receiver.endpoint(delay=0.1)  # each request is held: many are in flight
    server = Hookline(data, env=env, database_url=database_url).start()
    try:
        with server.api() as api:
            ws = api.workspace()
            api.webhook(ws, endpoint.url, retryPolicy={"schedule": [0, 0.1]})
            events = [{"type": "order.paid", "data": {"seq": n}} for n in range(100)]
            results = api.post(f"/v1/workspaces/{ws}/events/batch", {"events": events})
            accepted = [r["data"]["id"] for r in results if r["status"] == 202]
            assert len(accepted) == 100
        endpoint.wait(30, timeout=15)
        assert server.proc is not None
        server.proc.kill()
        server.proc.wait(timeout=10)
    finally:
        server.stop()
    before = [r.headers["X-Hookline-Delivery"] for r in endpoint.requests]
    assert len(before) < 100, "everything arrived before the kill; nothing was tested"

    endpoint.hold(0)
    restarted = Hookline(data, env=env, database_url=database_url).start()
    try:
        poll(
            lambda: {r.headers["X-Hookline-Delivery"] for r in endpoint.requests},
            lambda ids: ids >= set(accepted),
            timeout=20,
            what="every accepted event delivered after the restart",
        )
        with restarted.api() as api:
            done = poll(
                lambda: api.get(f"/v1/workspaces/{ws}/deliveries?status=succeeded&limit=250"),
                lambda page: len(page) == 100,
                what="100 deliveries succeeded",
            )
        assert {d["eventId"] for d in done} == set(accepted)
    finally:
        assert restarted.terminate() == 0, restarted.output()

    counts = collections.Counter(r.headers["X-Hookline-Delivery"] for r in endpoint.requests)
    twice = {event_id for event_id, n in counts.items() if n > 1}
    # At-least-once: only the attempts in flight (or answered but not yet recorded) when the
    # process died may go out again, each once more.
    assert twice <= set(before), twice - set(before)
    assert max(counts.values()) <= 2
    assert len(twice) <= 2 * concurrency, sorted(twice)
    print(f"\n{len(before)} arrived before SIGKILL; {len(twice)} sent again after the restart")
