"""The pages' behaviour in process: form validation, Send Logs filters and pages, blocked
resends, banners, deletion, empty states, custom credentials redacted in attempts."""

from __future__ import annotations

import json
import re

import pytest

from hookline.dispatch.prepare import prepare
from hookline.domain.models import STUCK_AFTER_FAULTS, Attempt
from hookline.domain.statuses import WebhookStatus
from hookline.ids import new_id, now_ms
from hookline.store.port import AttemptRecord, StatusChange, WebhookChanges

from .conftest import ADMIN_KEY, MakeUi, Ui


def field_error(html: str, name: str) -> str:
    found = re.search(rf'id="{name}-error">([^<]*)<', html)
    assert found, f"no error shown for {name}"
    return found.group(1)


@pytest.fixture
async def signed_in(ui: Ui) -> Ui:
    await ui.login()
    return ui


async def hook_of(ui: Ui, ws: str = "acme") -> dict[str, str]:
    hooks = await ui.api("GET", f"/v1/workspaces/{ws}/webhooks")
    return dict(hooks[0])


@pytest.mark.parametrize(
    ("fields", "where", "message"),
    [
        ({"url": "http://example.com/h"}, "url", "The URL must use https://; http:// is refused."),
        ({"url": "https://10.0.0.7/h"}, "url", "The URL points at 10.0.0.7, a private"),
        ({"url": "https://u:p@example.com/h"}, "url", "must not contain credentials"),
        ({"url": ""}, "url", "Enter the endpoint URL"),
        ({"events": []}, "events", "Choose at least one event"),
        ({"more_events": "course.* bad*"}, "events", "Not valid: &#39;bad*&#39;"),
        (
            {"header_name": ["X-Hookline-Sig"], "header_value": ["x"]},
            "headers",
            "Header &#39;X-Hookline-Sig&#39; is reserved",
        ),
        ({"header_name": ["Content-Type"], "header_value": ["x"]}, "headers", "is reserved"),
        ({"header_name": [""], "header_value": ["orphan"]}, "headers", "needs a name"),
        ({"name": "n" * 201}, "name", "The name is at most 200 characters."),
    ],
)
async def test_the_form_shows_each_rule_next_to_its_field(
    signed_in: Ui, fields: dict[str, object], where: str, message: str
) -> None:
    data: dict[str, object] = {
        "url": "https://example.com/hook",
        "events": ["*"],
        "name": "Mine",
        **fields,
    }
    response = await signed_in.post("/ui/w/acme/webhooks/new", data, page="/ui/w/acme/webhooks/new")
    assert response.status_code == 422
    assert message in field_error(response.text, where)
    assert 'aria-describedby="' + where + '-error"' in response.text
    assert "please correct the fields marked below" in response.text
    # What was typed is still there.
    if fields.get("url"):
        assert f'value="{fields["url"]}"' in response.text
    assert len(await signed_in.api("GET", "/v1/workspaces/acme/webhooks")) == 1


async def test_a_plan_limit_is_shown_above_the_form(signed_in: Ui) -> None:
    for n in range(9):
        await signed_in.api(
            "POST",
            "/v1/workspaces/acme/webhooks",
            201,
            json={"url": f"https://example.com/{n}", "events": ["*"]},
        )
    data = {"url": "https://example.com/eleventh", "events": ["*"]}
    response = await signed_in.post("/ui/w/acme/webhooks/new", data, page="/ui/w/acme/webhooks/new")
    assert response.status_code == 422
    assert "plan allows 10 webhooks; delete one" in response.text


async def test_edit_changes_fields_and_keeps_the_rest(signed_in: Ui) -> None:
    wh = await hook_of(signed_in)
    page = await signed_in.client.get(f"/ui/webhooks/{wh['id']}/edit")
    assert 'value="https://acme.example.com/hook"' in page.text
    data = {
        "url": "https://acme.example.com/v2",
        "name": "Acme v2",
        "events": ["*"],
        "header_name": ["Authorization", ""],
        "header_value": ["Bearer t", ""],
    }
    response = await signed_in.post(f"/ui/webhooks/{wh['id']}/edit", data)
    assert response.status_code == 303
    changed = await signed_in.api("GET", f"/v1/webhooks/{wh['id']}")
    assert changed["url"] == "https://acme.example.com/v2"
    assert changed["name"] == "Acme v2"
    assert changed["headers"] == {"Authorization": "Bearer t"}
    assert changed["status"] == "active"


async def test_the_webhook_page_shows_its_own_retry_policy(signed_in: Ui) -> None:
    wh = await hook_of(signed_in)
    policy = {"exponential": {"initial": 2, "retries": 3}, "timeout": 4}
    await signed_in.api("PATCH", f"/v1/webhooks/{wh['id']}", json={"retryPolicy": policy})
    page = await signed_in.client.get(f"/ui/webhooks/{wh['id']}")
    assert page.status_code == 200
    assert "Retry policy" in page.text
    assert "&#34;retries&#34;: 3" in page.text and "&#34;timeout&#34;: 4" in page.text


