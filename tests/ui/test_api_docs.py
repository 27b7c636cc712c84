"""The API docs work offline: /docs loads every asset from Hookline itself.

Chromium is given no way out: every request to a host other than the server's own is
aborted and remembered, so a page that needs a CDN shows nothing and the test says which
request it needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from support.server import Hookline

pytestmark = pytest.mark.slow

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@pytest.fixture
def offline_page(browser: Any, hookline: Hookline) -> Iterator[tuple[Any, list[str]]]:
    blocked: list[str] = []

    def only_loopback(route: Any) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOOPBACK:
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    ctx = browser.new_context(base_url=hookline.base_url)
    ctx.set_default_timeout(15_000)
    ctx.route("**/*", only_loopback)
    try:
        yield ctx.new_page(), blocked
    finally:
        ctx.close()


def test_swagger_ui_lists_the_operations_without_internet(
    offline_page: tuple[Any, list[str]],
) -> None:
    page, blocked = offline_page
    page.goto("/docs")
    page.locator(".opblock").first.wait_for()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/v1/workspaces/{wId}/webhooks" in [p.replace("\u200b", "") for p in paths]
    assert len(paths) > 20
    assert blocked == []


def test_root_leads_to_the_ui_and_a_favicon_is_served(hookline: Hookline) -> None:
    with httpx.Client(base_url=hookline.base_url) as client:
        root = client.get("/")
        assert root.status_code == 307
        assert root.headers["location"] == "/ui"
        icon = client.get("/favicon.ico", follow_redirects=True)
        assert icon.status_code == 200
        assert icon.headers["content-type"].startswith("image/svg+xml")
        assert b"<svg" in icon.content
