"""Stage two of a dispatch: turn a claim into the exact request to send. Sans I/O."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from yarl import URL

from hookline.dispatch.transport import MAX_REDIRECTS, OutboundRequest, SendResult
from hookline.domain import envelope
from hookline.domain.endpoint_auth import MTLS, OAuth2
from hookline.domain.headers import redacted
from hookline.domain.retry import PolicyLayer, RetryPolicy
from hookline.domain.workspace_settings import DeliveryFormat
from hookline.secrets import SecretBox
from hookline.signing import SigningKeys, signature_headers
from hookline.store.port import Claim


@dataclass(frozen=True, kw_only=True, slots=True)
class PendingDispatch:
    claim: Claim
    request: OutboundRequest
    policy: RetryPolicy
    timestamp: int

    def request_record(self, result: SendResult | None = None) -> dict[str, Any]:
        """The request as the attempt's log keeps it, as ``result`` reports it went out (to
        its last redirect hop, with the token a wrapper added, after the token requests it
        made; without a result, as prepared): the ``Authorization`` header of endpoint auth
        and custom headers that carry credentials are redacted (``hookline.domain.headers``),
        so they are never stored."""
        custom = self.claim.webhook.headers
        request = self.request if result is None or result.sent is None else result.sent
        record: dict[str, Any] = {
            "method": "POST",
            "url": request.url if result is None else result.final_url,
            "headers": redacted(request.headers, lambda name: name in custom or name in AUTH),
            "body": request.body.decode(),
        }
        if result is not None and result.token_requests:
            record["tokenRequests"] = [t.to_json() for t in result.token_requests]
        return record


# The headers endpoint auth sets.
AUTH = frozenset({"Authorization"})


def prepare(
    claim: Claim,
    *,
    box: SecretBox,
    delivery_defaults: DeliveryFormat,
    policy_defaults: PolicyLayer,
    timestamp: int,
    body: bytes | None = None,
) -> PendingDispatch:
    """The request of ``claim``'s attempt, its body the event's envelope unless ``body`` is
    given (what a transformation returned)."""
    wh = claim.webhook
    fmt = delivery_defaults.over(claim.workspace_settings.delivery)
    test = "test" in claim.tags
    if body is None:
        body = envelope.render(
            fmt.envelope,
            event_id=claim.event.id,
            event_type=claim.event.type,
            workspace_id=claim.event.workspace_id,
            created_at_ms=claim.event.created_at,
            data_json=claim.event.data_json,
            test=test,
        )
    brand = fmt.brand
    headers = {
        **wh.headers,
        "Content-Type": "application/json",
        "User-Agent": fmt.user_agent,
        f"X-{brand}-Event": claim.event.type,
        f"X-{brand}-Delivery": claim.event.id,
        f"X-{brand}-Timestamp": str(timestamp),
        f"X-{brand}-Attempt": str(claim.attempt),
    }
    credentials = None if wh.destination or wh.auth is None else wh.auth.authorization()
    if credentials is not None:
        for name in [n for n in headers if n.lower() == "authorization"]:
            del headers[name]  # a custom header of the same name gives way
        headers["Authorization"] = credentials
    headers.update(
        signature_headers(
            fmt.signature,
            signing_keys(claim, box, now_ms=timestamp * 1000),
            msg_id=claim.event.id,
            timestamp=timestamp,
            body=body,
            brand=brand,
            url=target_uri(wh.url),
        )
    )
    policy = RetryPolicy.resolve(
        policy_defaults, claim.workspace_settings.retry_policy, wh.retry_policy
    )
    request = OutboundRequest(
        url=wh.url,
        headers=headers,
        body=body,
        timeout=policy.timeout,
        max_redirects=MAX_REDIRECTS if policy.follow_redirects else 0,
        origin_only=frozenset() if wh.forward_headers_on_redirect else frozenset(wh.headers),
        client_certificate=(wh.auth.certificate, wh.auth.key)
        if isinstance(wh.auth, MTLS) and not wh.destination
        else None,
        oauth2=wh.auth if isinstance(wh.auth, OAuth2) and not wh.destination else None,
        destination=wh.destination,
    )
    return PendingDispatch(claim=claim, request=request, policy=policy, timestamp=timestamp)


@functools.lru_cache(maxsize=4096)
def target_uri(url: str) -> str:
    """The URL as the request goes out, which is what a receiver rebuilds from its request line
    and ``Host`` header and what RFC 9421 signs as ``@target-uri``: scheme and host in lower case,
    no default port, ``/`` for an empty path, percent-encoded as sent, no fragment. Made once
    per URL, not per attempt."""
    u = URL(url)
    port = "" if u.is_default_port() else f":{u.port}"
    return f"{u.scheme}://{u.host_subcomponent}{port}{u.raw_path_qs}"


def signing_keys(claim: Claim, box: SecretBox, *, now_ms: int) -> SigningKeys:
    """The claim's keys, unsealed: current first, then those still in their grace period."""
    live = [k for k in claim.previous_keys if k.expires_at > now_ms]
    if not live:
        return _current_keys(box, claim.webhook.id, claim.webhook_secret, claim.signing_key)
    seeds = [claim.signing_key, *(k.signing_key for k in live)]
    return SigningKeys(
        key_id=claim.webhook.id,
        secrets=(box.open(claim.webhook_secret), *(box.open(k.secret) for k in live)),
        ed25519_seeds=tuple(box.open(s) for s in seeds if s),
    )


@functools.lru_cache(maxsize=4096)
def _current_keys(box: SecretBox, key_id: str, secret: str, seed: str | None) -> SigningKeys:
    """A webhook's keys without any in their grace period, unsealed once per sealed value
    (a rotation seals new ones): the keys of nearly every attempt."""
    return SigningKeys(
        key_id=key_id,
        secrets=(box.open(secret),),
        ed25519_seeds=(box.open(seed),) if seed else (),
    )