async def test_the_form_says_whether_custom_headers_follow_a_redirect_elsewhere(
    signed_in: Ui,
) -> None:
    wh = await hook_of(signed_in)
    ticked = re.compile(r'<input type="checkbox" name="forward_headers"[^>]* checked>')
    edit = f"/ui/webhooks/{wh['id']}/edit"
    data: dict[str, object] = {
        "url": wh["url"],
        "events": ["*"],
        "header_name": ["X-Api-Key"],
        "header_value": ["k-1"],
    }
    for forward in (True, False):
        page = await signed_in.client.get(edit)
        assert 'name="forward_headers"' in page.text
        assert bool(ticked.search(page.text)) is not forward  # as stored: the other way
        response = await signed_in.post(
            edit, {**data, **({"forward_headers": "on"} if forward else {})}
        )
        assert response.status_code == 303
        changed = await signed_in.api("GET", f"/v1/webhooks/{wh['id']}")
        assert changed["forwardHeadersOnRedirect"] is forward
    assert not ticked.search((await signed_in.client.get(edit)).text)


async def test_resending_a_delivery_in_progress_says_why_not(signed_in: Ui) -> None:
    wh = await hook_of(signed_in)
    await signed_in.api("POST", "/v1/workspaces/acme/events", 202, json={"type": "a", "data": {}})
    (dlv,) = await signed_in.api("GET", f"/v1/webhooks/{wh['id']}/deliveries")
    page = await signed_in.client.get(f"/ui/deliveries/{dlv['id']}")
    assert "Resend is blocked while the delivery is pending." in page.text
    response = await signed_in.post(f"/ui/deliveries/{dlv['id']}/resend", page=page.url.path)
    assert response.headers["location"] == f"/ui/deliveries/{dlv['id']}"
    shown = await signed_in.client.get(response.headers["location"])
    assert "Not resent: The delivery is still pending; wait until it finishes." in shown.text
    assert len(await signed_in.api("GET", f"/v1/webhooks/{wh['id']}/deliveries")) == 1


async def test_send_logs_page_filter_and_search(signed_in: Ui) -> None:
    wh = await hook_of(signed_in)
    for n in range(55):
        body = {
            "type": "course.completed" if n % 5 else "course.started",
            "data": {"learner": f"l{n}"},
        }
        await signed_in.api("POST", "/v1/workspaces/acme/events", 202, json=body)
    await signed_in.settle()
    logs = f"/ui/webhooks/{wh['id']}/logs"
    first = await signed_in.client.get(logs)
    assert first.text.count("data-delivery=") == 50
    older = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert older
    second = await signed_in.client.get(older.group(1).replace("&amp;", "&"))
    assert second.text.count("data-delivery=") == 5
    assert "← Newest" in second.text and 'rel="next"' not in second.text
    started = await signed_in.client.get(logs, params={"eventType": "course.started"})
    assert started.text.count("data-delivery=") == 11
    found = await signed_in.client.get(logs, params={"q": '"l42"'})
    assert found.text.count("data-delivery=") == 1
    none = await signed_in.client.get(logs, params={"status": "failed"})
    assert "No deliveries match" in none.text
    bad = await signed_in.client.get(logs, params={"since": "yesterday-ish"})
    assert bad.status_code == 422
    assert "Enter a time such as" in field_error(bad.text, "f-since")
    backwards = await signed_in.client.get(
        logs, params={"since": "2026-01-02T00:00", "until": "2026-01-01T00:00"}
    )
    assert "The end must be after the start." in backwards.text


async def test_a_system_pause_shows_its_reason(signed_in: Ui) -> None:
    wh = await hook_of(signed_in)
    change = StatusChange(
        status=WebhookStatus.PAUSED, reason="too_many_failures", by="system", at=now_ms()
    )
    await signed_in.store.update_webhook(wh["id"], WebhookChanges(status=change), now_ms())
    page = await signed_in.client.get(f"/ui/webhooks/{wh['id']}")
    banner = re.search(r'id="status-banner">(.*?)</div>', page.text, re.S)
    assert banner
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", banner.group(1)))
    assert "Paused by Hookline (automatically) on 20" in text
    assert "reason: too_many_failures" in text
    assert "held" in text
    resumed = await signed_in.post(f"/ui/webhooks/{wh['id']}/status", {"status": "active"})
    assert resumed.status_code == 303
    page = await signed_in.client.get(f"/ui/webhooks/{wh['id']}")
    assert 'id="status-banner"' not in page.text
    assert "Endpoint enabled" in page.text


