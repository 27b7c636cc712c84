"""The pages at 390 and 1280 px wide, measured in Chromium: nothing scrolls sideways, no text
overlaps other text, a phone table's values stay right of their labels, no heading, table
header or header name breaks inside a word, and the new-endpoint form's common case (URL,
events, Save) fits one screen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.browser import DESKTOP, PHONE, shot, sign_in
from support.polling import poll
from support.receiver import Receiver
from support.server import Api, Hookline

from .test_browser import CATALOG

pytestmark = pytest.mark.slow

# Every problem of the page's layout, as sentences (empty: none).
MEASURE = """() => {
  const problems = [];
  // Shown to the eye: not hidden, not clipped away (screen-reader-only text, a phone table's
  // column headers).
  const visible = (el) => {
    if (!el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) { return false; }
    for (let up = el; up; up = up.parentElement) {
      const style = getComputedStyle(up);
      if (style.clip !== "auto" || style.clipPath !== "none") { return false; }
    }
    return true;
  };
  // The part of a text's box that shows: within every ancestor that clips or scrolls.
  const shown = (node, r) => {
    let left = r.left, top = r.top, right = r.right, bottom = r.bottom;
    for (let up = node.parentElement; up; up = up.parentElement) {
      const style = getComputedStyle(up);
      if (style.overflowX === "visible" && style.overflowY === "visible") { continue; }
      const box = up.getBoundingClientRect();
      left = Math.max(left, box.left); top = Math.max(top, box.top);
      right = Math.min(right, box.right); bottom = Math.min(bottom, box.bottom);
    }
    return { left, top, right, bottom, width: right - left, height: bottom - top };
  };
  const lines = (root) => {
    const found = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim() || !visible(node.parentElement)) { continue; }
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const rect of range.getClientRects()) {
        const r = shown(node, rect);
        if (r.width > 0.5 && r.height > 0.5) { found.push({ node, r }); }
      }
    }
    return found;
  };
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth) {
    problems.push(`scrolls sideways by ${doc.scrollWidth - doc.clientWidth}px`);
  }
  const texts = lines(document.body);
  // Text over other text.
  for (let i = 0; i < texts.length; i++) {
    for (let j = i + 1; j < texts.length; j++) {
      const a = texts[i], b = texts[j];
      if (a.node === b.node) { continue; }
      const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
      const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
      if (w > 2 && h > 2) {
        problems.push(`"${a.node.textContent.trim().slice(0, 30)}" overlaps "${b.node.textContent.trim().slice(0, 30)}"`);
      }
    }
  }
  // A phone table's label (drawn before the value) and every line of the value.
  for (const td of document.querySelectorAll("td[data-label]")) {
    const label = getComputedStyle(td, "::before");
    if (label.content === "none" || !visible(td)) { continue; }
    const box = td.getBoundingClientRect();
    const start = label.position === "absolute" ? label.left : getComputedStyle(td).paddingLeft;
    const right = box.left + parseFloat(start) + parseFloat(label.width);
    if (Number.isNaN(right)) { problems.push(`the label of "${td.dataset.label}" has no box`); }
    for (const { r } of lines(td)) {
      if (r.left < right - 0.5) {
        problems.push(`a line of "${td.dataset.label}" starts at ${r.left}px, in its label (to ${right}px)`);
        break;
      }
    }
  }
  // Words of headings and header names on one line each (a break after a dash is allowed).
  const heads = "h1, h2, h3, th, summary, dt, .brand, .mainnav a, .tabs a, .pagehead .btn";
  for (const el of document.querySelectorAll(heads)) {
    if (!visible(el)) { continue; }
    const inner = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = inner.nextNode(); node; node = inner.nextNode()) {
      const text = node.textContent;
      const word = /[^\\s-]+-?/g;
      for (let m = word.exec(text); m; m = word.exec(text)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0.5).map((r) => Math.round(r.top)));
        if (tops.size > 1) { problems.push(`"${m[0]}" breaks inside the word in <${el.tagName.toLowerCase()}>`); }
      }
    }
  }
  return problems;
}"""


@pytest.fixture(scope="module")
def site(api: Api, receiver: Receiver) -> dict[str, Any]:
    """A workspace with a long-named endpoint that fails, one that works, deliveries of both,
    and a catalog; the paths of its pages."""
    for et in CATALOG:
        api.post("/v1/event-types", et, status=201)
    ws = api.workspace(name="Layout Academy of Continuing Professional Development")
    good = api.webhook(ws, receiver.endpoint().url, name="CRM sync", events=["content.*"])
    bad = api.webhook(
        ws,
        receiver.endpoint(default=500).url + "/a/rather/long/path/for/the/receiving/side",
        name="Certificates and transcripts for the registrar's office",
        events=["*"],
        retryPolicy={"schedule": [0, 0]},
        headers={"Authorization": "Bearer 0123456789abcdef0123456789abcdef"},
    )
    for n in range(2):
        api.send(ws, "content.user_completed", {"user": {"id": f"u{n}"}, "content": {"id": "c1"}})
    for wh in (good, bad):
        poll(
            lambda wh=wh: api.get(f"/v1/webhooks/{wh['id']}/deliveries"),
            lambda ds: len(ds) == 2 and all(d["status"] in ("succeeded", "failed") for d in ds),
            what="deliveries settled",
        )
    dlv = api.get(f"/v1/webhooks/{bad['id']}/deliveries")[0]
    pages = [
        f"/ui/w/{ws}",
        f"/ui/webhooks/{bad['id']}",
        f"/ui/webhooks/{bad['id']}/logs",
        f"/ui/deliveries/{dlv['id']}",
        f"/ui/w/{ws}/webhooks/new",
        f"/ui/webhooks/{bad['id']}/edit",
        f"/ui/w/{ws}/catalog",
    ]
    return {"ws": ws, "pages": pages}


@pytest.fixture
def portal_page(browser: Any, hookline: Hookline, api: Api, site: dict[str, Any]) -> Iterator[Any]:
    ctx = browser.new_context(base_url=hookline.base_url, viewport=PHONE)
    try:
        page = ctx.new_page()
        page.goto(api.post(f"/v1/workspaces/{site['ws']}/portal-link", {})["url"])
        yield page
    finally:
        ctx.close()


@pytest.fixture
def admin_page(browser: Any, hookline: Hookline) -> Iterator[Any]:
    ctx = browser.new_context(base_url=hookline.base_url, viewport=PHONE)
    try:
        page = ctx.new_page()
        sign_in(page, hookline.admin_key or "")
        yield page
    finally:
        ctx.close()


def problems_of(page: Any, paths: list[str]) -> list[str]:
    found = []
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        for path in paths:
            page.goto(path)
            # What the customer would open too: every collapsed section.
            page.locator("main details:not(.menu):not([open]) > summary").evaluate_all(
                "summaries => summaries.forEach(s => s.click())"
            )
            found += [f"{viewport['width']}px {path}: {p}" for p in page.evaluate(MEASURE)]
    return found


def test_admin_pages_at_phone_and_desktop_width(admin_page: Any, site: dict[str, Any]) -> None:
    found = problems_of(admin_page, ["/ui/workspaces", *site["pages"]])
    assert not found, "\n".join(found)


def test_portal_pages_at_phone_and_desktop_width(portal_page: Any, site: dict[str, Any]) -> None:
    found = problems_of(portal_page, site["pages"])
    assert not found, "\n".join(found)
    portal_page.set_viewport_size(PHONE)
    portal_page.goto(site["pages"][0])
    shot(portal_page, "portal-phone")


def test_the_common_case_of_the_endpoint_form_fits_one_screen(
    admin_page: Any, site: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    for viewport in (DESKTOP, PHONE):
        admin_page.set_viewport_size(viewport)
        admin_page.goto(f"/ui/w/{site['ws']}/webhooks/new")
        advanced = admin_page.locator("details.advanced")
        expect(advanced).not_to_have_attribute("open", "")
        expect(admin_page.get_by_label("Payload filter (optional)")).to_be_hidden()
        save = admin_page.get_by_role("button", name="Save").bounding_box()
        url = admin_page.locator("label[for=url]").bounding_box()
        assert url and save
        # From the URL's label to Save: on one screen (on a desktop, with the page's top too).
        assert save["y"] + save["height"] - url["y"] <= viewport["height"], (viewport, url, save)
        if viewport == DESKTOP:
            assert save["y"] + save["height"] <= viewport["height"], (viewport, save)
    shot(admin_page, "endpoint-form-phone")
    # An error in an advanced option opens them, next to the field.
    admin_page.get_by_label("Endpoint URL").fill("https://example.com/hook")
    admin_page.get_by_label("Every event").check()
    advanced.locator("summary").click()
    admin_page.get_by_label("Payload filter (optional)").fill("{not json")
    admin_page.get_by_role("button", name="Save").click()
    expect(admin_page.locator("#filter-error")).to_be_visible()
    expect(advanced).to_have_attribute("open", "")
