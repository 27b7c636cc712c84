"""The customer portal inside a product's page, in Chromium with third-party cookies blocked.

A host page on another site (``http://localhost:A``) than Hookline (``http://127.0.0.1:B``)
embeds a portal link with the snippet of docs/portal.md, read from the doc; the customer
works inside the frame (add an endpoint, test ping, Send Logs, rotate the secret, Retry now). A host origin not in HOOKLINE_PORTAL_ORIGINS gets no portal, and no
origin may frame the sign-in page. A workspace's brand is what its portal shows.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from support.browser import DESKTOP, PHONE, shot
from support.polling import poll
from support.receiver import Receiver
from support.server import Api, Hookline

from .conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.slow

DOC = Path(__file__).parents[2] / "docs" / "portal.md"
DOC_LINK = "https://hooks.example.com/ui/portal/PORTAL-LINK-TOKEN"
HOST_PATH = "/settings/webhooks"
CONTROL = "control=1; SameSite=None; Secure; Path=/"
LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">'
    '<circle cx="12" cy="12" r="10" fill="#0a7d5a"/></svg>'
)
BRAND = {
    "name": "Acme Learning",
    "logo": LOGO,
    "accentColor": "#0a7d5a",
    "theme": "dark",
    "title": "Acme Learning",
    "footerLinks": [{"text": "Help centre", "url": "https://help.acme.example/webhooks"}],
    "terms": {"endpoint": "integration", "webhook": "integration"},
}


def doc_snippet() -> str:
    """The host page's snippet, as docs/portal.md gives it."""
    found = re.search(r"```html\n(.*?)```", DOC.read_text(), re.S)
    assert found, f"no html snippet in {DOC}"
    assert DOC_LINK in found.group(1)
    return found.group(1)


class Host:
    """A product's web server: its admin page with the snippet (at HOST_PATH), and a plain
    cookie set and echoed back (the positive control: a third-party cookie is blocked)."""

    def __init__(self) -> None:
        self.page = ""
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                headers: list[tuple[str, str]] = []
                if self.path == HOST_PATH:
                    body = f"<!doctype html><title>Acme admin</title><h1>Settings</h1>{host.page}"
                elif self.path == "/cookie/set":
                    body, headers = "set", [("Set-Cookie", CONTROL)]
                elif self.path == "/cookie/echo":
                    body = f"<pre id=cookies>{self.headers.get('Cookie') or 'none'}</pre>"
                else:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.origin = f"http://localhost:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def embed(self, link: str) -> str:
        """Serve the doc's snippet with ``link``; the URL of the host page."""
        self.page = doc_snippet().replace(DOC_LINK, link)
        return self.origin + HOST_PATH

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def hosts() -> Iterator[tuple[Host, Host]]:
    """The allowed host, and one on an origin Hookline was not told about."""
    allowed, other = Host(), Host()
    try:
        yield allowed, other
    finally:
        allowed.close()
        other.close()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, chromium_path: Path, hosts: tuple[Host, Host]
) -> Iterator[Hookline]:
    env = {"HOOKLINE_PORTAL_ORIGINS": f"{hosts[0].origin},https://admin.example.com"}
    with Hookline(tmp_path_factory.mktemp("hookline-embed"), env=env).running() as running:
        yield running


@pytest.fixture(scope="module")
def api(server: Hookline) -> Iterator[Api]:
    with server.api() as client:
        yield client


@pytest.fixture
def blocking(browser: Any, tmp_path: Path) -> Iterator[Any]:
    """A Chromium profile whose setting blocks third-party cookies (as a user sets it)."""
    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    prefs = {"profile": {"cookie_controls_mode": 1, "block_third_party_cookies": True}}
    (profile / "Default" / "Preferences").write_text(json.dumps(prefs))
    ctx = browser.browser_type.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        viewport=DESKTOP,
        permissions=["clipboard-read", "clipboard-write"],
    )
    ctx.set_default_timeout(10_000)
    try:
        yield ctx
    finally:
        ctx.close()


def third_party_cookie_sent(ctx: Any, host: Host) -> bool:
    """Whether a plain ``SameSite=None; Secure`` cookie, set by Hookline's site in a frame on
    the host's page, comes back to it there."""
    page = ctx.new_page()
    site = f"http://127.0.0.1:{host.port}"
    host.page = f'<iframe id="probe" src="{site}/cookie/set"></iframe>'
    page.goto(host.origin + HOST_PATH)
    frame = poll(
        lambda: next((f for f in page.frames if f.url == f"{site}/cookie/set"), None),
        lambda f: f is not None,
        what="the probe frame",
    )
    frame.goto(f"{site}/cookie/echo")
    sent = "control=1" in frame.locator("#cookies").inner_text()
    page.close()
    return sent