async def test_delete_asks_first_and_takes_the_logs_with_it(signed_in: Ui) -> None:
    wh = await hook_of(signed_in)
    await signed_in.api("POST", "/v1/workspaces/acme/events", 202, json={"type": "a", "data": {}})
    await signed_in.settle()
    (dlv,) = await signed_in.api("GET", f"/v1/webhooks/{wh['id']}/deliveries")
    confirm = await signed_in.client.get(f"/ui/webhooks/{wh['id']}/delete")
    assert "and all its Send Logs</strong>" in confirm.text
    assert "permanently" in confirm.text and "cannot be undone" in confirm.text
    response = await signed_in.post(f"/ui/webhooks/{wh['id']}/delete")
    assert response.headers["location"] == "/ui/w/acme"
    listing = await signed_in.client.get("/ui/w/acme")
    assert "and all its logs were deleted" in listing.text
    assert "No endpoints yet" in listing.text
    for path in (f"/v1/webhooks/{wh['id']}", f"/v1/deliveries/{dlv['id']}"):
        response = await signed_in.client.get(
            path, headers={"Authorization": "Bearer " + "hk_admin_ui_test_key_0123456789"}
        )
        assert response.status_code == 404


async def test_test_ping_of_a_disabled_endpoint_says_why_not(signed_in: Ui) -> None:
    wh = await hook_of(signed_in)
    await signed_in.api("PATCH", f"/v1/webhooks/{wh['id']}", json={"status": "disabled"})
    response = await signed_in.post(f"/ui/webhooks/{wh['id']}/test")
    page = await signed_in.client.get(response.headers["location"])
    assert "Test ping not sent: The webhook is disabled; enable it to test it." in page.text


async def test_empty_states(make_ui: MakeUi) -> None:
    ui = await make_ui()
    await ui.login()
    assert "No workspaces yet" in (await ui.client.get("/ui/workspaces")).text
    await ui.api("POST", "/v1/workspaces", 201, json={"id": "new", "name": "New"})
    assert "No endpoints yet" in (await ui.client.get("/ui/w/new")).text
    assert "The catalog is empty" in (await ui.client.get("/ui/w/new/catalog")).text
    form = await ui.client.get("/ui/w/new/webhooks/new")
    assert "The event catalog is empty" in form.text
    await ui.api(
        "POST",
        "/v1/workspaces/new/webhooks",
        201,
        json={"url": "https://example.com/h", "events": ["*"], "name": "Quiet"},
    )
    wh = await hook_of(ui, "new")
    assert "No deliveries yet" in (await ui.client.get(f"/ui/webhooks/{wh['id']}/logs")).text
    detail = await ui.client.get(f"/ui/webhooks/{wh['id']}")
    assert "No attempts in the last 24 hours." in detail.text
    missing = await ui.client.get("/ui/deliveries/dlv_nope")
    assert missing.status_code == 404 and "No such delivery." in missing.text


async def test_every_wrong_field_is_shown_at_once(signed_in: Ui) -> None:
    data = {"url": "ftp://files.example.com", "name": "n" * 300, "more_events": ""}
    response = await signed_in.post("/ui/w/acme/webhooks/new", data, page="/ui/w/acme/webhooks/new")
    assert response.status_code == 422
    assert "absolute https://" in field_error(response.text, "url")
    assert "at least one event" in field_error(response.text, "events")
    assert "at most 200" in field_error(response.text, "name")


@pytest.mark.parametrize("name", ["", "n" * 201])  # alone, and with another field wrong
async def test_a_unicode_spelling_of_loopback_is_refused_by_the_form(
    signed_in: Ui, name: str
) -> None:
    url = "https://127\u30020\u30020\u30021:9443/x"
    data = {"url": url, "events": ["*"], "name": name}
    response = await signed_in.post("/ui/w/acme/webhooks/new", data, page="/ui/w/acme/webhooks/new")
    assert response.status_code == 422
    assert "points at 127.0.0.1, a private" in field_error(response.text, "url")
    wh = await hook_of(signed_in)
    response = await signed_in.post(f"/ui/webhooks/{wh['id']}/edit", data)
    assert response.status_code == 422
    assert "points at 127.0.0.1, a private" in field_error(response.text, "url")
    assert len(await signed_in.api("GET", "/v1/workspaces/acme/webhooks")) == 1
    assert (await hook_of(signed_in))["url"] == wh["url"]


async def test_the_form_stores_and_shows_the_url_as_it_is_sent(signed_in: Ui) -> None:
    wh = await hook_of(signed_in)
    data = {"url": "https://B\u00fccher.Example/Caf\u00e9", "events": ["*"]}
    response = await signed_in.post(f"/ui/webhooks/{wh['id']}/edit", data)
    assert response.status_code == 303
    sent = "https://xn--bcher-kva.example/Caf%C3%A9"
    assert (await signed_in.api("GET", f"/v1/webhooks/{wh['id']}"))["url"] == sent
    assert sent in (await signed_in.client.get(f"/ui/webhooks/{wh['id']}")).text


