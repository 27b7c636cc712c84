"""A real SMTP server (aiosmtpd) on 127.0.0.1, on its own thread, keeping every message.

``url`` is what ``HOOKLINE_SMTP_URL`` takes; ``wait`` blocks, with a deadline,
until enough messages arrived.
"""

from __future__ import annotations

import asyncio
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


class Mailbox:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._messages: list[EmailMessage] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self.port = 0

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._cond:
            return list(self._messages)

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        with self._cond:
            arrived = self._cond.wait_for(lambda: len(self._messages) >= count, timeout)
            got = list(self._messages)
        assert arrived, f"{len(got)} of {count} e-mails arrived within {timeout} s"
        return got

    # aiosmtpd handler hook: called once per message after DATA.
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        with self._cond:
            self._messages.append(msg)
            self._cond.notify_all()
        return "250 OK"

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> Mailbox:
        self._thread = threading.Thread(target=self._serve, name="smtp", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the SMTP server did not start within 10 s")
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = self._thread = None

    def __enter__(self) -> Mailbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        loop.run_until_complete(self._open())
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _open(self) -> None:
        def protocol() -> Any:
            return SMTP(self, hostname="mailbox.test")

        self._server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
