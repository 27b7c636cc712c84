"""Pause e-mails (CONTRACT §6) through a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from email.message import EmailMessage

import pytest
from support.mail import Mailbox

from hookline.domain.models import Webhook, Workspace
from hookline.domain.statuses import WebhookStatus
from hookline.domain.workspace_settings import WorkspaceSettings
from hookline.ids import new_id, now_ms
from hookline.notify import NOTICE_INTERVAL_MS, Mailer, StopNotices, stop_message
from hookline.settings import Settings
from hookline.store.port import Store

T0 = 1_773_828_300_000


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    async with Mailbox() as box:
        yield box


def settings(smtp_url: str) -> Settings:
    return Settings(
        smtp_url=smtp_url,
        mail_from="hookline@acme.test",
        public_url="https://hooks.acme.test/",
    )


async def add_webhook(store: Store, *, email: str | None = "ops@acme.test") -> Webhook:
    if await store.get_workspace("acme") is None:
        ws = Workspace(
            id="acme",
            name="Acme Inc",
            plan="pro",
            notification_email=email,
            settings=WorkspaceSettings(),
            created_at=T0,
            updated_at=T0,
        )
        assert await store.create_workspace(ws)
    wh = Webhook(
        id=new_id("wh"),
        workspace_id="acme",
        url="https://crm.acme.test/hook",
        name="CRM sync",
        description="",
        events=["*"],
        headers={},
        status=WebhookStatus.PAUSED,
        status_reason="too_many_failures",
        status_changed_by="system",
        status_changed_at=T0,
        retry_policy=None,
        rate_limit=None,
        ordering="none",
        metadata={},
        created_at=T0,
        updated_at=T0,
    )
    assert await store.create_webhook(wh, "sealed", max_webhooks=None)
    return wh


def test_the_notice_says_which_webhook_why_and_how_to_resume() -> None:
    ws = Workspace(
        id="acme",
        name="Acme Inc",
        plan="pro",
        notification_email="ops@acme.test",
        settings=WorkspaceSettings(),
        created_at=T0,
        updated_at=T0,
    )
    wh = Webhook(
        id="wh_01TEST",
        workspace_id="acme",
        url="https://crm.acme.test/hook",
        name="CRM sync",
        description="",
        events=["*"],
        headers={},
        status=WebhookStatus.PAUSED,
        status_reason="too_many_failures",
        status_changed_by="system",
        status_changed_at=T0,
        retry_policy=None,
        rate_limit=None,
        ordering="none",
        metadata={},
        created_at=T0,
        updated_at=T0,
    )
    msg = stop_message(ws=ws, wh=wh, sender="hookline@acme.test", base_url="https://h.test")
    text = msg.get_content()

    assert msg["To"] == "ops@acme.test"
    assert msg["From"] == "hookline@acme.test"
    assert "CRM sync" in msg["Subject"]
    assert "paused" in msg["Subject"].lower()
    for needle in ("CRM sync", "wh_01TEST", "Acme Inc", "https://crm.acme.test/hook"):
        assert needle in text
    assert "too_many_failures" in text
    assert "curl -X PATCH https://h.test/v1/webhooks/wh_01TEST" in text
    assert '"status": "active"' in text
    assert "Nothing is lost" in text


async def test_one_email_per_webhook_per_hour(store: Store, mailbox: Mailbox) -> None:
    wh = await add_webhook(store)
    other = await add_webhook(store)
    notices = StopNotices(store, Mailer(settings(mailbox.url())))

    assert await notices.stopped(wh.id) is True
    (msg,) = mailbox.messages
    assert mailbox.envelopes == [("hookline@acme.test", ["ops@acme.test"])]
    assert "CRM sync" in msg["Subject"]
    assert wh.id in msg.get_content()
    assert "https://hooks.acme.test/v1/webhooks/" in msg.get_content()

    # Paused again within the hour: nothing. Another webhook: its own notice.
    assert await notices.stopped(wh.id) is False
    assert len(mailbox.messages) == 1
    assert await notices.stopped(other.id) is True
    assert len(mailbox.messages) == 2
    assert other.id in mailbox.messages[1].get_content()


async def test_after_an_hour_the_next_pause_sends_again(store: Store, mailbox: Mailbox) -> None:
    wh = await add_webhook(store)
    # The last notice went out just over an hour ago.
    assert await store.take_pause_notice(
        wh.id, now=now_ms() - NOTICE_INTERVAL_MS - 1000, interval_ms=NOTICE_INTERVAL_MS
    )
    notices = StopNotices(store, Mailer(settings(mailbox.url())))
    assert await notices.stopped(wh.id) is True
    assert len(mailbox.messages) == 1
    assert await notices.stopped(wh.id) is False


async def test_two_workers_pausing_the_same_webhook_send_one_email(
    store_factory: Callable[[], Store], mailbox: Mailbox
) -> None:
    a, b = store_factory(), store_factory()
    await a.open()
    await b.open()
    wh = await add_webhook(a)
    mailer = Mailer(settings(mailbox.url()))
    sent = await asyncio.gather(
        StopNotices(a, mailer).stopped(wh.id), StopNotices(b, mailer).stopped(wh.id)
    )
    assert sorted(sent) == [False, True]
    assert len(mailbox.messages) == 1


async def test_no_email_without_an_address_or_a_server(store: Store, mailbox: Mailbox) -> None:
    wh = await add_webhook(store, email=None)
    assert await StopNotices(store, Mailer(settings(mailbox.url()))).stopped(wh.id) is False
    assert await StopNotices(store, Mailer(settings(""))).stopped(wh.id) is False
    assert await StopNotices(store, Mailer(settings(mailbox.url()))).stopped("wh_gone") is False
    assert mailbox.messages == []


async def test_an_unreachable_smtp_server_is_logged_not_raised(
    store: Store, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    wh = await add_webhook(store)
    await mailbox.aclose()  # its port now refuses connections
    url = mailbox.url("user:hunter2@")
    with caplog.at_level(logging.ERROR, logger="hookline.notify"):
        assert await StopNotices(store, Mailer(settings(url))).stopped(wh.id) is False
    assert wh.id in caplog.text
    assert "hunter2" not in caplog.text
    assert "hunter2" not in repr(Mailer(settings(url)))


async def test_credentials_in_the_smtp_url_log_in() -> None:
    async with Mailbox(login=("ops@acme.test", "p@ss:w/rd")) as box:
        # Percent-encoded: the user is ops@acme.test, the password p@ss:w/rd.
        url = box.url("ops%40acme.test:p%40ss%3Aw%2Frd@")
        msg = EmailMessage()
        msg["Subject"], msg["From"], msg["To"] = "hi", "hookline@acme.test", "ops@acme.test"
        msg.set_content("hello")
        await Mailer(settings(url)).send(msg)
    assert box.logins == [("ops@acme.test", "p@ss:w/rd")]
    assert len(box.messages) == 1
