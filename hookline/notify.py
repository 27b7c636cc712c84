"""E-mail to a workspace when Hookline pauses or disables one of its webhooks.

At most one message per webhook per ``NOTICE_INTERVAL``: the store records when
the last one went out, so several workers never send the same notice twice.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from hookline.domain.models import Webhook, Workspace
from hookline.domain.statuses import StopReason, WebhookStatus
from hookline.ids import now_ms
from hookline.settings import Settings
from hookline.store.port import Store

log = logging.getLogger("hookline.notify")

NOTICE_INTERVAL_MS = 3_600_000


def stop_message(*, ws: Workspace, wh: Webhook, sender: str, base_url: str) -> EmailMessage:
    """The notice: which webhook, what Hookline did and why, and how to undo it."""
    if wh.status is WebhookStatus.DISABLED:
        done, why, meanwhile = (
            "disabled",
            f"its endpoint {wh.url} answered 410 Gone, which says it no longer exists",
            "While disabled, new events create no delivery for this webhook.",
        )
    else:
        done, why, meanwhile = (
            "paused",
            f"a delivery to {wh.url} failed on every attempt its retry policy allows",
            "While paused, new events for this webhook are kept, not sent. Nothing is lost.",
        )
    msg = EmailMessage()
    label = wh.name or wh.url
    msg["Subject"] = f"Webhook {done}: {label}"
    msg["From"] = sender
    msg["To"] = ws.notification_email or ""
    msg.set_content(
        f"""Hookline {done} the webhook "{label}" ({wh.id}) of workspace {ws.name} ({ws.id}).

Why: {why}
(reason: {wh.status_reason or StopReason.TOO_MANY_FAILURES.value}).

{meanwhile}

To resume, fix the endpoint, then set the webhook active again:

    curl -X PATCH {base_url}/v1/webhooks/{wh.id} \\
      -H "Authorization: Bearer <key>" -H "Content-Type: application/json" \\
      -d '{{"status": "active"}}'

Held deliveries then go out, oldest first. Failed ones can be resent with
POST {base_url}/v1/webhooks/{wh.id}/recover.
"""
    )
    return msg


class Mailer:
    """Sends notices through ``HOOKLINE_SMTP_URL`` (smtp:// or smtps://user:pass@host:port)."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.smtp_url
        self.sender = settings.mail_from
        self.base_url = settings.base_url

    def __repr__(self) -> str:
        return "Mailer(url=***)"

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    async def send(self, msg: EmailMessage) -> None:
        parts = urlsplit(self.url)
        tls = parts.scheme == "smtps"
        await aiosmtplib.send(
            msg,
            hostname=parts.hostname or "localhost",
            port=parts.port or (465 if tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=tls,
            start_tls=False if tls else None,
            timeout=30,
        )


class StopNotices:
    """Tells a workspace, once per webhook per hour, that Hookline paused or disabled its
    webhook."""

    def __init__(self, store: Store, mailer: Mailer) -> None:
        self.store = store
        self.mailer = mailer

    async def stopped(self, wh_id: str) -> bool:
        """Send the notice for ``wh_id`` if one is due; True when an e-mail went out."""
        wh = await self.store.get_webhook(wh_id)
        if wh is None or not self.mailer.enabled:
            return False
        ws = await self.store.get_workspace(wh.workspace_id)
        if ws is None or not ws.notification_email:
            return False
        if not await self.store.take_pause_notice(
            wh_id, now=now_ms(), interval_ms=NOTICE_INTERVAL_MS
        ):
            return False
        msg = stop_message(ws=ws, wh=wh, sender=self.mailer.sender, base_url=self.mailer.base_url)
        try:
            await self.mailer.send(msg)
        except (aiosmtplib.SMTPException, OSError) as exc:
            log.error("could not e-mail %s that webhook %s stopped: %s", ws.id, wh_id, exc)
            return False
        log.info("e-mailed workspace %s that webhook %s is %s", ws.id, wh_id, wh.status.value)
        return True