async def test_attempt_pages_show_custom_credentials_redacted(ui: Ui) -> None:
    """The webhook page shows an owner (who may manage it) the custom header values; the
    delivery page shows the attempt as recorded: the credential redacted, the rest as sent.
    (Member keys cannot sign in to the UI; their API view is masked, see the API tests.)"""
    wh = await hook_of(ui)
    headers = {"Authorization": "Bearer sekrit-123", "X-Tenant": "tenant-77"}
    await ui.api("PATCH", f"/v1/webhooks/{wh['id']}", json={"headers": headers})
    await ui.api("POST", "/v1/workspaces/acme/events", 202, json={"type": "a", "data": {}})
    (claim,) = await ui.store.claim_due("tests:ui", limit=10, now=now_ms(), lease_ms=60_000)
    settings = ui.services.ctx.settings
    pending = prepare(
        claim,
        box=ui.services.ctx.box,
        delivery_defaults=settings.delivery,
        policy_defaults=settings.retry_policy,
        timestamp=now_ms() // 1000,
    )
    attempt = Attempt(
        id=new_id("att"),
        delivery_id=claim.delivery_id,
        number=1,
        started_at=now_ms(),
        duration_ms=3.0,
        request=pending.request_record(),
        response={"status": 200, "headers": {}, "body": "", "truncated": False},
        error=None,
        outcome="success",
    )
    record = AttemptRecord(
        attempt=attempt,
        webhook_id=claim.webhook.id,
        status="succeeded",
        next_attempt_at=None,
        status_code=200,
        error=None,
        completed_at=now_ms(),
    )
    await ui.store.record_attempts("tests:ui", [record])

    await ui.login(await ui.key("acme", "owner"))
    page = (await ui.client.get(f"/ui/webhooks/{wh['id']}")).text
    assert "<code>Authorization: Bearer sekrit-123</code>" in page
    assert "<code>X-Tenant: tenant-77</code>" in page
    delivery = (await ui.client.get(f"/ui/deliveries/{claim.delivery_id}")).text
    assert "<code>Authorization</code></th><td><code>[redacted]</code>" in delivery
    assert "<code>X-Tenant</code></th><td><code>tenant-77</code>" in delivery
    assert "sekrit-123" not in delivery


async def test_the_url_hint_says_what_this_mode_allows(make_ui: MakeUi) -> None:
    prod = await make_ui()
    await prod.login()
    await prod.api("POST", "/v1/workspaces", 201, json={"id": "acme", "name": "Acme"})
    hint = re.search(
        r'id="url-hint">([^<]*)<', (await prod.client.get("/ui/w/acme/webhooks/new")).text
    )
    assert hint and hint.group(1).startswith("An absolute https:// URL.")
    assert "http://" not in hint.group(1).replace("https://", "")
    data = {"url": "http://example.com/h", "events": ["*"]}
    refused = await prod.post("/ui/w/acme/webhooks/new", data, page="/ui/w/acme/webhooks/new")
    assert "http:// is refused" in field_error(refused.text, "url")

    dev = await make_ui(dev=True)
    await dev.login()
    await dev.api("POST", "/v1/workspaces", 201, json={"id": "acme", "name": "Acme"})
    hint = re.search(
        r'id="url-hint">([^<]*)<', (await dev.client.get("/ui/w/acme/webhooks/new")).text
    )
    assert hint and "http://" in hint.group(1)
    assert "loopback and private addresses" in hint.group(1) and "are allowed" in hint.group(1)
    data = {"url": "http://127.0.0.1:9000/hook", "events": ["*"]}
    made = await dev.post("/ui/w/acme/webhooks/new", data, page="/ui/w/acme/webhooks/new")
    assert made.status_code == 303


async def test_url_messages_say_what_this_deployment_allows(make_ui: MakeUi) -> None:
    dev = await make_ui(dev=True)
    await dev.login()
    await dev.api("POST", "/v1/workspaces", 201, json={"id": "acme", "name": "Acme"})
    data = {"url": "example.com/hook", "events": ["*"]}
    refused = await dev.post("/ui/w/acme/webhooks/new", data, page="/ui/w/acme/webhooks/new")
    assert field_error(refused.text, "url") == (
        "The URL must be an absolute http:// or https:// URL."
    )
    api = await dev.client.post(
        "/v1/workspaces/acme/webhooks", json=data, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    )
    assert api.status_code == 422
    assert api.json()["error"]["code"] == "https_required"
    assert api.json()["error"]["message"] == "The URL must be an absolute http:// or https:// URL."

    opened = await make_ui(allowed_networks=["127.0.0.0/8"])
    await opened.login()
    await opened.api("POST", "/v1/workspaces", 201, json={"id": "acme", "name": "Acme"})
    hint = re.search(
        r'id="url-hint">([^<]*)<', (await opened.client.get("/ui/w/acme/webhooks/new")).text
    )
    assert hint and hint.group(1) == (
        "An absolute https:// URL. Private and loopback addresses are refused, except in "
        "127.0.0.0/8, which this deployment allows."
    )
    data = {"url": "https://10.1.2.3/hook", "events": ["*"]}
    refused = await opened.post("/ui/w/acme/webhooks/new", data, page="/ui/w/acme/webhooks/new")
    assert "outside the networks this deployment allows (127.0.0.0/8)" in field_error(
        refused.text, "url"
    )
    data = {"url": "https://127.0.0.1:9000/hook", "events": ["*"]}
    made = await opened.post("/ui/w/acme/webhooks/new", data, page="/ui/w/acme/webhooks/new")
    assert made.status_code == 303


