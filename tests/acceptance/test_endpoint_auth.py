"""Endpoint authentication end to end: a real ``hookline serve`` (production mode, with
127.0.0.1/32 opened) sends to real receivers that demand Basic, a bearer token, an OAuth2
token from a token endpoint of the test's own, or a client certificate in the TLS
handshake (an https receiver with ``CERT_REQUIRED``, its CA trusted via ``SSL_CERT_FILE``).
The attempts' records show the credentials redacted and the token requests made. Stored
credentials never follow a webhook (or its token URL) to another origin, through the API or
the UI's edit form: a canary receiver on a port of its own gets none.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import trustme
from support.polling import poll
from support.receiver import Received, Receiver, Reply
from support.server import Api, Hookline

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, ca: trustme.CA, module_database: str | None
) -> Iterator[Hookline]:
    data = tmp_path_factory.mktemp("endpoint-auth")
    ca_file = data / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    env = {
        "HOOKLINE_ALLOWED_NETWORKS": json.dumps(["127.0.0.1/32"]),
        "HOOKLINE_ALLOW_HTTP": "true",
        "SSL_CERT_FILE": str(ca_file),
        "HOOKLINE_WORKERS": "1",  # tokens are kept per dispatcher process: one, to count them
    }
    with Hookline(data, dev=False, env=env, database_url=module_database).running() as hookline:
        yield hookline


@pytest.fixture(scope="module")
def api(server: Hookline) -> Iterator[Api]:
    with server.api() as client:
        yield client


def attempts_of(api: Api, event: dict[str, Any]) -> list[dict[str, Any]]:
    (dlv,) = api.deliveries_of(event["id"])
    return list(api.settled(dlv["id"])["attempts"])


def test_basic_and_bearer_reach_the_endpoint_and_are_redacted_in_the_log(
    api: Api, receiver: Receiver
) -> None:
    for auth, expected in (
        (
            {"type": "basic", "username": "hook", "password": "pw-3c1e"},
            "Basic " + base64.b64encode(b"hook:pw-3c1e").decode(),
        ),
        ({"type": "bearer", "token": "tok-8a2f"}, "Bearer tok-8a2f"),
    ):
        ws = api.workspace()
        endpoint = receiver.endpoint()
        api.webhook(ws, endpoint.url, auth=auth, headers={"Authorization": "custom, replaced"})
        event = api.send(ws, "order.paid", {"auth": auth["type"]})
        (got,) = endpoint.wait(1)
        assert got.headers.getall("Authorization") == [expected]
        (attempt,) = attempts_of(api, event)
        assert attempt["request"]["headers"]["Authorization"] == "[redacted]"
        assert "pw-3c1e" not in json.dumps(attempt) and "tok-8a2f" not in json.dumps(attempt)


def as_json(status: int, text: str) -> Reply:
    return Reply(status=status, body=text, content_type="application/json")


class TokenServer:
    """An OAuth2 token endpoint and a resource that takes only the newest token it issued."""

    def __init__(self, receiver: Receiver) -> None:
        self.tokens = receiver.endpoint()
        self.resource = receiver.endpoint()
        self._issued = itertools.count(1)
        self._lock = threading.Lock()
        self.current: str | None = None
        self.refuse = False
        self.tokens.respond(self._token)
        self.resource.respond(self._resource)

    def auth(self) -> dict[str, str]:
        """A webhook's OAuth2 settings for this token endpoint."""
        return {
            "type": "oauth2",
            "tokenUrl": self.tokens.url,
            "clientId": "hookline",
            "clientSecret": "cs-secret",
            "scope": "hooks",
        }

    def revoke(self) -> None:
        with self._lock:
            self.current = None

    def _token(self, request: Received) -> Reply:
        form = parse_qs(request.body.decode())
        expected = "Basic " + base64.b64encode(b"hookline:cs-secret").decode()
        if self.refuse or request.headers.get("Authorization") != expected:
            return as_json(401, json.dumps({"error": "invalid_client"}))
        if form.get("grant_type") != ["client_credentials"] or form.get("scope") != ["hooks"]:
            return as_json(400, json.dumps({"error": "invalid_request"}))
        with self._lock:
            self.current = f"access-{next(self._issued)}"
            token = self.current
        return as_json(
            200, json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": 3600})
        )

    def _resource(self, request: Received) -> Reply:
        with self._lock:
            current = self.current
        if current is None or request.headers.get("Authorization") != f"Bearer {current}":
            return as_json(401, json.dumps({"error": "invalid_token"}))
        return as_json(200, "{}")


