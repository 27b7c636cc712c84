"""OAuth 2.0 client credentials for webhooks whose endpoint wants a bearer token.

``OAuth2Transport`` wraps the transport that posts (as httpx's ``Auth`` flow wraps a
request): a request whose webhook uses OAuth2 (``OutboundRequest.oauth2``) goes with a
bearer token, any other passes through untouched. A token is fetched from the webhook's
token URL through the wrapped transport (so the destination rules and the egress proxy
apply to it too), kept until shortly before it expires, and fetched again once when the
endpoint answers 401. Every fetch the attempt made is part of its result
(``SendResult.token_requests``, its record's ``tokenRequests``: URL, status, error, time),
never the token or the client secret. A token URL that does not give a token fails the
attempt with ``auth_error``, retried like any failed attempt.
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
from urllib.parse import quote, urlencode

from hookline.dispatch.transport import OutboundRequest, SendResult, TokenRequest, Transport
from hookline.domain.attempt_errors import AttemptError
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


class OAuth2Transport:
    """``inner`` with bearer tokens for OAuth2 webhooks; the tokens of this process's OAuth2
    webhooks are kept here, fetched one at a time per webhook."""

    def __init__(self, inner: Transport, *, user_agent: str) -> None:
        self._inner = inner
        self._user_agent = user_agent
        self._tokens: OrderedDict[str, _Token] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def send(self, request: OutboundRequest) -> SendResult:
        """Send ``request`` with a bearer token: fetched if none is kept, fetched again once
        after a 401. The result says which request went out and the token requests made."""
        auth = request.oauth2
        if auth is None:
            return await self._inner.send(request)
        fetched: list[TokenRequest] = []
        token = await self._token(auth, request.timeout, fetched)
        result = await self._send_with(request, token, fetched)
        if result.status_code == 401 and token is not None:
            token = await self._token(auth, request.timeout, fetched, refused=token)
            result = await self._send_with(request, token, fetched)
        return dataclasses.replace(result, token_requests=tuple(fetched))

    async def close(self) -> None:
        await self._inner.close()

    async def _send_with(
        self, request: OutboundRequest, token: str | None, fetched: list[TokenRequest]
    ) -> SendResult:
        if token is None:
            return SendResult(
                status_code=None,
                headers={},
                body="",
                truncated=False,
                error=AttemptError.AUTH_ERROR,
                duration_ms=sum(f.duration_ms for f in fetched),
                retry_after=None,
                final_url=fetched[-1].url if fetched else request.url,
            )
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        headers["Authorization"] = f"Bearer {token}"
        sent = dataclasses.replace(request, headers=headers)
        return dataclasses.replace(await self._inner.send(sent), sent=sent)

    async def _token(
        self,
        auth: OAuth2,
        timeout: float,
        fetched: list[TokenRequest],
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
            token, lifetime, record = await self._fetch(auth, timeout)
            fetched.append(record)
            if token is not None:
                self._tokens[key] = _Token(token, time.monotonic() + lifetime)
                if len(self._tokens) > MAX_TOKENS:
                    self._tokens.popitem(last=False)
            return token

    async def _fetch(self, auth: OAuth2, timeout: float) -> tuple[str | None, float, TokenRequest]:
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
        result = await self._inner.send(request)
        token, lifetime, error = None, 0.0, result.error
        if error is None:
            token, lifetime, error = _read_token(result)
        record = TokenRequest(
            url=result.final_url,
            status=result.status_code,
            error=error,
            duration_ms=result.duration_ms,
        )
        return token, lifetime, record


def _read_token(result: SendResult) -> tuple[str | None, float, AttemptError | None]:
    """The access token of a token response and how long to keep it, or what is wrong."""
    if result.status_code is None or not 200 <= result.status_code < 300:
        return None, 0.0, AttemptError.TOKEN_REFUSED
    try:
        body = json.loads(result.body)
    except ValueError:
        return None, 0.0, AttemptError.INVALID_TOKEN_RESPONSE
    token = body.get("access_token") if isinstance(body, dict) else None
    kind = str(body.get("token_type", "bearer")).lower() if isinstance(body, dict) else ""
    if not isinstance(token, str) or not token or kind != "bearer":
        return None, 0.0, AttemptError.INVALID_TOKEN_RESPONSE
    if any(ord(ch) < 33 or ord(ch) > 126 for ch in token):
        return None, 0.0, AttemptError.INVALID_TOKEN_RESPONSE
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