async def test_a_wrong_url_does_not_hide_the_other_wrong_fields(signed_in: Ui) -> None:
    data = {
        "url": "http://example.com/h",
        "events": ["*"],
        "more_events": "bad*",
        "header_name": ["Content-Type", ""],
        "header_value": ["x", ""],
    }
    response = await signed_in.post("/ui/w/acme/webhooks/new", data, page="/ui/w/acme/webhooks/new")
    assert response.status_code == 422
    assert "http:// is refused" in field_error(response.text, "url")
    assert "Not valid: &#39;bad*&#39;" in field_error(response.text, "events")
    assert "is reserved" in field_error(response.text, "headers")


async def test_a_failed_submit_keeps_the_header_rows_the_user_had(signed_in: Ui) -> None:
    page = await signed_in.client.get("/ui/w/acme/webhooks/new")
    assert page.text.count('name="header_name"') == 2
    data = {
        "url": "",
        "events": ["*"],
        "header_name": ["Authorization", ""],
        "header_value": ["Bearer t", ""],
    }
    for _ in range(3):
        response = await signed_in.post(
            "/ui/w/acme/webhooks/new", data, page="/ui/w/acme/webhooks/new"
        )
        assert response.status_code == 422
        assert response.text.count('name="header_name"') == 2
        assert 'value="Authorization"' in response.text


async def test_a_delivery_in_progress_refreshes_itself_and_cannot_be_resent(
    signed_in: Ui,
) -> None:
    wh = await hook_of(signed_in)
    await signed_in.api("POST", "/v1/workspaces/acme/events", 202, json={"type": "a", "data": {}})
    (dlv,) = await signed_in.api("GET", f"/v1/webhooks/{wh['id']}/deliveries")
    page = await signed_in.client.get(f"/ui/deliveries/{dlv['id']}")
    assert dlv["status"] == "pending"
    assert 'data-refresh="2"' in page.text
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page.text
    assert re.search(r"<button[^>]*disabled>Resend</button>", page.text)
    assert "refreshes itself until the delivery finishes" in page.text
    assert "same event id (<code>webhook-id</code>, <code>X-Hookline-Delivery</code>)" in page.text
    logs = await signed_in.client.get(f"/ui/webhooks/{wh['id']}/logs")
    assert "same event ids (<code>webhook-id</code>, <code>X-Hookline-Delivery</code>)" in logs.text
    assert "data-refresh" not in logs.text


async def test_a_stuck_delivery_says_so_with_its_reason(signed_in: Ui) -> None:
    wh = await hook_of(signed_in)
    for _ in range(2):
        await signed_in.api(
            "POST", "/v1/workspaces/acme/events", 202, json={"type": "a", "data": {}}
        )
    stuck, fine = await signed_in.api("GET", f"/v1/webhooks/{wh['id']}/deliveries")
    reason = "internal_error: prepare: RuntimeError"
    for _ in range(STUCK_AFTER_FAULTS):  # deferred by faults of Hookline's own, again and again
        claims = await signed_in.store.claim_due(
            "tests:ui", limit=10, now=now_ms(), lease_ms=60_000
        )
        for claim in claims:
            due = now_ms() if claim.delivery_id == stuck["id"] else now_ms() + 3_600_000
            assert await signed_in.store.defer(
                "tests:ui", claim.delivery_id, until=due, error=reason
            )
    note = f"Stuck: <code>{reason}</code>. Hookline keeps retrying"
    logs = await signed_in.client.get(f"/ui/webhooks/{wh['id']}/logs")
    rows = dict(re.findall(r'<tr data-delivery="([^"]+)">(.*?)</tr>', logs.text, re.S))
    assert note in rows[stuck["id"]] and "Stuck" not in rows[fine["id"]]
    page = await signed_in.client.get(f"/ui/deliveries/{stuck['id']}")
    assert re.search(rf'<p class="note" role="status" id="stuck-note">{re.escape(note)}', page.text)
    other = await signed_in.client.get(f"/ui/deliveries/{fine['id']}")
    assert 'id="stuck-note"' not in other.text