def test_oauth2_token_is_fetched_cached_and_refreshed_once_on_401(
    api: Api, receiver: Receiver
) -> None:
    idp = TokenServer(receiver)
    ws = api.workspace()
    auth = idp.auth()
    api.webhook(ws, idp.resource.url, auth=auth, retryPolicy={"schedule": [0, 0.2]})

    first = attempts_of(api, api.send(ws, "order.paid", {"n": 1}))
    assert [a["response"]["status"] for a in first] == [200]
    (fetch,) = first[0]["request"]["tokenRequests"]
    assert (fetch["url"], fetch["status"], fetch["error"]) == (idp.tokens.url, 200, None)
    assert first[0]["request"]["headers"]["Authorization"] == "[redacted]"

    second = attempts_of(api, api.send(ws, "order.paid", {"n": 2}))
    assert [a["response"]["status"] for a in second] == [200]
    assert "tokenRequests" not in second[0]["request"]  # the kept token: none asked
    assert len(idp.tokens.requests) == 1

    idp.revoke()  # the endpoint answers 401 to the kept token: one new token, same attempt
    third = attempts_of(api, api.send(ws, "order.paid", {"n": 3}))
    assert [a["response"]["status"] for a in third] == [200]
    assert [f["status"] for f in third[0]["request"]["tokenRequests"]] == [200]
    assert len(idp.tokens.requests) == 2
    assert [r.headers["Authorization"] for r in idp.resource.requests[-2:]] == [
        "Bearer access-1",
        "Bearer access-2",
    ]
    for attempt in first + second + third:
        assert "cs-secret" not in json.dumps(attempt) and "access-" not in json.dumps(attempt)


def test_a_token_endpoint_that_refuses_fails_the_attempt_which_is_retried(
    api: Api, receiver: Receiver
) -> None:
    idp = TokenServer(receiver)
    idp.refuse = True
    ws = api.workspace()
    auth = idp.auth()
    api.webhook(ws, idp.resource.url, auth=auth, retryPolicy={"schedule": [0, 0.3]})
    event = api.send(ws, "order.paid", {"n": 1})
    (dlv,) = api.deliveries_of(event["id"])
    failed_once = poll(
        lambda: api.delivery(dlv["id"]),
        lambda d: len(d["attempts"]) >= 1,
        what="the first attempt",
    )
    first = failed_once["attempts"][0]
    assert (first["error"], first["response"]) == ("auth_error", None)
    assert first["request"]["tokenRequests"][0]["status"] == 401
    assert first["request"]["tokenRequests"][0]["error"] == "token_refused"
    assert idp.resource.requests == []  # nothing was sent without a token
    idp.refuse = False
    settled = api.settled(dlv["id"])
    assert settled["status"] == "succeeded" and settled["attemptCount"] == 2


def test_an_oauth2_token_url_on_a_blocked_address_is_refused(api: Api) -> None:
    ws = api.workspace()
    auth = {
        "type": "oauth2",
        "tokenUrl": "http://127.0.0.2:9/token",
        "clientId": "c",
        "clientSecret": "s",
    }
    error = api.post(
        f"/v1/workspaces/{ws}/webhooks",
        {"url": "https://example.com/hook", "events": ["*"], "auth": auth},
        status=422,
    )
    assert error["code"] == "invalid_auth"
    assert error["details"][0]["field"] == "auth.tokenUrl"