def portal_frame(page: Any) -> Any:
    return page.frame_locator("#webhooks-portal")


def test_the_portal_works_inside_a_product_page_with_third_party_cookies_blocked(
    blocking: Any, api: Api, server: Hookline, hosts: tuple[Host, Host], receiver: Receiver
) -> None:
    from playwright.sync_api import expect

    host = hosts[0]
    # The positive control: this browser does block third-party cookies...
    assert not third_party_cookie_sent(blocking, host)
    ws = api.workspace(name="Embedded Co")
    link = api.post(f"/v1/workspaces/{ws}/portal-link", {"expiresIn": 600})["url"]
    page = blocking.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(host.embed(link))
    portal = portal_frame(page)

    # Add an endpoint.
    expect(portal.get_by_role("heading", name="Webhook Endpoints")).to_be_visible()
    portal.get_by_role("link", name="+ Add your first endpoint").click()
    endpoint = receiver.endpoint()
    portal.get_by_label("Endpoint URL").fill(endpoint.url)
    portal.get_by_label("Every event").check()
    portal.get_by_role("button", name="Save").click()
    expect(portal.get_by_role("status").filter(has_text="Endpoint created")).to_be_visible()
    (wh,) = api.get(f"/v1/workspaces/{ws}/webhooks")
    assert wh["url"] == endpoint.url and wh["events"] == ["*"]

    # The session is the portal's partitioned cookie, kept for the host's site only.
    cookies = [c for c in blocking.cookies() if c["name"] == "hookline_portal"]
    assert [c.get("partitionKey") for c in cookies] == ["http://localhost"]
    assert cookies[0]["sameSite"] == "None" and cookies[0]["secure"]
    assert not [c for c in blocking.cookies() if c["name"] == "hookline_session"]

    # The frame is as tall as the portal's page: the host sized it from its message.
    frame = next(f for f in page.frames if f.url.startswith(server.base_url))

    def sized() -> tuple[int, int]:
        shown = page.locator("#webhooks-portal").evaluate("e => e.getBoundingClientRect().height")
        wanted = frame.evaluate("Math.ceil(document.body.getBoundingClientRect().height)")
        return round(shown), wanted

    poll(sized, lambda s: s[0] == s[1] and s[0] != 640, what="the frame sized to its page")

    # A test ping.
    portal.get_by_role("button", name="Send test ping").click()
    expect(portal.locator("#test .result")).to_contain_text("Delivered")
    endpoint.wait(1)

    # Send Logs: an event sent meanwhile is there.
    sent = api.send(ws, "course.completed", {"learner": "ada"})
    endpoint.wait(2)
    poll(
        lambda: api.get(f"/v1/webhooks/{wh['id']}/deliveries"),
        lambda ds: any(d["eventId"] == sent["id"] and d["status"] == "succeeded" for d in ds),
        what="the event delivered",
    )
    portal.get_by_role("link", name="Send Logs").first.click()
    expect(portal.locator("#send-logs tbody tr").filter(has_text=sent["id"])).to_have_count(1)
    shot(page, "portal-embedded")

    # Rotate the secret.
    secret = api.get(f"/v1/webhooks/{wh['id']}/secret")["secret"]
    portal.get_by_role("link", name="Overview").click()
    portal.locator("summary", has_text="Rotate secret").click()
    portal.get_by_role("button", name="Rotate secret").click()
    expect(portal.get_by_text("Signing secret rotated.")).to_be_visible()
    assert api.get(f"/v1/webhooks/{wh['id']}/secret")["secret"] != secret

    # Retry now: a delivery waiting an hour for its second attempt gets it at once, and no
    # second delivery.
    flaky = receiver.endpoint([500, 200])
    retried = api.webhook(ws, flaky.url, name="Flaky", retryPolicy={"schedule": [0, 3600]})
    api.send(ws, "course.completed", {"learner": "bo"})
    (waiting,) = poll(
        lambda: api.get(f"/v1/webhooks/{retried['id']}/deliveries"),
        lambda ds: len(ds) == 1 and ds[0]["status"] == "pending" and ds[0]["attemptCount"] == 1,
        what="a delivery waiting for its second attempt",
    )
    frame.goto(f"{server.base_url}/ui/deliveries/{waiting['id']}")
    portal.get_by_role("button", name="Retry now").click()
    expect(portal.get_by_role("status").filter(has_text="is being sent now")).to_be_visible()
    assert [r.status for r in flaky.wait(2, timeout=10)] == [500, 200]
    done = poll(
        lambda: api.get(f"/v1/deliveries/{waiting['id']}"),
        lambda d: d["status"] == "succeeded",
        what="the retried delivery succeeded",
    )
    assert done["attemptCount"] == 2
    assert len(api.get(f"/v1/webhooks/{retried['id']}/deliveries")) == 1

    # ...while a cookie set the same way as a first party comes back: the control can tell.
    page.goto(f"http://127.0.0.1:{host.port}/cookie/set")
    page.goto(f"http://127.0.0.1:{host.port}/cookie/echo")
    assert "control=1" in page.locator("#cookies").inner_text()


