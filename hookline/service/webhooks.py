"""Webhooks: validation, CRUD, status changes and secrets."""

from __future__ import annotations

import re
import ssl
from dataclasses import replace
from typing import Any

from hookline.domain import endpoint_auth, filters, queues
from hookline.domain.endpoint_auth import MTLS, EndpointAuth
from hookline.domain.headers import masked
from hookline.domain.limits import (
    MAX_DESCRIPTION,
    MAX_EVENT_PATTERNS,
    MAX_GRACE_SECONDS,
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    MAX_NAME,
    MAX_RATE_LIMIT,
    MIN_RATE_LIMIT,
)
from hookline.domain.matching import is_valid_pattern
from hookline.domain.models import GraceKey, Webhook, Workspace
from hookline.domain.network_guard import check_host, check_url
from hookline.domain.queues import Destination
from hookline.domain.retry import InvalidPolicy, parse_policy
from hookline.domain.statuses import WebhookStatus
from hookline.errors import Invalid, NotFound
from hookline.ids import format_ms, new_id, now_ms
from hookline.service.access import Action, Principal
from hookline.service.context import Context, clamp_limit, summary
from hookline.service.operational import Notice, Operational, about
from hookline.service.workspaces import Workspaces
from hookline.signing import generate_keypair, generate_secret, public_key_of
from hookline.store.port import Page, StatusChange, WebhookChanges, WebhookPatch
from hookline.tls import client_context
from hookline.verify import VerificationError, secret_bytes

TOKEN_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "user-agent",
        "signature",
        "signature-input",
        "content-digest",
        "connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "keep-alive",
        "proxy-connection",
        "expect",
    }
)
HEADER_VALUE_RE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
SECRET_RE = re.compile(r"[\x21-\x7e]{8,256}")
ORDERINGS = ("none", "fifo")
MAX_PREVIOUS_KEYS = 4


