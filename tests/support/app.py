"""The Hookline app in-process, on a fresh SQLite database, talked to through httpx: no server
process and no dispatcher (``Api.settle`` stands in for one when a test needs finished
deliveries, see ``support.settle``).

``make_api``, ``api`` and ``ws`` are fixtures, and ``clean_environment`` keeps ``HOOKLINE_*``
variables of the caller's environment out of the settings; a tier that uses them imports
them into its conftest.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi import FastAPI

from hookline.api.app import create_app
from hookline.secrets import SecretBox
from hookline.service import Context, Services
from hookline.settings import Settings
from hookline.store import open_store

from .settle import settle

ADMIN_KEY = "hk_admin_test_key_0123456789"
HOOK = "https://example.com/hook"
TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def auth(key: str | None) -> dict[str, str]:
    return {} if key is None else {"Authorization": f"Bearer {key}"}


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is the contract's error envelope with this status (and code)."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["ok"] is False, body
    assert set(body) == {"ok", "error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) <= {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and re.fullmatch(r"[a-z][a-z0-9_]*", error["code"])
    assert isinstance(error["message"], str) and error["message"], error
    if code is not None:
        assert error["code"] == code, body
    return error


class Api:
    """A client of one in-process Hookline with helpers for the common set-up calls."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient, services: Services) -> None:
        self.app = app
        self.client = client
        self.services = services
        self.settings = services.ctx.settings
        self.store = services.ctx.store
        self._woken: list[asyncio.Task[list[str]]] = []

    def deliver_on_wake(self, status_code: int = 200) -> None:
        """From now on, work the services announce is settled at once, as a dispatcher would."""

        def wake() -> None:
            self._woken.append(asyncio.create_task(self.settle(status_code)))

        self.services.ctx.wake = wake

    async def close(self) -> None:
        await asyncio.gather(*self._woken)
        await self.client.aclose()
        await self.store.close()

    async def request(
        self, method: str, path: str, *, key: str | None = ADMIN_KEY, **kwargs: Any
    ) -> httpx.Response:
        headers = {**auth(key), **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)

    async def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        """Call, expect ``status`` and the success envelope, and return ``data``."""
        response = await self.request(method, path, **kwargs)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        body = response.json()
        assert body["ok"] is True, body
        return body["data"]

    async def workspace(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "Acme", **fields}
        data: dict[str, Any] = await self.ok("POST", "/v1/workspaces", 201, json=body)
        return data

    async def key(self, ws_id: str, role: str) -> str:
        body = {"name": f"{role} key", "role": role}
        data = await self.ok("POST", f"/v1/workspaces/{ws_id}/api-keys", 201, json=body)
        key: str = data["key"]
        return key

    async def webhook(self, ws_id: str, **fields: Any) -> dict[str, Any]:
        body = {"url": HOOK, "events": ["*"], **fields}
        data: dict[str, Any] = await self.ok(
            "POST", f"/v1/workspaces/{ws_id}/webhooks", 201, json=body
        )
        return data

    async def event(
        self, ws_id: str, type: str = "user.created", data: Any = None, **fields: Any
    ) -> dict[str, Any]:
        body = {"type": type, "data": {} if data is None else data, **fields}
        accepted: dict[str, Any] = await self.ok(
            "POST", f"/v1/workspaces/{ws_id}/events", 202, json=body
        )
        return accepted

    async def settle(self, status_code: int = 200) -> list[str]:
        return await settle(self.store, status_code=status_code)


MakeApi = Callable[..., Awaitable[Api]]


def settings_for(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test: nothing from the environment, a known admin key."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": "",
        "admin_key": ADMIN_KEY,
        "encryption_key": Fernet.generate_key().decode(),
        "dev": False,
        "allow_http": False,
        "strict_event_types": False,
        "allowed_networks": [],
    }
    values.update(overrides)
    return Settings(**values)


async def start(settings: Settings) -> Services:
    """Open a store and build the services on it, as ``hookline serve`` does."""
    assert settings.encryption_key is not None
    box = SecretBox(settings.encryption_key.get_secret_value())
    store = open_store(settings, box)
    await store.open()
    return Services(Context.build(settings, store, box))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings built here read nothing of the caller's ``HOOKLINE_*`` environment."""
    for name in list(os.environ):
        if name.startswith("HOOKLINE_"):
            monkeypatch.delenv(name)


@pytest.fixture
async def make_api(tmp_path: Path) -> AsyncIterator[MakeApi]:
    """Start an API with settings overrides (``dev=True``, ``strict_event_types=True``, …)."""
    opened: list[Api] = []

    async def make(**overrides: Any) -> Api:
        services = await start(settings_for(tmp_path / f"hookline-{len(opened)}", **overrides))
        app = create_app(services)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://hookline.test"
        )
        opened.append(Api(app, client, services))
        return opened[-1]

    try:
        yield make
    finally:
        for api in reversed(opened):
            await api.close()


@pytest.fixture
async def api(make_api: MakeApi) -> Api:
    return await make_api()


@pytest.fixture
async def ws(api: Api) -> str:
    """A workspace "acme" on the free plan."""
    data = await api.workspace(id="acme", name="Acme")
    return str(data["id"])


async def create_hook(api: Api, ws: str, **fields: Any) -> httpx.Response:
    """POST a webhook (https://example.com/hook, every event unless overridden); the raw response."""
    body = {"url": HOOK, "events": ["*"], **fields}
    return await api.post(f"/v1/workspaces/{ws}/webhooks", json=body)