def test_only_a_delivery_under_way_or_due_soon_is_polled() -> None:
    from hookline.domain.models import DeliveryStatus
    from hookline.ui.routes.logs import refresh_seconds

    soon, later = now_ms() + 5_000, now_ms() + 3_600_000
    assert refresh_seconds(DeliveryStatus.SENDING, None) == 2
    assert refresh_seconds(DeliveryStatus.PENDING, soon) == 2
    assert refresh_seconds(DeliveryStatus.PENDING, later) is None
    assert refresh_seconds(DeliveryStatus.HELD, soon) is None
    assert refresh_seconds(DeliveryStatus.SUCCEEDED, None) is None
    assert refresh_seconds(DeliveryStatus.FAILED, None) is None


async def test_the_endpoints_table_shows_each_endpoints_health(signed_in: Ui) -> None:
    wh = await hook_of(signed_in)
    quiet = await signed_in.api(
        "POST",
        "/v1/workspaces/acme/webhooks",
        201,
        json={"url": "https://quiet.example.com/h", "events": ["nothing.*"], "name": "Quiet"},
    )
    for status in ("succeeded", "failed", "failed"):
        await signed_in.api(
            "POST", "/v1/workspaces/acme/events", 202, json={"type": "a", "data": {}}
        )
        await signed_in.settle(200 if status == "succeeded" else 500)
    page = (await signed_in.client.get("/ui/w/acme")).text
    failing = re.search(r'<tr>\s*<td data-label="Name"><a href="/ui/webhooks/' + wh["id"], page)
    assert failing
    row = page[failing.start() : page.index("</tr>", failing.start())]
    assert 'data-health="failing"' in row and "Failing" in row
    assert "The endpoint answered <code>HTTP 500</code>" in row
    assert "2 attempts failed in a row" in row
    assert "1 of 3 attempts succeeded in the last 24 hours (33%)" in row
    start = page.index(f'href="/ui/webhooks/{quiet["id"]}"')
    assert "No attempts yet" in page[start : page.index("</tr>", start)]

    await signed_in.api("POST", "/v1/workspaces/acme/events", 202, json={"type": "a", "data": {}})
    await signed_in.settle(200)
    page = (await signed_in.client.get("/ui/w/acme")).text
    assert "Last attempt succeeded" in page and "failed in a row" not in page


async def test_an_operator_creates_a_workspace_from_the_ui(signed_in: Ui) -> None:
    page = await signed_in.client.get("/ui/workspaces")
    assert 'action="/ui/workspaces"' in page.text and 'name="csrf"' in page.text
    bad = {"id": "no spaces!", "name": "", "plan": "free"}
    response = await signed_in.post("/ui/workspaces", bad, page="/ui/workspaces")
    assert response.status_code == 422
    assert "Enter the workspace name." in field_error(response.text, "ws-name")
    assert 'value="no spaces!"' in response.text
    response = await signed_in.post(
        "/ui/workspaces", {**bad, "name": "Initech"}, page="/ui/workspaces"
    )
    assert "A workspace id is 1-64 letters" in field_error(response.text, "ws-id")
    response = await signed_in.post(
        "/ui/workspaces", {"id": "acme", "name": "Again", "plan": "free"}, page="/ui/workspaces"
    )
    assert response.status_code == 422
    assert "exists" in field_error(response.text, "ws-id")
    response = await signed_in.post(
        "/ui/workspaces", {"name": "Initech", "plan": "nope"}, page="/ui/workspaces"
    )
    assert "Choose a plan." in field_error(response.text, "ws-plan")

    made = await signed_in.post(
        "/ui/workspaces",
        {"id": "initech", "name": "Initech", "plan": "free"},
        page="/ui/workspaces",
    )
    assert made.status_code == 303 and made.headers["location"] == "/ui/w/initech"
    assert (await signed_in.api("GET", "/v1/workspaces/initech"))["name"] == "Initech"
    unnamed = await signed_in.post("/ui/workspaces", {"name": "Hooli"}, page="/ui/workspaces")
    assert unnamed.status_code == 303 and unnamed.headers["location"].startswith("/ui/w/ws_")

    forged = await signed_in.client.post("/ui/workspaces", data={"name": "X", "csrf": "forged"})
    assert forged.status_code == 403


async def test_only_the_admin_key_creates_workspaces_from_the_ui(ui: Ui) -> None:
    await ui.login(await ui.key("acme", "owner"))
    response = await ui.post("/ui/workspaces", {"name": "Sneaky"}, page="/ui/w/acme")
    assert response.status_code == 303
    names = [w["name"] for w in await ui.api("GET", "/v1/workspaces")]
    assert "Sneaky" not in names


