"""Fixtures of the UI tests.

In-process: the app on a fresh SQLite database behind httpx (cookies kept), for
sessions, CSRF and access rules. In the browser: the real ``hookline serve --dev``
(``support.server``), a recording receiver and Debian's Chromium driven
by Playwright; those tests are skipped, saying why, only when Chromium is missing and
``HOOKLINE_REQUIRE_CHROMIUM`` is unset (CI sets it: then they fail).
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from support.app import start
from support.browser import DESKTOP
from support.requirements import unavailable
from support.server import Api as ProcessApi
from support.server import Hookline
from support.settle import settle

from hookline.api.app import create_app
from hookline.service import Services
from hookline.settings import Settings

ADMIN_KEY = "hk_admin_ui_test_key_0123456789"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


# -- in process -------------------------------------------------------------------


class Ui:
    """A browser-like client of one in-process Hookline: cookies, forms, the API on the side."""

    def __init__(self, client: httpx.AsyncClient, services: Services) -> None:
        self.client = client
        self.services = services
        self.store = services.ctx.store

    async def api(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = await self.client.request(
            method, path, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, **kwargs
        )
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return response.json()["data"]

    async def key(self, ws_id: str, role: str) -> str:
        body = {"name": f"{role} key", "role": role}
        created = await self.api("POST", f"/v1/workspaces/{ws_id}/api-keys", 201, json=body)
        return str(created["key"])

    async def csrf(self, path: str = "/ui/login") -> str:
        page = await self.client.get(path)
        found = CSRF_RE.search(page.text)
        assert found, (path, page.status_code, page.text[:500])
        return found.group(1)

    async def login(self, key: str = ADMIN_KEY) -> httpx.Response:
        token = await self.csrf("/ui/login")
        return await self.client.post("/ui/login", data={"csrf": token, "key": key})

    async def post(
        self, path: str, data: dict[str, Any] | None = None, **kw: Any
    ) -> httpx.Response:
        """POST a form with the CSRF token of the page the visitor would post it from."""
        token = await self.csrf(kw.pop("page", None) or path.rsplit("/", 1)[0])
        return await self.client.post(path, data={"csrf": token, **(data or {})}, **kw)

    async def settle(self, status_code: int = 200) -> None:
        """Give every due delivery one attempt answered with ``status_code`` (no dispatcher)."""
        await settle(self.store, status_code=status_code)


MakeUi = Callable[..., Awaitable[Ui]]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("HOOKLINE_") and name != "HOOKLINE_SCREENSHOTS":
            monkeypatch.delenv(name)


@pytest.fixture
async def make_ui(tmp_path: Path) -> AsyncIterator[MakeUi]:
    opened: list[Ui] = []

    async def make(**overrides: Any) -> Ui:
        values: dict[str, Any] = {
            "data_dir": tmp_path / f"hookline-{len(opened)}",
            "admin_key": ADMIN_KEY,
            "encryption_key": Fernet.generate_key().decode(),
            "dev": False,
            **overrides,
        }
        services = await start(Settings(**values))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(services)),
            base_url="http://hookline.test",
        )
        opened.append(Ui(client, services))
        return opened[-1]

    try:
        yield make
    finally:
        for ui in reversed(opened):
            await ui.client.aclose()
            await ui.store.close()


@pytest.fixture
async def ui(make_ui: MakeUi) -> Ui:
    """An app with workspaces "acme" and "globex", each with one webhook; not signed in."""
    made = await make_ui()
    for ws_id, name in (("acme", "Acme"), ("globex", "Globex")):
        await made.api("POST", "/v1/workspaces", 201, json={"id": ws_id, "name": name})
        await made.api(
            "POST",
            f"/v1/workspaces/{ws_id}/webhooks",
            201,
            json={"url": f"https://{ws_id}.example.com/hook", "events": ["*"], "name": name},
        )
    return made


# -- in the browser ---------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        message = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
        unavailable(message, "HOOKLINE_REQUIRE_CHROMIUM")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Any]:
    """Chromium for one module: Playwright's sync API keeps an event loop running while it
    is started, so it must stop before any async test of another module runs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def context(browser: Any, hookline: Hookline) -> Iterator[Any]:
    """A desktop browser context on this module's server, allowed the clipboard."""
    ctx = browser.new_context(
        base_url=hookline.base_url,
        viewport=DESKTOP,
        permissions=["clipboard-read", "clipboard-write"],
    )
    ctx.set_default_timeout(10_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    """A page that accepts every confirmation it asks for."""
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    return page


@pytest.fixture(scope="module")
def hookline(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[Hookline]:
    with Hookline(tmp_path_factory.mktemp("hookline-ui")).running() as server:
        yield server


@pytest.fixture(scope="module")
def api(hookline: Hookline) -> Iterator[ProcessApi]:
    with hookline.api() as client:
        yield client