@pytest.fixture(scope="module")
def mtls_receiver(ca: trustme.CA) -> Iterator[Receiver]:
    """An https receiver that completes the handshake only with a certificate of ``ca``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    context.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(context)
    with Receiver(ssl_context=context) as rcv:
        yield rcv


def test_mtls_presents_the_client_certificate(
    api: Api, mtls_receiver: Receiver, ca: trustme.CA, tmp_path: Path
) -> None:
    leaf = ca.issue_cert("hookline-client")
    auth = {
        "type": "mtls",
        "certificate": leaf.cert_chain_pems[0].bytes().decode(),
        "key": leaf.private_key_pem.bytes().decode(),
    }
    ws = api.workspace()
    with_cert = mtls_receiver.endpoint()
    without = mtls_receiver.endpoint()
    wh = api.webhook(ws, with_cert.url, auth=auth, events=["with.cert"])
    assert wh["auth"]["certificate"]["subject"] == leaf_subject(leaf)
    api.webhook(ws, without.url, events=["without.cert"], retryPolicy={"schedule": [0]})

    (attempt,) = attempts_of(api, api.send(ws, "with.cert", {"n": 1}))
    assert attempt["response"]["status"] == 200
    assert len(with_cert.wait(1)) == 1
    (refused,) = attempts_of(api, api.send(ws, "without.cert", {"n": 1}))
    assert refused["response"] is None and refused["error"] in ("tls_error", "connection_closed")
    assert without.requests == []
    assert "PRIVATE KEY" not in json.dumps(api.get(f"/v1/webhooks/{wh['id']}"))


def leaf_subject(leaf: trustme.LeafCert) -> str:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    return cert.subject.rfc4514_string()


# -- stored credentials stay with the place they were given for ---------------------------


@pytest.fixture(scope="module")
def canary() -> Iterator[Receiver]:
    """A receiver on a port of its own, so another origin than ``receiver``'s: a host an
    admin might point a webhook at to read its stored credentials. It must get none."""
    with Receiver() as rcv:
        yield rcv


def header_of(auth: dict[str, str]) -> str:
    """The Authorization header a basic or bearer ``auth`` sends."""
    if auth["type"] == "basic":
        pair = f"{auth['username']}:{auth['password']}".encode()
        return "Basic " + base64.b64encode(pair).decode()
    return f"Bearer {auth['token']}"


def ping(api: Api, wh_id: str) -> dict[str, Any]:
    """A test ping; its first attempt answered 200."""
    sent: dict[str, Any] = api.post(f"/v1/webhooks/{wh_id}/test")
    assert sent["attempts"][0]["response"]["status"] == 200, sent
    return sent


STATIC_AUTH = [
    pytest.param(
        {"type": "basic", "username": "hook", "password": "pw-canary-1"},
        {"type": "basic", "username": "hook", "password": "pw-canary-2"},
        id="basic",
    ),
    pytest.param(
        {"type": "bearer", "token": "tok-canary-1"},
        {"type": "bearer", "token": "tok-canary-2"},
        id="bearer",
    ),
]


@pytest.mark.parametrize(("auth", "fresh"), STATIC_AUTH)
def test_a_url_moved_to_another_origin_takes_no_stored_credential_along(
    api: Api, receiver: Receiver, canary: Receiver, auth: dict[str, str], fresh: dict[str, str]
) -> None:
    ws = api.workspace()
    home, elsewhere = receiver.endpoint(), canary.endpoint()
    wh = api.webhook(ws, home.url, auth=auth)
    path = f"/v1/webhooks/{wh['id']}"

    error = api.patch(path, {"url": elsewhere.url}, status=422)
    assert error["code"] == "auth_required"
    assert error["details"][0]["field"] == "auth"
    assert "origin" in error["message"]
    assert api.get(path)["url"] == home.url
    ping(api, wh["id"])
    (got,) = home.wait(1)
    assert got.headers["Authorization"] == header_of(auth)
    assert elsewhere.requests == []

    # Sent again with the URL, the credentials go there.
    assert api.patch(path, {"url": elsewhere.url, "auth": fresh})["url"] == elsewhere.url
    ping(api, wh["id"])
    (got,) = elsewhere.wait(1)
    assert got.headers["Authorization"] == header_of(fresh)


def test_a_path_on_the_same_origin_keeps_the_credentials(api: Api, receiver: Receiver) -> None:
    auth = {"type": "basic", "username": "hook", "password": "pw-same-origin"}
    ws = api.workspace()
    home, next_door = receiver.endpoint(), receiver.endpoint()
    wh = api.webhook(ws, home.url, auth=auth)
    assert api.patch(f"/v1/webhooks/{wh['id']}", {"url": next_door.url})["url"] == next_door.url
    ping(api, wh["id"])
    (got,) = next_door.wait(1)
    assert got.headers["Authorization"] == header_of(auth)


def test_an_oauth2_webhook_moved_to_another_origin_sends_it_no_token(
    api: Api, receiver: Receiver, canary: Receiver
) -> None:
    idp = TokenServer(receiver)
    ws = api.workspace()
    elsewhere = canary.endpoint()
    wh = api.webhook(ws, idp.resource.url, auth=idp.auth())
    error = api.patch(f"/v1/webhooks/{wh['id']}", {"url": elsewhere.url}, status=422)
    assert (error["code"], error["details"][0]["field"]) == ("auth_required", "auth")
    ping(api, wh["id"])
    assert idp.resource.wait(1)[0].headers["Authorization"].startswith("Bearer access-")
    assert elsewhere.requests == []


def test_a_new_token_url_needs_the_client_secret_again(
    api: Api, receiver: Receiver, canary: Receiver
) -> None:
    idp = TokenServer(receiver)
    ws = api.workspace()
    rogue = canary.endpoint()
    wh = api.webhook(ws, idp.resource.url, auth=idp.auth())
    path = f"/v1/webhooks/{wh['id']}"
    without_secret = {k: v for k, v in idp.auth().items() if k != "clientSecret"}

    error = api.patch(path, {"auth": {**without_secret, "tokenUrl": rogue.url}}, status=422)
    assert (error["code"], error["details"][0]["field"]) == ("auth_required", "auth.clientSecret")
    assert api.get(path)["auth"]["tokenUrl"] == idp.tokens.url
    # Left out for the same token URL and client, the stored secret is kept.
    kept = api.patch(path, {"auth": {**without_secret, "clientAuth": "basic"}})
    assert kept["auth"]["tokenUrl"] == idp.tokens.url
    ping(api, wh["id"])
    assert len(idp.tokens.wait(1)) == 1  # asked with the stored secret, which it accepted
    assert rogue.requests == []


CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def field_error(html: str, name: str) -> str:
    found = re.search(rf'id="{name}-error">([^<]*)<', html)
    assert found, f"no error shown for {name}"
    return found.group(1)


class Browser:
    """The UI of the server as a browser without scripts uses it: a session cookie and
    each form posted with the CSRF token of its page."""

    def __init__(self, server: Hookline) -> None:
        self.http = httpx.Client(base_url=server.base_url, timeout=20.0)
        self.post("/ui/login", {"key": server.admin_key}, page="/ui/login")

    def post(self, path: str, data: dict[str, Any], *, page: str) -> httpx.Response:
        found = CSRF_RE.search(self.http.get(page).text)
        assert found, f"no form on {page}"
        return self.http.post(path, data={"csrf": found.group(1), **data})

    def close(self) -> None:
        self.http.close()


def test_the_edit_form_asks_for_the_password_again_for_another_origin(
    server: Hookline, api: Api, receiver: Receiver, canary: Receiver
) -> None:
    auth = {"type": "basic", "username": "hook", "password": "pw-ui-form"}
    ws = api.workspace()
    home, next_door, elsewhere = receiver.endpoint(), receiver.endpoint(), canary.endpoint()
    wh = api.webhook(ws, home.url, auth=auth)
    edit = f"/ui/webhooks/{wh['id']}/edit"
    form = {"url": elsewhere.url, "events": ["*"], "auth_type": "basic", "auth_username": "hook"}
    browser = Browser(server)
    try:
        refused = browser.post(edit, {**form, "auth_password": ""}, page=edit)
        assert refused.status_code == 422, refused.text
        assert "origin" in field_error(refused.text, "auth")
        assert "pw-ui-form" not in refused.text
        ping(api, wh["id"])
        assert home.wait(1)[0].headers["Authorization"] == header_of(auth)
        assert elsewhere.requests == []
        # Another path of the same origin keeps the stored password.
        kept = browser.post(edit, {**form, "url": next_door.url, "auth_password": ""}, page=edit)
        assert kept.status_code == 303, kept.text
    finally:
        browser.close()
    ping(api, wh["id"])
    assert next_door.wait(1)[0].headers["Authorization"] == header_of(auth)