def test_an_origin_not_on_the_list_gets_no_portal_and_no_one_frames_the_sign_in_page(
    blocking: Any, api: Api, server: Hookline, hosts: tuple[Host, Host]
) -> None:
    from playwright.sync_api import expect

    allowed, other = hosts
    ws = api.workspace(name="Refused Co")
    page = blocking.new_page()
    said: list[str] = []
    page.on("console", lambda message: said.append(message.text))

    def framed(host: Host, url: str, answer: str) -> None:
        """Show ``url`` in the host's frame, until the page (frame included) has loaded after
        Hookline's answer at ``answer``."""
        said.clear()
        with page.expect_response(lambda r: r.url == answer) as response:
            page.goto(host.embed(url))
        assert response.value.status == 200
        page.wait_for_load_state("load")

    # No origin frames the admin UI's sign-in page, not even an allowed one.
    framed(allowed, f"{server.base_url}/ui/login", f"{server.base_url}/ui/login")
    poll(
        lambda: list(said),
        lambda lines: any("frame-ancestors 'none'" in line for line in lines),
        what="Chromium refusing the sign-in page",
    )
    expect(portal_frame(page).get_by_label("API key")).to_have_count(0)

    # A portal link on an origin that is not on the list is not shown.
    link = api.post(f"/v1/workspaces/{ws}/portal-link", {"expiresIn": 600})["url"]
    framed(other, link, f"{server.base_url}/ui/w/{ws}")
    poll(
        lambda: list(said),
        lambda lines: any("frame-ancestors http://localhost:" in line for line in lines),
        what="Chromium refusing the frame",
    )
    expect(portal_frame(page).get_by_role("heading", name="Webhook Endpoints")).to_have_count(0)
    expect(portal_frame(page).get_by_text("Refused Co")).to_have_count(0)


def test_a_workspace_brand_is_what_its_portal_shows(
    blocking: Any, api: Api, server: Hookline, hosts: tuple[Host, Host], receiver: Receiver
) -> None:
    from playwright.sync_api import expect

    ws = api.workspace(
        name="Acme customer 7",
        settings={"portal": BRAND, "delivery": {"brand": "Acme", "userAgent": "Acme-Webhooks/1.0"}},
    )
    wh = api.webhook(ws, receiver.endpoint().url, name="Course sync", events=["*"])
    api.send(ws, "course.completed", {"learner": "ada"})
    poll(
        lambda: api.get(f"/v1/webhooks/{wh['id']}/deliveries"),
        lambda ds: len(ds) == 1 and ds[0]["status"] == "succeeded",
        what="the delivery",
    )
    (dlv,) = api.get(f"/v1/webhooks/{wh['id']}/deliveries")
    link = api.post(f"/v1/workspaces/{ws}/portal-link", {"expiresIn": 600})["url"]
    page = blocking.new_page()
    page.goto(link)

    expect(page.get_by_role("heading", name="Integrations", exact=True)).to_be_visible()
    brand = page.locator("header .brand")
    expect(brand).to_have_text("Acme Learning")
    logo = brand.locator("img.brand-logo")
    assert (logo.get_attribute("src") or "").startswith("data:image/svg+xml;base64,")
    assert logo.evaluate("img => img.naturalWidth") > 0
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    save = page.get_by_role("link", name="+ Integration")
    assert save.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(10, 125, 90)"
    expect(page.get_by_role("link", name="Help centre")).to_have_attribute(
        "href", BRAND["footerLinks"][0]["url"]
    )
    shot(page, "portal-branded")
    for path in (
        f"/ui/w/{ws}",
        f"/ui/w/{ws}/webhooks/new",
        f"/ui/webhooks/{wh['id']}",
        f"/ui/webhooks/{wh['id']}/logs",
        f"/ui/deliveries/{dlv['id']}",
        f"/ui/w/{ws}/catalog",
    ):
        page.goto(server.base_url + path)
        assert page.title().endswith("· Acme Learning"), (path, page.title())
        page.locator("details:not([open]) > summary").evaluate_all(
            "summaries => summaries.forEach(s => s.click())"
        )
        text = page.locator("body").inner_text()
        assert "hookline" not in text.lower(), (path, text)
        assert "⚓" not in text
    page.set_viewport_size(PHONE)
    page.goto(f"{server.base_url}/ui/w/{ws}")
    expect(page.get_by_role("heading", name="Integrations", exact=True)).to_be_visible()
