"""Pause e-mails (CONTRACT §6) through a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from hookline.domain.models import Webhook, WebhookStatus, Workspace
from hookline.domain.workspace_settings import WorkspaceSettings
from hookline.ids import new_id, now_ms
from hookline.notify import NOTICE_INTERVAL_MS, Mailer, StopNotices, stop_message
from hookline.settings import Settings
from hookline.store.port import Store

T0 = 1_773_828_300_000


class Mailbox:
    """An SMTP server in the test's event loop; keeps every message it accepts."""

    def __init__(self, **smtp: Any) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[tuple[str, str]] = []
        self._smtp = smtp
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: SMTP(self, hostname="mailbox.test", **self._smtp), "127.0.0.1", 0
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def url(self, credentials: str = "") -> str:
        return f"smtp://{credentials}127.0.0.1:{self.port}"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(msg)
        self.envelopes.append((envelope.mail_from or "", list(envelope.rcpt_tos)))
        return "250 OK"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((login, password))
        return AuthResult(success=(login, password) == ("ops@acme.test", "p@ss:w/rd"))


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    box = Mailbox()
    await box.start()
    yield box
    await box.close()


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
    await mailbox.close()  # its port now refuses connections
    url = mailbox.url("user:hunter2@")
    with caplog.at_level(logging.ERROR, logger="hookline.notify"):
        assert await StopNotices(store, Mailer(settings(url))).stopped(wh.id) is False
    assert wh.id in caplog.text
    assert "hunter2" not in caplog.text
    assert "hunter2" not in repr(Mailer(settings(url)))


async def test_credentials_in_the_smtp_url_log_in() -> None:
    box = Mailbox(authenticator=None, auth_require_tls=False)
    box._smtp["authenticator"] = box.authenticate
    await box.start()
    try:
        # Percent-encoded: the user is ops@acme.test, the password p@ss:w/rd.
        url = box.url("ops%40acme.test:p%40ss%3Aw%2Frd@")
        msg = EmailMessage()
        msg["Subject"], msg["From"], msg["To"] = "hi", "hookline@acme.test", "ops@acme.test"
        msg.set_content("hello")
        await Mailer(settings(url)).send(msg)
    finally:
        await box.close()
    assert box.logins == [("ops@acme.test", "p@ss:w/rd")]
    assert len(box.messages) == 1
