"""An SMTP sink: a real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message.

It runs on a thread of its own for sync tests (``with Mailbox() as box``) or on the test's
event loop for async ones (``async with Mailbox() as box``). ``url()`` is what
``HOOKLINE_SMTP_URL`` takes (``url("user:password@")`` with credentials); ``wait`` (sync) and
``await arrived`` (async) wait, with a deadline, until enough messages came. With ``login``
it asks for that user and password (AUTH without TLS) and keeps every login tried.
"""

from __future__ import annotations

import asyncio
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from .background import Background
from .waiting import Arrivals


class Mailbox(Background):
    def __init__(self, *, login: tuple[str, str] | None = None) -> None:
        super().__init__("SMTP server")
        self.port = 0
        self._login = login
        self._lock = threading.RLock()
        self._arrivals = Arrivals(self._lock, self)
        self._messages: list[EmailMessage] = []
        self._envelopes: list[tuple[str, list[str]]] = []
        self._logins: list[tuple[str, str]] = []
        self._server: asyncio.Server | None = None

    def url(self, credentials: str = "") -> str:
        return f"smtp://{credentials}127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._messages)

    @property
    def envelopes(self) -> list[tuple[str, list[str]]]:
        """Each message's sender and recipients, as the SMTP envelope gave them."""
        with self._lock:
            return list(self._envelopes)

    @property
    def logins(self) -> list[tuple[str, str]]:
        """Every (user, password) a client tried."""
        with self._lock:
            return list(self._logins)

    def wait(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """Block until ``count`` messages arrived; fail after ``timeout`` seconds."""
        return self._arrivals.wait(lambda: self.messages, count, timeout, "e-mails")

    async def arrived(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """``wait`` for async tests; past the deadline it raises ``TimeoutError``."""
        return await self._arrivals.arrived(lambda: self.messages, count, timeout, "e-mails")

    # aiosmtpd handler hook: called once per message after DATA.
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        msg = message_from_bytes(raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        with self._lock:
            self._messages.append(msg)
            self._envelopes.append((envelope.mail_from or "", list(envelope.rcpt_tos)))
        self._arrivals.notify()
        return "250 OK"

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        tried = (auth_data.login.decode(), auth_data.password.decode())
        with self._lock:
            self._logins.append(tried)
        return AuthResult(success=tried == self._login)

    async def _open(self) -> None:
        def protocol() -> SMTP:
            if self._login is None:
                return SMTP(self, hostname="mailbox.test")
            return SMTP(
                self,
                hostname="mailbox.test",
                authenticator=self._authenticate,
                auth_require_tls=False,
            )

        self._server = await asyncio.get_running_loop().create_server(protocol, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
