"""UI sessions end when they should, against the real ``hookline serve`` (production mode).

Signing out ends a session everywhere: a cookie copied before sign-out no longer
works after it. A portal link works once; its session ends when the link expires
or when the key that issued it is revoked; a key session ends when its key is.
The session store is the server's SQLite file: the expiry tests move a session's
time by writing its expiry there, instead of waiting.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from support.polling import poll
from support.server import ADMIN_KEY, Api, Hookline

from hookline.ids import now_ms, parse_time
from hookline.ui.session import COOKIE

pytestmark = pytest.mark.slow

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
LINK_USED = "This link was already used or has expired; ask for a new one."


class Browser:
    """A visitor: an HTTP client with its own cookie jar, following no redirects."""

    def __init__(self, server: Hookline, cookie: str | None = None) -> None:
        self.http = httpx.Client(base_url=server.base_url, timeout=20.0)
        if cookie is not None:
            self.http.cookies.set(COOKIE, cookie, path="/ui")

    def close(self) -> None:
        self.http.close()

    @property
    def cookie(self) -> str:
        value = self.http.cookies.get(COOKIE, path="/ui")
        assert value, "no session cookie"
        return value

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def csrf(self, path: str) -> str:
        page = self.get(path)
        found = CSRF_RE.search(page.text)
        assert found, (path, page.status_code, page.text[:300])
        return found.group(1)

    def post(self, path: str, csrf: str, **data: str) -> httpx.Response:
        return self.http.post(path, data={"csrf": csrf, **data})

    def login(self, key: str) -> None:
        response = self.post("/ui/login", self.csrf("/ui/login"), key=key)
        assert response.status_code == 303, response.text[:300]

    def open_link(self, url: str) -> httpx.Response:
        return self.get(urlsplit(url).path)


def signed_out(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/ui/login")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hookline]:
    env = {
        "HOOKLINE_PURGE_INTERVAL": "0.2",
        "HOOKLINE_LEASE_SECONDS": "0.6",  # housekeeping (and so the purge) runs every lease/3 s
    }
    with Hookline(tmp_path_factory.mktemp("sessions"), dev=False, env=env).running() as hookline:
        yield hookline


@pytest.fixture(scope="module")
def api(server: Hookline) -> Iterator[Api]:
    with server.api() as client:
        yield client


@pytest.fixture
def browsers(server: Hookline) -> Iterator[list[Browser]]:
    """Visitors made with ``browser``; closed after the test."""
    made: list[Browser] = []
    yield made
    for b in made:
        b.close()


def browser(browsers: list[Browser], server: Hookline, cookie: str | None = None) -> Browser:
    browsers.append(Browser(server, cookie))
    return browsers[-1]


def database(server: Hookline) -> sqlite3.Connection:
    return sqlite3.connect(server.data_dir / "hookline.db", timeout=10, isolation_level=None)


def sessions_of(server: Hookline, workspace_id: str) -> list[dict[str, Any]]:
    with closing(database(server)) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            "SELECT * FROM ui_sessions WHERE workspace_id = ?", (workspace_id,)
        ).fetchall()
    return [dict(r) for r in rows]


def portal_link(api: Api, ws_id: str, key: str | None = None, **body: Any) -> dict[str, Any]:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    link: dict[str, Any] = api.post(f"/v1/workspaces/{ws_id}/portal-link", body, headers=headers)
    return link


def owner_key(api: Api, ws_id: str) -> tuple[str, str]:
    """A new owner key of ``ws_id``: (its id, the key)."""
    created = api.post(
        f"/v1/workspaces/{ws_id}/api-keys", {"name": "owner", "role": "owner"}, status=201
    )
    return created["id"], created["key"]


def test_a_cookie_copied_before_sign_out_stops_working_after_it(
    server: Hookline, api: Api, browsers: list[Browser]
) -> None:
    ws = api.workspace(name="Copied")
    wh = api.webhook(ws, "https://copied.example.com/hook")
    owner = browser(browsers, server)
    owner.login(ADMIN_KEY)
    copy = browser(browsers, server, cookie=owner.cookie)
    # The copy works while the session lives, forms included.
    assert copy.get(f"/ui/w/{ws}").status_code == 200
    csrf = copy.csrf(f"/ui/webhooks/{wh['id']}")

    signed_off = owner.post("/ui/logout", owner.csrf(f"/ui/w/{ws}"))
    assert signed_off.headers["location"] == "/ui/login"

    assert signed_out(copy.get(f"/ui/w/{ws}"))
    assert signed_out(copy.get("/ui/workspaces"))
    refused = copy.post(f"/ui/webhooks/{wh['id']}/status", csrf, status="disabled")
    assert signed_out(refused)
    assert api.get(f"/v1/webhooks/{wh['id']}")["status"] == "active"
    # The copy, replayed exactly as copied, is refused again: the session is gone for good.
    replay = browser(browsers, server, cookie=owner.cookie)
    assert signed_out(replay.get(f"/ui/w/{ws}"))


def test_a_portal_link_works_once(server: Hookline, api: Api, browsers: list[Browser]) -> None:
    ws = api.workspace(name="Once")
    link = portal_link(api, ws)
    first = browser(browsers, server)
    opened = first.open_link(link["url"])
    assert opened.status_code == 303 and opened.headers["location"] == f"/ui/w/{ws}"
    for attempt in (browser(browsers, server), first):
        again = attempt.open_link(link["url"])
        assert again.status_code == 403
        assert LINK_USED in again.text
        assert 'action="/ui/login"' not in again.text  # a portal page, not the sign-in form
    assert signed_out(browsers[1].get(f"/ui/w/{ws}"))
    # The first visitor's session is not harmed by the second attempt.
    assert first.get(f"/ui/w/{ws}").status_code == 200
    # A new link works (once).
    assert browser(browsers, server).open_link(portal_link(api, ws)["url"]).status_code == 303


def test_a_portal_session_ends_when_the_issuing_key_is_revoked(
    server: Hookline, api: Api, browsers: list[Browser]
) -> None:
    ws = api.workspace(name="Revoked issuer")
    key_id, key = owner_key(api, ws)
    link, unused = portal_link(api, ws, key), portal_link(api, ws, key)
    admins = portal_link(api, ws)
    customer, other = browser(browsers, server), browser(browsers, server)
    assert customer.open_link(link["url"]).status_code == 303
    assert other.open_link(admins["url"]).status_code == 303
    assert customer.get(f"/ui/w/{ws}").status_code == 200

    api.call("DELETE", f"/v1/api-keys/{key_id}", status=200)

    assert signed_out(customer.get(f"/ui/w/{ws}"))
    assert [s["issued_by"] for s in sessions_of(server, ws)] == ["admin"]
    # A link the revoked key issued no longer signs anyone in.
    late = browser(browsers, server).open_link(unused["url"])
    assert late.status_code == 403 and "has been revoked; ask for a new link" in late.text
    # The admin key's link is not affected: its session lives until its expiry.
    assert other.get(f"/ui/w/{ws}").status_code == 200


def test_a_portal_session_ends_when_its_issuer_disappears_without_revocation(
    server: Hookline, api: Api, browsers: list[Browser]
) -> None:
    """Each request checks the issuing key: a key removed behind the service's back
    (no sessions deleted with it) still ends the session."""
    ws = api.workspace(name="Vanished issuer")
    key_id, key = owner_key(api, ws)
    customer = browser(browsers, server)
    assert customer.open_link(portal_link(api, ws, key)["url"]).status_code == 303
    assert customer.get(f"/ui/w/{ws}").status_code == 200
    with closing(database(server)) as conn:
        assert conn.execute("DELETE FROM api_keys WHERE id = ?", (key_id,)).rowcount == 1
    assert len(sessions_of(server, ws)) == 1

    refused = customer.get(f"/ui/w/{ws}")
    assert signed_out(refused)
    login = customer.get(refused.headers["location"])
    assert "The key that issued this portal link has been revoked" in login.text
    assert sessions_of(server, ws) == []


def test_a_portal_session_ends_when_its_link_expires(
    server: Hookline, api: Api, browsers: list[Browser]
) -> None:
    ws = api.workspace(name="Short link")
    link = portal_link(api, ws, expiresIn=60)
    customer = browser(browsers, server)
    assert customer.open_link(link["url"]).status_code == 303
    (session,) = sessions_of(server, ws)
    # The session ends with the link, not 8 hours after sign-in.
    assert session["kind"] == "portal" and session["issued_by"] == "admin"
    assert session["expires_at"] == parse_time(link["expiresAt"])
    assert customer.get(f"/ui/w/{ws}").status_code == 200

    with closing(database(server)) as conn:
        conn.execute(
            "UPDATE ui_sessions SET expires_at = ? WHERE id = ?", (now_ms() - 1, session["id"])
        )

    assert signed_out(customer.get(f"/ui/w/{ws}"))
    # The dispatcher's housekeeping purges the expired session.
    poll(lambda: sessions_of(server, ws), lambda rows: rows == [], what="expired session purged")


def test_a_key_session_ends_when_its_key_is_revoked(
    server: Hookline, api: Api, browsers: list[Browser]
) -> None:
    ws = api.workspace(name="Revoked key")
    key_id, key = owner_key(api, ws)
    visitor = browser(browsers, server)
    visitor.login(key)
    assert visitor.get(f"/ui/w/{ws}").status_code == 200

    api.call("DELETE", f"/v1/api-keys/{key_id}", status=200)

    refused = visitor.get(f"/ui/w/{ws}")
    assert signed_out(refused)
    assert "Your key no longer works" in visitor.get(refused.headers["location"]).text
    assert signed_out(visitor.get(f"/ui/w/{ws}"))