def title_and_heading(html: str) -> tuple[str, str]:
    import html as entities

    title = re.search(r"<title>(.*?)</title>", html, re.S)
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert title and heading
    shown = re.sub(r'<span class="(badge|tag)[^"]*">[^<]*</span>', "", heading.group(1))
    shown = entities.unescape(re.sub(r"<[^>]+>", "", shown))
    return entities.unescape(title.group(1)).split(" · ")[0].strip(), " ".join(shown.split())


async def test_every_tab_title_starts_with_the_page_heading(signed_in: Ui) -> None:
    wh = await hook_of(signed_in)
    untitled = await signed_in.api(
        "POST",
        "/v1/workspaces/acme/webhooks",
        201,
        json={"url": "https://untitled.example.com/h", "events": ["*"]},
    )
    await signed_in.api("POST", "/v1/workspaces/acme/events", 202, json={"type": "a", "data": {}})
    await signed_in.settle(200)
    (dlv, *_) = await signed_in.api("GET", f"/v1/webhooks/{wh['id']}/deliveries")
    paths = [
        "/ui/workspaces",
        "/ui/w/acme",
        "/ui/w/acme/catalog",
        "/ui/w/acme/webhooks/new",
        f"/ui/webhooks/{wh['id']}",
        f"/ui/webhooks/{untitled['id']}",
        f"/ui/webhooks/{untitled['id']}/logs",
        f"/ui/webhooks/{wh['id']}/edit",
        f"/ui/webhooks/{wh['id']}/logs",
        f"/ui/webhooks/{wh['id']}/delete",
        f"/ui/deliveries/{dlv['id']}",
        "/ui/deliveries/dlv_nope",
    ]
    for path in paths:
        title, heading = title_and_heading((await signed_in.client.get(path)).text)
        assert title == heading, path


async def test_the_form_saves_a_filter_and_auth_and_keeps_secrets_on_edit(signed_in: Ui) -> None:
    data: dict[str, object] = {
        "url": "https://example.com/hook",
        "events": ["*"],
        "filter": '{"path": "$.kind", "in": ["a", "b"]}',
        "auth_type": "basic",
        "auth_username": "hook",
        "auth_password": "pw-1d9e",
    }
    response = await signed_in.post("/ui/w/acme/webhooks/new", data, page="/ui/w/acme/webhooks/new")
    assert response.status_code == 303, response.text
    wh_id = response.headers["location"].rsplit("/", 1)[1]
    shown = await signed_in.client.get(f"/ui/webhooks/{wh_id}")
    assert "HTTP Basic, username <code>hook</code>" in shown.text
    assert "pw-1d9e" not in shown.text
    form = await signed_in.client.get(f"/ui/webhooks/{wh_id}/edit")
    assert "pw-1d9e" not in form.text and 'value="hook"' in form.text
    # Saved again with the password left empty: it is kept.
    again = {**data, "auth_password": "", "name": "renamed"}
    assert (await signed_in.post(f"/ui/webhooks/{wh_id}/edit", again)).status_code == 303
    webhook = await signed_in.store.get_webhook(wh_id)
    assert webhook is not None and webhook.auth is not None
    assert webhook.auth.to_json() == {
        "type": "basic",
        "username": "hook",
        "password": "pw-1d9e",
    }
    assert webhook.filter is not None
    assert webhook.filter.to_json() == {"path": "$.kind", "in": ["a", "b"]}
    # A secret is kept only for the same place: another username needs the password again.
    elsewhere = {**again, "auth_username": "someone-else"}
    refused = await signed_in.post(f"/ui/webhooks/{wh_id}/edit", elsewhere)
    assert refused.status_code == 422
    assert "auth.password" in field_error(refused.text, "auth")
    # Nor for another host: the password is asked for again and nothing is saved; another
    # path of the same host keeps it.
    moved = {**again, "url": "https://elsewhere.example.net/hook"}
    refused = await signed_in.post(f"/ui/webhooks/{wh_id}/edit", moved)
    assert refused.status_code == 422
    assert "origin changed" in field_error(refused.text, "auth")
    webhook = await signed_in.store.get_webhook(wh_id)
    assert webhook is not None and webhook.url == "https://example.com/hook"
    next_door = {**again, "url": "https://example.com/v2"}
    assert (await signed_in.post(f"/ui/webhooks/{wh_id}/edit", next_door)).status_code == 303
    webhook = await signed_in.store.get_webhook(wh_id)
    assert webhook is not None and webhook.auth is not None
    assert (webhook.url, webhook.auth.secret) == ("https://example.com/v2", "pw-1d9e")
    # "None" clears it.
    cleared = {**data, "auth_type": "", "filter": ""}
    assert (await signed_in.post(f"/ui/webhooks/{wh_id}/edit", cleared)).status_code == 303
    webhook = await signed_in.store.get_webhook(wh_id)
    assert webhook is not None and (webhook.auth, webhook.filter) == (None, None)