class Webhooks:
    def __init__(self, ctx: Context, workspaces: Workspaces, operational: Operational) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.workspaces = workspaces
        self.operational = operational

    async def get(self, who: Principal, wh_id: str, action: Action = Action.READ) -> Webhook:
        wh = await self.store.get_webhook(wh_id)
        if wh is None or not who.sees(wh.workspace_id):
            raise NotFound("No such webhook.")
        who.check(wh.workspace_id, action, "webhook")
        return _shown(who, wh)

    async def create(self, who: Principal, ws_id: str, body: dict[str, Any]) -> Webhook:
        ws = await self.workspaces.get(who, ws_id, Action.MANAGE)
        fields = self._validated(ws, body, creating=True)
        given = fields.given()
        _check_http_only(given.get("auth"), given.get("destination"))
        secret = body.get("secret") or generate_secret()
        _check_secret(secret)
        now = now_ms()
        status = WebhookStatus(body.get("status") or "active")
        wh = Webhook(
            id=new_id("wh"),
            workspace_id=ws.id,
            url=fields.url,
            name=given.get("name") or "",
            description=given.get("description") or "",
            events=fields.events,
            headers=given.get("headers") or {},
            status=status,
            status_reason=None,
            status_changed_by=who.key_id,
            status_changed_at=now,
            retry_policy=given.get("retry_policy"),
            rate_limit=given.get("rate_limit"),
            ordering=given.get("ordering") or "none",
            metadata=given.get("metadata") or {},
            created_at=now,
            updated_at=now,
            filter=given.get("filter"),
            auth=given.get("auth"),
            destination=given.get("destination"),
            forward_headers_on_redirect=given.get("forward_headers_on_redirect", False),
        )
        plan = self.ctx.settings.plans.get(ws.plan, {})
        private, _public = generate_keypair()
        await self.store.create_webhook(
            wh,
            self.ctx.box.seal(secret),
            max_webhooks=plan.get("maxWebhooks"),
            signing_key=self.ctx.box.seal(private),
        )
        return wh

    async def list(
        self,
        who: Principal,
        ws_id: str,
        *,
        status: str | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[Webhook]:
        await self.workspaces.get(who, ws_id)
        page = await self.store.list_webhooks(
            ws_id,
            status=None if status is None else WebhookStatus(status),
            limit=clamp_limit(limit),
            cursor=cursor,
        )
        return replace(page, items=[_shown(who, wh) for wh in page.items])

    async def update(self, who: Principal, wh_id: str, body: dict[str, Any]) -> Webhook:
        wh = await self.get(who, wh_id, Action.MANAGE)
        ws = await self.workspaces.get(who, wh.workspace_id)
        filled, kept = _with_stored_secret(body, wh)
        changes = WebhookChanges(patch=self._validated(ws, filled, creating=False))
        given = changes.patch.given()
        _check_http_only(given.get("auth", wh.auth), given.get("destination", wh.destination))
        _check_credentials_stay(wh, given, kept=kept)
        if body.get("secret") is not None:
            _check_secret(body["secret"])
            changes.secret = self.ctx.box.seal(body["secret"])
        new_status = body.get("status")
        if new_status is not None and new_status != wh.status:
            changes.status = StatusChange(
                status=WebhookStatus(new_status),
                reason=body.get("statusReason"),
                by=who.key_id,
                at=now_ms(),
            )
        await self.store.update_webhook(wh_id, changes, now_ms())
        if changes.status is not None and changes.status.status is WebhookStatus.ACTIVE:
            self.ctx.wake()
        updated = await self.get(who, wh_id)
        if changes.status is not None and changes.status.status is not WebhookStatus.ACTIVE:
            change = changes.status
            await self.operational.tell(
                [
                    Notice(
                        type=f"endpoint.{change.status.value}",
                        webhook=updated,
                        fields=about(updated, change.at, by=change.by, reason=change.reason),
                    )
                ]
            )
        return updated

    async def delete(self, who: Principal, wh_id: str) -> None:
        await self.get(who, wh_id, Action.MANAGE)
        await self.store.delete_webhook(wh_id)

    async def secret(self, who: Principal, wh_id: str) -> tuple[str, str | None]:
        """The signing secret and the ed25519 public key (``whpk_``) of the webhook."""
        await self.get(who, wh_id, Action.MANAGE)
        keys = await self.store.get_webhook_keys(wh_id)
        if keys is None or keys.secret is None:
            raise NotFound("No such webhook.")
        public = public_key_of(self.ctx.box.open(keys.signing_key)) if keys.signing_key else None
        return self.ctx.box.open(keys.secret), public

    async def rotate(
        self, who: Principal, wh_id: str, *, secret: str | None, grace_seconds: float
    ) -> tuple[str, str | None]:
        """Replace the secret and key pair; the old ones keep signing for ``grace_seconds``."""
        wh = await self.get(who, wh_id, Action.MANAGE)
        if not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
            raise Invalid(
                f"graceSeconds is 0 to {MAX_GRACE_SECONDS} (30 days).", code="invalid_grace"
            )
        new_secret = secret or generate_secret()
        _check_secret(new_secret)
        current = await self.store.get_webhook_keys(wh_id)
        if current is None:
            raise NotFound("No such webhook.")
        now = now_ms()
        previous = [k for k in current.previous_keys or [] if k.expires_at > now]
        if grace_seconds > 0 and current.secret is not None:
            expires = now + round(grace_seconds * 1000)
            previous.insert(
                0,
                GraceKey(
                    secret=current.secret, signing_key=current.signing_key, expires_at=expires
                ),
            )
        private, public = generate_keypair()
        changes = WebhookChanges(
            secret=self.ctx.box.seal(new_secret),
            signing_key=self.ctx.box.seal(private),
            previous_keys=previous[:MAX_PREVIOUS_KEYS],
        )
        await self.store.update_webhook(wh_id, changes, now)
        grace = format_ms(previous[0].expires_at) if grace_seconds > 0 else None
        await self.operational.tell(
            [
                Notice(
                    type="endpoint.secret_rotated",
                    webhook=wh,
                    fields=about(wh, now, by=who.key_id, graceUntil=grace),
                )
            ]
        )
        return new_secret, public

    def field_problems(
        self, ws: Workspace, body: dict[str, Any], stored: Webhook | None = None
    ) -> tuple[Invalid, ...]:
        """Each field of ``body`` checked on its own by the rules of create and update (of
        ``stored``), so that a form can show every wrong field at once (the service itself
        stops at the first)."""
        problems: tuple[Invalid, ...] = ()
        for name, value in _with_stored_secret(body, stored)[0].items():
            try:
                self._validated(ws, {name: value}, creating=False)
            except Invalid as exc:
                problems += (exc,)
        return problems

    def _checked_url(self, url: str) -> str:
        """``url`` as it is sent, if this deployment's rules let a webhook reach it."""
        return check_url(
            url,
            allow_http=self.ctx.allow_http,
            open_network=self.ctx.settings.dev,
            allowed=self.ctx.allowed_networks,
        )

    def _validated(self, ws: Workspace, body: dict[str, Any], *, creating: bool) -> WebhookPatch:
        """Check every rule of a webhook's fields; their checked values as a patch."""
        out: dict[str, Any] = {}
        if body.get("destination") is not None:
            out["destination"], out["url"] = queues.parse(
                body["destination"],
                check_host=lambda url: check_host(
                    url, open_network=self.ctx.settings.dev, allowed=self.ctx.allowed_networks
                ),
                check_url=self._checked_url,
                aws_default_credentials=self.ctx.settings.aws_default_credentials,
            )
        elif "url" in body or creating or "destination" in body:
            url = body.get("url")
            if not isinstance(url, str) or not url:
                raise Invalid("url is required (unless destination is given).", code="invalid_url")
            out["url"] = self._checked_url(url)
            if "destination" in body:
                out["destination"] = None
        if "events" in body or creating:
            events = body.get("events")
            if not isinstance(events, list) or not events:
                raise Invalid("events needs at least one pattern.", code="invalid_events")
            if len(events) > MAX_EVENT_PATTERNS:
                raise Invalid(
                    f"events takes at most {MAX_EVENT_PATTERNS} patterns.", code="invalid_events"
                )
            bad = [p for p in events if not isinstance(p, str) or not is_valid_pattern(p)]
            if bad:
                raise Invalid(
                    "A pattern is an event type, '*', or a prefix ending in '.*' or '/*'.",
                    code="invalid_events",
                    details=[{"pattern": p} for p in bad],
                )
            out["events"] = list(dict.fromkeys(events))
        if body.get("headers") is not None:
            out["headers"] = _checked_headers(body["headers"], self.ctx.brand(ws))
        if body.get("forwardHeadersOnRedirect") is not None:
            out["forward_headers_on_redirect"] = body["forwardHeadersOnRedirect"]
        if "retryPolicy" in body:
            try:
                out["retry_policy"] = parse_policy(body["retryPolicy"])
            except InvalidPolicy as exc:
                raise Invalid(
                    summary("The retry policy is invalid", exc.problems),
                    code="invalid_retry_policy",
                    details=exc.problems,
                ) from exc
        if "rateLimit" in body:
            rate = body["rateLimit"]
            if rate is not None and not (
                isinstance(rate, int | float)
                and not isinstance(rate, bool)
                and MIN_RATE_LIMIT <= rate <= MAX_RATE_LIMIT
            ):
                raise Invalid(
                    f"rateLimit is attempts per second, from {MIN_RATE_LIMIT:g} "
                    f"(one every 1000 seconds) to {MAX_RATE_LIMIT:g}.",
                    code="invalid_rate_limit",
                )
            out["rate_limit"] = rate
        if "filter" in body:
            out["filter"] = filters.parse(body["filter"])
        if "auth" in body:
            out["auth"] = endpoint_auth.parse(body["auth"], check_url=self._checked_url)
            _check_tls_loads(out["auth"])
        if body.get("ordering") is not None:
            if body["ordering"] not in ORDERINGS:
                raise Invalid('ordering is "none" or "fifo".', code="invalid_ordering")
            out["ordering"] = body["ordering"]
        for key, limit in (("name", MAX_NAME), ("description", MAX_DESCRIPTION)):
            if body.get(key) is not None:
                out[key] = _checked_text(key, body[key], limit)
        if body.get("metadata") is not None:
            out["metadata"] = body["metadata"]
        if body.get("status") is not None and body["status"] not in {
            s.value for s in WebhookStatus
        }:
            raise Invalid('status is "active", "paused" or "disabled".', code="invalid_status")
        return WebhookPatch(**out)


def _check_http_only(auth: EndpointAuth | None, destination: Destination | None) -> None:
    """Endpoint auth goes with HTTP only: its credentials must never travel in a message."""
    if auth is not None and destination is not None:
        raise Invalid(
            "auth is for HTTP endpoints; a destination takes its own credentials "
            '(remove auth with "auth": null to give this webhook a destination).',
            code="invalid_auth",
            details=[{"field": "auth", "message": "not with a destination"}],
        )


def _with_stored_secret(
    body: dict[str, Any], stored: Webhook | None
) -> tuple[dict[str, Any], bool]:
    """``body`` whose ``auth`` leaves out its secret with the stored one (same kind), and
    whether it took it: whether it may go there is ``_check_credentials_stay``'s to say."""
    if stored is None or "auth" not in body:
        return body, False
    auth, kept = endpoint_auth.with_stored_secret(body["auth"], stored.auth)
    return {**body, "auth": auth}, kept


def _check_credentials_stay(wh: Webhook, given: dict[str, Any], *, kept: bool) -> None:
    """Stored credentials go only where they were given for, since nobody can read them back:
    a new URL origin, token URL, username or client id needs the secret sent again
    (``auth_required``). Refused rather than dropped, so that deliveries do not start failing
    at the receiver unnoticed."""
    if wh.auth is None or not (kept or "auth" not in given):
        return
    auth = given.get("auth", wh.auth)
    why = endpoint_auth.moved(wh.url, wh.auth, given.get("url", wh.url), auth)
    if why is None:
        return
    secret = wh.auth.secret_field
    if kept:
        field, send = f"auth.{secret}", f"send auth.{secret} again"
    else:
        field, send = "auth", f'send auth again with its {secret} (or "auth": null)'
    raise Invalid(
        f"{why}: {send}; stored credentials go only where they were given for.",
        code="auth_required",
        details=[{"field": field, "message": f"{why}: {send}"}],
    )


def _check_tls_loads(auth: EndpointAuth | None) -> None:
    """A client certificate TLS itself would refuse (a key too small) is refused now, not at
    every attempt."""
    if not isinstance(auth, MTLS):
        return
    try:
        client_context(auth.certificate, auth.key)
    except ssl.SSLError as exc:
        raise Invalid(
            f"TLS refuses this certificate and key: {exc.reason or exc}.",
            code="invalid_auth",
            details=[{"field": "auth.key", "message": "refused by TLS"}],
        ) from exc


def _checked_text(name: str, value: Any, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise Invalid(f"The {name} is at most {limit} characters.", code=f"invalid_{name}")
    return value


def _check_secret(secret: Any) -> None:
    if not isinstance(secret, str) or not SECRET_RE.fullmatch(secret):
        raise Invalid(
            "A secret is 8-256 printable ASCII characters without spaces.", code="invalid_secret"
        )
    if secret.startswith("whsec_"):
        try:
            secret_bytes(secret)
        except VerificationError as exc:
            raise Invalid(
                "A whsec_ secret is whsec_ followed by base64.",
                code="invalid_secret",
            ) from exc


def _checked_headers(headers: Any, brand: str) -> dict[str, str]:
    if not isinstance(headers, dict):
        raise Invalid("headers must be an object of names to values.", code="invalid_header")
    if len(headers) > MAX_HEADERS:
        raise Invalid(f"At most {MAX_HEADERS} custom headers.", code="invalid_header")
    total = 0
    for name, value in headers.items():
        if not TOKEN_RE.fullmatch(name):
            raise Invalid(f"Header name {name!r} is not a valid HTTP token.", code="invalid_header")
        if is_reserved(name, brand):
            raise Invalid(f"Header {name!r} is reserved: Hookline sets it.", code="reserved_header")
        if not isinstance(value, str) or not HEADER_VALUE_RE.fullmatch(value):
            raise Invalid(
                f"Header {name!r} must be text without CR, LF, NUL or controls.",
                code="invalid_header",
            )
        total += len(name.encode()) + len(value.encode())
    if total > MAX_HEADER_BYTES:
        raise Invalid(
            f"Custom headers may hold at most {MAX_HEADER_BYTES} bytes in all.",
            code="invalid_header",
        )
    return dict(headers)


def is_reserved(name: str, brand: str) -> bool:
    """Whether Hookline sets the header ``name`` itself (so a webhook cannot)."""
    lower = name.lower()
    return lower in RESERVED_HEADERS or lower.startswith(("webhook-", f"x-{brand.lower()}-"))


def _shown(who: Principal, wh: Webhook) -> Webhook:
    """``wh`` as ``who`` may see it: custom header values masked below admin."""
    return wh if who.sees_secrets else replace(wh, headers=masked(wh.headers))
