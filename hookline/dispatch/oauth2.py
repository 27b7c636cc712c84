"""OAuth 2.0 client credentials for webhooks whose endpoint wants a bearer token.

The dispatcher asks ``Tokens`` for a webhook's token before each attempt. A token is
fetched from the webhook's token URL through the same transport as deliveries (so the
destination rules and the egress proxy apply to it too), kept until shortly before it
expires, and fetched again once when the endpoint answers 401. Every fetch the attempt
made is part of its record (``tokenRequests``: URL, status, error, time), never the token
or the client secret. A token URL that does not give a token fails the attempt with
``auth_error``, retried like any failed attempt.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from hookline.dispatch.prepare import PendingDispatch
from hookline.dispatch.transport import OutboundRequest, SendResult, Transport
from hookline.domain.endpoint_auth import OAuth2

# A token is used until this many seconds before it expires; one without expires_in for
# at most DEFAULT_LIFETIME (or until the endpoint answers 401).
EXPIRY_MARGIN = 30.0
DEFAULT_LIFETIME = 3600.0
MAX_TOKENS = 4096


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    until: float  # monotonic


class Tokens:
    """The tokens of this process's OAuth2 webhooks, one fetch at a time per webhook."""

    def __init__(self, *, user_agent: str) -> None:
        self._user_agent = user_agent
        self._tokens: OrderedDict[str, _Token] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def send(
        self, pending: PendingDispatch, transport: Transport
    ) -> tuple[PendingDispatch, SendResult]:
        """Send ``pending`` with a bearer token: fetched if none is kept, fetched again once
        after a 401. The pending dispatch returned is the one sent, with its token requests."""
        auth = pending.claim.webhook.auth
        assert isinstance(auth, OAuth2)
        fetched: list[dict[str, Any]] = []
        timeout = pending.request.timeout
        token = await self._token(auth, transport, timeout, fetched)
        sent, result = await self._send_with(pending, token, transport, fetched)
        if result.status_code == 401 and token is not None:
            token = await self._token(auth, transport, timeout, fetched, refused=token)
            sent, result = await self._send_with(pending, token, transport, fetched)
        return dataclasses.replace(sent, token_requests=fetched), result

    async def _send_with(
        self,
        pending: PendingDispatch,
        token: str | None,
        transport: Transport,
        fetched: list[dict[str, Any]],
    ) -> tuple[PendingDispatch, SendResult]:
        if token is None:
            last = fetched[-1] if fetched else {}
            return pending, SendResult(
                status_code=None,
                headers={},
                body="",
                truncated=False,
                error="auth_error",
                duration_ms=sum(f.get("durationMs", 0.0) for f in fetched),
                retry_after=None,
                final_url=last.get("url", pending.request.url),
            )
        headers = {k: v for k, v in pending.request.headers.items() if k.lower() != "authorization"}
        headers["Authorization"] = f"Bearer {token}"
        request = dataclasses.replace(pending.request, headers=headers)
        return dataclasses.replace(pending, request=request), await transport.send(request)

    async def _token(
        self,
        auth: OAuth2,
        transport: Transport,
        timeout: float,
        fetched: list[dict[str, Any]],
        *,
        refused: str | None = None,
    ) -> str | None:
        """The kept token unless it expired or is the one the endpoint ``refused`` (another
        attempt may have replaced that one meanwhile); else a new one."""
        key = _key(auth)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            kept = self._tokens.get(key)
            if kept is not None and kept.until > time.monotonic() and kept.value != refused:
                self._tokens.move_to_end(key)
                return kept.value
            self._tokens.pop(key, None)
            token, lifetime, record = await self._fetch(auth, transport, timeout)
            fetched.append(record)
            if token is not None:
                self._tokens[key] = _Token(token, time.monotonic() + lifetime)
                if len(self._tokens) > MAX_TOKENS:
                    self._tokens.popitem(last=False)
            return token

    async def _fetch(
        self, auth: OAuth2, transport: Transport, timeout: float
    ) -> tuple[str | None, float, dict[str, Any]]:
        form = {"grant_type": "client_credentials"}
        if auth.scope:
            form["scope"] = auth.scope
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "User-Agent": self._user_agent,
        }
        if auth.client_auth == "basic":
            # RFC 6749, section 2.3.1: each part form-encoded, then HTTP Basic.
            pair = f"{quote(auth.client_id, safe='')}:{quote(auth.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form |= {"client_id": auth.client_id, "client_secret": auth.client_secret}
        request = OutboundRequest(
            url=auth.token_url, headers=headers, body=urlencode(form).encode(), timeout=timeout
        )
        result = await transport.send(request)
        record: dict[str, Any] = {
            "url": result.final_url,
            "status": result.status_code,
            "error": result.error,
            "durationMs": result.duration_ms,
        }
        if result.error is not None:
            return None, 0.0, record
        token, lifetime, problem = _read_token(result)
        if problem is not None:
            record["error"] = problem
        return token, lifetime, record


def _read_token(result: SendResult) -> tuple[str | None, float, str | None]:
    """The access token of a token response and how long to keep it, or what is wrong."""
    if result.status_code is None or not 200 <= result.status_code < 300:
        return None, 0.0, "token_refused"
    try:
        body = json.loads(result.body)
    except ValueError:
        return None, 0.0, "invalid_token_response"
    token = body.get("access_token") if isinstance(body, dict) else None
    kind = str(body.get("token_type", "bearer")).lower() if isinstance(body, dict) else ""
    if not isinstance(token, str) or not token or kind != "bearer":
        return None, 0.0, "invalid_token_response"
    if any(ord(ch) < 33 or ord(ch) > 126 for ch in token):
        return None, 0.0, "invalid_token_response"
    expires_in = body.get("expires_in")
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
        lifetime = max(min(expires_in - EXPIRY_MARGIN, DEFAULT_LIFETIME * 24), expires_in / 2)
    else:
        lifetime = DEFAULT_LIFETIME
    return token, float(lifetime), None


def _key(auth: OAuth2) -> str:
    """One cache entry per token URL, client and scope (a changed secret is a new entry)."""
    parts = (auth.token_url, auth.client_id, auth.client_secret, auth.scope or "")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()