@pytest.mark.parametrize(
    ("fields", "where", "message"),
    [
        ({"filter": "{not json"}, "filter", "not valid JSON"),
        ({"filter": '{"path": "$.a[*]", "eq": 1}'}, "filter", "at $.path"),
        ({"auth_type": "bearer"}, "auth", "auth.token: bearer auth needs token"),
        (
            {"auth_type": "mtls", "auth_certificate": "x", "auth_key": "y"},
            "auth",
            "auth.certificate",
        ),
    ],
)
async def test_filter_and_auth_errors_are_shown_next_to_them(
    signed_in: Ui, fields: dict[str, object], where: str, message: str
) -> None:
    data: dict[str, object] = {"url": "https://example.com/hook", "events": ["*"], **fields}
    response = await signed_in.post("/ui/w/acme/webhooks/new", data, page="/ui/w/acme/webhooks/new")
    assert response.status_code == 422
    assert message in field_error(response.text, where)


@pytest.mark.parametrize(
    ("kind", "settings", "shown"),
    [
        (
            "rabbitmq",
            {"url": "amqp://rabbit.internal/", "exchange": "events", "password": "pw-r"},
            "RabbitMQ exchange",
        ),
        ("nats", {"url": "nats://nats.internal", "subject": "hooks.orders"}, "NATS JetStream"),
        ("redis", {"url": "redis://redis.internal/0", "stream": "hooks"}, "Redis stream"),
        (
            "sqs",
            {
                "queueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
                "region": "eu-west-1",
                "accessKeyId": "AKIAEXAMPLE",
                "secretAccessKey": "sk-e",
            },
            "Amazon SQS queue",
        ),
        (
            "sns",
            {
                "topicArn": "arn:aws:sns:eu-west-1:123456789012:hooks",
                "region": "eu-west-1",
                "accessKeyId": "AKIAEXAMPLE",
                "secretAccessKey": "sk-e",
            },
            "Amazon SNS topic",
        ),
        (
            "eventbridge",
            {
                "eventBusName": "hooks",
                "region": "eu-west-1",
                "accessKeyId": "AKIAEXAMPLE",
                "secretAccessKey": "sk-e",
            },
            "Amazon EventBridge bus",
        ),
    ],
)
async def test_the_form_creates_and_shows_each_destination(
    signed_in: Ui, kind: str, settings: dict[str, object], shown: str
) -> None:
    data: dict[str, object] = {
        "url": "",
        "events": ["*"],
        "destination_type": kind,
        "destination": json.dumps(settings),
    }
    response = await signed_in.post("/ui/w/acme/webhooks/new", data, page="/ui/w/acme/webhooks/new")
    assert response.status_code == 303, field_error(response.text, "destination")
    wh_id = response.headers["location"].rsplit("/", 1)[1]
    page = await signed_in.client.get(f"/ui/webhooks/{wh_id}")
    assert shown in page.text
    assert "pw-r" not in page.text and "sk-e" not in page.text
    form = await signed_in.client.get(f"/ui/webhooks/{wh_id}/edit")
    assert "pw-r" not in form.text and "sk-e" not in form.text
    # Saved again without the secrets: they stay.
    public = {k: v for k, v in settings.items() if k not in ("password", "secretAccessKey")}
    again = {**data, "destination": json.dumps(public), "name": "again"}
    assert (await signed_in.post(f"/ui/webhooks/{wh_id}/edit", again)).status_code == 303
    webhook = await signed_in.store.get_webhook(wh_id)
    assert webhook is not None and webhook.destination is not None
    assert webhook.destination.to_json() == {"type": kind, **settings}
    # Pointed elsewhere, a stored secret is not sent along.
    if kind == "rabbitmq":
        moved = {**public, "url": "amqp://other.internal/"}
        response = await signed_in.post(
            f"/ui/webhooks/{wh_id}/edit", {**again, "destination": json.dumps(moved)}
        )
        assert response.status_code == 303
        stored = await signed_in.store.get_webhook(wh_id)
        assert stored is not None and stored.destination is not None
        assert stored.destination.to_json() == {"type": kind, **moved}
    if kind == "eventbridge":
        moved = {**public, "region": "us-east-1"}
        response = await signed_in.post(
            f"/ui/webhooks/{wh_id}/edit", {**again, "destination": json.dumps(moved)}
        )
        assert "destination.secretAccessKey" in field_error(response.text, "destination")


async def test_a_bad_destination_is_shown_next_to_it(signed_in: Ui) -> None:
    data = {
        "url": "",
        "events": ["*"],
        "destination_type": "redis",
        "destination": '{"url": "http://redis.internal", "stream": "s"}',
    }
    response = await signed_in.post("/ui/w/acme/webhooks/new", data, page="/ui/w/acme/webhooks/new")
    assert response.status_code == 422
    assert "destination.url" in field_error(response.text, "destination")
